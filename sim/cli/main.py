"""The `negsim` command: a thin shell over the library.

Exit codes: 0 success, 2 bad input (one line per problem,
``FILE:LINE:COL: key.path: message``), 1 any other failure (a full disk, a
worker that died), 130 interrupted (Ctrl-C), 143 stopped by SIGTERM, 129 by
SIGHUP. Text from input files is printed literally: no rich markup, no emoji.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from sim.errors import (
    Interrupted,
    NegsimError,
    ScenarioError,
    Stopped,
    StoreError,
    UsageError,
    clean_text,
)


def console(stderr: bool = False, **options: Any) -> Console:
    """A console that prints text as given: no markup, no emoji, no highlighting."""
    return Console(stderr=stderr, highlight=False, markup=False, emoji=False, **options)


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    err = console(stderr=True, soft_wrap=True)
    if getattr(args, "seeds", None):  # folders of evidence documents, before those of NEGSIM_SEEDS
        given = os.environ.get("NEGSIM_SEEDS")
        os.environ["NEGSIM_SEEDS"] = os.pathsep.join([*args.seeds, *([given] if given else [])])
    with _stop_signals():
        return _run(args, err)


def _run(args: argparse.Namespace, err: Console) -> int:
    try:
        code = args.func(args) or 0
        sys.stdout.flush()
        return code
    except BrokenPipeError:  # `negsim evidence FILE | head`: the reader has all it wanted
        _silence_stdout()
        return 0
    except Interrupted as exc:
        err.print(f"negsim: {exc}", markup=False)
        return exc.exit_code
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
    except KeyboardInterrupt as exc:
        err.print("negsim: interrupted", markup=False)
        return 128 + getattr(exc, "signum", signal.SIGINT)
    except Exception as exc:  # a bug: one line, not a traceback
        err.print(f"negsim: internal error: {type(exc).__name__}: {exc}", markup=False)
        return 1


def _silence_stdout() -> None:
    """Point stdout at /dev/null so that the flush at exit does not fail on the closed pipe again."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


