"""The `negsim` command: a thin shell over the library.

Exit codes: 0 success, 2 bad input (one line per problem,
``FILE:LINE:COL: key.path: message``), 1 any other failure, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import shlex
import sys
from collections.abc import Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sim.errors import NegsimError, ScenarioError, StoreError, UsageError


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    try:
        return args.func(args) or 0
    except ScenarioError as exc:
        for p in exc.problems:
            err.print(str(p), markup=False)
        return 2
    except (UsageError, StoreError) as exc:
        err.print(f"negsim: {exc}", markup=False)
        return 2
    except NegsimError as exc:
        err.print(f"negsim: {exc}", markup=False)
        return 1
    except KeyboardInterrupt:
        err.print("negsim: interrupted", markup=False)
        return 130
    except Exception as exc:  # a bug: one line, not a traceback
        err.print(f"negsim: internal error: {type(exc).__name__}: {exc}", markup=False)
        return 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="negsim", description="Scenario simulation of negotiation outcomes.")
    parser.add_argument("--version", action="version", version=f"negsim {_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check scenario files; exit 2 on any problem")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("evidence", help="print each parameter with its source quote or assumption")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evidence)

    p = sub.add_parser("run", help="run a batch of a scenario and summarise the outcomes")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--runs", type=int, default=1000, help="number of runs (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--engine", choices=("vector", "agents"), default="vector", help="default: vector")
    p.add_argument("--out", default="runs", help="folder in which the run directory is created (default runs/)")
    p.add_argument("--block-size", type=int, default=None, help="runs per block (default: 2000 vector, 25 agents)")
    p.add_argument("--json", action="store_true", help="print one JSON object (summary and run_dir)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("explain", help="one run, month by month, as a narrative")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--replicate", type=int, default=0)
    p.add_argument("--json", action="store_true", help="the run's results row and monthly log as JSON")
    p.set_defaults(func=cmd_explain)
    return parser


def _version() -> str:
    from sim import __version__

    return __version__


def _out(args: argparse.Namespace) -> Console:
    return Console(highlight=False, soft_wrap=not sys.stdout.isatty())


def _emit_json(obj: Any) -> None:
    from sim.store import _jsonable

    sys.stdout.write(json.dumps(obj, indent=2, default=_jsonable) + "\n")


# --------------------------------------------------------------------------- validate, schema


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.compile import compile_scenario
    from sim.scenario import load_scenario

    problems, report = [], []
    for f in args.files:
        try:
            sc = load_scenario(f)
        except ScenarioError as exc:
            problems += exc.problems
            report.append({"file": f, "ok": False, "problems": [str(p) for p in exc.problems]})
            continue
        c = compile_scenario(sc)
        report.append({"file": f, "ok": True, "actors": len(sc.model.actors), "issues": len(c.issues),
                       "packages": c.n_packages, "uncertain_parameters": len(c.uncertain)})
    if args.json:
        _emit_json({"ok": not problems, "files": report})
    else:
        out = _out(args)
        for r in report:
            if r["ok"]:
                out.print(f"{r['file']}: ok ({r['actors']} actors, {r['issues']} issues, {r['packages']} packages, "
                          f"{r['uncertain_parameters']} uncertain parameters)", markup=False)
    if problems:
        err = Console(stderr=True, highlight=False, soft_wrap=True)
        for p in problems:
            err.print(str(p), markup=False)
        return 2
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from sim.scenario import scenario_json_schema

    _emit_json(scenario_json_schema())
    return 0


# --------------------------------------------------------------------------- evidence


def cmd_evidence(args: argparse.Namespace) -> int:
    from sim.evidence import coverage, table
    from sim.scenario import load_scenario

    sc = load_scenario(args.file)
    rows = table(sc)
    cov = coverage(rows)
    if args.json:
        _emit_json({"scenario": sc.name, "coverage": cov, "rows": [r.__dict__ for r in rows]})
        return 0
    out = _out(args)
    marks = {"evidence": "quote", "assumption": "assumption", "none": "NO SOURCE"}
    if not sys.stdout.isatty():  # plain lines that survive pipes and files
        for r in rows:
            via = " (inherited)" if r.inherited and r.kind != "none" else ""
            out.print(f"{r.path} = {r.value}\n    [{marks[r.kind]}{via}] {r.source}", markup=False)
        out.print(_coverage_line(cov), markup=False)
        return 0
    t = Table(title=f"Evidence: {sc.name}", show_lines=False, expand=False)
    t.add_column("parameter", overflow="fold")
    t.add_column("value", overflow="fold")
    t.add_column("source", overflow="fold")
    for r in rows:
        via = " (inherited)" if r.inherited and r.kind != "none" else ""
        t.add_row(Text(r.path), Text(r.value), Text(f"[{marks[r.kind]}{via}] {r.source}"))
    out.print(t, markup=False)
    out.print(_coverage_line(cov), markup=False)
    return 0


def _coverage_line(cov: dict) -> str:
    return (f"{cov['entries']} entries: {cov['evidence']:.0%} backed by a quote from the source, "
            f"{cov['assumption']:.0%} by a stated assumption, {cov['none']:.0%} without a source.")


# --------------------------------------------------------------------------- run


def cmd_run(args: argparse.Namespace) -> int:
    from sim.batch import run_batch
    from sim.scenario import load_scenario

    sc = load_scenario(args.file)
    command = "negsim " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[1:] else "negsim run"
    show = not args.json and sys.stderr.isatty()
    with _progress(show, f"{sc.name}: {args.runs:,} runs") as progress:
        try:
            result = run_batch(sc, runs=args.runs, seed=args.seed, workers=args.workers, engine=args.engine,
                               out=args.out, block_size=args.block_size, progress=progress, command=command)
        except KeyboardInterrupt:
            raise
    summary = result.summary()
    wall = result.manifest.get("timing", {}).get("wall_seconds")
    if args.json:
        _emit_json({"run_dir": str(result.run_dir), "scenario": sc.name, "seed": args.seed, "engine": args.engine,
                    "wall_seconds": wall, "summary": summary})
        return 0
    print_summary(_out(args), sc.name, summary, result.run_dir, args.seed, args.engine, wall)
    return 0


class _progress:
    """A rich progress bar on a terminal; nothing otherwise. Yields the callback."""

    def __init__(self, show: bool, label: str):
        self.show, self.label, self.bar = show, label, None

    def __enter__(self):
        if not self.show:
            return None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=Console(stderr=True), transient=True)
        self.bar.start()
        self.task = None

        def update(done: int, total: int) -> None:
            if self.task is None:
                self.task = self.bar.add_task(self.label, total=total)
            self.bar.update(self.task, completed=done)

        return update

    def __exit__(self, *exc):
        if self.bar is not None:
            self.bar.stop()
        return False


def _pct(x: float) -> str:
    return f"{100 * x:5.1f}%"


def print_summary(out: Console, name: str, s: dict, run_dir: Any, seed: int, engine: str, wall: float | None) -> None:
    n = s["runs"]
    head = f"{name}: {n:,} runs, seed {seed}, {engine} engine" + (f", {wall:.1f} s" if wall is not None else "")
    t = Table(title=head, title_justify="left")
    t.add_column("outcome")
    t.add_column("probability", justify="right")
    t.add_column("95% interval", justify="right")
    t.add_column("runs", justify="right")
    for k, v in s["outcomes"].items():
        t.add_row(k, _pct(v["p"]), f"{_pct(v['lo'])} - {_pct(v['hi'])}", f"{v['n']:,}")
    out.print(t)
    classes = {k: v for k, v in s["outcome_classes"].items() if v["n"] > 0 and k not in s["outcomes"]}
    if classes:
        t = Table(title="Agreements by class", title_justify="left")
        t.add_column("class")
        t.add_column("share of all runs", justify="right")
        t.add_column("95% interval", justify="right")
        for k, v in classes.items():
            t.add_row(k, _pct(v["p"]), f"{_pct(v['lo'])} - {_pct(v['hi'])}")
        out.print(t)
    t = Table(title="Timing (months from the start)", title_justify="left")
    for col in ("", "runs", "p10", "median", "p90", "mean"):
        t.add_column(col, justify="right" if col else "left")
    for key, label in (("talks_month", "talks first open"), ("agreement_month", "agreement"),
                       ("kursk_retaken_month", "Kursk retaken")):
        d = s[key]
        if d.get("runs_with_value"):
            t.add_row(label, f"{_pct(d['share'])}", f"{d['p10']:.0f}", f"{d['median']:.0f}", f"{d['p90']:.0f}", f"{d['mean']:.1f}")
        else:
            t.add_row(label, "0", "-", "-", "-", "-")
    out.print(t)
    if any(s["terms"].values()):
        t = Table(title="Terms of agreements (share of agreements)", title_justify="left")
        t.add_column("issue")
        t.add_column("options")
        for issue, opts in s["terms"].items():
            t.add_row(issue, ", ".join(f"{k} {_pct(v).strip()}" for k, v in sorted(opts.items(), key=lambda kv: -kv[1])))
        out.print(t)
    if s["lead_mediator"]:
        out.print("Lead mediator (runs with talks): " + ", ".join(f"{k} {_pct(v).strip()}" for k, v in s["lead_mediator"].items()), markup=False)
    if run_dir is not None:
        out.print(f"Results: {run_dir}/ (results.parquet, summary.json, manifest.json)", markup=False)
    out.print("These are explorations of the scenario's stated assumptions, not forecasts.", markup=False)


# --------------------------------------------------------------------------- explain


def cmd_explain(args: argparse.Namespace) -> int:
    from sim.explain import explain
    from sim.scenario import load_scenario

    if args.seed < 0 or args.replicate < 0:
        raise UsageError(f"seed and replicate must be >= 0 (got seed {args.seed}, replicate {args.replicate})")
    sc = load_scenario(args.file)
    ex = explain(sc, args.seed, args.replicate)
    if args.json:
        row = {k: (None if _isna(v) else v) for k, v in ex.row.items()}
        _emit_json({"row": row, "months": ex.model.log})
        return 0
    out = _out(args)
    for line in ex.lines:
        out.print(line, markup=False)
    return 0


def _isna(v: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
