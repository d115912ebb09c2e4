"""Calls per second of the proposal search (sim/engine/search.py) against the number of issues, and of the
rules' brute force over every package where the space is small enough to enumerate (issue 18, item 4).

    .venv/bin/python benchmarks/bench_search.py [--runs 10000] [--repeats 3] [--seed 1]
                                                 [--out benchmarks/results/search.json]

For 3, 6, 10, 15 and 20 issues with 2-8 options each (drawn once from the seed), a random case of
tests/search_cases.py (saliences, ideals, minimum terms, red lines, types, beliefs, publics): the mediator's
proposal by the search on ``--runs`` runs, and by ``rules.mediator_proposal`` over every package (the
utilities of every package and the chances of acceptance and ratification included, as the kernel computes
them) on as many runs as keep its arrays under 2e7 cells. Times are CPU seconds of this process
(``time.process_time``, steadier than wall time on a shared machine) and wall seconds, medians of the
repeats; the peak memory the search allocates (tracemalloc) per run, on 1,000 runs.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import search_cases as sc  # noqa: E402

from sim.engine import search  # noqa: E402

ISSUES = (3, 6, 10, 15, 20)
CELLS = 20_000_000  # largest runs x packages the brute force is timed on


def timed(fn, repeats: int) -> tuple[float, float]:
    """Median CPU and wall seconds of ``fn()``."""
    cpu, wall = [], []
    for _ in range(repeats):
        c0, w0 = time.process_time(), time.perf_counter()
        fn()
        cpu.append(time.process_time() - c0)
        wall.append(time.perf_counter() - w0)
    return statistics.median(cpu), statistics.median(wall)


def peak_per_run(c: sc.Case) -> float:
    """Bytes the search allocates at its peak, per run (tracemalloc)."""
    objective = search.mediator_objective(c.chances, c.need, c.weights)
    tracemalloc.start()
    search.search(c.space, objective)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / c.space.shape[1]


def row(issues: int, runs: int, repeats: int, rng: np.random.Generator) -> dict:
    counts = sc.shape(rng, max_packages=10**30, issues=(issues, issues))
    c = sc.case(rng, counts, runs)
    objective = search.mediator_objective(c.chances, c.need, c.weights)
    cpu, wall = timed(lambda: search.search(c.space, objective), repeats)
    out = {"issues": issues, "options": counts, "packages": float(np.prod(counts, dtype=float)), "runs": runs,
           "search_cpu_s": cpu, "search_wall_s": wall, "search_calls_per_cpu_s": runs / cpu,
           "search_bytes_per_run": peak_per_run(sc.case(rng, counts, 1_000))}
    if out["packages"] <= 100_000:
        small = max(1, min(runs, int(CELLS // out["packages"])))
        b = sc.case(rng, counts, small)
        bcpu, bwall = timed(lambda: sc.brute_mediator(b), repeats)
        out.update(brute_runs=small, brute_cpu_s=bcpu, brute_wall_s=bwall, brute_calls_per_cpu_s=small / bcpu)
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10_000)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", default="benchmarks/results/search.json")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    rows = []
    print("| issues | packages | search calls/CPU-s | search CPU s | wall s | bytes/run | brute force calls/CPU-s |")
    print("| --- | --- | --- | --- | --- | --- | --- |")
    for k in ISSUES:
        r = row(k, args.runs, args.repeats, rng)
        rows.append(r)
        brute = f"{r['brute_calls_per_cpu_s']:,.0f} ({r['brute_runs']:,} runs)" if "brute_runs" in r else "-"
        print(f"| {k} | {r['packages']:.3g} | {r['search_calls_per_cpu_s']:,.0f} | {r['search_cpu_s']:.2f} | "
              f"{r['search_wall_s']:.2f} | {r['search_bytes_per_run']:,.0f} | {brute} |", flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"python": platform.python_version(), "numpy": np.__version__,
                               "seed": args.seed, "rows": rows}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