class _stop_signals:
    """SIGTERM and SIGHUP stop a command like Ctrl-C (in the main thread): a resumable directory, exit 128 + N.

    A second such signal ends the process at once (the run directory stays resumable).
    """

    SIGNALS = (signal.SIGTERM, signal.SIGHUP)

    def __enter__(self) -> None:
        self.previous = {}
        if threading.current_thread() is threading.main_thread():
            self.previous = {sig: signal.signal(sig, self._raise) for sig in self.SIGNALS}

    def _raise(self, signum: int, _frame: object) -> None:
        signal.signal(signum, signal.SIG_DFL)
        raise Stopped(signum)

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self.previous.items():
            signal.signal(sig, handler)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="negsim", description="Scenario simulation of negotiation outcomes.")
    parser.add_argument("--version", action="version", version=f"negsim {_version()}")
    seeds_help = ("a folder of evidence documents, looked in after the scenario's own seeds/ folders "
                  "(repeatable; also NEGSIM_SEEDS)")
    parser.add_argument("--seeds", action="append", default=[], metavar="DIR", help=seeds_help)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--seeds", action="append", default=argparse.SUPPRESS, metavar="DIR", help=seeds_help)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", parents=[common], help="check scenario files; exit 2 on any problem")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", help="print the JSON Schema of scenario files")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("evidence", parents=[common], help="print each parameter with its source quote or assumption")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evidence)

    p = sub.add_parser("run", parents=[common], help="run a batch of a scenario and summarise the outcomes")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--runs", type=int, default=1000, help="number of runs (default 1000)")
    p.add_argument("--seed", type=int, default=0, help="root seed (default 0)")
    p.add_argument("--workers", type=int, default=1, help="worker processes (default 1)")
    p.add_argument("--engine", choices=("vector", "agents"), default="vector", help="default: vector")
    p.add_argument("--out", default="runs", help="folder in which the run directory is created (default runs/)")
    p.add_argument("--block-size", type=int, default=None, help="runs per block (default: 2000 vector, 25 agents)")
    _backend_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object (summary and run_dir)")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("sweep", parents=[common], help="run a parameter sweep (grid, Latin hypercube, Sobol, Morris)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--param", action="append", default=[], metavar="PATH=SPEC",
                   help="a parameter and its values: 0.2,0.5,0.8 (list), 0.2:0.8:7 (range), 0.2..0.8 (bounds)")
    p.add_argument("--design", choices=("grid", "lhs", "sobol", "morris"), default=None, help="default: grid")
    p.add_argument("--points", type=int, default=None, help="points of a sampled design (sobol: a power of 2)")
    p.add_argument("--runs", type=int, default=None, help="replicates at every point (default 200)")
    p.add_argument("--seed", type=int, default=None, help="root seed (default 0)")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--engine", choices=("vector", "agents"), default="vector")
    p.add_argument("--out", default="runs")
    p.add_argument("--block-size", type=int, default=None)
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--list-params", action="store_true", help="list the parameter paths that can be swept")
    _backend_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sweep)

    p = sub.add_parser("compare", parents=[common], help="compare batches (run directories or scenario files) with the first, paired by replicate")
    p.add_argument("base", metavar="BASE")
    p.add_argument("others", nargs="+", metavar="OTHER", help="one or more batches or scenarios to compare with BASE")
    p.add_argument("--runs", type=int, default=None,
                   help="runs for scenario files (default: a run directory's, else 2000)")
    p.add_argument("--seed", type=int, default=None, help="seed for scenario files (default: a run directory's, else 0)")
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", default="runs", help="where scenario files' batches and the comparison are written")
    p.add_argument("--unpaired", action="store_true", help="compare as independent samples (wider intervals)")
    p.add_argument("--figure", default=None, metavar="PNG", help="also draw the differences to this PNG file")
    _backend_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)

    p = sub.add_parser("resume", help="finish an interrupted batch or sweep")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--workers", type=int, default=1)
    _backend_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("runs", help="list run directories with scenario, date, size and status")
    p.add_argument("--out", default="runs", help="folder holding the run directories (default runs/)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("discover", help="scenario discovery on a sweep: PRIM boxes where an outcome is likely "
                                        "(needs the [ema] extra)")
    p.add_argument("sweep_dir", metavar="SWEEP_DIR")
    p.add_argument("--outcome", default="agreement", help="an outcome or outcome class (default agreement)")
    level = p.add_mutually_exclusive_group(required=True)
    level.add_argument("--above", type=float, default=None, metavar="P", help="points where P(outcome) > P")
    level.add_argument("--below", type=float, default=None, metavar="P", help="points where P(outcome) < P")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_discover)

    p = sub.add_parser("play", parents=[common], help="play one or more roles of one run; the model plays the rest")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--as", dest="roles", required=True, metavar="ROLE[,ROLE...]",
                   help="the roles you play: a government, a mediator or a public of the scenario")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--replicate", type=int, default=0)
    p.add_argument("--moves", default=None, metavar="FILE",
                   help="play the moves of a file ('-' for standard input) instead of asking; lines MONTH ROLE VERB "
                        "[PACKAGE]; the model decides where no move is given")
    p.add_argument("--save", default=None, metavar="PATH",
                   help="replay file to write (default runs/plays/SCENARIO-sSEED-rREPLICATE-TIME.replay.json)")
    p.add_argument("--runs", type=int, default=2000, help="model runs to set your result against (default 2000)")
    p.add_argument("--json", action="store_true", help="print the final record as JSON")
    p.set_defaults(func=cmd_play)

    p = sub.add_parser("classroom", parents=[common],
                       help="a web server where a class plays one game together from their browsers")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for a "
                                                         "class on the local network)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--replicate", type=int, default=0)
    p.add_argument("--runs", type=int, default=2000, help="model runs to set the class's result against")
    p.add_argument("--state", default="runs/classroom", metavar="DIR", help="where finished games are saved")
    p.set_defaults(func=cmd_classroom)

    p = sub.add_parser("explain", parents=[common], help="one run, month by month, as a narrative")
    p.add_argument("file", metavar="FILE", nargs="?")
    p.add_argument("--replay", default=None, metavar="FILE", help="tell a game saved by negsim play")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--replicate", type=int, default=0)
    p.add_argument("--json", action="store_true", help="the run's results row and monthly log as JSON")
    p.add_argument("--brief", action="store_true", help="a line or two a run of months where nothing new happens")
    p.add_argument("--glossary", action="store_true", help="print the glossary with --brief too")
    p.add_argument("--outcome", choices=("agreement", "talks_failed", "no_talks"), default=None,
                   help="explain the first replicate from --replicate upward that ends this way")
    p.add_argument("--figure", metavar="PNG", default=None, help="draw the run (territory, values, weariness, talks)")
    p.add_argument("--csv", metavar="FILE", default=None, help="write the labelled monthly table")
    p.set_defaults(func=cmd_explain)

    p = sub.add_parser("report", help="one self-contained HTML page (and --pdf) of batches, a sweep or a comparison")
    p.add_argument("run_dirs", nargs="+", metavar="RUN_DIR", help="run directories; with several batches the "
                   "first is the baseline the others are compared with")
    p.add_argument("--out", default="report.html", metavar="HTML", help="the HTML file to write (default report.html)")
    p.add_argument("--pdf", action="store_true", help="also write the page as PDF beside it (OUT with .pdf; "
                   "needs the [report] extra)")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("dashboard", parents=[common], help="a browser dashboard: levers, paired batches, a draft builder")
    p.add_argument("file", metavar="FILE", nargs="?", default=None, help="scenario (default: the baseline)")
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8001, help="port to listen on (default 8001)")
    p.set_defaults(func=cmd_dashboard)
    return parser


