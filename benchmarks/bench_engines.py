"""Runs per second of the engine's kernel, in blocks and one run at a time, on the baseline scenario.

    .venv/bin/python benchmarks/bench_engines.py [--repeats 3] [--vector-runs 200000]
                                                  [--agent-runs 400] [--out benchmarks/results/engines.json]

Measures, all in this one process (so ratios compare like with like):

1. ``engine="agents"`` (the Mesa model: the kernel one run at a time) and
   ``engine="vector"`` (the kernel over blocks of runs) through ``sim.run_batch``
   (no files written) with 1 and 2 workers: runs per second, median of the
   repeats, and their ratio at the same worker count;
2. a plain Python loop over ``sim.engine.model`` runs, the loop a Mesa user would
   write (one NegotiationModel per run, stepped until it stops);
3. how the vector engine's time grows with the horizon (12, 36, 120 months)
   and with the size of the package space (extra issues);
4. a classroom move's re-run: the classroom replays a game from month 1 with
   the moves so far at every move (``sim.play.game.resume``); the worst case
   is a game re-run to the horizon, timed here on many replicates (median and
   95th percentile, milliseconds; the target is under 50 ms);
5. the searched agenda (issue 18, part 4): scenarios/agenda_2025.yaml with 1 and 2 workers (runs/s and CPU
   time a run), runs/s against the number of issues (3, 6, 10, 15, 20, built from the agenda's issues, all
   searched) and the peak memory a run takes (tracemalloc) as the package count grows
   (``--agenda-only`` measures this part alone).

Prints a table and writes the numbers as JSON.
"""

from __future__ import annotations

import argparse
import copy
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

import sim
from sim.engine.model import NegotiationModel
from sim.engine.shocks import draw
from sim.scenario.compile import compile_scenario
from sim.scenario.models import Scenario

ROOT = Path(__file__).resolve().parents[1]


def timed(fn, repeats: int) -> list[float]:
    out = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t)
    return out


def batch_rate(sc: Scenario, runs: int, workers: int, engine: str, repeats: int) -> dict:
    """Runs per second (wall, median of the repeats) and CPU microseconds a run of this process and of the pool's
    workers (medians): the CPU figures are what a loaded machine disturbs least."""
    times, mine, theirs = [], [], []
    for _ in range(repeats):
        m0, w0, t0 = own_cpu_seconds(), worker_cpu_seconds(), time.perf_counter()
        sim.run_batch(sc, runs=runs, seed=1, workers=workers, engine=engine, out=None)
        times.append(time.perf_counter() - t0)
        mine.append(own_cpu_seconds() - m0)
        theirs.append(worker_cpu_seconds() - w0)
    return {"engine": engine, "workers": workers, "runs": runs, "seconds": times,
            "runs_per_s_median": runs / statistics.median(times),
            "driver_cpu_us_per_run": 1e6 * statistics.median(mine) / runs,
            "worker_cpu_us_per_run": 1e6 * statistics.median(theirs) / runs}


def mesa_loop_rate(sc: Scenario, runs: int, repeats: int) -> dict:
    c = compile_scenario(sc)

    def loop() -> None:
        for r in range(runs):
            model = NegotiationModel(c, draw(c, 1, [r]).run(0))
            while model.running:
                model.step()

    times = timed(loop, repeats)
    return {"engine": "plain loop over sim.engine.model", "workers": 1, "runs": runs, "seconds": times,
            "runs_per_s_median": runs / statistics.median(times)}


def rerun_ms(sc: Scenario, replicates: int) -> dict:
    """Milliseconds of a classroom move's re-run to the horizon (no person's role: the model decides)."""
    from sim.play.game import resume

    c = compile_scenario(sc)
    ms = []
    for r in range(replicates):
        t = time.perf_counter()
        resume(c, 1, r, set(), [], c.horizon)
        ms.append(1000 * (time.perf_counter() - t))
    return {"replicates": replicates, "median_ms": statistics.median(ms),
            "p95_ms": float(np.percentile(ms, 95)), "max_ms": max(ms)}


