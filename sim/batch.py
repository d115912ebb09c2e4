"""Running many runs: jobs of (point, block) units, a process pool, the run store.

A job is a scenario, a root seed, a number of replicates R and one or more
*points* (a batch has one point with no overrides; a sweep has one point per
design row, each a dict ``{path: value}``). Every point runs the same
replicates 0..R-1, so replicate r sees the same shocks at every point (common
random numbers). The replicates are cut into fixed blocks; a unit is one
block of one point. Each unit draws its own shocks, runs on the chosen engine
and is written as one Parquet part as soon as it finishes. Results depend
only on the seed, the points and the replicate numbers, never on the number
of workers, the block size or the order in which units finish.

An interrupted job (Ctrl-C, SIGKILL, a full disk) leaves its run directory
with the parts written so far; :func:`resume` runs the missing units and
finishes it, with results identical to an uninterrupted run.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import os
import socket
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim import model as agent_engine
from sim import store, vector
from sim.compile import Compiled, compile_scenario
from sim.errors import Interrupted, StoreError, UsageError
from sim.executors import describe
from sim.records import OUTCOMES
from sim.registry import check_value, parameter_slots
from sim.scenario import Scenario, load_scenario, scenario_from_data
from sim.shocks import MAX_SEED, draw
from sim.summary import summarize, summary_columns

ENGINES = ("vector", "agents")
BLOCK = {"vector": 5000, "agents": 25}
Progress = Callable[[int, int], None]


@dataclass
class Job:
    """What to run: the scenario, the points, the replicates, the engine."""

    scenario: Scenario
    seed: int
    runs: int
    engine: str = "vector"
    block_size: int | None = None
    points: list[dict[str, float]] = field(default_factory=lambda: [{}])
    kind: str = "batch"

    @property
    def size(self) -> int:
        return self.block_size or BLOCK[self.engine]

    def units(self) -> list[tuple[int, int, int, int]]:
        """(point, block, first replicate, end replicate) of every unit, in result order."""
        blocks = [(b, s, min(s + self.size, self.runs)) for b, s in enumerate(range(0, self.runs, self.size))]
        return [(p, b, s, e) for p in range(len(self.points)) for b, s, e in blocks]


@dataclass
class BatchResult:
    """Results of a batch: ``runs`` (one row per run) and where they were written.

    For a batch written to a run directory, ``runs`` is read from its
    results.parquet when first used, so a large batch costs no memory until
    its table is asked for.
    """

    scenario: Scenario
    seed: int
    engine: str
    run_dir: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    _runs: pd.DataFrame | None = field(default=None, repr=False)
    _summary: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run (see :mod:`sim.records` for the columns)."""
        if self._runs is None:
            self._runs = store.read_results(self.run_dir)
        return self._runs

    def classes(self) -> list[str]:
        return outcome_names(self.scenario)

    def summary(self) -> dict[str, Any]:
        """Outcome probabilities with 95% Wilson intervals and distributions of timing and terms."""
        if self._summary is None:
            if self._runs is not None:
                table = self._runs
            else:
                columns = summary_columns(store.results_columns(self.run_dir))
                table = store.read_results(self.run_dir, columns=columns, compact=True)
            self._summary = summarize(table, self.classes())
        return self._summary


def outcome_names(sc: Scenario) -> list[str]:
    """Outcome classes of a scenario, then the three outcomes."""
    return [oc.name for oc in sc.model.outcome_classes] + list(OUTCOMES)


def simulate_block(c: Compiled, seed: int, start: int, stop: int, engine: str = "vector") -> pd.DataFrame:
    """Results of replicates [start, stop) on one engine."""
    shocks = draw(c, seed, range(start, stop))
    if engine == "vector":
        return vector.run_block(c, shocks)
    return agent_engine.run_block(c, shocks)


# --------------------------------------------------------------------------- execution