def _backend_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", "-q", action="store_true",
                   help="no progress (a bar on a terminal, else a line on stderr every 10%%)")
    p.add_argument("--backend", choices=("local", "dask"), default=None,
                   help="where units run: local processes (default) or a Dask cluster")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler to use, e.g. tcp://10.0.0.5:8786 (implies --backend dask); "
                        "without it --backend dask starts a local cluster of --workers processes")


def _executor(args: argparse.Namespace):
    from sim.runs.executors import open_executor

    backend = args.backend or ("dask" if args.scheduler else "local")
    return open_executor(backend, args.workers, args.scheduler)


def _version() -> str:
    from sim import __version__

    return __version__


class _Stdout(Console):
    """The console of a command's output: a reader that closed the pipe ends the command quietly."""

    def on_broken_pipe(self) -> None:  # rich's own exits with status 1
        _silence_stdout()
        raise BrokenPipeError


def _out(args: argparse.Namespace) -> Console:
    if sys.stdout.isatty():
        return _Stdout(highlight=False, markup=False, emoji=False)
    return _Stdout(highlight=False, markup=False, emoji=False, width=140)  # files and pipes: wide enough for every table


def _emit_json(obj: Any) -> None:
    """Strict JSON on stdout: null, never NaN."""
    from sim.jsonsafe import dumps

    sys.stdout.write(dumps(obj) + "\n")


# --------------------------------------------------------------------------- validate, schema


def cmd_validate(args: argparse.Namespace) -> int:
    from sim.scenario.compile import compile_scenario
    from sim.scenario.loading import load_scenario

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
        err = console(stderr=True, soft_wrap=True)
        for p in problems:
            err.print(str(p), markup=False)
        return 2
    return 0


def cmd_schema(args: argparse.Namespace) -> int:
    from sim.scenario.schema import build_schema as scenario_json_schema

    _emit_json(scenario_json_schema())
    return 0


# --------------------------------------------------------------------------- evidence