def with_horizon(sc: Scenario, months: int) -> Scenario:
    out = copy.copy(sc)
    out.model = sc.model.model_copy(update={"horizon_months": months})
    return out


def with_extra_issue(sc: Scenario, options: int) -> Scenario:
    """The baseline plus one issue of ``options`` options (salience 0: outcomes unchanged, packages x options)."""
    data = copy.deepcopy(sc.data)
    data["issues"]["extra"] = {"options": {f"o{i}": i / (options - 1) for i in range(options)},
                               "no_deal": {"position": 0.5}, "assumption": "benchmark"}
    for actor in data["actors"].values():
        if actor["role"] == "government":
            actor.setdefault("ideal", {})["extra"] = 0.5  # the baseline may leave ideals to their defaults
            actor["salience"]["extra"] = 0.0
    return sim.scenario.models.scenario_from_data(data, sc.path, sc.text)


def vector_rate(sc: Scenario, runs: int, repeats: int) -> float:
    times = timed(lambda: sim.run_batch(sc, runs=runs, seed=1, workers=1, out=None), repeats)
    return runs / statistics.median(times)


# --------------------------------------------------------------------------- the searched agenda (issue 18, part 4)


def own_cpu_seconds() -> float:
    """CPU time of this process (all its threads)."""
    import resource

    me = resource.getrusage(resource.RUSAGE_SELF)
    return me.ru_utime + me.ru_stime


def worker_cpu_seconds() -> float:
    """CPU time of this process's children and of theirs: the local pool's workers are forked by the forkserver
    (a child of this process that lives on between batches), so their time, once they have ended and been
    reaped, is in the forkserver's children's times (/proc/PID/stat), not in RUSAGE_CHILDREN of this process."""
    import os
    import resource

    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    total = kids.ru_utime + kids.ru_stime
    tick = os.sysconf("SC_CLK_TCK")
    pids: set[str] = set()
    for task in Path("/proc/self/task").iterdir():
        try:
            pids.update((task / "children").read_text().split())
        except OSError:
            continue
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(f) for f in fields[11:15]) / tick  # utime, stime, cutime, cstime
    return total


def cpu_seconds() -> float:
    """CPU time of this process, its children and the pool's workers that have ended."""
    return own_cpu_seconds() + worker_cpu_seconds()


def agenda_rate(sc: Scenario, runs: int, workers: int, repeats: int) -> dict:
    """Runs per second (wall) and CPU seconds per 1,000 runs of a batch, medians of the repeats."""
    walls, cpus, proposals = [], [], 0.0
    for _ in range(repeats):
        c0, t0 = cpu_seconds(), time.perf_counter()
        result = sim.run_batch(sc, runs=runs, seed=1, workers=workers, out=None)
        walls.append(time.perf_counter() - t0)
        cpus.append(cpu_seconds() - c0)
        proposals = float(result.runs["proposals"].mean())
    return {"runs": runs, "workers": workers, "seconds": walls, "cpu_seconds": cpus, "proposals_per_run": proposals,
            "cpu_ms_per_proposal": 1000 * statistics.median(cpus) / runs / max(proposals, 1e-9),
            "runs_per_s_median": runs / statistics.median(walls),
            "cpu_ms_per_run": 1000 * statistics.median(cpus) / runs,
            "runs_per_cpu_s": runs / statistics.median(cpus)}


