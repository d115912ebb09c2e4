"""Running many runs: blocks of replicates, a process pool, the run store.

A batch of N runs is cut into fixed blocks of replicates ``[b*B, (b+1)*B)``.
Each block draws its own shocks (per replicate, from the root seed), runs
on the chosen engine and is written as one Parquet part as soon as it
finishes; the manifest records the finished blocks. Results depend only on
the seed and the replicate numbers, never on the number of workers, the
block size or the order in which blocks finish.
"""

from __future__ import annotations

import concurrent.futures as cf
import hashlib
import multiprocessing as mp
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
from sim.errors import UsageError
from sim.records import OUTCOMES
from sim.scenario import Scenario, load_scenario
from sim.shocks import MAX_SEED, draw
from sim.summary import summarize

ENGINES = ("vector", "agents")
BLOCK = {"vector": 2000, "agents": 25}
Progress = Callable[[int, int], None]


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
        return [oc.name for oc in self.scenario.model.outcome_classes] + list(OUTCOMES)

    def summary(self) -> dict[str, Any]:
        """Outcome probabilities with 95% Wilson intervals and distributions of timing and terms."""
        if self._summary is None:
            table = self._runs if self._runs is not None else store.read_results(self.run_dir, compact=True)
            self._summary = summarize(table, self.classes())
        return self._summary


def simulate_block(c: Compiled, seed: int, start: int, stop: int, engine: str = "vector") -> pd.DataFrame:
    """Results of replicates [start, stop) on one engine."""
    shocks = draw(c, seed, range(start, stop))
    if engine == "vector":
        return vector.run_block(c, shocks)
    return agent_engine.run_block(c, shocks)


_WORKER: dict[str, Any] = {}


def _init_worker(c: Compiled, seed: int, engine: str) -> None:
    _WORKER.update(compiled=c, seed=seed, engine=engine)


def _work(block: int, start: int, stop: int) -> tuple[int, pd.DataFrame]:
    w = _WORKER
    return block, simulate_block(w["compiled"], w["seed"], start, stop, w["engine"])


def blocks_of(runs: int, size: int) -> list[tuple[int, int, int]]:
    return [(b, s, min(s + size, runs)) for b, s in enumerate(range(0, runs, size))]


def execute(c: Compiled, seed: int, todo: list[tuple[int, int, int]], engine: str, workers: int,
            on_block: Callable[[int, pd.DataFrame], None]) -> None:
    """Run the blocks (in this process or a pool) and hand each result to ``on_block``."""
    if workers <= 1 or len(todo) <= 1:
        for b, start, stop in todo:
            on_block(b, simulate_block(c, seed, start, stop, engine))
        return
    ctx = mp.get_context("spawn")  # fresh interpreters: no state inherited from the caller
    with cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_worker,
                                initargs=(c, seed, engine)) as pool:
        futures = [pool.submit(_work, b, start, stop) for b, start, stop in todo]
        try:
            for fut in cf.as_completed(futures):
                on_block(*fut.result())
        except BaseException:
            for f in futures:
                f.cancel()
            raise


def run_batch(scenario: Scenario | str | Path, runs: int = 1000, seed: int = 0, workers: int = 1,
              engine: str = "vector", out: str | Path | None = "runs", block_size: int | None = None,
              progress: Progress | None = None, command: str | None = None,
              overrides: dict[str, float] | None = None) -> BatchResult:
    """Run ``runs`` replicates of a scenario and return their results.

    With ``out`` a folder, the batch writes its own run directory inside it
    (see :mod:`sim.store`); with ``out=None`` nothing is written.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    _check(runs, seed, workers, engine, block_size)
    c = compile_scenario(sc, overrides)
    size = block_size or BLOCK[engine]
    todo = blocks_of(runs, size)
    started = time.time()
    run_dir = store.new_run_dir(out, sc.name) if out is not None else None
    manifest = _manifest(sc, runs, seed, engine, size, len(todo), command, started)
    frames: dict[int, pd.DataFrame] = {}
    done_runs = 0

    def on_block(b: int, frame: pd.DataFrame) -> None:
        nonlocal done_runs
        if run_dir is not None:
            store.write_part(run_dir, b, frame)
            manifest["blocks"]["done"].append(b)
            store.write_json(run_dir / "manifest.json", manifest)
        else:
            frames[b] = frame
        done_runs += len(frame)
        if progress:
            progress(done_runs, runs)

    if run_dir is not None:
        store.write_json(run_dir / "manifest.json", manifest)
    try:
        execute(c, seed, todo, engine, workers, on_block)
    except KeyboardInterrupt:
        if run_dir is not None:
            manifest["status"] = "interrupted"
            store.write_json(run_dir / "manifest.json", manifest)
        raise
    if run_dir is None:
        table = pd.concat([frames[b] for b in sorted(frames)], ignore_index=True)
        return BatchResult(sc, seed, engine, None, manifest, _runs=table)
    return _finish(run_dir, manifest, sc, seed, engine, len(todo), started)


def _finish(run_dir: Path, manifest: dict, sc: Scenario, seed: int, engine: str, blocks: int,
            started: float) -> BatchResult:
    store.merge_parts(run_dir, blocks)
    result = BatchResult(sc, seed, engine, run_dir, manifest)
    store.write_json(run_dir / "summary.json", result.summary())
    manifest["status"] = "complete"
    manifest["timing"] |= {"finished": time.strftime("%Y-%m-%dT%H:%M:%S"), "wall_seconds": round(time.time() - started, 3)}
    manifest["blocks"]["done"] = sorted(manifest["blocks"]["done"])
    store.write_json(run_dir / "manifest.json", manifest)
    return result


def _check(runs: int, seed: int, workers: int, engine: str, block_size: int | None) -> None:
    if not isinstance(runs, int) or runs < 1:
        raise UsageError(f"runs must be a positive whole number (got {runs!r})")
    if not isinstance(seed, int) or not 0 <= seed < MAX_SEED:
        raise UsageError(f"seed must be a whole number from 0 to 2**128 - 1 (got {seed!r})")
    if not isinstance(workers, int) or workers < 1:
        raise UsageError(f"workers must be a whole number >= 1 (got {workers!r})")
    if engine not in ENGINES:
        raise UsageError(f"engine must be one of {', '.join(ENGINES)} (got {engine!r})")
    if block_size is not None and (not isinstance(block_size, int) or block_size < 1):
        raise UsageError(f"block size must be a whole number >= 1 (got {block_size!r})")


def _manifest(sc: Scenario, runs: int, seed: int, engine: str, size: int, blocks: int,
              command: str | None, started: float) -> dict[str, Any]:
    return {
        "format": store.FORMAT,
        "kind": "batch",
        "status": "running",
        "scenario": {"name": sc.name, "path": str(sc.path), "sha256": hashlib.sha256(sc.text.encode()).hexdigest(),
                     "text": sc.text},
        "seed": seed, "runs": runs, "engine": engine,
        "blocks": {"size": size, "total": blocks, "done": []},
        "versions": store.versions(), "code_version": store.code_version(),
        "command": command or "python: sim.run_batch",
        "python_executable": sys.executable,
        "timing": {"started": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(started))},
    }