def run_unit(job: Job, point: int, start: int, stop: int) -> pd.DataFrame:
    """Results of replicates [start, stop) at one point of a job: the unit of work.

    A pure function of its arguments: it compiles the point (about a
    millisecond) and runs the block, and keeps nothing between calls, so any
    number of jobs can run at once in threads, processes or cluster workers
    without seeing each other. This is what executors are handed.
    """
    compiled = compile_scenario(job.scenario, job.points[point] or None)
    frame = simulate_block(compiled, job.seed, start, stop, job.engine)
    if job.kind == "sweep":
        frame.insert(0, "point", point)
    return frame


def execute(job: Job, todo: list[tuple[int, int, int, int]], workers: int,
            on_unit: Callable[[int, int, pd.DataFrame], None], executor: cf.Executor | None = None) -> None:
    """Run the units and hand each result to ``on_unit`` as it arrives.

    With ``executor`` (any :class:`concurrent.futures.Executor`: a process
    or thread pool, a Dask ``ClientExecutor``, ...) the units are submitted
    to it and it is left open; without one, ``workers`` > 1 starts a local
    process pool for this call, and 1 runs the units here.
    """
    if executor is not None:
        _drain(job, todo, executor, _capacity(executor, workers), on_unit)
        return
    if workers <= 1 or len(todo) <= 1:
        for p, b, start, stop in todo:
            on_unit(p, b, run_unit(job, p, start, stop))
        return
    from sim.executors import local_pool

    pool = local_pool(workers)
    try:
        _drain(job, todo, pool, workers, on_unit)
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _capacity(executor: cf.Executor, workers: int) -> int:
    """How many units the executor runs at once (as far as it tells)."""
    size = getattr(executor, "max_workers", None) or getattr(executor, "_max_workers", None)
    return max(int(size or workers), 1)


def _drain(job: Job, todo: list[tuple[int, int, int, int]], executor: cf.Executor, capacity: int,
           on_unit: Callable[[int, int, pd.DataFrame], None]) -> None:
    """Keep two units per worker in flight, so results are released as they are written."""
    queue = iter(todo)
    pending: dict[cf.Future, tuple[int, int]] = {}

    def fill() -> None:
        while len(pending) < 2 * capacity and (unit := next(queue, None)) is not None:
            p, b, start, stop = unit
            pending[executor.submit(run_unit, job, p, start, stop)] = (p, b)

    try:
        fill()
        while pending:
            done, _ = cf.wait(list(pending), return_when=cf.FIRST_COMPLETED)
            for fut in done:
                p, b = pending.pop(fut)
                on_unit(p, b, fut.result())
            fill()
    finally:
        for fut in pending:
            fut.cancel()


def run_job(job: Job, out: str | Path | None, workers: int = 1, progress: Progress | None = None,
            command: str | None = None, extra: dict[str, Any] | None = None,
            executor: cf.Executor | None = None) -> tuple[Path | None, pd.DataFrame | None, dict]:
    """Run a whole job. Written to a new run directory under ``out``, or kept in memory (``out=None``).

    Returns (run directory or None, the results table when kept in memory, the manifest).
    """
    check_job(job, workers)
    check_executor(executor)
    run_dir = new_run_dir(out, job.scenario.name) if out is not None else None
    manifest = make_manifest(job, command, extra or {})
    manifest["execution"] = describe(executor, workers)
    if run_dir is None:
        frames: dict[tuple[int, int], pd.DataFrame] = {}
        _run_units(job, job.units(), workers, progress, lambda p, b, f: frames.__setitem__((p, b), f),
                   executor=executor)
        table = pd.concat([frames[k] for k in sorted(frames)], ignore_index=True)
        return None, table, manifest
    store.write_json(run_dir / "manifest.json", manifest)
    _run_to_disk(job, run_dir, manifest, job.units(), workers, progress, executor)
    return run_dir, None, manifest


def new_run_dir(out: str | Path, name: str) -> Path:
    """A new run directory under ``out``; a folder that cannot hold one is bad input (UsageError)."""
    try:
        return store.new_run_dir(out, name)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create a run directory there ({exc.strerror or exc})") from None


def check_executor(executor: Any) -> None:
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise UsageError(f"executor must be a concurrent.futures.Executor (got {type(executor).__name__})")


