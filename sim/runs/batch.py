"""Running many runs: jobs of (point, block) units, a process pool, the run store.

A job is a scenario, a root seed, a number of replicates R and one or more
*points* (a batch has one point with no overrides; a sweep has one point per
design row, each a dict ``{path: value}``). Every point runs the same
replicates 0..R-1, so replicate r sees the same shocks at every point (common
random numbers). The replicates are cut into blocks (as asked, else as
:func:`default_block` chooses from the runs and the workers; the manifest
records the size); a unit is one block of one point. Each unit draws its own shocks, runs on the chosen engine
and is written as one Parquet part as soon as it finishes. Results depend
only on the seed, the points and the replicate numbers, never on the number
of workers, the block size or the order in which units finish.

An interrupted job (Ctrl-C, SIGTERM, SIGHUP, SIGKILL, a full disk) leaves its
run directory with the parts written so far; :func:`resume` runs the missing
units and finishes it, with results identical to an uninterrupted run. See
:mod:`sim.runs.store` for what survives what.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import os
import signal
import socket
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.defaults import BLOCK, BLOCK_CELLS, BLOCK_SPREAD, ENGINES, OUT, RUNS, SEED, WORKERS
from sim.engine import kernel
from sim.engine import model as agent_engine
from sim.engine.records import OUTCOMES
from sim.engine.shocks import MAX_SEED, Shocks, draw, draw_params, parameter_uniforms
from sim.errors import (
    DiskFull,
    Interrupted,
    ScenarioError,
    Stopped,
    StoreError,
    UsageError,
    WorkerDied,
)
from sim.runs import store
from sim.runs.executors import describe
from sim.runs.summary import summarize, summary_columns
from sim.scenario.compile import Compiled, compile_scenario, refusal, searched
from sim.scenario.loading import load_scenario
from sim.scenario.models import Scenario, ScenarioModel, scenario_from_data, zero_salience
from sim.scenario.registry import Slot, check_value, package_count, parameter_slots

Progress = Callable[[int, int], None]
Unit = tuple[int, int, int, int]  # (point, block, first replicate, end replicate)
type Result = pd.DataFrame | bytes  # a unit's results: its table, or (a job written to disk) that table as Parquet bytes
OnUnit = Callable[[int, int, Result], None]


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
    workers: int = 1  # units that run at once (the pool's workers): the default block spreads the runs over them

    @property
    def size(self) -> int:
        """Runs per block: as asked, else the engine's default; the vector engine's is :func:`default_block`, at
        most BLOCK["vector"] runs and fewer for a large package space (the kernel holds arrays of runs x packages:
        at most BLOCK_CELLS cells, as 5,000 runs of 10,000 packages)."""
        if self.block_size:
            return self.block_size
        if self.engine != "vector":
            return BLOCK[self.engine]
        packages = package_count(self.scenario.model)
        # a searched space's arrays are runs x groups x options: the package count does not matter
        cap = BLOCK["vector"] if searched(self.scenario) else \
            max(100, min(BLOCK["vector"], BLOCK_CELLS // max(1, packages)))
        return default_block(self.runs, max(1, len(self.points)), self.workers, cap)

    def units(self) -> list[Unit]:
        """(point, block, first replicate, end replicate) of every unit, in result order."""
        blocks = [(b, s, min(s + self.size, self.runs)) for b, s in enumerate(range(0, self.runs, self.size))]
        return [(p, b, s, e) for p in range(len(self.points)) for b, s, e in blocks]


def default_block(runs: int, points: int, workers: int, cap: int) -> int:
    """The vector engine's default block: as few blocks of a point's runs as ``cap`` allows, and enough that every
    worker gets a unit.

    A larger block costs less per run (the kernel's month has a cost per numpy call that does not grow with the
    runs), so a point's runs are cut into as few blocks as the cap allows; the cap (20,000 runs, about a second of
    one core) also keeps units coming, so a long batch's progress moves. Where that would leave a worker without a
    unit, the runs are cut into more blocks, but none below BLOCK_SPREAD runs (a pool costs more than it saves on
    fewer). A batch's blocks are then made a multiple of the workers where that keeps them at BLOCK_SPREAD runs or
    more, so no worker runs the last block alone. Results never depend on the block (per-run generators): the run
    directory's manifest records it, and ``negsim resume`` cuts the same blocks whatever the workers.
    """
    blocks = -(-runs // cap)
    spread = min(-(-workers // points), max(1, runs // BLOCK_SPREAD))
    blocks = max(blocks, spread)
    if points == 1 and blocks > 1:
        even = -(-blocks // workers) * workers
        if -(-runs // even) >= min(BLOCK_SPREAD, cap):
            blocks = even
    return -(-runs // blocks)


@dataclass
class BatchResult(store.StoredRuns):
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

    kind = "batch"

    def classes(self) -> list[str]:
        return outcome_names(self.scenario)

    def summary(self) -> dict[str, Any]:
        """Outcome probabilities with 95% Wilson intervals and distributions of timing and terms."""
        if self._summary is None:
            if self._runs is not None:
                table = self._runs
            else:
                columns = summary_columns(store.results_columns(self._stored()))
                table = store.read_results(self._stored(), columns=columns, compact=True)
            self._summary = summarize(table, self.classes())
        return self._summary


def outcome_names(sc: Scenario) -> list[str]:
    """Outcome classes of a scenario, then the three outcomes."""
    return [oc.name for oc in model_of(sc).outcome_classes] + list(OUTCOMES)


def model_of(sc: Scenario) -> ScenarioModel:
    """The checked model of a scenario (every loaded scenario has one)."""
    if sc.model is None:
        raise UsageError(f"{sc.path}: the scenario was not checked (it has no model)")
    return sc.model


def simulate_block(c: Compiled, seed: int, start: int, stop: int, engine: str = "vector") -> pd.DataFrame:
    """Results of replicates [start, stop) on one engine."""
    shocks = draw_shocks(c, seed, range(start, stop))
    if engine == "vector":
        return kernel.run_block(c, shocks)
    return agent_engine.run_block(c, shocks)


def draw_shocks(c: Compiled, seed: int, replicates: range | list[int]) -> Shocks:
    """The engine's shocks, with a scenario's ``dist: posterior`` numbers drawn jointly (see joint_uniforms)."""
    shocks = draw(c, seed, replicates)
    u = joint_uniforms(c, seed, np.asarray(replicates, dtype=np.int64))
    if u is not None:
        shocks.params = draw_params(c, u)
    return shocks


POSTERIOR_STREAM = "dist: posterior"  # the key of the one uniform every posterior number of a run shares


def joint_uniforms(c: Compiled, seed: int, reps: np.ndarray) -> np.ndarray | None:
    """The uncertain parameters' uniforms with the ``dist: posterior`` ones drawn jointly; None if there are none.

    Every posterior number of a scenario holds the same number of samples, row by row (a calibration's
    posterior table). Each run picks one row, ``floor(u * n)`` of one uniform shared by those numbers, and
    each number takes that row's value (its uniform is set to the mid-rank of the value, which
    :class:`sim.scenario.models.Empirical` maps back to it exactly), so their correlations are kept. The
    other parameters keep their own uniforms: a scenario without posterior numbers draws as before.
    """
    post = [j for j, path in enumerate(c.uncertain) if c.slots[path].param.dist == "posterior"]
    if not post:
        return None
    sizes = {len(c.slots[c.uncertain[j]].param.values) for j in post}
    if len(sizes) > 1:
        raise UsageError("dist: posterior numbers of one scenario must hold the same number of values (rows of "
                         f"one posterior table); got {', '.join(map(str, sorted(sizes)))}")
    n = sizes.pop()
    row = np.minimum((parameter_uniforms(seed, reps, POSTERIOR_STREAM) * n).astype(np.int64), n - 1)
    u = np.stack([parameter_uniforms(seed, reps, path) for path in c.uncertain], axis=1)
    for j in post:
        values = np.asarray(c.slots[c.uncertain[j]].param.values, float)
        rank = np.empty(n, np.int64)
        rank[np.argsort(values, kind="stable")] = np.arange(n)
        u[:, j] = (rank[row] + 0.5) / n
    return u


# --------------------------------------------------------------------------- execution


def run_unit(job: Job, point: int, start: int, stop: int) -> pd.DataFrame:
    """Results of replicates [start, stop) at one point of a job: the unit of work.

    A pure function of its arguments: it compiles the point (about a
    millisecond) and runs the block, and keeps nothing between calls, so any
    number of jobs can run at once in threads, processes or cluster workers
    without seeing each other.
    """
    return run_point(job, point, job.points[point], start, stop)


def run_point(job: Job | str, point: int, overrides: dict[str, float], start: int, stop: int) -> pd.DataFrame:
    """What executors are handed: :func:`run_unit` with the point's overrides given, not looked up.

    ``job`` is the job (its list of points is not needed) or, in a local
    pool's worker, the token of the job the worker was handed when it
    started (see :func:`ship`).
    """
    if isinstance(job, str):
        from sim.runs.executors import WORKER_JOBS

        job = WORKER_JOBS[job]
    assert isinstance(job, Job)
    compiled = compile_scenario(job.scenario, overrides or None)
    frame = simulate_block(compiled, job.seed, start, stop, job.engine)
    if job.kind == "sweep":
        frame.insert(0, "point", point)
    return frame


def run_point_part(job: Job | str, point: int, overrides: dict[str, float], start: int, stop: int) -> bytes:
    """:func:`run_point`'s table as the Parquet bytes of its part (:func:`sim.runs.store.frame_bytes`).

    What a job written to disk hands its executor: the worker encodes the part, so the driver only writes and
    hashes the bytes, and a unit's result crosses the process boundary in less than half the pickled table's
    bytes (20,000 baseline runs: 4.2 MB, against 9.1 MB).
    """
    return store.frame_bytes(run_point(job, point, overrides, start, stop))


def unit_call(ref: Any, job: Job, unit: Unit, part: bool = False) -> tuple[Callable[..., Result], tuple[Any, ...]]:
    """The function and arguments an executor gets for one unit: the job's reference and that unit's point only;
    with ``part``, the unit returns its Parquet part (:func:`run_point_part`), else its table."""
    p, _b, start, stop = unit
    return run_point_part if part else run_point, (ref, p, job.points[p], start, stop)


def shell(job: Job) -> Job:
    """The job without its list of points: what a worker keeps (each unit brings its own point)."""
    return replace(job, points=[])


@contextmanager
def ship(job: Job, executor: cf.Executor) -> Iterator[Any]:
    """Send the job to the executor's workers once; yield the reference its units carry.

    On Dask (our executor or a client's ``get_executor()``), the job is
    scattered to every worker (``broadcast=True``) and a unit carries the
    future, which the worker resolves to its own copy. A thread pool shares
    the job in memory. Any other executor gets the job without its points in
    each unit: a unit's size does not grow with the number of points.
    """
    client = getattr(executor, "client", None) or getattr(executor, "_client", None)
    if client is None or not callable(getattr(client, "scatter", None)):
        yield shell(job)
        return
    future = client.scatter(shell(job), broadcast=True, hash=False)
    try:
        yield future
    finally:
        future.release()


def execute(job: Job, todo: list[Unit], workers: int, on_unit: OnUnit, executor: cf.Executor | None = None,
            part: bool = False) -> None:
    """Run the units and hand each result to ``on_unit`` as it arrives: its table, or with ``part`` its Parquet
    bytes (encoded where the unit ran: in a worker, not in this process).

    With ``executor`` (any :class:`concurrent.futures.Executor`: a process
    or thread pool, a Dask ``ClientExecutor``, ...) the units are submitted
    to it and it is left open; without one, ``workers`` > 1 starts a local
    process pool for this call, and 1 runs the units here.
    """
    if executor is not None:
        with ship(job, executor) as ref:
            _drain(job, ref, todo, executor, _capacity(executor, workers), on_unit, part)
        return
    if workers <= 1 or len(todo) <= 1:
        for unit in todo:
            fn, args = unit_call(job, job, unit, part)
            on_unit(unit[0], unit[1], fn(*args))
        return
    from sim.runs.executors import local_pool

    token = uuid.uuid4().hex
    pool = local_pool(workers, (token, shell(job)))
    try:
        _drain(job, token, todo, pool, workers, on_unit, part)
    except BaseException:
        # Cancel the queued units and let the running ones end (at most one block per worker):
        # killing a worker could cut a result in the middle of its message and leave the pool's
        # reader waiting for the rest for good.
        pool.shutdown(wait=True, cancel_futures=True)
        raise
    pool.shutdown(wait=True)


def _capacity(executor: cf.Executor, workers: int) -> int:
    """How many units the executor runs at once (as far as it tells)."""
    size = getattr(executor, "max_workers", None) or getattr(executor, "_max_workers", None)
    return max(int(size or workers), 1)


def _drain(job: Job, ref: Any, todo: list[Unit], executor: cf.Executor, capacity: int, on_unit: OnUnit,
           part: bool = False) -> None:
    """Keep two units per worker in flight, so results are released as they are written.

    A stop signal arriving meanwhile is noted and raised between units (see
    :func:`_deferred_stops`); a worker that dies is reported as :class:`WorkerDied`.
    """
    queue = iter(todo)
    pending: dict[cf.Future, tuple[int, int]] = {}

    def fill() -> None:
        while len(pending) < 2 * capacity and (unit := next(queue, None)) is not None:
            fn, args = unit_call(ref, job, unit, part)
            pending[executor.submit(fn, *args)] = (unit[0], unit[1])

    with _deferred_stops() as stop_requested:
        try:
            with _signals_blocked():  # a server, workers and threads started now begin with them blocked
                fill()
            while pending:
                done, _ = cf.wait(list(pending), timeout=0.2, return_when=cf.FIRST_COMPLETED)
                stop_requested()
                for fut in done:
                    p, b = pending.pop(fut)
                    on_unit(p, b, fut.result())
                fill()
        except cf.process.BrokenProcessPool:
            stop_requested()  # a SIGTERM sent to the whole group stops the job as such
            raise WorkerDied("a worker process died (killed, or out of memory)") from None
        finally:
            for fut in pending:
                fut.cancel()


STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextmanager
def _deferred_stops() -> Iterator[Callable[[], None]]:
    """While units run, a stop signal is noted and raised only between units, never inside a pool's code.

    Applies to the signals that raise an exception here (Ctrl-C; SIGTERM and
    SIGHUP once the CLI has set them to stop like Ctrl-C). Yields the check
    that raises a noted stop.
    """
    caught: list[int] = []
    handled = [s for s in STOPS if callable(signal.getsignal(s))] if _main_thread() else []
    previous = {s: signal.signal(s, lambda signum, _frame: caught.append(signum)) for s in handled}

    def stop_requested() -> None:
        if caught:
            raise KeyboardInterrupt if caught[0] == signal.SIGINT else Stopped(caught[0])

    try:
        yield stop_requested
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    stop_requested()


@contextmanager
def _signals_blocked() -> Iterator[None]:
    """Block the stop signals in this thread, and in the processes and threads started meanwhile."""
    if not _main_thread():
        yield
        return
    old = signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def _main_thread() -> bool:
    return threading.current_thread() is threading.main_thread()


Finish = Callable[[Job, Path, dict], Any]


def run_job(job: Job, out: str | Path | None, workers: int = 1, progress: Progress | None = None,
            command: str | None = None, extra: dict[str, Any] | None = None,
            executor: cf.Executor | None = None, finish: Finish | None = None) -> tuple[Path | None, Any, dict]:
    """Run a whole job. Written to a new run directory under ``out``, or kept in memory (``out=None``).

    Returns (None, the results table, the manifest) in memory; on disk (the run
    directory, what ``finish(job, run_dir, manifest)`` returned, the manifest),
    where ``finish`` writes the summary files while the directory is still locked.
    Without a block size, the job's blocks are cut for ``workers`` (or the executor's, see :func:`default_block`).
    """
    check_job(job, workers)
    check_executor(executor)
    job = replace(job, workers=workers if executor is None else _capacity(executor, workers))  # for its blocks
    manifest = make_manifest(job, command, extra or {})
    manifest["execution"] = describe(executor, workers)
    if out is None:
        frames: dict[tuple[int, int], pd.DataFrame] = {}
        _run_units(job, job.units(), workers, progress, lambda p, b, f: frames.__setitem__((p, b), f),
                   executor=executor)
        table = pd.concat([frames[k] for k in sorted(frames)], ignore_index=True)
        return None, table, manifest
    run_dir = new_run_dir(out, job.scenario.name)
    with store.RunLock(run_dir, manifest["command"]):
        try:
            store.write_json(run_dir / "manifest.json", manifest)
        except BaseException as exc:  # nothing of the job is written yet: leave nothing behind
            store.discard_run_dir(run_dir)
            if store.disk_full(exc):
                raise DiskFull(f"{exc.strerror} while writing {exc.filename}; nothing was run") from None
            raise
        _run_to_disk(job, run_dir, manifest, job.units(), workers, progress, executor)
        return run_dir, _complete(job, run_dir, manifest, finish or finish_batch), manifest


def new_run_dir(out: str | Path, name: str) -> Path:
    """A new run directory under ``out``; a folder that cannot hold one is bad input (UsageError)."""
    try:
        return store.new_run_dir(out, name)
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create a run directory there ({exc.strerror or exc})") from None


def check_executor(executor: Any) -> None:
    if executor is not None and not callable(getattr(executor, "submit", None)):
        raise UsageError(f"executor must be a concurrent.futures.Executor (got {type(executor).__name__})")


def _run_units(job: Job, todo: list, workers: int, progress: Progress | None, on_unit: OnUnit, already: int = 0,
               executor: cf.Executor | None = None, part: bool = False) -> None:
    total = job.runs * len(job.points)
    done = already
    rows = {(p, b): e - s for p, b, s, e in todo}

    def count(p: int, b: int, result: Result) -> None:
        nonlocal done
        on_unit(p, b, result)
        done += rows[(p, b)]
        if progress:
            progress(done, total)

    if progress:
        progress(done, total)
    execute(job, todo, workers, count, executor, part)


@contextmanager
def _stops(run_dir: Path, manifest: dict, started: float) -> Iterator[None]:
    """Whatever stops a job (a signal, a full disk, a dead worker) leaves it marked and resumable."""
    try:
        yield
    except BaseException as exc:
        if manifest.get("status") != "complete":
            manifest["status"] = "interrupted"
            _add_time(manifest, started)
            try:
                store.write_json(run_dir / "manifest.json", manifest)
            except OSError:
                pass  # a full disk: the journal of parts still tells what is done
        if isinstance(exc, KeyboardInterrupt):
            raise Interrupted(run_dir, getattr(exc, "signum", signal.SIGINT)) from None
        if store.disk_full(exc):
            raise DiskFull(f"{exc.strerror} while writing {exc.filename or run_dir}; free some space, "
                           f"then run: negsim resume {run_dir}") from None
        if isinstance(exc, WorkerDied):
            raise WorkerDied(f"{exc}; the finished blocks are kept: negsim resume {run_dir}") from None
        raise


def _add_time(manifest: dict, started: float) -> None:
    manifest["timing"]["wall_seconds"] = round(manifest["timing"].get("wall_seconds", 0) + time.time() - started, 3)


def _run_to_disk(job: Job, run_dir: Path, manifest: dict, todo: list, workers: int,
                 progress: Progress | None, executor: cf.Executor | None = None) -> None:
    already = sum(e - s for p, b, s, e in job.units()) - sum(e - s for p, b, s, e in todo)
    started = time.time()
    spans = {(p, b): (s, e) for p, b, s, e in todo}

    def on_unit(p: int, b: int, data: Result) -> None:
        store.write_part(run_dir, (p, b, *spans[(p, b)]), data, manifest["job_sha256"])

    with _stops(run_dir, manifest, started):
        _run_units(job, todo, workers, progress, on_unit, already, executor, part=True)
    _add_time(manifest, started)


def _complete(job: Job, run_dir: Path, manifest: dict, finish: Finish) -> Any:
    """Merge, summarise, mark complete, then remove the parts: a stop at any step resumes to complete."""
    with _stops(run_dir, manifest, time.time()):
        manifest["results"] = store.merge_parts(run_dir, job.units(), manifest["job_sha256"], job.kind == "sweep")
        result = finish(job, run_dir, manifest)
        manifest["status"] = "complete"
        manifest["timing"]["finished"] = time.strftime("%Y-%m-%dT%H:%M:%S")
        store.write_json(run_dir / "manifest.json", manifest)
        store.remove_parts(run_dir)
    return result


def run_batch(scenario: Scenario | str | Path, *, runs: int = RUNS, seed: int = SEED, workers: int = WORKERS,
              engine: str = ENGINES[0], out: str | Path | None = OUT, block_size: int | None = None,
              progress: Progress | None = None, command: str | None = None,
              overrides: dict[str, float] | None = None, executor: cf.Executor | None = None) -> BatchResult:
    """Run ``runs`` replicates of a scenario and return their results.

    With ``out`` a folder, the batch writes its own run directory inside it
    (see :mod:`sim.runs.store`); with ``out=None`` nothing is written.
    ``overrides`` fixes parameters by key path (``{"actors.moscow.resolve": 0.8}``).
    ``executor`` runs the units on any :class:`concurrent.futures.Executor`
    (a thread or process pool, a Dask client's executor); without one,
    ``workers`` > 1 uses a local process pool. Results are the same either way.
    Safe to call from several threads at once.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    job = Job(sc, seed, runs, engine, block_size, [check_overrides(sc, overrides)], "batch")
    run_dir, table_or_result, manifest = run_job(job, out, workers, progress, command, executor=executor,
                                                 finish=finish_batch)
    if run_dir is None:
        return BatchResult(sc, seed, engine, None, manifest, _runs=table_or_result)
    return table_or_result  # written and finished by finish_batch


def finish_batch(job: Job, run_dir: Path, manifest: dict) -> BatchResult:
    """Write summary.json of a merged batch (the manifest is written by the caller)."""
    result = BatchResult(job.scenario, job.seed, job.engine, run_dir, manifest)
    store.write_json(run_dir / "summary.json", result.summary())
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
    check_limit("points", len(job.points), "points")
    check_limit("runs", job.runs * len(job.points), "runs in all (points x runs)")
    if refused := refusal(job.scenario):  # before a run directory is made or a worker compiles it
        raise ScenarioError(refused)
    slots = parameter_slots(job.scenario)
    for point in job.points:
        check_point(job.scenario, point, slots)


# Caps on the size of a job; an environment variable raises one (documented in docs/cli.md).
LIMITS = {"runs": 5_000_000, "points": 50_000, "levels": 1_000}


def limit(name: str) -> int:
    """The cap ``name`` (runs, points, levels): NEGSIM_MAX_<NAME> if set, else the default."""
    var = f"NEGSIM_MAX_{name.upper()}"
    raw = os.environ.get(var)
    if raw is None:
        return LIMITS[name]
    try:
        value = int(raw)
        if value < 1:
            raise ValueError
    except ValueError:
        raise UsageError(f"{var} must be a whole number >= 1 (got {raw!r})") from None
    return value


def check_limit(name: str, count: int, what: str) -> None:
    cap = limit(name)
    if count > cap:
        raise UsageError(f"{count:,} {what} is more than the limit of {cap:,}; set NEGSIM_MAX_{name.upper()} "
                         f"to raise it (mind the disk: about 210 bytes per run)")


def check_point(sc: Scenario, point: dict[str, Any], slots: dict[str, Slot] | None = None) -> None:
    """Fixed values of one point (overrides): checked by the registry, and saliences not all 0."""
    slots = slots if slots is not None else parameter_slots(sc)
    for path, value in point.items():
        if why := check_value(slots, str(path), value.item() if isinstance(value, np.generic) else value):
            raise UsageError(f"{path}: {why}")
    if why := zero_salience(sc, point):
        raise UsageError(why)




def driver() -> dict[str, Any]:
    """Who writes the run directory: host, pid and that process's start time (pids are reused)."""
    return {"pid": os.getpid(), "host": socket.gethostname(), "pid_started": store.process_started(os.getpid())}


def make_manifest(job: Job, command: str | None, extra: dict[str, Any]) -> dict[str, Any]:
    sc = job.scenario
    manifest = {
        "format": store.FORMAT,
        "kind": job.kind,
        "status": "running",
        "scenario": {"name": sc.name, "path": str(sc.path), "sha256": hashlib.sha256(sc.text.encode()).hexdigest(),
                     "text": sc.text, "data": sc.data},
        "seed": job.seed, "runs": job.runs, "engine": job.engine, "points": job.points,
        "units": {"block_size": job.size, "total": len(job.units())},
        "versions": store.versions(), "code_version": store.code_version(),
        "command": command or f"python: sim.run_{job.kind}",
        "python_executable": sys.executable, **driver(),
        "timing": {"started": time.strftime("%Y-%m-%dT%H:%M:%S")},
        **extra,
    }
    manifest["job_sha256"] = store.job_fingerprint(manifest)
    return manifest


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


def resume_job(run_dir: str | Path, finishers: dict[str, Finish], workers: int = 1,
               progress: Progress | None = None, executor: cf.Executor | None = None) -> Any:
    """Finish an interrupted job (on ``executor``, if given) with the finisher of its kind; return its result.

    ``finishers`` maps a job kind (``batch``, ``sweep``) to what completes it;
    :func:`sim.runs.resumption.resume` passes both, so this stage never imports the
    sweep stage above it. Parts are kept only when their checksum and job
    match their record; the others are run again and listed in the
    manifest's ``resumed`` entry.
    """
    run_dir = Path(run_dir)
    store.read_manifest(run_dir)  # a clear error for a directory that is not a run directory
    check_executor(executor)
    with store.RunLock(run_dir, "negsim resume"):
        manifest = store.read_manifest(run_dir)  # as the last holder of the lock left it
        store.check_manifest(run_dir, manifest)
        job = job_from_manifest(run_dir, manifest)
        check_job(job, workers)
        finish = finishers[job.kind]
        if manifest.get("status") == "complete":
            if not store.results_intact(run_dir, manifest):
                raise StoreError(f"{run_dir}/results.parquet: missing or damaged (it does not match the checksum "
                                 f"in manifest.json); the batch must be run again")
            with _stops(run_dir, manifest, time.time()):
                store.remove_parts(run_dir)  # left by a stop after the manifest was marked complete
                return finish(job, run_dir, manifest)
        if manifest.get("format") == 1:
            raise StoreError(f"{run_dir}: an unfinished run of an older negsim (no part checksums); run it again")
        units = job.units()
        done, rejected = store.verified_parts(run_dir, units, manifest["job_sha256"])
        todo = [u for u in units if (u[0], u[1]) not in done]
        manifest["status"] = "running"
        manifest |= driver()
        manifest["execution"] = describe(executor, workers)
        manifest.setdefault("resumed", []).append({"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "kept": len(done),
                                                   "run_again": len(todo), "rejected": rejected[:100]})
        with _stops(run_dir, manifest, time.time()):
            store.write_json(run_dir / "manifest.json", manifest)
        _run_to_disk(job, run_dir, manifest, todo, workers, progress, executor)
        return _complete(job, run_dir, manifest, finish)


