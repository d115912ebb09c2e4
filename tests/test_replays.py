"""One input discipline for play and replays (issue 21, points 5, 7, 8, 9): ASCII-digit moves, bounded reads
that refuse FIFOs and devices, a validated and reproduced replay file, one replicate range check."""

from __future__ import annotations

import copy
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from sim.cli import main
from sim.engine.shocks import MAX_REPLICATE, check_replicate, draw
from sim.errors import UsageError
from sim.play import game
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
SEED = 117  # replicate 0: talks open in month 2, Kyiv answers in month 2 and proposes in month 3 (test_play.py)
DEFERRED_FREEZE = "crimea_status=status_deferred,land_returned=freeze_line,legal_recognition=not_recognised"


def cli(*args: str, stdin: str | None = None, cwd: Path = ROOT, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=cwd,
                          input=stdin, timeout=timeout)


def refused(res: subprocess.CompletedProcess, *words: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stdout[-2000:], res.stderr[-2000:])
    assert "Traceback" not in res.stderr and "internal error" not in res.stderr.lower(), res.stderr
    for w in words:
        assert w in res.stderr, res.stderr


def refused_here(capsys, args: list[str], *words: str) -> None:
    """`refused` of `negsim ARGS` called in this process (sim.cli.main): the same exit code and message, without a
    fresh interpreter's imports (the subprocess tests above and below keep the real process's exit and stderr)."""
    capsys.readouterr()
    code = main(args)
    out, err = capsys.readouterr()
    refused(subprocess.CompletedProcess(args, code, out, err), *words)


@pytest.fixture(scope="module")
def base():
    return compile_scenario(load_scenario(BASELINE))


# --------------------------------------------------------------------------- ASCII digits


@pytest.mark.parametrize("typed", ["²", "٢", "２", "1²", "9" * 5000])
def test_a_package_takes_ascii_digits_only(base, typed: str):
    with pytest.raises(game.MoveError):
        game.parse_package(base, typed)


@pytest.mark.parametrize("month", ["²", "٢", "9" * 5000])
def test_a_month_takes_ascii_digits_only(base, month: str):
    with pytest.raises(game.MoveError, match="expected a month number"):
        game.parse_moves(f"{month} kyiv reject\n", "m.txt", base, ["kyiv"])


@pytest.mark.parametrize("text,where", [("2 kyiv reject\n3 kyiv propose ²\n", "m.txt:2"),
                                        ("2 kyiv reject\n3 kyiv propose ٢\n", "m.txt:2"),  # was read as 2
                                        ("٢ kyiv reject\n", "m.txt:1")])  # was month 2
def test_non_ascii_digits_in_a_moves_file_are_exit_2(tmp_path: Path, text: str, where: str):
    moves = tmp_path / "m.txt"
    moves.write_text(text, encoding="utf-8")
    save = tmp_path / "g.json"
    refused(cli("play", str(BASELINE), "--as", "kyiv", "--seed", str(SEED), "--moves", str(moves), "--runs", "20",
                "--save", str(save)), f"{where}: ", "ASCII")
    assert not save.exists()


def test_typed_superscript_two_is_not_a_move_and_the_game_is_saved(tmp_path: Path):
    """At the terminal, "²" gets "Not a move" and another try; the game ends and its replay file is written."""
    save = tmp_path / "g.json"
    res = cli("play", str(BASELINE), "--as", "kyiv", "--seed", str(SEED), "--runs", "20", "--save", str(save),
              stdin="reject\n²\n٢\n")
    assert res.returncode == 0, res.stderr[-2000:]
    assert res.stdout.count("Not a move") >= 2 and "ASCII" in res.stdout
    assert save.exists()


# --------------------------------------------------------------------------- one replicate check


@pytest.mark.parametrize("r", [-1, MAX_REPLICATE, 2**63 - 1, 2**63, 2**64, 10**50, True, 1.5, "3"])
def test_check_replicate_refuses(r):
    with pytest.raises(UsageError, match="from 0 to 2\\*\\*32 - 1"):
        check_replicate(r)


