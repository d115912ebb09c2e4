"""negsim play: people make some of the moves; the model makes the rest, exactly as in a batch."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from rows import same_row

from sim.cli import main
from sim.play import game
from sim.runs.batch import simulate_block
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[1]
# agenda_2025.yaml is searched (1.8 billion packages): play refuses it (tests/test_scenario_errors.py).
SCENARIOS = sorted(p for p in (ROOT / "scenarios").glob("*.yaml") if p.name != "agenda_2025.yaml")
BASELINE = ROOT / "scenarios" / "baseline.yaml"
DEFERRED_FREEZE = "crimea_status=status_deferred,land_returned=freeze_line,legal_recognition=not_recognised"
# A seed whose replicate 0 of the baseline opens talks in month 2 with the EU/UK leading and agrees that month
# (test_the_chosen_seed_opens_talks_in_month_2 keeps it so when the baseline is recalibrated; re-derived for
# Model v3 as the first seed from 0 upward with that run).
SEED = 389


def cli(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=cwd,
                          input=stdin, timeout=120)


@pytest.fixture(scope="module")
def base():
    return compile_scenario(load_scenario(BASELINE))




@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_no_moves_is_the_batch_run(path: Path, tmp_path: Path, capsys):
    """With no moves every decision is the model's: the game is the batch row of that seed and replicate (`negsim
    play` called in this process: its record is what is checked; the other tests here run the real command)."""
    c = compile_scenario(load_scenario(path))
    batch = simulate_block(c, 3, 0, 12)
    for r in range(12):
        g = game.play_scripted(c, 3, r, list(c.governments), [])
        same_row(g.row, batch.iloc[r])
    empty = tmp_path / "empty.txt"
    empty.write_text("# no moves\n")
    capsys.readouterr()
    code = main(["play", str(path), "--as", c.governments[0], "--seed", "3", "--replicate", "5", "--moves", str(empty),
                 "--json", "--runs", "200", "--save", str(tmp_path / "g.json")])
    out, err = capsys.readouterr()
    assert code == 0, err
    rec, row = json.loads(out), batch.iloc[5]
    assert rec["outcome"] == row["outcome"]
    assert rec["agreement_month"] == (None if pd.isna(row["agreement_month"]) else int(row["agreement_month"]))
    assert rec["land_km2"] == pytest.approx(float(row["land_km2"]), abs=1e-9)
    if rec["terms"] is not None:
        assert rec["terms"] == {i: row[f"term_{i}"] for i in c.issues}
    assert rec["comparison"]["same_run_by_model"] == row["outcome"]


def test_the_chosen_seed_opens_talks_in_month_2(base):
    row = simulate_block(base, SEED, 0, 1).iloc[0]
    assert (row["talks_month"], row["agreement_month"], row["lead_mediator"]) == (2, 2, "eu_uk")


def test_moves_change_the_game(base):
    """A player's moves are real levers: Kyiv refusing every offer and asking for all its land back never gets a
    deal (Moscow's red line forbids it), and its own offer is made."""
    batch = simulate_block(base, 1, 0, 30)
    deals = batch.index[batch["outcome"] == "agreement"][:6]
    everything = game.parse_package(base, DEFERRED_FREEZE.replace("freeze_line", "return_100"))
    for r in deals:
        months = range(1, base.horizon + 1)
        refuse = [game.Move(t, "kyiv", "answer", False) for t in months]
        ask_all = [game.Move(t, "kyiv", "propose", everything) for t in months]
        g = game.play(base, 1, int(r), ["kyiv"], game.Recorded(refuse + ask_all))
        assert g.row["outcome"] != "agreement"
        # left to the model, Kyiv's own offers are its own: it accepts them, and a deal can come of one
        g = game.play(base, 1, int(r), ["kyiv"], game.Recorded(refuse))
        deal = [e["talks"] for e in g.model.log if e.get("talks", {}).get("agreed")]
        assert not deal or deal[0]["proposer"] == 0
    # replicate 0 of SEED: talks open in month 2; Kyiv proposes in month 3 (the governments alternate)
    x = game.parse_package(base, DEFERRED_FREEZE)
    moves = game.parse_moves(f"2 kyiv reject\n3 kyiv propose {x}\n", "m.txt", base, ["kyiv"])
    g = game.play_scripted(base, SEED, 0, ["kyiv"], moves)
    talks = {e["month"]: e["talks"] for e in g.model.log if "talks" in e}
    assert talks[3]["package"] == x and talks[3]["proposer"] == 0
    assert talks[3]["played"]["proposal"] and talks[3]["answers"][0][1]  # a person accepts their own offer
    assert talks[2]["played"]["answers"] == [True, False] and not talks[2]["answers"][0][1]
    assert [m.key() for m in g.moves] == [(2, "kyiv", "answer"), (3, "kyiv", "propose")]


def test_json_record_and_replay(tmp_path: Path):
    moves = tmp_path / "moves.txt"
    moves.write_text(f"2 kyiv reject   # wait for a better offer\n3 kyiv propose {DEFERRED_FREEZE}\n")
    replay = tmp_path / "game.replay.json"
    res = cli("play", str(BASELINE), "--as", "kyiv", "--seed", str(SEED), "--moves", str(moves), "--json",
              "--runs", "500", "--save", str(replay))
    assert res.returncode == 0, res.stderr
    rec = json.loads(res.stdout)
    assert {"outcome", "agreement_month", "terms", "land_km2", "comparison", "moves", "replay"} <= set(rec)
    shares = rec["comparison"]["model_outcome_shares"]
    assert sum(shares.values()) == pytest.approx(1.0)
    assert rec["moves"] == [{"month": 2, "role": "kyiv", "kind": "answer", "choice": False},
                            {"month": 3, "role": "kyiv", "kind": "propose",
                             "choice": game.parse_package(compile_scenario(load_scenario(BASELINE)), DEFERRED_FREEZE)}]
    if rec["outcome"] == "agreement":
        assert 0.0 <= rec["comparison"]["better_than"]["kyiv"] <= 1.0
    end = rec["ending"]  # the end comparison (sim.play.ending): the game beside the model's play of the same run
    assert end["played"] and end["moves"] == 2 and end["decisions"] >= 2 and end["sides"] == ["kyiv"]
    assert end["yours"]["outcome"] == rec["outcome"] and set(end["placement"]) == {"kyiv"}
    told = cli("explain", "--replay", str(replay))
    assert told.returncode == 0, told.stderr
    assert "2 moves were theirs" in told.stdout and "kyiv" in told.stdout
    as_json = json.loads(cli("explain", "--replay", str(replay), "--json").stdout)
    assert as_json["row"]["outcome"] == rec["outcome"]
    # the text form of the same game
    text = cli("play", str(BASELINE), "--as", "kyiv", "--seed", str(SEED), "--moves", str(moves), "--runs", "500",
               "--save", str(tmp_path / "again.json"))
    assert text.returncode == 0 and "Over 500 runs of the same scenario the model reached a settlement in" in text.stdout


def test_moves_from_stdin(tmp_path: Path):
    res = cli("play", str(BASELINE), "--as", "kyiv", "--seed", str(SEED), "--moves", "-", "--json", "--runs", "100",
              "--save", str(tmp_path / "g.json"), stdin="2 kyiv reject\n")
    assert res.returncode == 0, res.stderr
    assert json.loads(res.stdout)["moves"] == [{"month": 2, "role": "kyiv", "kind": "answer", "choice": False}]


@pytest.mark.parametrize("text,where,message", [
    ("2 kyiv\n", "m.txt:1", "expected MONTH ROLE VERB [PACKAGE]"),
    ("# fine\nx kyiv reject\n", "m.txt:2", "expected a month number"),
    ("2 kremlin reject\n", "m.txt:1", "expected a role"),
    ("2 moscow reject\n", "m.txt:1", "moscow is not a role you play"),
    ("2 kyiv ratify\n", "m.txt:1", "a government may propose / accept / reject, got 'ratify'"),
    ("3 kyiv propose territory=return_10\n", "m.txt:1", "no issue 'territory'"),
    ("3 kyiv propose crimea_status=returned_to_ukraine,land_returned=return_200,legal_recognition=not_recognised\n",
     "m.txt:1", "no option 'return_200' on issue land_returned"),
    ("3 kyiv propose 99\n", "m.txt:1", "expected a package number from 0 to 47, got 99"),
    ("2 kyiv reject\n3 kyiv propose 0\n", "m.txt:2", "cannot propose package 0"),  # recognises Crimea as Russian: its red line
    ("2 kyiv propose 20\n", "m.txt:1", "kyiv had no decision to propose in month 2"),  # out of turn
    ("1 kyiv reject\n", "m.txt:1", "kyiv had no decision to answer in month 1"),  # talks are not open yet
    ("2 kyiv accept\n30 kyiv reject\n", "m.txt:2", "the settlement of month 2 closed the talks"),
    ("2 kyiv reject extra\n", "m.txt:1", "reject takes no package"),
])
def test_bad_moves_name_the_line(tmp_path: Path, monkeypatch, capsys, text: str, where: str, message: str):
    """Called in this process (sim.cli.main) from the moves file's folder; test_bad_roles_and_replays and
    tests/test_replays.py check the real command's exit code and stderr."""
    moves = tmp_path / "m.txt"
    moves.write_text(text)
    save = tmp_path / "g.json"
    monkeypatch.chdir(tmp_path)
    capsys.readouterr()
    code = main(["play", str(BASELINE), "--as", "kyiv", "--seed", str(SEED), "--moves", "m.txt", "--runs", "50",
                 "--save", str(save)])
    out, err = capsys.readouterr()
    assert code == 2, (out, err)
    assert f"{where}: " in err and message in err, err
    assert "Traceback" not in err
    assert not save.exists()


def test_bad_roles_and_replays(tmp_path: Path):
    res = cli("play", str(BASELINE), "--as", "kyiv,nato", "--moves", "-", stdin="")
    assert res.returncode == 2 and "no role 'nato'" in res.stderr and "kyiv, moscow" in res.stderr
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    res = cli("explain", "--replay", str(bad))
    assert res.returncode == 2 and "not a replay file" in res.stderr and "Traceback" not in res.stderr
    bad.write_text(json.dumps({"format": "negsim-replay/1", "seed": "1"}))
    res = cli("explain", "--replay", str(bad))
    assert res.returncode == 2 and "damaged replay file" in res.stderr
    res = cli("explain")
    assert res.returncode == 2 and "--replay" in res.stderr


def test_a_paused_game_resumes_exactly(base):
    """The classroom's pause: stop at each decision of the people, add their moves, run again from month 1."""
    humans = {"kyiv", "moscow"}
    moves: list[game.Move] = []
    seen: list[tuple[int, str, str]] = []
    batch = simulate_block(base, 1, 0, 40)  # a run with early talks that is still going after month 4
    r = int(batch.index[(batch["talks_month"] <= 3) & ~(batch["agreement_month"] <= 4)][0])
    for _ in range(200):
        pos = game.resume(base, 1, r, humans, moves, until_month=base.horizon)
        if pos.finished:
            break
        assert pos.pending and len({(d.month, d.kind) for d in pos.pending}) == 1  # one stage at a time
        assert all(d.role in humans for d in pos.pending)
        for d in pos.pending:
            seen.append((d.month, d.role, d.kind))
            choice = d.default if d.kind != "answer" else False  # both refuse everything
            moves.append(game.Move(d.month, d.role, d.kind, choice))
    assert pos.finished and seen
    assert any(k == "answer" for _, _, k in seen)
    whole = game.play(base, 1, r, sorted(humans), game.Recorded(moves))
    assert whole.row["outcome"] != "agreement"
    assert pos.model.record() == whole.model.record()
    # pausing by month: the model stops at the end of the month it is allowed to reach
    early = game.resume(base, 1, r, set(), [], until_month=4)
    assert early.model.steps == 4 and not early.pending and not early.finished


def tmux_screen(session: str) -> str:
    """The pane's text, its whitespace folded (the terminal wraps long lines at its own width)."""
    text = subprocess.run(["tmux", "capture-pane", "-p", "-J", "-S", "-400", "-t", session], capture_output=True,
                          text=True).stdout
    return " ".join(text.split())


def wait_for(session: str, text: str, timeout: float = 60) -> str:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        screen = tmux_screen(session)
        if text in screen:
            return screen
        time.sleep(0.2)
    raise AssertionError(f"{text!r} never appeared on the screen:\n{tmux_screen(session)}")


@pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")
def test_interactive_screen_in_tmux(tmp_path: Path):
    """A person at the terminal: the screen shows their own numbers; a bad move gets a message and a retry."""
    session = f"negsim-play-{time.monotonic_ns()}"
    replay = tmp_path / "game.json"
    command = (f"{sys.executable} -m sim.cli play {BASELINE} --as kyiv --seed {SEED} --replicate 0 --runs 300 "
               f"--save {replay}; echo EXIT=$?; sleep 60")
    subprocess.run(["tmux", "new-session", "-d", "-s", session, "-x", "160", "-y", "50", "-c", str(ROOT), command],
                   check=True)
    try:
        screen = wait_for(session, "kyiv, your move (accept/reject, help):")
        assert "You play kyiv (propose, accept, reject)" in screen
        assert "kyiv (you): fighting on is worth" in screen  # its own numbers each month, before any decision
        assert "Fighting on is worth" in screen and "On the table, offered by eu_uk, package" in screen
        assert "moscow" not in screen.split("On the table, offered by")[1]  # nothing of Moscow's on Kyiv's own screen
        subprocess.run(["tmux", "send-keys", "-t", session, "propose 20", "Enter"], check=True)
        wait_for(session, "it is your turn to accept or reject the offer on the table, not to propose")
        subprocess.run(["tmux", "send-keys", "-t", session, "reject", "Enter"], check=True)
        screen = wait_for(session, "kyiv, your move (propose N, help):")
        # Kyiv may propose 10 packages (its red lines, and its minimum: no land ceded): all shown, no "best 12 of"
        assert "all 10 packages you may propose" in screen and "best 12 of" not in screen
        subprocess.run(["tmux", "send-keys", "-t", session, "0", "Enter"], check=True)  # across its red line
        wait_for(session, "cannot propose package 0")
        subprocess.run(["tmux", "send-keys", "-t", session, DEFERRED_FREEZE, "Enter"], check=True)
        for _ in range(60):  # any later decision: let the model make it
            screen = tmux_screen(session)
            if "EXIT=" in screen:
                break
            if screen.endswith("help):"):
                subprocess.run(["tmux", "send-keys", "-t", session, "model", "Enter"], check=True)
                time.sleep(0.5)
            time.sleep(0.3)
        screen = wait_for(session, "EXIT=")
        assert "EXIT=0" in screen and "Result:" in screen and "Over 300 runs of the same scenario" in screen
        rec = json.loads(replay.read_text())
        assert rec["moves"][:2] == [{"month": 2, "role": "kyiv", "kind": "answer", "choice": False},
                                    {"month": 3, "role": "kyiv", "kind": "propose",
                                     "choice": rec["moves"][1]["choice"]}]
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)


def test_mediator_and_public_moves(base):
    """A mediator's offer is the one put on the table; a public's 'reject' stops a deal both governments signed."""
    x = game.parse_package(base, DEFERRED_FREEZE)
    g = game.play_scripted(base, SEED, 0, ["eu_uk"], game.parse_moves(f"2 eu_uk propose {x}\n", "m", base, ["eu_uk"]))
    talks = {e["month"]: e["talks"] for e in g.model.log if "talks" in e}
    assert talks[2]["package"] == x and talks[2]["lead"] == "eu_uk" and talks[2]["played"]["proposal"]
    model_run = game.play(base, SEED, 0, ["kyiv"], None)
    assert model_run.row["outcome"] == "agreement"
    month = int(model_run.row["agreement_month"])
    vetoed = game.play_scripted(base, SEED, 0, ["ukraine_public"],
                                game.parse_moves(f"{month} ukraine_public reject\n", "m", base, ["ukraine_public"]))
    entry = next(e for e in vetoed.model.log if e["month"] == month)
    assert not entry["talks"]["agreed"] and entry["talks"]["played"]["votes"] == {0: True}
    assert vetoed.row["outcome"] != "agreement" or int(vetoed.row["agreement_month"]) > month
    # the Russian public does not vote in the baseline: a move for it never finds its decision
    with pytest.raises(game.MoveError, match="russia_public had no decision to ratify in month"):
        game.play_scripted(base, SEED, 0, ["russia_public"],
                           game.parse_moves(f"{month} russia_public ratify\n", "m", base, ["russia_public"]))


def test_a_game_goes_on_after_a_settlement_and_tells_the_stages(base):
    """Seed 1: replicate 8 settles in month 5 and relapses in month 12; replicate 0 settles and holds. The game
    runs to the horizon either way, each month's line says where the peace process stands, and the outcome
    tells a settlement that held from one that relapsed."""
    from rich.console import Console

    from sim.play.terminal import Terminal

    batch = simulate_block(base, 1, 0, 9)
    relapsed, held = batch.iloc[8], batch.iloc[0]
    assert (relapsed["settlement_month"], relapsed["relapse_month"]) == (5, 12) and pd.isna(held["relapse_month"])
    g = game.play_scripted(base, 1, 8, ["kyiv"], [])
    assert g.model.steps == base.horizon == len(g.model.log)  # on to the horizon after the settlement
    same_row(g.row, relapsed)
    term = Terminal(base, ["kyiv"], Console(file=None))
    lines = {e["month"]: term.process_line(e) for e in g.model.log}
    assert "Stage: settlement" in lines[5] and "Stage: settlement" in lines[10]
    assert "THE SETTLEMENT BREAKS DOWN" in lines[12] and "Stage: relapse" in lines[12]
    assert "Stage: relapse" in lines[30] and "instruments: us_aid" in lines[30]
    assert "the front does not move (peace)" in term.month_line(g.model.log[9])
    assert game.outcome_words(g.row, base.horizon) == "a settlement in month 5 that broke down in month 12 (war resumed)"
    assert game.outcome_words(held, base.horizon) == f"a settlement in month {int(held['settlement_month'])} that held to month 36"
    rec = game.record(g, game.compare(g, batch))
    assert (rec["stage_reached"], rec["settlement_month"], rec["relapse_month"]) == ("relapse", 5, 12)
    said = game.sentences(g, game.compare(g, batch))
    assert "Your game ended in a settlement in month 5 that broke down in month 12 (war resumed)." in said
    relapse_share = batch.loc[batch["outcome"] == "agreement", "relapse_month"].notna().mean()
    assert f"({relapse_share:.0%} of them broke down before month 36)" in said[0]


def test_the_stage_line_shows_partial_deals_a_ceasefire_and_a_paused_aid(base):
    """A month's process: partial deals in force with their labels, a ceasefire holding, US aid paused (0)."""
    entry = {"month": 4, "stage": "partial", "in_force": ["prisoner_exchange"], "partial": ["energy_moratorium"],
             "ceasefire": True, "ceasefire_holds": False, "levels": {"us_aid": 0.0, "eu_aid": 1.0, "sanctions": 1.0}}
    p = game.process(base, entry)
    assert p["stage"] == "ceasefire" and p["ceasefire_holds"] and p["in_force"] == ["prisoner_exchange",
                                                                                     "energy_moratorium"]
    line = game.process_line(base, entry)
    assert "Stage: ceasefire" in line and "a ceasefire is agreed" in line and "ceasefire holds" in line
    assert "Exchanges of prisoners and the return of bodies" in line and "us_aid 0 (paused)" in line