def cmd_evidence(args: argparse.Namespace) -> int:
    from sim.scenario.evidence import coverage, table
    from sim.scenario.loading import load_scenario

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
    from sim.runs.batch import run_batch
    from sim.scenario.loading import load_scenario

    sc = load_scenario(args.file)
    command = _command()
    with _executor(args) as executor, _progress(_show(args), sc.name) as progress:
        result = run_batch(sc, runs=args.runs, seed=args.seed, workers=args.workers, engine=args.engine,
                           out=args.out, block_size=args.block_size, progress=progress, command=command,
                           executor=executor)
    summary = result.summary()
    wall = result.manifest.get("timing", {}).get("wall_seconds")
    if args.json:
        _emit_json({"run_dir": str(result.run_dir), "scenario": sc.name, "seed": args.seed, "engine": args.engine,
                    "wall_seconds": wall, "summary": summary})
        return 0
    print_summary(_out(args), sc.name, summary, result.run_dir, args.seed, args.engine, wall)
    return 0


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
        self.show, self.label, self.bar = show, label, None

    def __enter__(self):
        if self.show == "lines":
            return self._lines()
        if self.show != "bar":
            return None
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
        )

        self.bar = Progress(TextColumn("{task.description}", markup=False), BarColumn(), MofNCompleteColumn(),
                            TimeRemainingColumn(), console=console(stderr=True), transient=True)
        self.bar.start()
        self.task = None

        def update(done: int, total: int) -> None:
            if self.task is None:
                self.task = self.bar.add_task(self.label, total=total)
            self.bar.update(self.task, completed=done)

        return update

    def _lines(self):
        """One line per tenth of the work (and at the end): what a batch job's log should hold."""
        started, shown = time.monotonic(), -1

        def update(done: int, total: int) -> None:
            nonlocal shown
            tenth = 10 * done // max(total, 1)
            if tenth == shown:
                return
            shown = tenth
            took = time.monotonic() - started
            sys.stderr.write(f"negsim: {self.label}: {done:,} of {total:,} runs ({100 * done / max(total, 1):.0f}%), "
                             f"{took:.1f} s\n")
            sys.stderr.flush()

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
    if s.get("land_km2"):
        land = s["land_km2"]
        out.print("Land changing hands in agreements (km2, + returned to Ukraine, - ceded to Russia): median "
                  f"{land['median']:+,.0f}, 5th to 95th percentile {land['p5']:+,.0f} to {land['p95']:+,.0f}",
                  markup=False)
    if s["lead_mediator"]:
        out.print("Lead mediator (runs with talks): " + ", ".join(f"{k} {_pct(v).strip()}" for k, v in s["lead_mediator"].items()), markup=False)
    if run_dir is not None:
        out.print(f"Results: {run_dir}/ (results.parquet, summary.json, manifest.json)", markup=False)
    out.print("These are explorations of the scenario's stated assumptions, not forecasts.", markup=False)


# --------------------------------------------------------------------------- sweep


def cmd_sweep(args: argparse.Namespace) -> int:
    from sim.present.figures import draw_sweep
    from sim.runs.sweep import parse_param_args, run_sweep
    from sim.scenario.loading import load_scenario
    from sim.scenario.registry import parameter_slots

    sc = load_scenario(args.file)
    if args.list_params:
        slots = parameter_slots(sc)
        if args.json:
            _emit_json({p: s.kind for p, s in slots.items()})
        else:
            for path, slot in slots.items():
                _out(args).print(f"{path}  ({slot.kind})", markup=False)
        return 0
    block = sc.model.sweep
    params = parse_param_args(args.param) if args.param else (dict(block.params) if block else {})
    design = args.design or (block.design if block and not args.param else "grid")
    points = args.points if args.points is not None else (block.points if block else None)
    runs = args.runs if args.runs is not None else (block.runs if block else 200)
    seed = args.seed if args.seed is not None else (block.seed if block else 0)
    with _executor(args) as executor, _progress(_show(args), f"{sc.name} sweep") as progress:
        result = run_sweep(sc, params, design=design, points=points, runs=runs, seed=seed, workers=args.workers,
                           engine=args.engine, out=args.out, block_size=args.block_size, progress=progress,
                           command=_command(), figures=not args.no_figures, executor=executor)
    draw_sweep(result)  # after the run directory is unlocked
    if args.json:
        _emit_json({"run_dir": str(result.run_dir), **result.summary(),
                    "figures": [str(p) for p in result.figures]})
        return 0
    print_sweep(_out(args), result)
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
            t.add_row(str(r["value"]), f"{r['runs']:,}", _pct(r["p_no_talks"]), _pct(r["p_talks_failed"]),
                      _pct(r["p_agreement"]), f"{_pct(r['lo_agreement'])} - {_pct(r['hi_agreement'])}")
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
                      *[_pct(r[f"p_{k}"]) for k in ("no_talks", "talks_failed", "agreement")],
                      f"{_pct(r['lo_agreement'])} - {_pct(r['hi_agreement'])}",
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


# --------------------------------------------------------------------------- compare


