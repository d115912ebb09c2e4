"""The commands that run batches: run, sweep, compare and resume."""

from __future__ import annotations

import argparse
import shlex
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from sim.cli.output import console, emit_json, num, pct, stdout_console
from sim.defaults import DESIGNS, PROGRESS_STEP, SEED, SWEEP_RUNS

MANY_ISSUES = 4  # more issues than this: the terms table of packages replaces the table of each issue's options


def cmd_run(args: argparse.Namespace) -> int:
    from sim.runs.batch import run_batch
    from sim.scenario.loading import load_scenario

    sc = load_scenario(args.file)
    record = _record(sc, args.given) if args.given else None  # a bad record fails before any run
    command = _command()
    with _executor(args) as executor, _progress(_show(args), sc.name) as progress:
        result = run_batch(sc, runs=args.runs, seed=args.seed, workers=args.workers, engine=args.engine,
                           out=args.out, block_size=args.block_size, progress=progress, command=command,
                           executor=executor)
    summary, given = (result.summary(), None) if record is None else _given(sc, result, record)
    wall = result.manifest.get("timing", {}).get("wall_seconds")
    if args.json:
        emit_json({"run_dir": str(result.run_dir), "scenario": sc.name, "seed": args.seed, "engine": args.engine,
                    "wall_seconds": wall, "summary": summary} | ({"given": given} if given else {}))
        return 0
    out = stdout_console(args)
    if given:
        out.print(f"Given the record {given['record']} up to {given['upto']}: {given['kept']:,} of {given['runs']:,} "
                  "runs agree with it (rejection: the others are left out of this summary, the kept ones weigh the "
                  "same; the run directory keeps every run).", markup=False)
        if not given["kept"]:
            out.print("No run agrees with the record: nothing to summarise.", markup=False)
            return 0
    print_summary(out, sc.name, summary, result.run_dir, args.seed, args.engine, wall, sc)
    return 0


def _record(sc: Any, path: str) -> Any:
    """``--given``: the record, checked against the scenario; it needs events (prior entries are not filtered on)."""
    from sim.errors import UsageError
    from sim.scenario.targets import check_against, read_targets

    targets = read_targets(path)
    check_against(targets, sc.model.start, sc.model.horizon_months)
    if not targets.items():
        raise UsageError(f"--given {path}: no event targets to condition on (its entries are priors: bounds on "
                         "parameters, which negsim calibrate uses)")
    return targets


def _given(sc: Any, result: Any, targets: Any) -> tuple[dict, dict]:
    """``--given``: the summary of the runs consistent with a record (every target), and what was kept."""
    from sim.analysis.hindcast import keep_given
    from sim.present.explain import month_label
    from sim.runs.summary import summarize

    start = sc.model.start
    keep = keep_given(result.runs, targets, start)
    given = {"record": targets.name, "upto": month_label(start, targets.last_month(start)),
             "runs": int(len(keep)), "kept": int(keep.sum())}
    summary = summarize(result.runs[keep], result.classes()) if keep.any() else {}
    return summary, given


def _executor(args: argparse.Namespace):
    from sim.runs.executors import open_executor

    backend = args.backend or ("dask" if args.scheduler else "local")
    return open_executor(backend, args.workers, args.scheduler)


def _show(args: argparse.Namespace) -> str | None:
    """How to show progress: a bar on a terminal, lines when stderr is a file or pipe, nothing with --quiet."""
    if getattr(args, "quiet", False):
        return None
    if sys.stderr.isatty():
        return None if args.json else "bar"
    return "lines"


class _progress:
    """A rich progress bar, plain progress lines on stderr, or nothing. Yields the callback."""

    def __init__(self, show: str | None, label: str):
        self.show, self.label = show, label
        self.bar: Any = None  # a rich Progress while the bar shows

    def __enter__(self):
        if self.show == "lines":
            return self._lines()
        if self.show != "bar":
            return None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TaskID,
            TextColumn,
            TimeRemainingColumn,
        )

        bar = self.bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                                  TimeRemainingColumn(), console=console(stderr=True), transient=True)
        bar.start()
        task: list[TaskID] = []

        def update(done: int, total: int) -> None:
            if not task:
                task.append(bar.add_task(self.label, total=total))
            bar.update(task[0], completed=done)

        return update

    def _lines(self):
        """One line per PROGRESS_STEP percent of the work (and at the end): what a batch job's log should hold."""
        started, shown = time.monotonic(), -1

        def update(done: int, total: int) -> None:
            nonlocal shown
            step = 100 // PROGRESS_STEP * done // max(total, 1)
            if step == shown:
                return
            shown = step
            took = time.monotonic() - started
            sys.stderr.write(f"negsim: {self.label}: {done:,} of {total:,} runs ({100 * done / max(total, 1):.0f}%), "
                             f"{took:.1f} s\n")
            sys.stderr.flush()

        return update

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def share_table(title: str, what: str, share: str, rows: dict) -> Table:
    """A table of shares, each with its 95% interval (rows: name -> {p, lo, hi})."""
    t = Table(title=title, title_justify="left")
    t.add_column(what)
    t.add_column(share, justify="right")
    t.add_column("95% interval", justify="right")
    for k, v in rows.items():
        t.add_row(k, pct(v["p"]), f"{pct(v['lo'])} - {pct(v['hi'])}")
    return t


