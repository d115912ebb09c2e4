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
DIRECT = str(ROOT / "scenarios" / "direct_talks.yaml")  # no mediator pulls: most runs never open talks
SEED = 1


@pytest.fixture(scope="module")
def baseline():
    return sim.load_scenario(BASELINE)


@pytest.fixture(scope="module")
def batch(baseline):
    return sim.run_batch(baseline, runs=60, seed=SEED, out=None).runs


@pytest.fixture(scope="module")
def direct():
    return sim.load_scenario(DIRECT)


@pytest.fixture(scope="module")
def direct_batch(direct):
    return sim.run_batch(direct, runs=60, seed=SEED, out=None).runs


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
    # a failed run of up to three rounds of talks: replicate 10, 34 offers (30 deals both governments signed and the
    # Ukrainian public voted down), 12 partial deals, a ceasefire agreed, broken and agreed again, beliefs,
    # instruments and deals that change; told in full in 825 lines and briefly in 139 (each stage has its line;
    # before the stages a run of three rounds told briefly in under 50)
    failed = batch[(batch["outcome"] == "talks_failed") & (batch["talks_rounds"] <= 3)]
    assert len(failed), "no failed run with at most three rounds in the batch"
    r = int(failed["replicate"].iloc[0])
    full = explain(baseline, SEED, r).lines
    brief = explain(baseline, SEED, r, brief=True).lines
    assert len(brief) <= 145 and 5 * len(brief) < len(full)
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
    last = [e for e in ex.model.log if e.get("talks")][-1]  # the run goes on to the horizon after the settlement
    talk = last["talks"]
    assert talk["agreed"] and last["month"] == ex.row["settlement_month"]
    why = _why(ex.lines)
    assert f"in month {last['month']}" in why
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


def test_why_of_no_talks_counts_the_conditions(direct, direct_batch):
    ex = explain(direct, SEED, first(direct_batch, "no_talks"))
    why = _why(ex.lines)
    log = ex.model.log
    counted = 0
    for g, name in enumerate(("Kyiv", "Moscow")):
        k = sum(1 for e in log if "ripeness" in e and not e["stalemate"] and e["gains"][g] > 0)
        counted += k
        if k:
            assert f"In {k} months {name} still expected a net gain from fighting on" in why
    no_way = sum(1 for e in log if e["stalemate"] and not e["way_out"])
    if no_way:
        assert f"In {no_way} months there was a stalemate but no way out" in why
    assert counted + no_way
    assert "was not met in" not in why  # preconditions gate a ceasefire and a settlement, not talks


