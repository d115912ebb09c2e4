"""`negsim hindcast`: score a scenario against a record of what happened (a targets file)."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

from rich.table import Table

from sim.cli.output import emit_json, stdout_console
from sim.errors import UsageError


def from_month(text: str | None, start: str) -> int | None:
    """``--from``: a calendar month YYYY-MM or a scenario month number."""
    from sim.scenario.targets import month_index

    if text is None:
        return None
    if re.fullmatch(r"\d{4}-(0[1-9]|1[0-2])", text):
        return month_index(text, start)
    if re.fullmatch(r"\d+", text):
        return int(text)
    raise UsageError(f"--from: expected a calendar month YYYY-MM or a month number (got {text!r})")


def cmd_hindcast(args: argparse.Namespace) -> int:
    from sim.analysis.hindcast import hindcast
    from sim.runs.batch import run_batch
    from sim.scenario.loading import load_scenario
    from sim.scenario.targets import EVENTS, check_against, read_targets

    scenario = load_scenario(args.file)
    targets = read_targets(args.record)
    start = scenario.model.start
    check_against(targets, start, scenario.model.horizon_months)
    if not targets.items():  # before any run
        raise UsageError(f"{targets.path}: no event targets to score (its {len(targets.priors())} entries are priors: "
                         "bounds on parameters, which negsim calibrate uses)")
    upto = from_month(args.start_from, start)
    result = run_batch(scenario, runs=args.runs, seed=args.seed, workers=args.workers, out=None)
    h = hindcast(result.runs, targets, start, scenario.name, upto)
    if args.figure:
        from sim.analysis.hindcast import keep_given
        from sim.present.plots import hindcast_figure

        kept = result.runs[keep_given(result.runs, targets, start, upto)] if upto is not None else result.runs
        by_name = dict(targets.items())
        months = {s.name: kept[EVENTS[by_name[s.name].event]].to_numpy(float) for s in h.scores}
        hindcast_figure(h, months, Path(args.figure))
    if args.json:
        emit_json(h.to_dict())
        return 0
    print_hindcast(stdout_console(args), h, start, args.seed)
    if args.figure:
        stdout_console(args).print(f"Figure: {args.figure}", markup=False)
    return 0


def print_hindcast(out, h, start: str, seed: int) -> None:
    from sim.present.explain import month_label

    if h.from_month is not None:
        out.print(f"Conditioned on the record up to {month_label(start, h.from_month)} (month {h.from_month}): "
                  f"{h.kept:,} of {h.runs:,} runs agree with {', '.join(h.conditioned_on) or 'no target'} "
                  f"(rejection: the others are dropped, the kept ones weigh the same).", markup=False)
        if not h.kept:
            out.print("No run agrees with the record so far: nothing to score.", markup=False)
            return
    t = Table(title=f"{h.record} against {h.scenario}: {h.kept:,} runs, seed {seed}", title_justify="left")
    for col in ("target", "observed", "P (95%)", "log score", "Brier", "model's median month"):
        t.add_column(col, justify="left" if col in ("target", "observed") else "right")
    for s in h.scores:
        med = "never" if s.median_month is None else month_label(start, int(round(s.median_month)))
        log = f"{s.log_score:.2f}" + (" (no run)" if s.floored else "")
        t.add_row(s.label, f"{s.event} {s.observed}", f"{100 * s.p:.1f}% ({100 * s.low:.1f}-{100 * s.high:.1f})",
                  log, f"{s.brier:.3f}", med)
    out.print(t)
    out.print(f"The whole record as a path: {100 * h.joint:.1f}% of runs. Sum of log scores {h.log_score:.2f} "
              f"(0 is perfect); mean Brier {sum(s.brier for s in h.scores) / len(h.scores):.3f}.", markup=False)
    if h.priors:
        out.print(f"Not scored here: {len(h.priors)} prior entr{'y' if len(h.priors) == 1 else 'ies'} "
                  f"({', '.join(h.priors)}), figures from before the scenario's start that bound its parameters "
                  "(negsim calibrate uses them).", markup=False)