def print_stages(out: Console, s: dict) -> None:
    """The furthest stage of the peace process reached, and how many settlements relapsed (Model v3)."""
    stages = {k: v for k, v in s.get("stages", {}).items() if v["n"] > 0}
    if not stages:
        return
    out.print(share_table("Furthest stage of the peace process", "stage reached", "share of runs", stages))
    p, lo, hi = s["relapse_of_settlements"]
    if p == p:  # not NaN: some settlement to count
        out.print(f"Settlements that relapsed into war before the horizon: {pct(p).strip()} "
                  f"({pct(lo).strip()} - {pct(hi).strip()}); partial deals a run: {s['partial_deals_mean']:.1f}",
                  markup=False)


def print_packages(out: Console, s: dict, sc: Any = None, title: str = "") -> None:
    """The terms table: the agreements' most common packages in words, at most 80 columns wide."""
    from sim.present.terms_table import WIDTH, rich_terms, terms_table

    t = terms_table(s.get("packages") or {}, sc, title)
    if t is not None:
        for part in rich_terms(t):
            out.print(part, width=min(WIDTH, out.width))


def print_summary(out: Console, name: str, s: dict, run_dir: Any, seed: int, engine: str, wall: float | None,
                  sc: Any = None) -> None:
    n = s["runs"]
    head = f"{name}: {n:,} runs, seed {seed}, {engine} engine" + (f", {wall:.1f} s" if wall is not None else "")
    t = Table(title=head, title_justify="left")
    t.add_column("outcome")
    t.add_column("probability", justify="right")
    t.add_column("95% interval", justify="right")
    t.add_column("runs", justify="right")
    for k, v in s["outcomes"].items():
        t.add_row(k, pct(v["p"]), f"{pct(v['lo'])} - {pct(v['hi'])}", f"{v['n']:,}")
    out.print(t)
    classes = {k: v for k, v in s["outcome_classes"].items() if v["n"] > 0 and k not in s["outcomes"]}
    if classes:
        out.print(share_table("Agreements by class", "class", "share of all runs", classes))
    print_stages(out, s)
    t = Table(title="Timing (months from the start)", title_justify="left")
    for col in ("", "runs", "p10", "median", "p90", "mean"):
        t.add_column(col, justify="right" if col else "left")
    for key, label in (("talks_month", "talks first open"), ("first_partial_month", "first partial deal"),
                       ("ceasefire_month", "first ceasefire"), ("agreement_month", "settlement"),
                       ("kursk_retaken_month", "Kursk retaken")):
        if key not in s:
            continue
        d = s[key]
        if d.get("runs_with_value"):
            t.add_row(label, f"{pct(d['share'])}", f"{d['p10']:.0f}", f"{d['median']:.0f}", f"{d['p90']:.0f}", f"{d['mean']:.1f}")
        else:
            t.add_row(label, "0", "-", "-", "-", "-")
    out.print(t)
    if any(s["terms"].values()) and len(s["terms"]) <= MANY_ISSUES:
        t = Table(title="Terms of agreements (share of agreements)", title_justify="left")
        t.add_column("issue")
        t.add_column("options")
        for issue, opts in s["terms"].items():
            t.add_row(issue, ", ".join(f"{k} {pct(v).strip()}" for k, v in sorted(opts.items(), key=lambda kv: -kv[1])))
        out.print(t)
    print_packages(out, s, sc)
    if s.get("land_km2"):
        land = s["land_km2"]
        out.print("Land changing hands in agreements (km2, + returned to Ukraine, - ceded to Russia): median "
                  f"{land['median']:+,.0f}, 5th to 95th percentile {land['p5']:+,.0f} to {land['p95']:+,.0f}",
                  markup=False)
    if s["lead_mediator"]:
        out.print("Lead mediator (runs with talks): " + ", ".join(f"{k} {pct(v).strip()}" for k, v in s["lead_mediator"].items()), markup=False)
    if run_dir is not None:
        out.print(f"Results: {run_dir}/ (results.parquet, summary.json, manifest.json)", markup=False)
    out.print("These are explorations of the scenario's stated assumptions, not forecasts.", markup=False)


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.present.figures import draw_sweep
    from sim.runs.sweep import parse_param_args, run_sweep
    from sim.scenario.loading import load_scenario
    from sim.scenario.registry import parameter_slots

    sc = load_scenario(args.file)
    if args.list_params:
        slots = parameter_slots(sc)
        if args.json:
            emit_json({p: s.kind for p, s in slots.items()})
        else:
            for path, slot in slots.items():
                stdout_console(args).print(f"{path}  ({slot.kind})", markup=False)
        return 0
    block = sc.model.sweep
    params = parse_param_args(args.param) if args.param else (dict(block.params) if block else {})
    design = args.design or (block.design if block and not args.param else DESIGNS[0])
    points = args.points if args.points is not None else (block.points if block else None)
    runs = args.runs if args.runs is not None else (block.runs if block else SWEEP_RUNS)
    seed = args.seed if args.seed is not None else (block.seed if block else SEED)
    with _executor(args) as executor, _progress(_show(args), f"{sc.name} sweep") as progress:
        result = run_sweep(sc, params, design=design, points=points, runs=runs, seed=seed, workers=args.workers,
                           engine=args.engine, out=args.out, block_size=args.block_size, progress=progress,
                           command=_command(), figures=not args.no_figures, executor=executor)
    draw_sweep(result)  # after the run directory is unlocked
    if args.json:
        emit_json({"run_dir": str(result.run_dir), **result.summary(),
                    "figures": [str(p) for p in result.figures]})
        return 0
    print_sweep(stdout_console(args), result)
    return 0


