"""The argument parser of `negsim`: every command, its options and their help."""

from __future__ import annotations

import argparse

from sim.cli.inspect import cmd_evidence, cmd_runs, cmd_schema, cmd_validate
from sim.cli.play import cmd_classroom, cmd_dashboard, cmd_explain, cmd_play
from sim.cli.report import cmd_discover, cmd_report
from sim.cli.run import cmd_compare, cmd_resume, cmd_run, cmd_sweep


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


def _version() -> str:
    from sim.version import version

    return version()