def _run_units(job: Job, todo: list, workers: int, progress: Progress | None,
               on_unit: Callable[[int, int, pd.DataFrame], None], already: int = 0,
               executor: cf.Executor | None = None) -> None:
    total = job.runs * len(job.points)
    done = already

    def count(p: int, b: int, frame: pd.DataFrame) -> None:
        nonlocal done
        on_unit(p, b, frame)
        done += len(frame)
        if progress:
            progress(done, total)

    if progress:
        progress(done, total)
    execute(job, todo, workers, count, executor)


def _run_to_disk(job: Job, run_dir: Path, manifest: dict, todo: list, workers: int,
                 progress: Progress | None, executor: cf.Executor | None = None) -> None:
    already = sum(e - s for p, b, s, e in job.units()) - sum(e - s for p, b, s, e in todo)
    started = time.time()

    def on_unit(p: int, b: int, frame: pd.DataFrame) -> None:
        store.write_part(run_dir, p, b, frame)
        manifest["units"]["done"].append([p, b])
        store.write_json(run_dir / "manifest.json", manifest)

    try:
        _run_units(job, todo, workers, progress, on_unit, already, executor)
    except BaseException as exc:
        manifest["status"] = "interrupted"
        manifest["timing"]["wall_seconds"] = round(manifest["timing"].get("wall_seconds", 0) + time.time() - started, 3)
        try:
            store.write_json(run_dir / "manifest.json", manifest)
        except OSError:
            pass  # a full disk: the parts on disk still tell what is done
        if isinstance(exc, KeyboardInterrupt | OSError):
            raise Interrupted(run_dir) from exc
        raise
    manifest["timing"]["wall_seconds"] = round(manifest["timing"].get("wall_seconds", 0) + time.time() - started, 3)
    store.merge_parts(run_dir, [(p, b) for p, b, _s, _e in job.units()])
    manifest["status"] = "complete"
    manifest["units"]["done"] = sorted(manifest["units"]["done"])
    manifest["timing"]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")


def run_batch(scenario: Scenario | str | Path, runs: int = 1000, seed: int = 0, workers: int = 1,
              engine: str = "vector", out: str | Path | None = "runs", block_size: int | None = None,
              progress: Progress | None = None, command: str | None = None,
              overrides: dict[str, float] | None = None, executor: cf.Executor | None = None) -> BatchResult:
    """Run ``runs`` replicates of a scenario and return their results.

    With ``out`` a folder, the batch writes its own run directory inside it
    (see :mod:`sim.store`); with ``out=None`` nothing is written.
    ``overrides`` fixes parameters by key path (``{"actors.moscow.resolve": 0.8}``).
    ``executor`` runs the units on any :class:`concurrent.futures.Executor`
    (a thread or process pool, a Dask client's executor); without one,
    ``workers`` > 1 uses a local process pool. Results are the same either way.
    Safe to call from several threads at once.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    job = Job(sc, seed, runs, engine, block_size, [check_overrides(sc, overrides)], "batch")
    run_dir, table, manifest = run_job(job, out, workers, progress, command, executor=executor)
    if run_dir is None:
        return BatchResult(sc, seed, engine, None, manifest, _runs=table)
    return finish_batch(job, run_dir, manifest)


def finish_batch(job: Job, run_dir: Path, manifest: dict) -> BatchResult:
    result = BatchResult(job.scenario, job.seed, job.engine, run_dir, manifest)
    store.write_json(run_dir / "summary.json", result.summary())
    store.write_json(run_dir / "manifest.json", manifest)
    return result


def check_overrides(sc: Scenario, overrides: dict[str, Any] | None) -> dict[str, float | bool]:
    """Overrides as the command line checks them: known paths, the right kind, in range.

    Raises UsageError naming the path, what was expected and what came
    (an unknown path names the nearest valid ones).
    """
    if overrides is None:
        return {}
    if not isinstance(overrides, dict):
        raise UsageError(f"overrides must be a mapping {{key path: value}} (got {type(overrides).__name__})")
    slots = parameter_slots(sc)
    out: dict[str, float | bool] = {}
    for path, value in overrides.items():
        if why := check_value(slots, str(path), value):
            hint = "; `negsim sweep FILE --list-params` lists them" if why == "unknown parameter path" else ""
            raise UsageError(f"overrides: {path}: {why}{hint}")
        out[path] = value if slots[path].kind == "switch" else float(value)
    return out


def check_job(job: Job, workers: int) -> None:
    if not isinstance(job.runs, int) or job.runs < 1:
        raise UsageError(f"runs must be a positive whole number (got {job.runs!r})")
    if not isinstance(job.seed, int) or not 0 <= job.seed < MAX_SEED:
        raise UsageError(f"seed must be a whole number from 0 to 2**128 - 1 (got {job.seed!r})")
    if not isinstance(workers, int) or workers < 1:
        raise UsageError(f"workers must be a whole number >= 1 (got {workers!r})")
    if job.engine not in ENGINES:
        raise UsageError(f"engine must be one of {', '.join(ENGINES)} (got {job.engine!r})")
    if job.block_size is not None and (not isinstance(job.block_size, int) or job.block_size < 1):
        raise UsageError(f"block size must be a whole number >= 1 (got {job.block_size!r})")


def driver() -> dict[str, Any]:
    """Who writes the run directory: host, pid and that process's start time (pids are reused)."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "pid_started": store.process_started(os.getpid())}