def _command() -> str:
    return "negsim " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else "negsim"


def print_sweep(out: Console, result: Any, limit: int = 20) -> None:
    table = result.table()
    n = len(table)
    out.print(f"{result.scenario.name}: {result.design} sweep, {n} points x {result.manifest['runs']:,} runs, "
              f"seed {result.seed}", markup=False)
    for param in result.params:
        t = Table(title=f"By {param} (pooled over the other parameters)", title_justify="left")
        for col in ("value", "runs", "P(no_talks)", "P(talks_failed)", "P(agreement)", "agreement 95%"):
            t.add_column(col, justify="right")
        for _, r in result.marginal(param).iterrows():
            t.add_row(str(r["value"]), f"{r['runs']:,}", pct(r["p_no_talks"]), pct(r["p_talks_failed"]),
                      pct(r["p_agreement"]), f"{pct(r['lo_agreement'])} - {pct(r['hi_agreement'])}")
        out.print(t)
    if n <= limit:
        t = Table(title="Points", title_justify="left")
        t.add_column("point", justify="right")
        for p in result.params:
            t.add_column(p.split(".", 1)[-1], justify="right")
        for k in ("no_talks", "talks_failed", "agreement"):
            t.add_column(f"P({k})", justify="right")
        t.add_column("agreement 95%", justify="right")
        t.add_column("median month", justify="right")
        for _, r in table.iterrows():
            m = r["agreement_month_median"]
            t.add_row(str(int(r["point"])), *[f"{r[p]:.4g}" for p in result.params],
                      *[pct(r[f"p_{k}"]) for k in ("no_talks", "talks_failed", "agreement")],
                      f"{pct(r['lo_agreement'])} - {pct(r['hi_agreement'])}",
                      "-" if m is None or m != m else f"{m:.0f}")
        out.print(t)
    else:
        out.print(f"({n} points: each one is in summary.json and points.parquet)", markup=False)
    for output, rep in (result.sensitivity or {}).items():
        idx = rep["indices"]
        t = Table(title=f"Sensitivity of {output} ({result.design})", title_justify="left")
        t.add_column("parameter")
        cols = ["S1", "S1_conf", "ST", "ST_conf"] if result.design == "sobol" else ["mu_star", "mu_star_conf", "sigma"]
        for c in cols:
            t.add_column(c.replace("_conf", " 95% +-"), justify="right")
        noisy = ["S1", "ST"] if result.design == "sobol" else ["mu_star"]
        for c in noisy:
            t.add_column(f"{c} replicates 95%", justify="right")
        for p, v in idx.items():
            t.add_row(p, *[f"{v[c]:.3f}" for c in cols],
                      *[f"{v.get(c + '_noise_lo', float('nan')):.2f} to {v.get(c + '_noise_hi', float('nan')):.2f}"
                        for c in noisy])
        out.print(t)
        out.print(rep.get("verdict") or "", markup=False)
    if result.run_dir is not None:
        out.print(f"Results: {result.run_dir}/ (points.parquet, results.parquet, summary.json, manifest.json"
                  + (f", {len(result.figures)} figures" if result.figures else "") + ")", markup=False)
    out.print("These are explorations of the scenario's stated assumptions, not forecasts.", markup=False)


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.present.figures import compare_many, draw_comparison

    with _executor(args) as executor:
        result = compare_many(args.base, args.others, runs=args.runs, seed=args.seed, workers=args.workers,
                              out=args.out, paired=not args.unpaired, executor=executor)
    if args.figure:
        draw_comparison(result, Path(args.figure))
    if args.json:
        emit_json(result.to_dict())
        return 0
    out = stdout_console(args)
    if args.table:
        print_scenario_table(out, result)
    if len(result.results) > 1:
        print_comparison_set(out, result)
    else:
        print_comparison(out, result.results[0])
    for side, sc in zip(result.packages, result.scenarios, strict=True):
        print_packages(out, {"packages": side["packages"]}, sc, f"{side['label']}: most common packages of "
                       f"{side['packages']['agreements']:,} agreements")
    out.print(f"Comparison: {result.run_dir}/ (comparison.json, outcomes.csv, timing.csv, scenarios.csv, comparison.png)",
              markup=False)
    return 0


