"""The commands that tell or play one run: explain, play, classroom and dashboard."""

from __future__ import annotations

import argparse
import os
import secrets
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from sim.cli.output import console, emit_json, isna, stdout_console
from sim.defaults import OUT, SEED
from sim.errors import (
    UsageError,
)

if TYPE_CHECKING:
    from sim.scenario.models import Scenario


def _check_run_options(args: argparse.Namespace, sc: Scenario | None = None) -> None:
    """--seed, --replicate and (where the command has it) --runs of the commands that tell or play one run.

    Where --seed or --replicate is not given, the scenario's ``play:`` block (the run a class plays, chosen by
    docs/teaching/choose_run.py for the classroom) gives it, else the default seed and replicate 0."""
    from sim.engine.shocks import MAX_SEED, check_replicate

    run = sc.model.play if sc is not None else None
    if args.seed is None:
        args.seed = run.seed if run is not None else SEED
    if args.replicate is None:
        args.replicate = run.replicate if run is not None else 0
    if not 0 <= args.seed < MAX_SEED:
        raise UsageError(f"--seed must be a whole number from 0 to 2**128 - 1 (got {args.seed})")
    check_replicate(args.replicate, "--replicate")
    runs = getattr(args, "runs", None)
    if runs is not None and not 1 <= runs <= 1_000_000:
        raise UsageError(f"--runs must be a whole number from 1 to 1,000,000 (got {runs})")


def cmd_play(args: argparse.Namespace) -> int:
    from sim.play import ending, game
    from sim.play.terminal import end_screen
    from sim.scenario.compile import compile_scenario
    from sim.scenario.loading import load_scenario

    sc = load_scenario(args.file)
    _check_run_options(args, sc)
    c = compile_scenario(sc)
    game.check_playable(c)
    roles = game.check_roles(c, [r.strip() for r in args.roles.split(",") if r.strip()])
    out = stdout_console(args)
    if args.moves is not None:
        try:
            text, name = game.read_moves(args.moves, sys.stdin.buffer)
        except OSError as e:
            raise UsageError(f"cannot read the moves file {args.moves}: {e.strerror}") from None
        played = game.play_scripted(c, args.seed, args.replicate, roles, game.parse_moves(text, name, c, roles))
    else:
        played = _play_at_the_terminal(c, args, roles)
    batch = game.distribution(c, args.seed, args.runs)
    cmp = game.compare(played, batch)
    rec = game.record(played, cmp)
    path = Path(args.save) if args.save else Path(OUT) / "plays" / (
        f"{c.scenario.name}-s{args.seed}-r{args.replicate}-{time.strftime('%Y%m%dT%H%M%S')}.replay.json")
    try:
        game.save_replay(played, path, rec)
    except OSError as e:
        raise UsageError(f"{path}: cannot write the replay file: {e}") from None
    end = ending.compare(played, batch)
    rec["replay"], rec["ending"] = str(path), end.as_dict()
    if args.json:
        emit_json(rec)
        return 0
    for item in end_screen(c, end):
        out.print(item)
    out.print(f"Replay saved to {path} (negsim explain --replay {path}).", markup=False)
    return 0


def _play_at_the_terminal(c, args: argparse.Namespace, roles: list[str]):  # noqa: ANN001, ANN202
    """A game at the terminal: each month's lines, a panel at each of the player's decisions."""
    from sim.play import game
    from sim.play.terminal import Terminal, role_summary

    screen = console(soft_wrap=False)
    screen.print(f"negsim play: scenario {c.scenario.name}, seed {args.seed}, replicate {args.replicate}. "
                 f"You play {role_summary(c, roles)}; the model plays everybody else.")
    term = Terminal(c, roles, screen)

    def month(entry: dict) -> None:
        for line in [term.month_line(entry), term.process_line(entry), *term.private_lines(entry)]:
            screen.print(line, markup=False)

    played = game.play(c, args.seed, args.replicate, roles, term, on_month=month)
    played.moves, played.decisions = term.made, term.decisions
    return played