def cmd_compare(args: argparse.Namespace) -> int:
    from sim.present.figures import compare_many, draw_comparison

    with _executor(args) as executor:
        result = compare_many(args.base, args.others, runs=args.runs, seed=args.seed, workers=args.workers,
                              out=args.out, paired=not args.unpaired, executor=executor)
    if args.figure:
        draw_comparison(result, Path(args.figure))
    if args.json:
        _emit_json(result.to_dict())
        return 0
    out = _out(args)
    if len(result.results) > 1:
        print_comparison_set(out, result)
    else:
        print_comparison(out, result.results[0])
    out.print(f"Comparison: {result.run_dir}/ (comparison.json, outcomes.csv, timing.csv, comparison.png)",
              markup=False)
    return 0


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
        t.add_row(("class " if first["kind"] == "class" else "") + str(outcome), _pct(first["p_a"]), *cells)
    out.print(t)
    for r in result.results:
        for _, row in r.comparison.timing.iterrows():
            out.print(f"{r.label_b} - {r.label_a}, {row['measure']}: {_num(row['diff'], '+')} months "
                      f"({_num(row['lo'], '+')} to {_num(row['hi'], '+')}) over {row['covers']}", markup=False)


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
        t.add_row(("class " if is_class else "") + str(r["outcome"]), _pct(r["p_a"]), _pct(r["p_b"]), f"{100 * r['diff']:+.1f} pts",
                  f"{100 * r['lo']:+.1f} to {100 * r['hi']:+.1f}", _pval(r["p_value"]), str(r["test"]))
    out.print(t)
    t = Table(title="Timing (months)", title_justify="left")
    for col in ("measure", "mean A", "mean B", "B - A", "95% interval", "p-value", "over"):
        t.add_column(col, justify="left" if col in ("measure", "over") else "right")
    for _, r in c.timing.iterrows():
        mean_a, mean_b = (r["pair_mean_a"], r["pair_mean_b"]) if c.paired else (r["mean_a"], r["mean_b"])
        t.add_row(str(r["measure"]), _num(mean_a), _num(mean_b), _num(r["diff"], "+"),
                  f"{_num(r['lo'], '+')} to {_num(r['hi'], '+')}", _pval(r["p_value"]), str(r["covers"]))
    out.print(t)
    changed = c.terms[c.terms["diff"].abs() > 0] if len(c.terms) else c.terms
    if len(changed):
        t = Table(title="Terms of agreements that change (share of agreements)", title_justify="left")
        for col in ("issue", "option", "A", "B", "B - A"):
            t.add_column(col, justify="left" if col in ("issue", "option") else "right")
        for _, r in changed.head(12).iterrows():
            t.add_row(str(r["issue"]), str(r["option"]), _pct(r["share_a"]), _pct(r["share_b"]), f"{100 * r['diff']:+.1f} pts")
        out.print(t)
    elif len(c.terms):
        out.print("Terms of agreements: the same shares in A and B.", markup=False)
    out.print(f"A: {result.dir_a}   B: {result.dir_b}", markup=False)


def _pval(p: float) -> str:
    return "-" if p != p else ("<0.001" if p < 0.001 else f"{p:.3f}")


def _num(x: float, sign: str = "") -> str:
    return "-" if x is None or x != x else f"{x:{sign}.2f}"


# --------------------------------------------------------------------------- resume, runs


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
        _emit_json({"run_dir": str(result.run_dir), "kind": result.manifest["kind"], "summary": summary})
        return 0
    out = _out(args)
    if result.manifest["kind"] == "sweep":
        print_sweep(out, result)
    else:
        print_summary(out, result.scenario.name, summary, result.run_dir, result.seed, result.engine,
                      result.manifest["timing"].get("wall_seconds"))
    return 0


def cmd_runs(args: argparse.Namespace) -> int:
    from sim.runs.store import list_runs

    rows = list_runs(args.out)
    if args.json:
        _emit_json(rows)
        return 0
    out = _out(args)
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


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB", "GB"):
        if n < 1024 or unit == "GB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return str(n)


# --------------------------------------------------------------------------- discover


def cmd_discover(args: argparse.Namespace) -> int:
    from sim.analysis.ema import discover

    found = discover(args.sweep_dir, args.outcome, above=args.above, below=args.below, figures=not args.no_figures)
    if args.json:
        _emit_json(found.to_dict())
        return 0
    out = _out(args)
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