def _missing(x: Any) -> bool:
    return x is None or x != x  # None or NaN


def print_scenario_table(out: Console, result: Any) -> None:
    """Each compared batch's own figures, one row each (the differences follow)."""
    sides = result.sides
    t = Table(title=f"Each scenario: {result.runs:,} runs, seed {result.seed}", title_justify="left")
    stages = "partial_deal" in sides.columns
    for col in ("scenario", "P(agreement)\n(95% interval)", "commonest class\n(share of runs)",
                "settlement month\nmedian (p10-p90)", *(("partial\ndeal", "cease-\nfire", "settlements\nrelapsed")
                                                      if stages else ())):
        t.add_column(col, justify="left" if col.startswith(("scenario", "commonest")) else "right", no_wrap=True)
    for _, r in sides.iterrows():
        month = ("-" if _missing(r["settlement_month_median"]) else
                 f"{r['settlement_month_median']:.0f} ({r['settlement_month_p10']:.0f}-{r['settlement_month_p90']:.0f})")
        commonest = f"{r['commonest_class']} ({pct(r['commonest_class_share']).strip()})" if r["commonest_class"] else "-"
        cells = [str(r["scenario"]), f"{pct(r['p_agreement']).strip()} ({pct(r['lo']).strip()}-{pct(r['hi']).strip()})",
                 commonest, month]
        if stages:
            relapse = r["relapse_of_settlements"]
            cells += [pct(r["partial_deal"]), pct(r["ceasefire"]), "-" if _missing(relapse) else pct(relapse)]
        t.add_row(*cells)
    out.print(t)
    out.print("commonest class: its share of all runs; partial deal, ceasefire: the share of runs with one; "
              "settlements relapsed: the share of settlements that broke down before the horizon", markup=False)


def print_comparison_set(out: Console, result: Any) -> None:
    """One table: each outcome's probability in the base and its change in every other batch."""
    kind = "paired by replicate" if result.paired else "unpaired"
    t = Table(title=f"Against {result.base}: {result.runs:,} runs each, seed {result.seed}, {kind}",
              title_justify="left")
    t.add_column("outcome")
    t.add_column(f"P({result.base})", justify="right")
    for r in result.results:
        t.add_column(f"{r.label_b}: B - A (95%)", justify="right")
    table = result.table()
    for kind, outcome in dict.fromkeys(zip(table["kind"], table["outcome"], strict=True)):
        rows = table[(table["outcome"] == outcome) & (table["kind"] == kind)]
        first = rows.iloc[0]
        if kind == "class" and (outcome in ("agreement", "no_talks", "talks_failed")
                                         or (rows["p_a"].max() == 0 and rows["p_b"].max() == 0)):
            continue
        cells = [f"{100 * r['diff']:+.1f} ({100 * r['lo']:+.1f} to {100 * r['hi']:+.1f})" for _, r in rows.iterrows()]
        t.add_row(("class " if first["kind"] == "class" else "") + str(outcome), pct(first["p_a"]), *cells)
    out.print(t)
    for r in result.results:
        for _, row in r.comparison.timing.iterrows():
            out.print(f"{r.label_b} - {r.label_a}, {row['measure']}: {num(row['diff'], '+')} months "
                      f"({num(row['lo'], '+')} to {num(row['hi'], '+')}) over {row['covers']}", markup=False)


