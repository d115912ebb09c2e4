"""`negsim explain` for students: plain words, --brief, the closing why, --outcome, --csv, --figure."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.present import explain as ex_mod
from sim.present.explain import explain, monthly_table, narrate

ROOT = Path(__file__).resolve().parents[1]
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")
PUSH = str(ROOT / "scenarios" / "us_push_month6.yaml")
SEED = 1


@pytest.fixture(scope="module")
def baseline():
    return sim.load_scenario(BASELINE)


@pytest.fixture(scope="module")
def batch(baseline):
    return sim.run_batch(baseline, runs=60, seed=SEED, out=None).runs


def first(batch: pd.DataFrame, outcome: str) -> int:
    hits = batch.index[batch["outcome"] == outcome]
    assert len(hits), f"no {outcome} in the first {len(batch)} replicates"
    return int(batch.loc[hits[0], "replicate"])


def test_plain_words_glossary_gains_and_casualties(baseline, batch):
    r = first(batch, "agreement")
    ex = explain(baseline, SEED, r)
    text = "\n".join(ex.lines)
    assert text.count("Words used here:") == 1
    for term in ("value of fighting on", "zone of agreement", "ratification", "war-weariness", "red line"):
        assert f"  {term}" in text or f" {term}:" in text
    for jargon in ("p=", "reservation", "ripeness", "least shortfall", "[timed event"):
        assert jargon not in text
    assert "would accept with chance" in text
    # who gained: each month names the side that gained, and the sign agrees with the log
    gains = re.findall(r"Front: (Russia|Ukraine) gains ([\d,]+) km2", text)
    moving = [e for e in ex.model.log if e["change"] != 0]
    assert len(gains) == len(moving)
    for (side, km2), e in zip(gains, moving, strict=True):
        assert side == ("Russia" if e["change"] > 0 else "Ukraine")
        assert int(km2.replace(",", "")) == round(abs(e["change"]))
    # casualties this month and since the start
    cas = re.findall(r"Casualties this month: Ukraine ([\d,]+) \(([\d,]+) since the start\)", text)
    assert len(cas) == len(ex.model.log)
    totals = np.cumsum([int(m.replace(",", "")) for m, _ in cas])
    assert np.all(np.abs(totals - [int(t.replace(",", "")) for _, t in cas]) <= len(cas))
    assert int(cas[-1][1].replace(",", "")) == round(ex.model.log[-1]["casualties"][0])
    # the deal in words, with the km2 that change hands
    row = batch.set_index("replicate").loc[r]
    labels = [baseline.model.issues[k].label for k in baseline.model.issues]
    outcome = next(line for line in ex.lines if line.startswith("Outcome: agreement"))
    assert all(lab.split()[0] in outcome for lab in labels)
    if row["land_km2"]:
        assert f"{abs(row['land_km2']):,.0f} km2" in text


def test_timed_event_told_in_words_with_old_and_new_value():
    sc = sim.load_scenario(PUSH)
    ex = explain(sc, SEED, 9)
    text = " ".join(" ".join(ex.lines).split())
    c = ex.model.compiled
    old = ex.model.shocks.params["leverage"][c.slots["actors.us.leverage.kyiv"].index]
    assert f"Timed event: United States, leverage for Kyiv: {old:g} -> 0.06; that is the side-payment" in text
    assert "[key actors.us.leverage.moscow]" in text
    month6 = text[text.index("Month 6 ("):text.index("Month 7 (")]
    assert "Timed event" in month6


def test_brief_folds_a_failed_run_onto_one_screen(baseline, batch):
    # a failed run of up to three rounds of talks (one of six rounds and 32 offers tells in about 70 lines)
    failed = batch[(batch["outcome"] == "talks_failed") & (batch["talks_rounds"] <= 3)]
    assert len(failed), "no failed run with at most three rounds in the batch"
    r = int(failed["replicate"].iloc[0])
    full = explain(baseline, SEED, r).lines
    brief = explain(baseline, SEED, r, brief=True).lines
    assert len(brief) <= 50 < len(full)
    # every month is told once, in order, by the heads of the folded blocks
    months = []
    for line in brief:
        if m := re.match(r"Months (\d+)-(\d+) ", line):
            months += range(int(m[1]), int(m[2]) + 1)
        elif m := re.match(r"Month (\d+) ", line):
            months.append(int(m[1]))
    assert months == list(range(1, 37))
    assert any(line.startswith("Months ") for line in brief)
    assert "Words used here:" not in "\n".join(brief)
    assert "Words used here:" in "\n".join(explain(baseline, SEED, r, brief=True, words=True).lines)


def test_brief_keeps_every_offer_and_answer(baseline, batch):
    """Folding drops repeats only: every package offered, and how each was answered, is still told."""
    r = first(batch, "talks_failed")
    ex = explain(baseline, SEED, r, brief=True)
    text = " ".join(" ".join(ex.lines).split())
    talks = [e for e in ex.model.log if e.get("talks")]
    for e in talks:
        t = e["talks"]
        answers = ", ".join(f"{n} {'accepts' if ok else 'rejects'}"
                            for n, (_, ok) in zip(("Kyiv", "Moscow"), t["answers"], strict=True))
        told = f"{ex_mod.short_terms(ex.model.compiled, t['package'])} ("
        assert told in text
        assert any(answers in text[i:i + 400] for i in [m.start() for m in re.finditer(re.escape(told), text)])


def _why(lines: list[str]) -> str:
    i = next(k for k, line in enumerate(lines) if line.startswith("Why:"))
    return " ".join(" ".join(lines[i:]).split())


def test_why_of_an_agreement_matches_the_log(baseline, batch):
    ex = explain(baseline, SEED, first(batch, "agreement"))
    talk = ex.model.log[-1]["talks"]
    assert talk["agreed"]
    why = _why(ex.lines)
    assert f"in month {ex.model.log[-1]['month']}" in why
    for g, name in enumerate(("Kyiv", "Moscow")):
        worth = talk["utilities"][g] + talk["leverage"][g]
        need, lean = talk["needs"][g], talk["judgement"][g]
        assert f"{name}: the deal was worth {worth:.3f} to it against {need:.3f}" in why
        assert f"margin {worth - need + lean:+.3f} after its own lean" in why
        assert worth - need + lean >= 0  # what made it acceptable
    for g, margin in talk["margins"].items():
        if talk["votes"][g][2]:
            assert f"margin {margin:+.3f} over its bar" in why


def test_why_of_failed_talks_names_the_shortfall(baseline, batch):
    ex = explain(baseline, SEED, first(batch, "talks_failed"))
    why = _why(ex.lines)
    talks = [e["talks"] for e in ex.model.log if e.get("talks")]
    assert f"Why: {len(talks)} offers" in why
    for g, name in enumerate(("Kyiv", "Moscow")):
        rejected = [t for t in talks if not t["answers"][g][1]]
        if not rejected:
            assert f"{name} accepted every offer" in why
            continue
        best = max(t["utilities"][g] + t["leverage"][g] - t["needs"][g] for t in rejected)
        assert f"{name} rejected {len(rejected)} of {len(talks)} offers" in why
        assert (f"fell short by {-best:.3f}" if best < 0 else f"cleared what it wanted by {best:.3f}") in why
    c = ex.model.compiled
    left = int((~c.red_line_masks.any(axis=0)).sum())  # every red line of the baseline is active
    assert f"Red lines left {left} of {c.n_packages} possible deals" in why
    assert "crimea status not returned to ukraine" in why


def test_why_of_no_talks_counts_the_conditions(baseline, batch):
    ex = explain(baseline, SEED, first(batch, "no_talks"))
    why = _why(ex.lines)
    log = ex.model.log
    for g, name in enumerate(("Kyiv", "Moscow")):
        k = sum(1 for e in log if "ripeness" in e and not e["stalemate"] and e["gains"][g] > 0)
        if k:
            assert f"In {k} months {name} still expected a net gain from fighting on" in why
    pre = sum(1 for e in log if not all(ok for *_, ok in e["preconditions"]))
    if pre:
        assert f"was not met in {pre} of {len(log)} months" in why


@pytest.mark.parametrize("outcome", ["agreement", "talks_failed", "no_talks"])
def test_outcome_picks_the_first_replicate_with_it(outcome, batch, capsys):
    assert main(["explain", BASELINE, "--seed", str(SEED), "--outcome", outcome, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    r = got["row"]["replicate"]
    assert r == first(batch, outcome)
    assert batch.set_index("replicate").loc[r, "outcome"] == outcome
    assert got["row"]["outcome"] == outcome and got["why"][0].startswith("Why:")
    # searching from a later replicate skips the earlier ones
    assert main(["explain", BASELINE, "--seed", str(SEED), "--outcome", outcome, "--replicate", str(r + 1),
                 "--json"]) == 0
    later = json.loads(capsys.readouterr().out)["row"]["replicate"]
    assert later > r and (batch.set_index("replicate").loc[r + 1:later - 1, "outcome"] != outcome).all()


def test_outcome_not_found_exits_2_and_says_how_many_were_searched(batch, capsys, monkeypatch):
    monkeypatch.setattr(ex_mod, "SEARCH_LIMIT", 3)
    absent = next(o for o in ("agreement", "talks_failed", "no_talks") if o not in set(batch["outcome"].iloc[:3]))
    assert main(["explain", BASELINE, "--seed", str(SEED), "--outcome", absent]) == 2
    err = capsys.readouterr().err
    assert f"no replicate ends in {absent} among the 3 searched" in err and "Traceback" not in err


def test_csv_is_the_labelled_monthly_table(tmp_path, baseline, batch, capsys):
    r = first(batch, "agreement")
    path = tmp_path / "months.csv"
    assert main(["explain", BASELINE, "--seed", str(SEED), "--replicate", str(r), "--csv", str(path)]) == 0
    assert f"Table: {path}" in capsys.readouterr().out
    t = pd.read_csv(path)
    log = explain(baseline, SEED, r).model.log
    assert len(t) == len(log) and list(t["month"]) == [e["month"] for e in log]
    for col in ("date", "russia_holds_km2", "front_change_km2", "ground_gained_by", "casualties_ukraine_month",
                "casualties_russia_total", "value_of_fighting_on_kyiv", "value_of_fighting_on_moscow",
                "war_weariness_ukraine_public", "talks_open", "proposer", "offer_land_returned",
                "answer_kyiv", "answer_moscow", "vote_ukraine_public", "agreement", "timed_event"):
        assert col in t.columns, col
    gained = np.where(t["front_change_km2"] > 0, "Russia", "Ukraine")
    assert (t["ground_gained_by"] == gained).all()
    assert t["talks_open"].sum() == sum(1 for e in log if e.get("talks"))
    assert t["agreement"].tolist() == [bool(e.get("talks") and e["talks"]["agreed"]) for e in log]
    assert abs(t["casualties_ukraine_month"].sum() - t["casualties_ukraine_total"].iloc[-1]) <= len(t)
    assert t["value_of_fighting_on_kyiv"].round(4).tolist() == [round(e["values"][0], 4) for e in log]


def test_figure_is_written(tmp_path, capsys, batch):
    from matplotlib.image import imread

    path = tmp_path / "run.png"
    r = first(batch, "agreement")
    assert main(["explain", BASELINE, "--seed", str(SEED), "--replicate", str(r), "--brief", "--figure",
                 str(path)]) == 0
    assert f"Figure: {path}" in capsys.readouterr().out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    img = imread(path)
    assert img.shape[0] > 600 and img.shape[1] > 800 and img[..., :3].std() > 0.05


def test_narrate_tells_a_model_from_its_log_and_who_played(baseline, batch):
    r = first(batch, "talks_failed")
    ex = explain(baseline, SEED, r)
    c = ex.model.compiled
    assert narrate(c, ex.model) == ex.lines  # the row is recomputed from the model
    model = copy.copy(ex.model)
    model.log = copy.deepcopy(ex.model.log)
    k = next(i for i, e in enumerate(model.log) if e.get("talks") and e["talks"]["proposer"] < 2)
    talk = model.log[k]["talks"]
    talk["played"] = {"proposal": True, "answers": [True, False], "votes": {}}
    text = "\n".join(narrate(c, model))
    proposer = ("Kyiv", "Moscow")[talk["proposer"]]
    assert f"{proposer} (a player)" in text
    assert f"Kyiv (a player) {'accepts' if talk['answers'][0][1] else 'rejects'}" in text
    assert "Moscow (a player)" not in text or proposer == "Moscow"
    assert "(a player)" not in "\n".join(ex.lines)
    assert f"{proposer} (a player)" in "\n".join(narrate(c, model, brief=True))


def test_monthly_table_from_the_model_matches_the_datacollector(baseline):
    ex = explain(baseline, SEED, 0)
    t = monthly_table(ex.model.compiled, ex.model)
    s = ex.series()
    assert np.allclose(t["russia_holds_km2"], s["territory_km2"].to_numpy(), atol=0.05)
    assert np.allclose(t["war_weariness_ukraine_public"], s["weariness_ukraine_public"].to_numpy(), atol=5e-5)


def test_narrate_a_run_still_being_stepped(baseline):
    from sim.engine.model import NegotiationModel
    from sim.engine.shocks import draw
    from sim.scenario.compile import compile_scenario

    c = compile_scenario(baseline)
    model = NegotiationModel(c, draw(c, SEED, [4]).run(0))
    for _ in range(5):
        model.step()
    lines = narrate(c, model, brief=True)
    assert model.running and f"So far: month 5 of {c.horizon}, no deal yet" in "\n".join(lines)
    assert not any(line.startswith("Outcome:") for line in lines)
    assert sum(int(m[2]) - int(m[1]) + 1 if m[2] else 1
               for line in lines if (m := re.match(r"Months? (\d+)(?:-(\d+))? ", line))) == 5


def test_a_played_game_told_briefly_with_its_table_and_figure(tmp_path, capsys):
    moves = tmp_path / "moves.txt"
    moves.write_text("2 kyiv reject\n")  # seed 16, replicate 0: talks open in month 2 (tests/test_play.py)
    replay = tmp_path / "game.replay.json"
    assert main(["play", BASELINE, "--as", "kyiv", "--seed", "16", "--moves", str(moves), "--runs", "20",
                 "--save", str(replay), "--json"]) == 0
    capsys.readouterr()
    csv, png = tmp_path / "game.csv", tmp_path / "game.png"
    assert main(["explain", "--replay", str(replay), "--brief", "--csv", str(csv), "--figure", str(png)]) == 0
    out = capsys.readouterr().out
    assert "Kyiv (a player) rejects" in out and "Words used here:" not in out
    months = pd.read_csv(csv)
    assert months["month"].iloc[0] == 1 and months["answer_kyiv"].iloc[1] == "rejects"
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_figure_draws_names_with_dollars_as_written(tmp_path, capsys):
    """A ``$`` in a scenario's names is text in the figure of a run, not matplotlib math (which failed, exit 1)."""
    from hostile import write_hostile

    scenario = write_hostile(tmp_path)
    assert "$\\" in scenario.read_text()
    path = tmp_path / "run.png"
    assert main(["explain", str(scenario), "--seed", "1", "--replicate", "3", "--brief", "--figure", str(path)]) == 0
    assert f"Figure: {path}" in capsys.readouterr().out
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