def test_check_replicate_accepts_the_range(base):
    assert check_replicate(0) == 0 and check_replicate(MAX_REPLICATE - 1) == MAX_REPLICATE - 1
    with pytest.raises(UsageError):
        draw(base, 0, [MAX_REPLICATE])
    with pytest.raises(UsageError):
        game.play(base, 0, 2**40, ["kyiv"], game.Recorded([]))


@pytest.mark.parametrize("command", ["explain", "play"])
@pytest.mark.parametrize("r", ["4294967296", str(2**63 - 1), "-1"])
def test_cli_replicate_range(tmp_path: Path, command: str, r: str):
    extra = ["--as", "kyiv", "--moves", "-", "--save", str(tmp_path / "g.json")] if command == "play" else []
    refused(cli(command, str(BASELINE), "--replicate", r, *extra, stdin=""), "--replicate must be a whole number "
            "from 0 to 2**32 - 1")


def test_classroom_replicate_range():
    refused(cli("classroom", str(BASELINE), "--replicate", str(2**32), "--port", "0"), "--replicate")


# --------------------------------------------------------------------------- bounded reads


def test_moves_from_a_device_or_fifo_are_refused(tmp_path: Path):
    # Refused from the file's type (opened without blocking, never read): a read would never end (/dev/zero) or
    # wait for a writer (the FIFO). cli()'s 2-minute timeout only guards against such a hang on a loaded machine.
    refused(cli("play", str(BASELINE), "--as", "kyiv", "--moves", "/dev/zero", "--save", str(tmp_path / "g.json")),
            "character device")
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    refused(cli("play", str(BASELINE), "--as", "kyiv", "--moves", str(fifo), "--save", str(tmp_path / "g.json")),
            "FIFO")
    refused(cli("explain", "--replay", "/dev/zero"), "character device")
    refused(cli("explain", "--replay", str(fifo)), "FIFO")