@pytest.mark.parametrize("outcome", ["agreement", "talks_failed", "no_talks"])
def test_outcome_picks_the_first_replicate_with_it(outcome, batch, direct_batch, capsys):
    path = DIRECT if outcome == "no_talks" else BASELINE  # the baseline's mediators bring every run to talks
    batch = direct_batch if outcome == "no_talks" else batch
    assert main(["explain", path, "--seed", str(SEED), "--outcome", outcome, "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    r = got["row"]["replicate"]
    assert r == first(batch, outcome)
    assert batch.set_index("replicate").loc[r, "outcome"] == outcome
    assert got["row"]["outcome"] == outcome and got["why"][0].startswith("Why:")
    # searching from a later replicate skips the earlier ones
    assert main(["explain", path, "--seed", str(SEED), "--outcome", outcome, "--replicate", str(r + 1),
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
    gained = np.where(t["front_change_km2"] > 0, "Russia", np.where(t["front_change_km2"] < 0, "Ukraine", ""))
    assert (t["ground_gained_by"].fillna("") == gained).all()
    assert (t["front_change_km2"] == 0).any()  # the war stops under the settlement
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
    moves.write_text("2 kyiv reject\n")  # seed 117, replicate 0: talks open in month 2 (tests/test_play.py)
    replay = tmp_path / "game.replay.json"
    assert main(["play", BASELINE, "--as", "kyiv", "--seed", "117", "--moves", str(moves), "--runs", "20",
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


# --------------------------------------------------------------------------- the stages of the peace process


@pytest.fixture(scope="module")
def ceasefire_first(baseline):
    from sim.play.dashboard import scenario_with

    return scenario_with(baseline, {"negotiation.ceasefire.first": True})


def _text(lines: list[str]) -> str:
    return " ".join(" ".join(lines).split())


def _month_text(text: str, t: int) -> str:
    start = text.index(f"Month {t} (")
    end = text.find(f"Month {t + 1} (", start)
    return text[start:end if end > 0 else len(text)]


def test_every_stage_told_as_it_happens(ceasefire_first):
    """Seed 1, replicate 8 with ceasefire first: talks brought by the US's pull in month 5, a ceasefire agreed and
    broken, partial deals, a settlement in month 8 and its relapse in month 12 (the month log says so)."""
    ex = explain(ceasefire_first, SEED, 8)
    log, row = ex.model.log, ex.row
    assert (row["talks_month"], row["ceasefire_month"], row["ceasefire_broken_month"], row["settlement_month"],
            row["relapse_month"], row["stage_reached"]) == (5, 5, 5, 8, 12, "relapse")
    text = _text(ex.lines)
    opened = next(e for e in log if e.get("opened"))
    assert opened["month"] == 5 and opened["pull"] > opened["ripeness"]
    assert "Talks open, brought by the pull of the United States" in _month_text(text, 5)
    for e in log:
        month = _month_text(text, e["month"])
        for name in e.get("partial") or []:
            assert ex_mod.deal_words(ex.model.compiled, name) in month
        if "ceasefire" in e:
            assert ("Ceasefire agreed" if e["ceasefire"] else "Ceasefire refused") in month
        assert ("Ceasefire breaks down" in month) == bool(e.get("ceasefire_broken"))
        assert ("Relapse: the settlement of month 8 breaks down" in month) == bool(e.get("relapse"))
    assert "Settlement: ratified and implemented" in _month_text(text, 8)
    assert "Peace: the settlement of month 8 holds" in _month_text(text, 10)
    assert "War again: the settlement broke down" in _month_text(text, 14)
    # beliefs about Moscow's resolve moved after its answer in month 8 (the log's believed_resolve)
    was, now = log[7]["believed_resolve"][1], log[8]["believed_resolve"][1]
    assert abs(now - was) >= 0.005
    assert f"Kyiv now reckons Moscow's resolve at {now:.2f} (it reckoned {was:.2f})" in _month_text(text, 9)
    # instruments: wherever US aid is paused by its stick (Kyiv refused talks), the month says so; sanctions are
    # lifted under the settlement
    for prev, e in zip(log, log[1:], strict=False):
        if prev["levels"]["us_aid"] == 1 and e["levels"]["us_aid"] == 0:
            assert "aid from the United States is paused (a stick: Kyiv refused talks last month)" in \
                _month_text(text, e["month"])
    assert log[8]["levels"]["sanctions"] == 0
    assert "sanctions of the EU and UK are lifted (relief under the settlement)" in _month_text(text, 9)
    assert "Outcome: agreement, a settlement in month 8" in text
    assert "it broke down in month 12 and the war resumed (relapse)" in text


def test_a_settlement_that_held_and_one_that_relapsed(baseline, batch):
    held = batch[(batch["outcome"] == "agreement") & batch["relapse_month"].isna()]
    relapsed = batch[batch["relapse_month"].notna()]
    r = int(held["replicate"].iloc[0])
    assert "it held to month 36" in _text(explain(baseline, SEED, r).lines)
    r = int(relapsed["replicate"].iloc[0])
    month = int(relapsed["relapse_month"].iloc[0])
    text = _text(explain(baseline, SEED, r).lines)
    assert f"it broke down in month {month} and the war resumed (relapse)" in text
    assert f"the war resumes in month {month}" in _month_text(text, month)


def test_a_ceasefire_refused_says_each_side_s_gain_from_fighting(ceasefire_first):
    """Seed 1, replicate 0 with ceasefire first: talks but Moscow refuses every ceasefire put; partial deals lapse."""
    ex = explain(ceasefire_first, SEED, 0)
    text = _text(ex.lines)
    refused = [e for e in ex.model.log if e.get("ceasefire") is False]
    assert refused and ex.row["stage_reached"] == "partial"
    for e in refused:
        month = _month_text(text, e["month"])
        assert "Ceasefire refused: Moscow expects" in month
        assert f"(net gain of fighting on: Kyiv {e['gains'][0]:+.3f}, Moscow {e['gains'][1]:+.3f})" in month
    lapsed = [(e["month"], d) for e, nxt in zip(ex.model.log, ex.model.log[1:], strict=False)
              for d in set(e["in_force"]) | set(e.get("partial") or []) if d not in nxt["in_force"]]
    assert lapsed
    for t, d in lapsed:
        assert f"Partial deal lapses: {ex_mod.deal_words(ex.model.compiled, d)}" in _month_text(text, t)
    brief = _text(explain(ceasefire_first, SEED, 0, brief=True).lines)
    assert "Ceasefire refused" in brief and "settlement terms wait for a ceasefire (ceasefire first)" in brief
    assert _why(ex.lines).startswith("Why: talks ran in")
    assert "A ceasefire was refused in" in _why(ex.lines)


def test_a_precondition_gates_the_ceasefire_and_settlement_not_talks(baseline):
    """Seed 1, replicate 1: talks open in month 3 while Kursk is still held, so Moscow's condition keeps a ceasefire
    and a settlement off the table."""
    ex = explain(baseline, SEED, 1)
    text = _text(ex.lines)
    blocked = [e for e in ex.model.log if e["kursk"] > 0 and ex_mod._talking(e) and "talks" not in e]
    assert blocked
    for e in blocked:
        assert "No ceasefire or settlement is put: Moscow's condition kursk withdrawal is not met yet" in \
            _month_text(text, e["month"])
    assert "No talks: Moscow's condition" not in text


def test_talks_opened_by_ripeness_say_so():
    """EU/UK-led mediation, seed 1, replicate 12: talks open with the war ripe (the draw fell under ripeness)."""
    sc = sim.load_scenario(str(ROOT / "scenarios" / "eu_uk_mediation.yaml"))
    ex = explain(sc, SEED, 12)
    e = next(e for e in ex.model.log if e.get("opened"))
    assert f"Talks open: a hurting stalemate with a way out (this month they would open with chance " \
           f"{ex_mod.chance(e['ripeness'])}" in _month_text(_text(ex.lines), e["month"])


def test_monthly_table_has_the_stage_and_instruments(ceasefire_first):
    ex = explain(ceasefire_first, SEED, 8)
    t = monthly_table(ex.model.compiled, ex.model)
    assert t["stage"].tolist() == [e["stage"] for e in ex.model.log]
    assert t["ceasefire_holds"].tolist() == [e["ceasefire_holds"] for e in ex.model.log]
    assert t["level_us_aid"].tolist() == [e["levels"]["us_aid"] for e in ex.model.log]
