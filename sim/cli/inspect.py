"""The commands that read without running: validate, schema, evidence and runs."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rich.table import Table
from rich.text import Text

from sim.cli.output import console, emit_json, stdout_console
from sim.errors import (
    ScenarioError,
    clean_text,
)


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.scenario.compile import compile_scenario, refusal, uncertain_paths
    from sim.scenario.loading import load_scenario
    from sim.scenario.registry import package_count, parameter_slots

    problems, report = [], []
    for f in args.files:
        try:
            sc = load_scenario(f)
        except ScenarioError as exc:
            problems += exc.problems
            report.append({"file": f, "ok": False, "problems": [str(p) for p in exc.problems]})
            continue
        refused = refusal(sc)  # valid, but the engine cannot run it: counted, not compiled
        packages = package_count(sc.model) if refused else compile_scenario(sc).n_packages
        report.append({"file": f, "ok": True, "actors": len(sc.model.actors), "issues": len(sc.model.issues),
                       "packages": packages, "uncertain_parameters": len(uncertain_paths(parameter_slots(sc))),
                       "runnable": not refused, "not_runnable": [p.message for p in refused]})
    if args.json:
        emit_json({"ok": not problems, "files": report})
    else:
        out = stdout_console(args)
        for r in report:
            if r["ok"]:
                note = "" if r["runnable"] else "; not runnable: " + "; ".join(r["not_runnable"])
                out.print(f"{r['file']}: ok ({r['actors']} actors, {r['issues']} issues, {r['packages']:,} packages, "
                          f"{r['uncertain_parameters']} uncertain parameters{note})", markup=False)
    if problems:
        err = console(stderr=True, soft_wrap=True)
        for p in problems:
            err.print(str(p), markup=False)
        return 2
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from sim.scenario.schema import build_schema as scenario_json_schema

    emit_json(scenario_json_schema())
    return 0


def cmd_evidence(args: argparse.Namespace) -> int:
    from sim.scenario.evidence import coverage, headline_assumptions, headline_line, table
    from sim.scenario.loading import load_scenario

    sc = load_scenario(args.file)
    rows = table(sc)
    cov = coverage(rows)
    rests = headline_assumptions(sc)
    if args.json:
        emit_json({"scenario": sc.name, "coverage": cov, "rows": [r.__dict__ for r in rows],
                   "headline_rests_on": rests})
        return 0
    out = stdout_console(args)
    marks = {"evidence": "quote", "assumption": "assumption", "none": "NO SOURCE"}
    if not sys.stdout.isatty():  # plain lines that survive pipes and files
        for r in rows:
            via = " (inherited)" if r.inherited and r.kind != "none" else ""
            out.print(f"{r.path} = {r.value}\n    [{marks[r.kind]}{via}] {r.source}", markup=False)
        out.print(_coverage_line(cov), markup=False)
        if rests:
            out.print(headline_line(rests), markup=False)
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
    if rests:
        out.print(headline_line(rests), markup=False)
    return 0


def _coverage_line(cov: dict) -> str:
    return (f"{cov['entries']} entries: {cov['evidence']:.0%} backed by a quote from the source, "
            f"{cov['assumption']:.0%} by a stated assumption, {cov['none']:.0%} without a source.")


def cmd_runs(args: argparse.Namespace) -> int:
    from sim.runs.store import list_runs

    rows = list_runs(args.out)
    if args.json:
        emit_json(rows)
        return 0
    out = stdout_console(args)
    if not rows:
        out.print(f"no run directories in {args.out}/", markup=False)
        return 0
    t = Table(title=f"Run directories in {args.out}/", title_justify="left")
    for col in ("run directory", "kind", "scenario", "started", "runs", "points", "size", "status"):
        t.add_column(col, justify="right" if col in ("runs", "points", "size") else "left")
    for r in rows:
        t.add_row(Text(clean_text(Path(r["run_dir"]).name)), clean_text(str(r["kind"] or "-")),
                  clean_text(str(r["scenario"] or "-")), clean_text(str(r["started"] or "-")),
                  f"{r['runs']:,}" if isinstance(r["runs"], int) else "-", str(r["points"] or "-"),
                  _size(r["size_bytes"]), Text(clean_text(str(r["status"]))))
    out.print(t)
    return 0


def _size(n: float) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)