def agenda_of(sc: Scenario, issues: int) -> Scenario:
    """The agenda's first ``issues`` issues (in file order: the baseline's three first); 20 adds a copy of the
    last one. Each government's fixed saliences of the kept issues are scaled to sum to 1 again (an uncertain
    one is renormalised by the engine)."""
    data = copy.deepcopy(sc.data)
    names = list(data["issues"])
    keep = names[:issues]
    extra = issues - len(names)
    for i in range(extra):  # an issue more than the agenda has: a copy of its last
        data["issues"][f"{names[-1]}_{i + 2}"] = copy.deepcopy(data["issues"][names[-1]])
        keep.append(f"{names[-1]}_{i + 2}")
    data["issues"] = {k: data["issues"][k] for k in keep}
    for actor in data["actors"].values():
        if actor.get("role") != "government":
            continue
        for part in ("salience", "ideal", "minimum"):
            table = actor.get(part, {})
            for i in range(extra):
                if names[-1] in table:
                    table[f"{names[-1]}_{i + 2}"] = copy.deepcopy(table[names[-1]])
            for k in [k for k in table if k != "assumption" and k not in keep]:
                del table[k]
        sal = actor["salience"]
        fixed = {k: v["value"] if isinstance(v, dict) else v for k, v in sal.items()
                 if k != "assumption" and (not isinstance(v, dict) or "value" in v)}
        total = sum(fixed.values())
        for k, v in fixed.items():
            sal[k] = v / total if len(fixed) == len(keep) else v
    return sim.scenario.models.scenario_from_data(data, sc.path, sc.text)