def test_moves_from_stdin_are_bounded(tmp_path: Path):
    flood = "2 kyiv reject\n" * (game.MAX_MOVES_BYTES // 14 + 10)
    refused(cli("play", str(BASELINE), "--as", "kyiv", "--moves", "-", "--save", str(tmp_path / "g.json"),
                stdin=flood), "too large for a moves file")


def test_a_huge_replay_file_is_refused(tmp_path: Path, capsys):
    big = tmp_path / "big.json"
    with big.open("wb") as f:
        f.truncate(game.replays.MAX_REPLAY_BYTES + 1)
    refused_here(capsys, ["explain", "--replay", str(big)], "too large for a replay file")


# --------------------------------------------------------------------------- replays validated and reproduced


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("replay")
    moves = d / "m.txt"
    moves.write_text(f"2 kyiv reject\n3 kyiv propose {DEFERRED_FREEZE}\n")
    res = cli("play", str(BASELINE), "--as", "kyiv", "--seed", str(SEED), "--moves", str(moves), "--json",
              "--runs", "20", "--save", str(d / "g.json"))
    assert res.returncode == 0, res.stderr
    return json.loads((d / "g.json").read_text())


def edited(tmp_path: Path, doc: dict, change) -> Path:
    doc = copy.deepcopy(doc)
    change(doc)
    p = tmp_path / "edited.json"
    p.write_text(json.dumps(doc) if not isinstance(doc, str) else doc)
    return p


def test_the_saved_replay_replays(saved: dict, tmp_path: Path):
    res = cli("explain", "--replay", str(edited(tmp_path, saved, lambda d: None)))
    assert res.returncode == 0, res.stderr
    assert "2 moves were theirs" in res.stdout


def _set(path: str, value):
    def change(doc: dict) -> None:
        *head, last = path.split(".")
        node = doc
        for k in head:
            node = node[int(k)] if isinstance(node, list) else node[k]
        node[int(last) if isinstance(node, list) else last] = value
    return change


KYIV_RED_LINE = 0  # package 0 recognises Crimea as Russian: across Kyiv's red line (test_play.py)


@pytest.mark.parametrize("path,value,words", [
    ("record", [], "record: Input should be a valid dictionary"),
    ("replicate", -1, "replicate: Input should be greater than or equal to 0"),
    ("replicate", 2**40, "replicate: Input should be less than 4294967296"),
    ("moves.1.choice", 10**6, "moves[1]: choice: expected a package number from 0 to 47, got 1000000"),
    ("moves.1.choice", -3, "choice: a propose takes a package number from 0"),
    ("moves.1.choice", 47 + 1, "moves[1]: choice: expected a package number from 0 to 47"),
    ("moves.1.choice", KYIV_RED_LINE, "moves[1]: choice: kyiv cannot propose package 0"),
    ("moves.0.choice", 1, "moves[0]: Value error, choice: an answer takes true or false"),
    ("moves.0.month", 1, "moves[0]: kyiv had no decision to answer in month 1"),
    ("seed", "1" * 40, "seed: String should match pattern"),
    ("record.outcome", "talks_failed", "record.outcome does not reproduce"),
    ("record.land_km2", 12345.0, "record.land_km2 does not reproduce"),
    ("record.terms", {"crimea_status": "x"}, "record.terms does not reproduce"),
    ("record.utilities.kyiv", 0.999, "record.utilities does not reproduce"),
    ("scenario_text", "name: x\n", "scenario_text does not reproduce"),
    ("roles", ["nato"], "roles: no role 'nato'"),
])
def test_an_edited_replay_is_exit_2_naming_the_field(saved: dict, tmp_path: Path, capsys, path: str, value,
                                                      words: str):
    refused_here(capsys, ["explain", "--replay", str(edited(tmp_path, saved, _set(path, value)))], words)


def test_scenario_data_must_be_the_texts(saved: dict, tmp_path: Path, capsys):
    def change(doc: dict) -> None:
        doc["scenario_data"]["name"] = "another name"
    refused_here(capsys, ["explain", "--replay", str(edited(tmp_path, saved, change))], "scenario_data does not reproduce")


def test_the_recorded_outcome_is_an_agreement(saved: dict):
    """The edits above of terms and utilities are edits of a real deal (else they would prove less)."""
    assert saved["record"]["outcome"] == "agreement" and saved["record"]["terms"]


@pytest.mark.parametrize("text,words", [
    ('{"format": "negsim-replay/1", "x": ' + "[" * 5000 + "]" * 5000 + "}", "nested"),
    ('{"format": "negsim-replay/1", "x": ' + "[" * 500 + "]" * 500 + "}", "nested deeper than 64"),
    ('{"format": "negsim-replay/1", "replicate": ' + "9" * 5000 + "}", "not a replay file"),
    ("[]", "not a replay file"),
    ("\xff\xfe", "not a replay file"),
])
def test_malformed_replay_json(tmp_path: Path, capsys, text: str, words: str):
    p = tmp_path / "bad.json"
    p.write_text(text, encoding="latin-1")
    refused_here(capsys, ["explain", "--replay", str(p)], words)


def test_a_saved_class_with_a_replicate_out_of_range_is_not_loaded(base, tmp_path: Path):
    """A tampered saved session's replicate goes through the same check: the session is not loaded (404), where
    the engine used to fail on it (500)."""
    from sim.play.classroom.room import Classroom, ClassroomError

    room = Classroom(base, 1, 9, state_dir=tmp_path / "classroom", runs=20)
    s, _teacher = room.create()
    path = room.save(s)
    doc = json.loads(path.read_text())
    for bad in (2**40, -1, "9"):
        doc["replicate"] = bad
        path.write_text(json.dumps(doc))
        room.sessions.clear()
        with pytest.raises(ClassroomError) as e:
            room.get(s.code)
        assert e.value.status == 404