def _classroom_banner(args: argparse.Namespace, scenario: str, port: int, secret: str) -> None:
    """What ``negsim classroom`` prints once it listens: the teacher's address and secret, the students' addresses
    (this machine's own on its networks for a wildcard address: :func:`sim.play.addresses.reach`) with a QR code
    of the first, the projector's address, and the warning of a wildcard address."""
    from sim.play.addresses import WILDCARD, qr_text, reach

    out = stdout_console(args)
    host = f"[{args.host}]" if ":" in args.host else args.host
    students = reach(args.host, port)
    teacher_host = "127.0.0.1" if args.host in WILDCARD else host  # the teacher's page: on this machine
    out.print(f"negsim classroom: scenario {scenario}, seed {args.seed}, replicate {args.replicate}.", markup=False)
    out.print(f"Teacher: http://{teacher_host}:{port}/teacher#secret={secret}", markup=False)
    out.print(f"Teacher secret: {secret} (the teacher's page asks for it to start a session; "
              "keep it from the students)", markup=False)
    for i, url in enumerate(students.urls):
        out.print(("Students: " if i == 0 else "      or: ") + url +
                  (" (enter the join code the teacher's page shows)" if i == 0 else ""), markup=False)
    if students.note:
        out.print(f"          ({students.note})", markup=False)
    out.print(f"Projector: {students.urls[0]}projector (the big screen: type the join code)", markup=False)
    qr = None if students.local_only else qr_text(students.urls[0])
    if qr is not None:
        out.print(f"The students' address as a QR code ({students.urls[0]}):", markup=False)
        sys.stdout.flush()
        sys.stdout.write(qr)
    out.print("Ctrl-C stops the server; finished games are saved in " + str(args.state), markup=False)
    if args.host in WILDCARD:
        print(f"negsim classroom: warning: --host {args.host} listens on every network this machine is on; "
              "anyone who can reach it can join a class with its code. It speaks plain HTTP: on a shared "
              "network put it behind a TLS proxy.", file=sys.stderr)
    sys.stdout.flush()


def cmd_classroom(args: argparse.Namespace) -> int:
    from sim.scenario.compile import compile_scenario
    from sim.scenario.loading import load_scenario

    if not 0 <= args.port <= 65535:
        raise UsageError(f"--port must be from 0 to 65535 (got {args.port})")
    try:
        from sim.play.classroom import Classroom, serve
        from sim.play.classroom.guard import allowed_hosts
        from sim.play.classroom.room import StateLocked
    except ImportError as e:
        raise UsageError(f"negsim classroom needs its web server: pip install 'negsim[classroom]' ({e})") from None
    sc = load_scenario(args.file)
    _check_run_options(args, sc)
    c = compile_scenario(sc)
    room = Classroom(c, args.seed, args.replicate, state_dir=args.state, runs=args.runs)
    secrets_given = [x.strip() for x in os.environ.get("NEGSIM_CLASSROOM_SECRET", "").split(",") if x.strip()]
    if any(len(x) < 12 for x in secrets_given):
        raise UsageError("NEGSIM_CLASSROOM_SECRET: each teacher secret (comma-separated) needs 12 characters or more")
    teacher_secrets = secrets_given or [secrets.token_urlsafe(12)]
    try:
        lock = room.lock()
    except StateLocked as e:
        raise UsageError(str(e)) from None
    except OSError as e:
        raise UsageError(f"--state {args.state}: cannot use the folder: {e}") from None

    def ready(port: int) -> None:
        _classroom_banner(args, c.scenario.name, port, teacher_secrets[0])

    try:
        serve(room, args.host, args.port, ready=ready, teacher_secrets=teacher_secrets,
              hosts=allowed_hosts(args.host, args.allow_host or []))
    except OSError as e:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {e}") from None
    finally:
        lock.close()
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
    sc = load_scenario(args.file)
    _check_run_options(args, sc)
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
        row = {k: (None if isna(v) else v) for k, v in ex.row.items()}
        emit_json({"row": row, "months": ex.model.log, "why": ex.why})
        return 0
    out = stdout_console(args)
    for line in [*ex.lines, *written]:
        out.print(line, markup=False)
    return 0


def _explain_replay(args: argparse.Namespace) -> int:
    from sim.play import game
    from sim.present.explain import draw_run, narrate, write_csv

    played = game.replay(game.load_replay(args.replay))
    if args.json:
        row = {k: (None if isna(v) else v) for k, v in played.row.items()}
        emit_json({"row": row, "months": played.model.log, "moves": [m.as_dict() for m in played.moves]})
        return 0
    out = stdout_console(args)
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


def cmd_dashboard(args: argparse.Namespace) -> int:
    from sim.play.dashboard import default_scenario, serve

    if not 1 <= args.port <= 65535:
        raise UsageError(f"--port must be a whole number from 1 to 65535 (got {args.port})")
    def ready() -> None:
        from sim.play.addresses import reach

        where = reach(args.host, args.port)
        print(f"negsim dashboard: {where.urls[0]}" + (f" ({where.note})" if where.note else ""), flush=True)
        for url in where.urls[1:]:
            print(f"                  {url}", flush=True)
        print("Ctrl-C stops it.", flush=True)

    serve(args.file or default_scenario(), args.host, args.port, resourcez=args.resourcez, ready=ready)
    return 0