def peak_bytes_per_run(sc: Scenario, runs: int) -> float:
    """Peak traced allocation of one block of ``runs`` runs, per run (tracemalloc)."""
    import tracemalloc

    from sim.runs.batch import simulate_block

    c = compile_scenario(sc)
    simulate_block(c, 1, 0, 50)  # warm: imports and caches outside the measure
    tracemalloc.start()
    simulate_block(c, 1, 0, runs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / runs


def agenda_bench(runs: int, table_runs: int, repeats: int) -> dict:
    """agenda_2025 with 1 and 2 workers; runs/s against the number of issues (all searched); memory per run."""
    import os

    agenda = sim.load_scenario(ROOT / "scenarios" / "agenda_2025.yaml")
    out: dict = {"agenda": [agenda_rate(agenda, runs, w, repeats) for w in (1, 2)], "by_issues": [], "memory": []}
    before = os.environ.get("NEGSIM_MAX_PACKAGES")
    os.environ["NEGSIM_MAX_PACKAGES"] = "1"  # every agenda of the table searched, the 48 packages of 3 issues too
    try:
        for k in (3, 6, 10, 15, 20):
            sub = agenda_of(agenda, k)
            row = agenda_rate(sub, table_runs, 1, repeats)
            row.update(issues=k, packages=compile_scenario(sub).n_packages)
            out["by_issues"].append(row)
        for k in (3, 10, 20):
            sub = agenda_of(agenda, k)
            out["memory"].append({"issues": k, "packages": compile_scenario(sub).n_packages,
                                  "peak_bytes_per_run": peak_bytes_per_run(sub, 2000)})
    finally:
        if before is None:
            del os.environ["NEGSIM_MAX_PACKAGES"]
        else:
            os.environ["NEGSIM_MAX_PACKAGES"] = before
    return out


def print_agenda(a: dict) -> None:
    for r in a["agenda"]:
        print(f"agenda_2025 (searched), {r['workers']} worker(s), {r['runs']:,} runs: {r['runs_per_s_median']:,.0f} "
              f"runs/s wall, {r['cpu_ms_per_run']:.3f} CPU ms a run ({r['runs_per_cpu_s']:,.0f} runs per CPU second)")
    print(f"{'issues':>7}{'packages':>24}{'runs/s wall':>13}{'CPU ms/run':>12}{'proposals/run':>15}"
          f"{'CPU ms/proposal':>17}")
    for r in a["by_issues"]:
        print(f"{r['issues']:>7}{r['packages']:>24,}{r['runs_per_s_median']:>13,.0f}{r['cpu_ms_per_run']:>12.3f}"
              f"{r['proposals_per_run']:>15.2f}{r['cpu_ms_per_proposal']:>17.3f}")
    print("peak memory per run: " + ", ".join(f"{m['issues']} issues ({m['packages']:,} packages) "
                                             f"{m['peak_bytes_per_run'] / 1024:.1f} KB" for m in a["memory"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--vector-runs", type=int, default=200_000)
    ap.add_argument("--agent-runs", type=int, default=1000)
    ap.add_argument("--scaling-runs", type=int, default=40_000)
    ap.add_argument("--rerun-replicates", type=int, default=200)
    ap.add_argument("--agenda-runs", type=int, default=20_000)
    ap.add_argument("--agenda-table-runs", type=int, default=4_000)
    ap.add_argument("--agenda-only", action="store_true", help="only the searched agenda's figures (issue 18)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "engines.json"))
    args = ap.parse_args(argv)
    if args.agenda_only:
        agenda = agenda_bench(args.agenda_runs, args.agenda_table_runs, args.repeats)
        print_agenda(agenda)
        out = Path(args.out)
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"agenda": agenda, "time": time.strftime("%Y-%m-%dT%H:%M:%S")}, indent=2) + "\n")
        print(f"written {out}")
        return 0
    sc = sim.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    rows = []
    for workers in (1, 2):
        rows.append(batch_rate(sc, args.agent_runs, workers, "agents", args.repeats))
        rows.append(batch_rate(sc, args.vector_runs, workers, "vector", args.repeats))
    rows.append(mesa_loop_rate(sc, max(50, args.agent_runs // 4), args.repeats))
    rate = {(r["engine"], r["workers"]): r["runs_per_s_median"] for r in rows}
    ratios = {w: rate[("vector", w)] / rate[("agents", w)] for w in (1, 2)}
    horizon = {m: vector_rate(with_horizon(sc, m), args.scaling_runs, args.repeats) for m in (12, 36, 120)}
    packages = {}
    for options in (1, 5, 20):
        s = sc if options == 1 else with_extra_issue(sc, options)
        n = compile_scenario(s).n_packages
        packages[n] = vector_rate(s, args.scaling_runs, args.repeats)

    rerun = rerun_ms(sc, args.rerun_replicates)
    agenda = agenda_bench(args.agenda_runs, args.agenda_table_runs, args.repeats)
    print(f"negsim engine benchmark: baseline scenario, {args.repeats} repeats, medians "
          f"({platform.processor() or platform.machine()}, {sys.version.split()[0]}, numpy {np.__version__})")
    print(f"{'engine':<28}{'workers':>8}{'runs':>10}{'runs/s':>12}{'driver CPU us/run':>19}{'workers CPU us/run':>20}")
    for r in rows:
        print(f"{r['engine']:<28}{r['workers']:>8}{r['runs']:>10,}{r['runs_per_s_median']:>12,.0f}"
              f"{r.get('driver_cpu_us_per_run', float('nan')):>19,.1f}{r.get('worker_cpu_us_per_run', float('nan')):>20,.1f}")
    print(f"vector engine, 2 workers / 1 worker: {rate[('vector', 2)] / rate[('vector', 1)]:.2f}x (wall)")
    for w, x in ratios.items():
        print(f"vector / agents, {w} worker{'s' if w > 1 else ''}: {x:,.0f}x")
    print("vector engine, 1 worker, by horizon:  " + ", ".join(f"{m} months {v:,.0f}/s" for m, v in horizon.items()))
    print("vector engine, 1 worker, by packages: " + ", ".join(f"{n} packages {v:,.0f}/s" for n, v in packages.items()))
    print(f"classroom move re-run to the horizon, {rerun['replicates']} replicates: median "
          f"{rerun['median_ms']:.1f} ms, p95 {rerun['p95_ms']:.1f} ms, max {rerun['max_ms']:.1f} ms")
    print_agenda(agenda)
    result = {"rows": rows, "classroom_rerun": rerun, "agenda": agenda, "vector_over_agents": ratios, "by_horizon_months": horizon, "by_packages": packages,
              "repeats": args.repeats, "python": sys.version.split()[0], "numpy": np.__version__,
              "time": time.strftime("%Y-%m-%dT%H:%M:%S")}
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
