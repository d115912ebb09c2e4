"""The end of a game (sim.play.ending) and the terminal's panels at 80x24 (sim.play.terminal)."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from rich.console import Console

from sim.play import ending, game
from sim.play.terminal import Terminal, end_screen
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario
from sim.scenario.models import scenario_from_data

ROOT = Path(__file__).resolve().parents[1]
CLASSROOM = ROOT / "scenarios" / "classroom.yaml"


@pytest.fixture(scope="module")
def c():
    return compile_scenario(load_scenario(CLASSROOM))


@pytest.fixture(scope="module")
def batch(c):
    return game.distribution(c, 1, 400)


@pytest.fixture(scope="module")
def no_actions(c):
    """The classroom without its actions on the ground (a role then has only the talks' decisions)."""
    data = {k: v for k, v in c.scenario.data.items() if k != "actions"}
    return compile_scenario(scenario_from_data(data, CLASSROOM, ""))


def test_no_move_in_the_run_claims_no_credit(no_actions, batch):
    """Issue 20: `--as us --seed 1 --replicate 0` had no decision and still printed 'Your deal is better for kyiv'
    (the classroom's actions on the ground now give every role moves, so the case is the classroom without them;
    the model's own runs take no action, so the classroom's distribution is the same)."""
    c = no_actions
    # replicate 10 of seed 1: the EU/UK's first offer settles in month 3 (answer_key.md, "Runs to tell in class")
    g = game.play_scripted(c, 1, 10, ["us"], [])
    assert g.decisions == 0 and not g.moves
    e = ending.compare(g, batch)
    said = " ".join(ending.lines(c, e))
    assert "You had no move in this run: no decision fell to us" in said
    assert "better" not in said and not e.played and e.yours == e.model
    left = ending.compare(game.play_scripted(c, 1, 10, ["kyiv"], []), batch)  # Kyiv answers in month 3: left to the model
    assert left.decisions == 1 and "You left all 1 of your decisions to the model" in " ".join(ending.lines(c, left))


def test_worse_terms_but_earlier_and_the_comparison_says_so(c, batch):
    """Replicate 1349 of seed 1: the model's Ukrainian public votes down five deals and ratifies a tenth of the land
    back in month 13; a player who ratifies Moscow's offer of month 5 (the line frozen) gets worse terms for Kyiv 8
    months sooner, with fewer Ukrainian losses, and the end says both."""
    model = game.play_scripted(c, 1, 1349, ["ukraine_public"], [])
    assert int(model.row["agreement_month"]) == 13
    g = game.play_scripted(c, 1, 1349, ["ukraine_public"],
                           game.parse_moves("5 ukraine_public ratify\n", "m", c, ["ukraine_public"]))
    e = ending.compare(g, batch, model)
    y, m = e.yours, e.model
    assert (y.month, m.month) == (5, 13) and y.utility["kyiv"] < m.utility["kyiv"]
    assert y.losses["kyiv"] < m.losses["kyiv"]
    w = ending.wait_weights(c, g.model.p)
    p = g.model.p
    assert w[0] == pytest.approx((1 - p["resolve"][0]) * p["cost_sensitivity"][0] / p["casualty_scale"])
    assert y.with_wait["kyiv"] == pytest.approx(y.utility["kyiv"] - w[0] * y.losses["kyiv"])
    said = " ".join(ending.lines(c, e))
    fewer = m.losses["kyiv"] - y.losses["kyiv"]
    assert (f"For kyiv, your deal is worse in its terms than the model's deal of this run "
            f"({y.utility['kyiv']:.3f} against {m.utility['kyiv']:.3f}), came 8 months earlier, with "
            f"{fewer:,.0f} fewer Ukrainian losses by month 24; counting those losses it is") in said
    deals = batch[batch["outcome"] == "agreement"]
    terms_share = (deals["utility_kyiv"] < y.utility["kyiv"] - 1e-12).mean()
    assert e.placement["kyiv"].better_terms == pytest.approx(terms_share)
    assert f"better for kyiv than {terms_share:.0%} in its terms only" in said
    # the side by side: the terms in words and km2, the month, each side's losses, each stakeholder's satisfaction
    rows = {what: (yours, model) for what, yours, model in ending.rows(c, e)}
    assert rows["outcome"][0].startswith("settlement, month 5") and rows["outcome"][1].startswith(
        "settlement, month 13")  # a settlement may break down later: the cell says so
    assert rows["Ukrainian losses by month 24"] == (f"{y.losses['kyiv']:,.0f}", f"{m.losses['kyiv']:,.0f}")
    assert set(y.satisfaction) == {"kyiv", "moscow", "ukraine_public", "russia_public"}
    talks = next(x["talks"] for x in g.model.log if x["month"] == 5)
    assert y.satisfaction["kyiv"] == pytest.approx(talks["utilities"][0] + talks["leverage"][0] - talks["values"][0])
    screen = Console(file=io.StringIO(), width=80, record=True)
    for item in end_screen(c, e):
        screen.print(item)
    text = " ".join(screen.export_text().split())
    assert "the model's play of this" in text and "kyiv's satisfaction" in text and "[" not in text  # a header may wrap


def _result(utility: float, losses: float, month: int) -> ending.Result:
    return ending.Result("agreement", "", month, 0, None, None, 0.0, {"kyiv": losses, "moscow": 0.0},
                         {"kyiv": utility, "moscow": None}, {"kyiv": utility - 1e-6 * losses, "moscow": None})


def test_counting_the_wait_can_turn_the_order(c):
    """Placement by hand: a deal worse in its terms than two of four but sooner, with fewer losses, beats all four
    once the losses are counted (weight 1e-6 a casualty)."""
    batch = pd.DataFrame({"outcome": ["agreement"] * 4 + ["talks_failed"],
                          "utility_kyiv": [0.50, 0.52, 0.60, 0.61, np.nan],
                          "casualties_kyiv": [40_000, 45_000, 150_000, 160_000, 200_000],
                          "agreement_month": [10, 11, 20, 22, np.nan]})
    yours = _result(0.55, 12_000, 4)
    assert yours.with_wait["kyiv"] == pytest.approx(0.538)
    pl = ending.place(c, yours, batch, np.array([1e-6, 0.0]), "kyiv")
    assert (pl.deals, pl.better_terms, pl.better_with_wait, pl.earlier, pl.median_month) == (4, 0.5, 1.0, 0.0, 15.5)
    assert pl.fewer_losses == 0.0


def test_panels_fit_80x24_for_every_kind_of_decision(c):
    """Each kind of decision of the classroom (a government proposing and answering, a mediator proposing, a public
    voting): the panel fits 22 lines at 80 columns and opens with the situation; 'list' keeps to the role's own
    red lines (a vote has no list)."""
    roles = ["kyiv", "moscow", "eu_uk", "us", "ukraine_public", "russia_public"]
    seen: dict[tuple[str, str], object] = {}

    def collect(d):
        seen.setdefault((d.role in ("eu_uk", "us") and "mediator" or d.role, d.kind), d)
        return None

    for r in range(6):
        game.play(c, 1, r, roles, collect)
    kinds = {("kyiv", "propose"), ("kyiv", "answer"), ("moscow", "propose"), ("moscow", "answer"),
             ("mediator", "propose"), ("ukraine_public", "ratify"), ("russia_public", "ratify")}
    assert kinds <= set(seen)
    for key in sorted(kinds):
        d = seen[key]
        screen = Console(file=io.StringIO(), width=80, height=24, record=True, markup=False)
        term = Terminal(c, roles, screen)
        screen.print(term.panel(d))
        lines = screen.export_text().splitlines()
        assert len(lines) <= 22 and max(map(len, lines)) <= 80, (key, len(lines))
        assert f"month {d.month}: Russia holds" in lines[1], key
        screen.print(term.listing(d))
        listed = screen.export_text()
        if d.kind == "ratify":
            assert "A vote is on the package on the table only" in listed
            continue
        own = d.options if d.kind == "propose" else d.view["own_allowed"]
        numbers = {int(line.split()[0]) for line in listed.splitlines() if line.split() and line.split()[0].isdigit()}
        assert numbers == {x for x in range(c.n_packages) if own[x]}, key