# --------------------------------------------------------------------------- explain


def _check_run_options(args: argparse.Namespace) -> None:
    """--seed, --replicate and (where the command has it) --runs of the commands that tell or play one run."""
    from sim.engine.shocks import MAX_SEED

    if not 0 <= args.seed < MAX_SEED:
        raise UsageError(f"--seed must be a whole number from 0 to 2**128 - 1 (got {args.seed})")
    if not 0 <= args.replicate < 2**63:
        raise UsageError(f"--replicate must be a whole number from 0 to 2**63 - 1 (got {args.replicate})")
    runs = getattr(args, "runs", None)
    if runs is not None and not 1 <= runs <= 1_000_000:
        raise UsageError(f"--runs must be a whole number from 1 to 1,000,000 (got {runs})")


def cmd_play(args: argparse.Namespace) -> int:
    from sim.play import game
    from sim.present.explain import km2_words
    from sim.scenario.compile import compile_scenario
    from sim.scenario.loading import load_scenario

    _check_run_options(args)
    c = compile_scenario(load_scenario(args.file))
    roles = game.check_roles(c, [r.strip() for r in args.roles.split(",") if r.strip()])
    out = _out(args)
    if args.moves is not None:
        name = "<stdin>" if args.moves == "-" else args.moves
        try:
            text = sys.stdin.read() if args.moves == "-" else Path(args.moves).read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise UsageError(f"{name}: cannot read the moves file: {e}") from None
        played = game.play_scripted(c, args.seed, args.replicate, roles, game.parse_moves(text, name, c, roles))
    else:
        from sim.play.terminal import Terminal, role_summary

        screen = console(soft_wrap=False)
        screen.print(f"negsim play: scenario {c.scenario.name}, seed {args.seed}, replicate {args.replicate}. "
                     f"You play {role_summary(c, roles)}; the model plays everybody else.")
        term = Terminal(c, roles, screen)
        def month(entry: dict) -> None:
            for line in [term.month_line(entry), *term.private_lines(entry)]:
                screen.print(line, markup=False)

        played = game.play(c, args.seed, args.replicate, roles, term, on_month=month)
        played.moves = term.made
    cmp = game.compare(played, game.distribution(c, args.seed, args.runs))
    rec = game.record(played, cmp)
    path = Path(args.save) if args.save else Path("runs") / "plays" / (
        f"{c.scenario.name}-s{args.seed}-r{args.replicate}-{time.strftime('%Y%m%dT%H%M%S')}.replay.json")
    try:
        game.save_replay(played, path, rec)
    except OSError as e:
        raise UsageError(f"{path}: cannot write the replay file: {e}") from None
    rec["replay"] = str(path)
    if args.json:
        _emit_json(rec)
        return 0
    outcome = {"agreement": "AGREEMENT", "talks_failed": "talks failed", "no_talks": "talks never opened"}[rec["outcome"]]
    out.print(f"Result: {outcome}" + (f" in month {rec['agreement_month']}: " + ", ".join(
        f"{k} = {v}" for k, v in rec["terms"].items()) + "; " + km2_words(rec["land_km2"]) + "."
        if rec["terms"] else "."), markup=False)
    for line in game.sentences(played, cmp):
        out.print(line, markup=False)
    out.print(f"Replay saved to {path} (negsim explain --replay {path}).", markup=False)
    return 0


def cmd_classroom(args: argparse.Namespace) -> int:
    from sim.scenario.compile import compile_scenario
    from sim.scenario.loading import load_scenario

    _check_run_options(args)
    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535 (got {args.port})")
    try:
        from sim.play.classroom import Classroom, serve
    except ImportError as e:
        raise UsageError(f"negsim classroom needs its web server: pip install 'negsim[classroom]' ({e})") from None
    c = compile_scenario(load_scenario(args.file))
    room = Classroom(c, args.seed, args.replicate, state_dir=args.state, runs=args.runs)
    host = f"[{args.host}]" if ":" in args.host else args.host
    out = _out(args)

    def ready(port: int) -> None:
        out.print(f"negsim classroom: scenario {c.scenario.name}, seed {args.seed}, replicate {args.replicate}.",
                  markup=False)
        out.print(f"Teacher: http://{host}:{port}/teacher", markup=False)
        out.print(f"Students: http://{host}:{port}/ (enter the join code the teacher's page shows)", markup=False)
        out.print("Ctrl-C stops the server; finished games are saved in " + str(args.state), markup=False)
        sys.stdout.flush()

    try:
        serve(room, args.host, args.port, ready=ready)
    except OSError as e:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {e}") from None
    return 0


