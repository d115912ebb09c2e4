"""The argument parser of `negsim`: every command, its options and their help.

Defaults come from :mod:`sim.defaults` (the help texts show them with argparse's
``%(default)s``), so the help cannot say one number while the library uses
another. Building the parser loads neither the model, numpy nor pandas.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

import sim.defaults as d
from sim.cli.calibrate import cmd_calibrate
from sim.cli.hindcast import cmd_hindcast
from sim.cli.inspect import cmd_evidence, cmd_runs, cmd_schema, cmd_validate
from sim.cli.play import cmd_classroom, cmd_dashboard, cmd_explain, cmd_play
from sim.cli.report import cmd_discover, cmd_report
from sim.cli.run import cmd_compare, cmd_resume, cmd_run, cmd_sweep

SEEDS_HELP = ("a folder of evidence documents, looked in after the scenario's own seeds/ folders "
              "(repeatable; also NEGSIM_SEEDS)")
TRACEBACK_HELP = "print the full traceback of an unexpected error (also NEGSIM_DEBUG=1)"
EXPLAINED_OUTCOMES = ("agreement", "talks_failed", "no_talks")  # sim.engine.records.OUTCOMES (checked by a test)

Subparsers = argparse._SubParsersAction  # the type of add_subparsers(): argparse names it privately


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="negsim", description="Scenario simulation of negotiation outcomes.")
    parser.add_argument("--version", action="version", version=f"negsim {_version()}")
    parser.add_argument("--seeds", action="append", default=[], metavar="DIR", help=SEEDS_HELP)
    parser.add_argument("--traceback", action="store_true", help=TRACEBACK_HELP)
    every = argparse.ArgumentParser(add_help=False)  # options every command takes, before or after its name
    every.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS, help=TRACEBACK_HELP)
    reads = argparse.ArgumentParser(add_help=False, parents=[every])  # ... and those of commands reading scenarios
    reads.add_argument("--seeds", action="append", default=argparse.SUPPRESS, metavar="DIR", help=SEEDS_HELP)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for add in COMMANDS:
        add(sub, every, reads)
    return parser


def _inspect_commands(sub: Subparsers, every: argparse.ArgumentParser, reads: argparse.ArgumentParser) -> None:
    p = sub.add_parser("validate", parents=[reads], help="check scenario files; exit 2 on any problem")
    p.add_argument("files", nargs="+", metavar="FILE")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p.set_defaults(func=cmd_validate)

    p = sub.add_parser("schema", parents=[every], help="print the JSON Schema of scenario files")
    p.set_defaults(func=cmd_schema)

    p = sub.add_parser("evidence", parents=[reads], help="print each parameter with its source quote or assumption")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_evidence)


def _run_command(sub: Subparsers, every: argparse.ArgumentParser, reads: argparse.ArgumentParser) -> None:
    p = sub.add_parser("run", parents=[reads], help="run a batch of a scenario and summarise the outcomes")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--runs", type=int, default=d.RUNS, help="number of runs (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.SEED, help="root seed (default %(default)s)")
    p.add_argument("--workers", type=int, default=d.WORKERS, help="worker processes (default %(default)s)")
    p.add_argument("--engine", choices=d.ENGINES, default=d.ENGINES[0], help="default: %(default)s")
    p.add_argument("--out", default=d.OUT, help="folder in which the run directory is created (default %(default)s/)")
    blocks = f"up to {d.BLOCK['vector']} vector, fewer to give every worker a block; {d.BLOCK['agents']} agents"
    p.add_argument("--block-size", type=int, default=None, help=f"runs per block (default: {blocks})")
    _backend_args(p)
    p.add_argument("--given", metavar="TARGETS", default=None,
                   help="summarise only the runs consistent with a record (a targets file) up to its last month")
    p.add_argument("--json", action="store_true", help="print one JSON object (summary and run_dir)")
    p.set_defaults(func=cmd_run)


def _sweep_command(sub: Subparsers, every: argparse.ArgumentParser, reads: argparse.ArgumentParser) -> None:
    p = sub.add_parser("sweep", parents=[reads], help="run a parameter sweep (grid, Latin hypercube, Sobol, Morris)")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--param", action="append", default=[], metavar="PATH=SPEC",
                   help="a parameter and its values: 0.2,0.5,0.8 (list), 0.2:0.8:7 (range), 0.2..0.8 (bounds)")
    block = "the scenario's sweep: block, else"
    p.add_argument("--design", choices=d.DESIGNS, default=None, help=f"default: {block} {d.DESIGNS[0]}")
    p.add_argument("--points", type=int, default=None, help="points of a sampled design (sobol: a power of 2)")
    p.add_argument("--runs", type=int, default=None, help=f"replicates at every point (default: {block} {d.SWEEP_RUNS})")
    p.add_argument("--seed", type=int, default=None, help=f"root seed (default: {block} {d.SEED})")
    p.add_argument("--workers", type=int, default=d.WORKERS, help="worker processes (default %(default)s)")
    p.add_argument("--engine", choices=d.ENGINES, default=d.ENGINES[0], help="default: %(default)s")
    p.add_argument("--out", default=d.OUT, help="folder in which the run directory is created (default %(default)s/)")
    p.add_argument("--block-size", type=int, default=None, help="runs per block (default: as negsim run)")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--list-params", action="store_true", help="list the parameter paths that can be swept")
    _backend_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_sweep)


def _compare_command(sub: Subparsers, every: argparse.ArgumentParser, reads: argparse.ArgumentParser) -> None:
    p = sub.add_parser("compare", parents=[reads],
                       help="compare batches (run directories or scenario files) with the first, paired by replicate")
    p.add_argument("base", metavar="BASE")
    p.add_argument("others", nargs="+", metavar="OTHER", help="one or more batches or scenarios to compare with BASE")
    p.add_argument("--runs", type=int, default=None,
                   help=f"runs for scenario files (default: a run directory's, else {d.COMPARE_RUNS})")
    p.add_argument("--seed", type=int, default=None,
                   help=f"seed for scenario files (default: a run directory's, else {d.SEED})")
    p.add_argument("--workers", type=int, default=d.WORKERS, help="worker processes (default %(default)s)")
    p.add_argument("--out", default=d.OUT,
                   help="where scenario files' batches and the comparison are written (default %(default)s/)")
    p.add_argument("--unpaired", action="store_true", help="compare as independent samples (wider intervals)")
    p.add_argument("--table", action="store_true",
                   help="also print each scenario's own figures (P(agreement) with its interval, commonest class, "
                        "settlement month, stages reached) before the differences")
    p.add_argument("--figure", default=None, metavar="PNG", help="also draw the differences to this PNG file")
    _backend_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_compare)


def _stored_commands(sub: Subparsers, every: argparse.ArgumentParser, reads: argparse.ArgumentParser) -> None:
    p = sub.add_parser("resume", parents=[every], help="finish an interrupted batch or sweep")
    p.add_argument("run_dir", metavar="RUN_DIR")
    p.add_argument("--workers", type=int, default=d.WORKERS, help="worker processes (default %(default)s)")
    _backend_args(p)
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_resume)

    p = sub.add_parser("runs", parents=[every], help="list run directories with scenario, date, size and status")
    p.add_argument("--out", default=d.OUT, help="folder holding the run directories (default %(default)s/)")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_runs)

    p = sub.add_parser("discover", parents=[every], help="scenario discovery on a sweep: PRIM boxes where an "
                                                         "outcome is likely (needs the [ema] extra)")
    p.add_argument("sweep_dir", metavar="SWEEP_DIR")
    p.add_argument("--outcome", default=d.OUTCOME, help="an outcome or outcome class (default %(default)s)")
    level = p.add_mutually_exclusive_group(required=True)
    level.add_argument("--above", type=float, default=None, metavar="P", help="points where P(outcome) > P")
    level.add_argument("--below", type=float, default=None, metavar="P", help="points where P(outcome) < P")
    p.add_argument("--no-figures", action="store_true", help="skip the PNG figures")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_discover)


def _play_command(sub: Subparsers, every: argparse.ArgumentParser, reads: argparse.ArgumentParser) -> None:
    p = sub.add_parser("play", parents=[reads], help="play one or more roles of one run; the model plays the rest")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--as", dest="roles", required=True, metavar="ROLE[,ROLE...]",
                   help="the roles you play: a government, a mediator or a public of the scenario")
    _one_run_args(p)
    p.add_argument("--moves", default=None, metavar="FILE",
                   help="play the moves of a file ('-' for standard input) instead of asking; lines MONTH ROLE VERB "
                        "[PACKAGE]; the model decides where no move is given")
    p.add_argument("--save", default=None, metavar="PATH",
                   help=f"replay file to write (default {d.OUT}/plays/SCENARIO-sSEED-rREPLICATE-TIME.replay.json)")
    p.add_argument("--runs", type=int, default=d.REFERENCE_RUNS,
                   help="model runs to set your result against (default %(default)s)")
    p.add_argument("--json", action="store_true", help="print the final record as JSON")
    p.set_defaults(func=cmd_play)


def _classroom_command(sub: Subparsers, every: argparse.ArgumentParser, reads: argparse.ArgumentParser) -> None:
    p = sub.add_parser("classroom", parents=[reads],
                       help="a web server where a class plays one game together from their browsers")
    p.add_argument("file", metavar="FILE")
    p.add_argument("--host", default=d.HOST, help="address to listen on (default %(default)s; 0.0.0.0 for a "
                                                  "class on the local network)")
    p.add_argument("--port", type=int, default=d.CLASSROOM_PORT, help="port to listen on (default %(default)s)")
    p.add_argument("--allow-host", action="append", metavar="NAME",
                   help="another host name the server answers to (e.g. the name of a TLS proxy); repeatable")
    _one_run_args(p)
    p.add_argument("--runs", type=int, default=d.REFERENCE_RUNS,
                   help="model runs to set the class's result against (default %(default)s)")
    p.add_argument("--state", default=d.CLASSROOM_STATE, metavar="DIR",
                   help="where finished games are saved (default %(default)s/)")
    p.set_defaults(func=cmd_classroom)


def _explain_command(sub: Subparsers, every: argparse.ArgumentParser, reads: argparse.ArgumentParser) -> None:
    p = sub.add_parser("explain", parents=[reads], help="one run, month by month, as a narrative")
    p.add_argument("file", metavar="FILE", nargs="?")
    p.add_argument("--replay", default=None, metavar="FILE", help="tell a game saved by negsim play")
    _one_run_args(p)
    p.add_argument("--json", action="store_true", help="the run's results row and monthly log as JSON")
    p.add_argument("--brief", action="store_true", help="a line or two a run of months where nothing new happens")
    p.add_argument("--glossary", action="store_true", help="print the glossary with --brief too")
    p.add_argument("--outcome", choices=EXPLAINED_OUTCOMES, default=None,
                   help="explain the first replicate from --replicate upward that ends this way")
    p.add_argument("--figure", metavar="PNG", default=None, help="draw the run (territory, values, weariness, talks)")
    p.add_argument("--csv", metavar="FILE", default=None, help="write the labelled monthly table")
    p.set_defaults(func=cmd_explain)


def _report_command(sub: Subparsers, every: argparse.ArgumentParser, reads: argparse.ArgumentParser) -> None:
    p = sub.add_parser("report", parents=[every],
                       help="one self-contained HTML page (and --pdf) of batches, a sweep or a comparison")
    p.add_argument("run_dirs", nargs="*", metavar="RUN_DIR", help="run directories; with several batches the "
                   "first is the baseline the others are compared with")
    p.add_argument("--class", dest="class_replay", metavar="REPLAY", default=None,
                   help="a class's game (the classroom's replay file, or negsim play's): its summary is added to the "
                   "page (or is the page, without RUN_DIR): moves, events, the outcome against the model")
    p.add_argument("--out", default=d.REPORT, metavar="HTML", help="the HTML file to write (default %(default)s)")
    p.add_argument("--pdf", action="store_true", help="also write the page as PDF beside it (OUT with .pdf; "
                   "needs the [report] extra)")
    p.add_argument("--json", action="store_true", help="print what was written as JSON")
    p.set_defaults(func=cmd_report)


def _dashboard_command(sub: Subparsers, every: argparse.ArgumentParser, reads: argparse.ArgumentParser) -> None:
    p = sub.add_parser("dashboard", parents=[reads], help="a browser dashboard: levers, paired batches, a draft builder")
    p.add_argument("file", metavar="FILE", nargs="?", default=None, help="scenario (default: the baseline)")
    p.add_argument("--host", default=d.HOST, help="address to listen on (default %(default)s)")
    p.add_argument("--port", type=int, default=d.DASHBOARD_PORT, help="port to listen on (default %(default)s)")
    p.add_argument("--resourcez", action="store_true", help="serve solara's /resourcez (the server's threads, "
                   "kernels and connections, to anyone who can reach it); off by default (not found)")
    p.set_defaults(func=cmd_dashboard)


# The order of the commands in `negsim --help`.
def _hindcast_command(sub: Subparsers, every: argparse.ArgumentParser, reads: argparse.ArgumentParser) -> None:
    p = sub.add_parser("hindcast", parents=[reads],
                       help="score a scenario against a record of what happened (a targets file)")
    p.add_argument("file", metavar="FILE", help="the scenario")
    p.add_argument("--record", required=True, metavar="TARGETS", help="a targets file (scenarios/targets/*.yaml)")
    p.add_argument("--from", dest="start_from", metavar="MONTH", default=None,
                   help="condition on the record up to this month (YYYY-MM or a month number) and score what follows")
    p.add_argument("--runs", type=int, default=d.HINDCAST_RUNS, help="runs (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.SEED, help="root seed (default %(default)s)")
    p.add_argument("--workers", type=int, default=d.WORKERS, help="worker processes (default %(default)s)")
    p.add_argument("--figure", metavar="PNG", default=None, help="write the one-page figure here")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_hindcast)


def _calibrate_command(sub: Subparsers, every: argparse.ArgumentParser, reads: argparse.ArgumentParser) -> None:
    p = sub.add_parser("calibrate", parents=[reads],
                       help="fit a scenario's uncertain parameters to records (targets files) with ABC-SMC")
    p.add_argument("file", metavar="FILE", nargs="?", help="the scenario (not with --resume)")
    p.add_argument("--targets", action="extend", nargs="+", metavar="TARGETS",
                   help="targets files (records: events and prior entries; repeatable)")
    p.add_argument("--params", nargs="+", metavar="PATH", default=None,
                   help="the parameters to calibrate (default: every uncertain one); their dist: is the prior")
    p.add_argument("--budget", type=int, default=d.CALIBRATE_BUDGET, help="most runs to spend (default %(default)s)")
    p.add_argument("--runs-per-particle", type=int, default=d.CALIBRATE_RUNS_PER_PARTICLE,
                   help="runs of each particle's batch (default %(default)s)")
    p.add_argument("--population", type=int, default=d.CALIBRATE_POPULATION, help="particles per generation "
                                                                         "(default %(default)s)")
    p.add_argument("--ppc-runs", type=int, default=d.CALIBRATE_PPC_RUNS, help="runs of the predictive check (default %(default)s)")
    p.add_argument("--seed", type=int, default=d.SEED, help="root seed (default %(default)s)")
    p.add_argument("--workers", type=int, default=d.WORKERS, help="worker processes (default %(default)s)")
    p.add_argument("--out", default=d.OUT, help="folder in which the run directory is created (default %(default)s/)")
    p.add_argument("--resume", metavar="RUN_DIR", default=None, help="finish an interrupted calibration")
    _backend_args(p)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=cmd_calibrate)


COMMANDS: tuple[Callable[[Subparsers, argparse.ArgumentParser, argparse.ArgumentParser], None], ...] = (
    _inspect_commands, _run_command, _sweep_command, _compare_command, _stored_commands, _play_command,
    _classroom_command, _explain_command, _report_command, _dashboard_command, _hindcast_command, _calibrate_command)



def _one_run_args(p: argparse.ArgumentParser) -> None:
    """--seed and --replicate of the commands that tell or play one run."""
    p.add_argument("--seed", type=int, default=None,
                   help=f"root seed (default: the scenario's play.seed, else {d.SEED})")
    p.add_argument("--replicate", type=int, default=None,
                   help="the run of that seed (default: the scenario's play.replicate, else 0)")


def _backend_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--quiet", "-q", action="store_true",
                   help=f"no progress (a bar on a terminal, else a line on stderr every {d.PROGRESS_STEP}%%)")
    p.add_argument("--backend", choices=d.BACKENDS, default=None,
                   help="where units run: local processes (default) or a Dask cluster")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS",
                   help="Dask scheduler to use, e.g. tcp://10.0.0.5:8786 (implies --backend dask); "
                        "without it --backend dask starts a local cluster of --workers processes")


def _version() -> str:
    from sim.version import version

    return version()