def make_manifest(job: Job, command: str | None, extra: dict[str, Any]) -> dict[str, Any]:
    sc = job.scenario
    return {
        "format": store.FORMAT,
        "kind": job.kind,
        "status": "running",
        "scenario": {"name": sc.name, "path": str(sc.path), "sha256": hashlib.sha256(sc.text.encode()).hexdigest(),
                     "text": sc.text, "data": sc.data},
        "seed": job.seed, "runs": job.runs, "engine": job.engine, "points": job.points,
        "units": {"block_size": job.size, "total": len(job.units()), "done": []},
        "versions": store.versions(), "code_version": store.code_version(),
        "command": command or f"python: sim.run_{job.kind}",
        "python_executable": sys.executable, **driver(),
        "timing": {"started": time.strftime("%Y-%m-%dT%H:%M:%S")},
        **extra,
    }


# --------------------------------------------------------------------------- resume


def job_from_manifest(run_dir: Path, manifest: dict) -> Job:
    """Rebuild the job of a run directory from its manifest (the scenario is stored in it)."""
    try:
        sc_info = manifest["scenario"]
        sc = scenario_from_data(sc_info["data"], sc_info["path"], sc_info["text"])
        return Job(sc, int(manifest["seed"]), int(manifest["runs"]), manifest["engine"],
                   int(manifest["units"]["block_size"]), [dict(p) for p in manifest["points"]], manifest["kind"])
    except (KeyError, TypeError, ValueError) as exc:
        raise StoreError(f"{run_dir}/manifest.json: cannot rebuild the job ({type(exc).__name__}: {exc})") from None


def resume(run_dir: str | Path, workers: int = 1, progress: Progress | None = None,
           executor: cf.Executor | None = None) -> Any:
    """Finish an interrupted batch or sweep (on ``executor``, if given); return its result object."""
    run_dir = Path(run_dir)
    manifest = store.read_manifest(run_dir)
    job = job_from_manifest(run_dir, manifest)
    check_job(job, workers)
    check_executor(executor)
    merged = (run_dir / "results.parquet").is_file()  # written whole, by a rename, after every unit
    if manifest.get("status") != "complete" and not merged:
        units = job.units()
        done = store.finished_parts(run_dir, {(p, b): e - s for p, b, s, e in units})
        todo = [u for u in units if (u[0], u[1]) not in done]
        manifest["units"]["done"] = sorted([list(k) for k in done])
        manifest["status"] = "running"
        manifest.setdefault("resumed", []).append(time.strftime("%Y-%m-%dT%H:%M:%S"))
        manifest |= driver()
        manifest["execution"] = describe(executor, workers)
        store.write_json(run_dir / "manifest.json", manifest)
        _run_to_disk(job, run_dir, manifest, todo, workers, progress, executor)
    if job.kind == "sweep":
        from sim.sweep import finish_sweep  # the sweep stage comes after batches

        return finish_sweep(job, run_dir, manifest)
    return finish_batch(job, run_dir, manifest)