def cmd_explain(args: argparse.Namespace) -> int:
    from sim.present.explain import draw_run, explain, find_replicate, write_csv
    from sim.scenario.loading import load_scenario

    for flag, name, suffix in (("--figure", args.figure, ".png"), ("--csv", args.csv, None)):
        if name is not None and not Path(name).resolve().parent.is_dir():
            raise UsageError(f"{flag} {name}: the folder {Path(name).resolve().parent} does not exist")
        if name is not None and suffix and Path(name).suffix.lower() != suffix:
            raise UsageError(f"{flag} {name}: expected a file name ending in {suffix}")
    if args.replay is not None:
        return _explain_replay(args)
    if args.file is None:
        raise UsageError("explain needs a scenario FILE (or --replay FILE)")
    _check_run_options(args)
    sc = load_scenario(args.file)
    replicate = args.replicate
    if args.outcome:
        found, searched = find_replicate(sc, args.seed, args.outcome, args.replicate)
        if found is None:
            raise UsageError(f"no replicate ends in {args.outcome} among the {searched} searched "
                             f"(replicates {args.replicate} to {args.replicate + searched - 1} of seed {args.seed})")
        replicate = found
    ex = explain(sc, args.seed, replicate, brief=args.brief, words=True if args.glossary else None)
    c = ex.model.compiled
    written = []
    if args.csv:
        written.append(f"Table: {write_csv(c, ex.model, args.csv)}")
    if args.figure:
        written.append(f"Figure: {draw_run(c, ex.model, args.figure, ex.row)}")
    if args.json:
        row = {k: (None if _isna(v) else v) for k, v in ex.row.items()}
        _emit_json({"row": row, "months": ex.model.log, "why": ex.why})
        return 0
    out = _out(args)
    for line in [*ex.lines, *written]:
        out.print(line, markup=False)
    return 0


def _explain_replay(args: argparse.Namespace) -> int:
    from sim.play import game
    from sim.present.explain import draw_run, narrate, write_csv

    played = game.replay(game.load_replay(args.replay))
    if args.json:
        row = {k: (None if _isna(v) else v) for k, v in played.row.items()}
        _emit_json({"row": row, "months": played.model.log, "moves": [m.as_dict() for m in played.moves]})
        return 0
    out = _out(args)
    out.print(f"A game of {', '.join(played.roles)} played by people (the model played the rest); "
              f"{len(played.moves)} moves were theirs.", markup=False)
    for line in narrate(played.compiled, played.model, played.row, brief=args.brief,
                        words=True if args.glossary else None):
        out.print(line, markup=False)
    if args.csv:
        out.print(f"Table: {write_csv(played.compiled, played.model, args.csv)}", markup=False)
    if args.figure:
        out.print(f"Figure: {draw_run(played.compiled, played.model, args.figure, played.row)}", markup=False)
    return 0


# --------------------------------------------------------------------------- report


def cmd_report(args: argparse.Namespace) -> int:
    from sim.present.report import write_report

    report = write_report(args.run_dirs, args.out, pdf=args.pdf)
    if args.json:
        _emit_json({"html": str(report.html), "pdf": report.pdf and str(report.pdf), "kind": report.kind,
                    "figures": report.figures, "run_dirs": report.sources})
        return 0
    out = _out(args)
    out.print(f"Report ({report.kind}, {report.figures} figures): {report.html}", markup=False)
    if report.pdf is not None:
        out.print(f"PDF: {report.pdf}", markup=False)
    return 0


# --------------------------------------------------------------------------- dashboard


def cmd_dashboard(args: argparse.Namespace) -> int:
    from sim.play.dashboard import default_scenario, serve

    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be a whole number from 1 to 65535 (got {args.port})")
    serve(args.file or default_scenario(), args.host, args.port)
    return 0


def _isna(v: Any) -> bool:
    try:
        import pandas as pd

        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
