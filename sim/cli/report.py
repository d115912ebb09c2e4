"""The commands that read finished runs: report and discover."""

from __future__ import annotations

import argparse
from pathlib import Path

from rich.table import Table

from sim.cli.output import emit_json, stdout_console
from sim.errors import UsageError


def cmd_report(args: argparse.Namespace) -> int:
    from sim.present.report import write_report

    if not args.run_dirs and args.class_replay is None:
        raise UsageError("report needs at least one RUN_DIR, or --class REPLAY (a class's game)")
    extra, title = [], "Class summary"
    if args.class_replay is not None:
        from sim.play.summary import from_replay

        extra = from_replay(args.class_replay)
        title = f"Class summary: {Path(args.class_replay).name}"
    report = write_report(args.run_dirs, args.out, pdf=args.pdf, extra=extra, extra_title=title)
    if args.json:
        emit_json({"html": str(report.html), "pdf": report.pdf and str(report.pdf), "kind": report.kind,
                    "figures": report.figures, "run_dirs": report.sources})
        return 0
    out = stdout_console(args)
    out.print(f"Report ({report.kind}, {report.figures} figures): {report.html}", markup=False)
    if report.pdf is not None:
        out.print(f"PDF: {report.pdf}", markup=False)
    return 0


def cmd_discover(args: argparse.Namespace) -> int:
    from sim.analysis.ema import discover

    found = discover(args.sweep_dir, args.outcome, above=args.above, below=args.below, figures=not args.no_figures)
    if args.json:
        emit_json(found.to_dict())
        return 0
    out = stdout_console(args)
    st = found.stats
    out.print(f"{found.rule}: {found.of_interest} of {found.cases} points. PRIM box: coverage {st['coverage']:.0%} "
              f"(of those points, the share inside the box), density {st['density']:.0%} (of the points inside, "
              f"the share with {found.rule}), mass {st['mass']:.0%} of all points.", markup=False)
    t = Table(title="Box limits (parameters the box restricts)", title_justify="left")
    for col in ("parameter", "min", "max"):
        t.add_column(col, justify="left" if col == "parameter" else "right")
    for param, row in found.limits.iterrows():
        t.add_row(str(param), f"{row['min']:.4g}", f"{row['max']:.4g}")
    out.print(t)
    for f in found.figures:
        out.print(f"Figure: {f}", markup=False)
    return 0
