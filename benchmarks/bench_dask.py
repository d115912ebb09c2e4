"""Runs per second through the Dask backend against the local process pool, on one machine.

    .venv/bin/python benchmarks/bench_dask.py [--runs 200000] [--workers 2] [--repeats 3]
                                              [--out benchmarks/results/dask.json]

Both backends run the baseline scenario with the default vector block size
(5,000 runs), ``out=None`` (no files), the same number of worker processes
(the Dask side: a LocalCluster of single-threaded worker processes on
127.0.0.1, started once and warmed up, as a standing cluster would be).
Repeats alternate local and Dask, so both meet the same load from other
work on the machine. The efficiency is Dask runs/s over local runs/s,
median of the repeats. The two tables are also checked to be identical.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time
from pathlib import Path

import sim
from sim.runs.executors import dask_executor

ROOT = Path(__file__).resolve().parents[1]


def timed(fn) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn()
    return time.perf_counter() - t, out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=200_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "dask.json"))
    args = ap.parse_args()
    sc = sim.load_scenario(ROOT / "scenarios" / "baseline.yaml")

    def batch(executor=None):
        return sim.run_batch(sc, runs=args.runs, seed=1, workers=args.workers, out=None, executor=executor).runs

    batch()  # warm the forkserver
    local, dask = [], []
    with dask_executor(None, args.workers) as ex:
        sim.run_batch(sc, runs=20_000, seed=1, out=None, executor=ex)  # warm the workers
        for _ in range(args.repeats):  # interleaved, so both meet the same load from other work on the machine
            local.append(timed(batch))
            dask.append(timed(lambda: batch(ex)))
    assert local[0][1].equals(dask[0][1]), "the Dask table differs from the local one"
    rate_local = args.runs / statistics.median(t for t, _ in local)
    rate_dask = args.runs / statistics.median(t for t, _ in dask)
    result = {"runs": args.runs, "workers": args.workers, "block_size": 5000, "repeats": args.repeats,
              "local_runs_per_s": round(rate_local), "dask_runs_per_s": round(rate_dask),
              "efficiency": round(rate_dask / rate_local, 3), "identical": True,
              "machine": platform.platform(), "python": platform.python_version()}
    print(json.dumps(result, indent=2))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