def print_comparison(out: Console, result: Any) -> None:
    c = result.comparison
    kind = "paired by replicate" if c.paired else "unpaired"
    runs = f"{c.n:,} runs each" if c.n is not None else f"{c.n_a:,} and {c.n_b:,} runs"
    t = Table(title=f"{result.label_a} (A) vs {result.label_b} (B): {runs}, {kind}", title_justify="left")
    for col in ("outcome", "P(A)", "P(B)", "B - A", "95% interval", "p-value", "test"):
        t.add_column(col, justify="left" if col in ("outcome", "test") else "right")
    for _, r in c.outcomes.iterrows():
        is_class = r.get("kind") == "class"
        if is_class and (r["p_a"] == 0 and r["p_b"] == 0 or r["outcome"] in ("agreement", "no_talks", "talks_failed")):
            continue  # a class never seen, or the catch-all that repeats an outcome
        t.add_row(("class " if is_class else "") + str(r["outcome"]), pct(r["p_a"]), pct(r["p_b"]), f"{100 * r['diff']:+.1f} pts",
                  f"{100 * r['lo']:+.1f} to {100 * r['hi']:+.1f}", _pval(r["p_value"]), str(r["test"]))
    out.print(t)
    t = Table(title="Timing (months)", title_justify="left")
    for col in ("measure", "mean A", "mean B", "B - A", "95% interval", "p-value", "over"):
        t.add_column(col, justify="left" if col in ("measure", "over") else "right")
    for _, r in c.timing.iterrows():
        mean_a, mean_b = (r["pair_mean_a"], r["pair_mean_b"]) if c.paired else (r["mean_a"], r["mean_b"])
        t.add_row(str(r["measure"]), num(mean_a), num(mean_b), num(r["diff"], "+"),
                  f"{num(r['lo'], '+')} to {num(r['hi'], '+')}", _pval(r["p_value"]), str(r["covers"]))
    out.print(t)
    changed = c.terms[c.terms["diff"].abs() > 0] if len(c.terms) else c.terms
    if len(changed):
        t = Table(title="Terms of agreements that change (share of agreements)", title_justify="left")
        for col in ("issue", "option", "A", "B", "B - A"):
            t.add_column(col, justify="left" if col in ("issue", "option") else "right")
        for _, r in changed.head(12).iterrows():
            t.add_row(str(r["issue"]), str(r["option"]), pct(r["share_a"]), pct(r["share_b"]), f"{100 * r['diff']:+.1f} pts")
        out.print(t)
    elif len(c.terms):
        out.print("Terms of agreements: the same shares in A and B.", markup=False)
    out.print(f"A: {result.dir_a}   B: {result.dir_b}", markup=False)


def _pval(p: float) -> str:
    return "-" if p != p else ("<0.001" if p < 0.001 else f"{p:.3f}")


def cmd_resume(args: argparse.Namespace) -> int:
    from sim.present.figures import draw_sweep
    from sim.runs.resumption import resume
    from sim.runs.sweep import SweepResult

    with _executor(args) as executor, _progress(_show(args), f"resuming {args.run_dir}") as progress:
        result = resume(args.run_dir, workers=args.workers, progress=progress, executor=executor)
    if isinstance(result, SweepResult):
        draw_sweep(result)  # after the run directory is unlocked
    err = console(stderr=True, soft_wrap=True)
    last = (result.manifest.get("resumed") or [{}])[-1]
    for note in last.get("rejected", []) if isinstance(last, dict) else []:
        err.print(f"negsim: {note}")
    summary = result.summary()
    if args.json:
        emit_json({"run_dir": str(result.run_dir), "kind": result.manifest["kind"], "summary": summary})
        return 0
    out = stdout_console(args)
    if result.manifest["kind"] == "sweep":
        print_sweep(out, result)
    else:
        print_summary(out, result.scenario.name, summary, result.run_dir, result.seed, result.engine,
                      result.manifest["timing"].get("wall_seconds"), result.scenario)
    return 0
