"""Actions on the ground (issue 20): each of the classroom's actions moves what its effect sentence says it moves.

For every action a game takes it in month 1 and is compared with the model's own play of the same replicate
(common random numbers: the same front, losses and dice), over replicates where both runs are still at war
and without a ceasefire at the month measured (a settlement or a ceasefire stops the fighting the actions act
on). Run as a script, it prints the mean paired differences (the figures of docs/model.md).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from rich.console import Console

from sim.errors import ScenarioError
from sim.play import game
from sim.play.terminal import Terminal
from sim.present.explain import narrate
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[1]
CLASSROOM = ROOT / "scenarios" / "classroom.yaml"
SEED, REPLICATES, AT = 1, range(16), 3  # act in month 1, compare at the end of month 3

# (role, action, measure, sign): the measure moves in this direction, on average and in no replicate the other way
EXPECTED = [
    ("us", "pause_aid", "territory", +1), ("us", "pause_aid", "casualties_kyiv", +1),
    ("eu_uk", "pause_aid", "territory", +1), ("eu_uk", "pause_aid", "casualties_kyiv", +1),
    ("eu_uk", "tighten_sanctions", "hurt_moscow", +1), ("eu_uk", "tighten_sanctions", "value_moscow", -1),
    ("eu_uk", "relieve_sanctions", "hurt_moscow", -1), ("eu_uk", "relieve_sanctions", "value_moscow", +1),
    ("moscow", "intensify", "territory", +1), ("moscow", "intensify", "casualties_moscow", +1),
    ("moscow", "scale_back", "territory", -1), ("moscow", "scale_back", "casualties_moscow", -1),
    ("kyiv", "mobilise", "territory", -1), ("kyiv", "mobilise", "weariness_ukraine", +1),
    ("kyiv", "strike", "casualties_moscow", +1), ("kyiv", "strike", "hurt_moscow", +1),
    ("ukraine_public", "protest", "weariness_ukraine", +1), ("ukraine_public", "rally", "weariness_ukraine", -1),
    ("russia_public", "protest", "weariness_russia", +1), ("russia_public", "rally", "weariness_russia", -1),
]


@pytest.fixture(scope="module")
def c():
    return compile_scenario(load_scenario(CLASSROOM))


@pytest.fixture(scope="module")
def own(c):
    return {r: game.play(c, SEED, r, ["kyiv"], game.Recorded([])) for r in REPLICATES}


def measures(g: game.Game, month: int) -> dict[str, float] | None:
    """What the actions act on, at the end of ``month``; None if the war has stopped (settlement, ceasefire)."""
    e = g.model.log[month - 1]
    if e["stage"] in ("settlement", "ceasefire") or e["ceasefire_holds"]:
        return None
    return {"territory": e["territory"], "casualties_kyiv": e["casualties"][0], "casualties_moscow": e["casualties"][1],
            "hurt_moscow": e["hurt"][1], "value_moscow": e["values"][1], "weariness_ukraine": e["weariness"][0],
            "weariness_russia": e["weariness"][1]}


def differences(c, own, moves: list[game.Move], month: int = AT) -> list[dict[str, float]]:
    """Per replicate at war in both runs: the game's measures less the model's own run's."""
    out = []
    roles = sorted({m.role for m in moves})
    for r in REPLICATES:
        a, b = measures(game.play(c, SEED, r, roles, game.Recorded(moves)), month), measures(own[r], month)
        if a is not None and b is not None:
            out.append({k: a[k] - b[k] for k in a})
    return out


@pytest.mark.parametrize("role, action", sorted({(r, a) for r, a, _m, _s in EXPECTED}))
def test_each_action_moves_what_it_says(c, own, role, action):
    diffs = differences(c, own, [game.Move(1, role, "act", action)])
    assert len(diffs) >= 8  # enough replicates still at war to compare
    for r, a, measure, sign in EXPECTED:
        if (r, a) == (role, action):
            values = np.array([d[measure] for d in diffs])
            assert sign * values.mean() > 0, (measure, values)
            assert (sign * values >= -1e-12).all(), (measure, values)


def test_resuming_aid_and_withdrawing_a_guarantee_undo_them(c, own):
    """Pausing aid for one month costs less ground than pausing it for good; an offer withdrawn at once is none."""
    paused = differences(c, own, [game.Move(1, "us", "act", "pause_aid")])
    resumed = differences(c, own, [game.Move(1, "us", "act", "pause_aid"), game.Move(2, "us", "act", "resume_aid")])
    assert np.mean([d["territory"] for d in resumed]) < np.mean([d["territory"] for d in paused])
    assert all(d["territory"] > 0 for d in resumed)  # the month without aid is lost ground still
    undone = differences(c, own, [game.Move(1, "us", "act", "offer_guarantee"),
                                  game.Move(2, "us", "act", "withdraw_guarantee")], month=1)
    assert all(abs(v) < 1e-12 for d in undone for v in d.values())


def test_no_action_is_the_model_run_and_actions_are_replayed(c, own, tmp_path):
    """A game whose roles pass every month is the model's own run; a game with actions replays exactly."""
    passing = [game.Move(t, "kyiv", "act", None) for t in range(1, c.horizon + 1)]
    g = game.play(c, SEED, 0, ["kyiv"], game.Recorded(passing))
    assert g.model.record() == own[0].model.record()
    text = "1 kyiv act mobilise\n2 kyiv act none\n3 kyiv act strike\n"
    moves = game.parse_moves(text, "m.txt", c, ["kyiv"])
    played = game.play_scripted(c, SEED, 0, ["kyiv"], moves)
    assert [m.choice for m in played.moves] == ["mobilise", None, "strike"]  # act none: the model's (none)
    assert played.model.log[0]["actions"] == [("kyiv", "mobilise")]
    path = game.save_replay(played, tmp_path / "g.json", game.record(played, None))
    again = game.replay(game.load_replay(path))
    assert again.model.record() == played.model.record()
    # resume: recorded actions are taken; with act=True a person's month starts with a stage to act
    pos = game.resume(c, SEED, 0, {"kyiv"}, moves, until_month=3)
    assert pos.model.acted == [(1, "kyiv", "mobilise"), (3, "kyiv", "strike")]
    wait = game.resume(c, SEED, 0, {"kyiv"}, [], until_month=3, act=True)
    assert [(d.month, d.kind) for d in wait.pending] == [(1, "act")]
    assert [a["name"] for a in wait.pending[0].view["actions"]] == ["mobilise", "strike"]


@pytest.mark.parametrize("text, message", [
    ("1 kyiv act\n", "m.txt:1: act needs an action: one of mobilise, strike, none"),
    ("1 kyiv act bomb\n", "m.txt:1: kyiv has no action 'bomb': expected one of mobilise, strike, none"),
    ("1 kyiv act mobilise\n2 kyiv act mobilise\n3 kyiv act mobilise\n", "m.txt:3: kyiv may mobilise only 2 time(s)"),
])
def test_bad_actions_name_the_line(c, text, message):
    with pytest.raises(game.MoveError, match=message.replace("(", r"\(").replace(")", r"\)")):
        game.play_scripted(c, SEED, 0, ["kyiv"], game.parse_moves(text, "m.txt", c, ["kyiv"]))


def test_the_terminal_offers_the_actions_and_the_story_tells_them(c, own):
    """negsim play: a compact list, a bad name gets a message and a retry; explain tells the actions taken."""
    answers = iter(["bomb", "act mobilise", "", "2", "help", "none"])

    def ask(prompt: str) -> str:
        asked.append(prompt)
        try:
            return next(answers)
        except StopIteration:
            raise EOFError from None

    asked: list[str] = []
    out = io.StringIO()
    term = Terminal(c, ["kyiv"], Console(file=out, width=100), ask=ask)
    played = game.play(c, SEED, 0, ["kyiv"], term)
    screen = out.getvalue()
    assert [(m.month, m.choice) for m in term.made] == [(1, "mobilise"), (3, "strike")]
    assert asked[0] == "kyiv, act NAME or Enter to pass: "
    assert "kyiv may act: 1 mobilise (2 left), 2 strike (3 left)" in screen
    assert "kyiv may act: 1 mobilise (1 left), 2 strike (2 left)" in screen  # month 4: after both
    assert "kyiv has no action 'bomb': expected one of mobilise, strike, none" in screen
    assert screen.count("1 mobilise: Russia's advance slows") == 2  # the effects: first time, and on help
    story = "\n".join(narrate(c, played.model, played.row, brief=True))
    assert "On the ground, Kyiv: Mobilise more troops (Russia's advance slows" in story
    assert "On the ground, Kyiv: Strike behind Russia's lines" in story
    line = game.process_line(c, played.model.log[0])
    assert line.endswith("on the ground: kyiv (Mobilise more troops).")


def test_role_actions_lists_labels_effects_and_what_is_left(c):
    g = game.play(c, SEED, 0, ["kyiv"], game.Recorded([game.Move(1, "kyiv", "act", "mobilise")]))
    listed = {a["name"]: a for a in game.role_actions(c, "kyiv", g.model)}
    assert listed["mobilise"]["left"] == 1 and listed["strike"]["left"] == 3
    assert listed["mobilise"]["label"] == "Mobilise more troops" and "60 km2" in listed["mobilise"]["effect"]
    assert {a["left"] for a in game.role_actions(c, "us")} == {None}


BAD = [
    ("  nobody:\n    x: {label: X, effect: E, assumption: A, add: {instruments.sanctions.level: 1}}\n",
     "actions.nobody: no actor 'nobody'"),
    ("  us:\n    x: {label: X, effect: E, assumption: A, add: {instruments.sanction.level: 1}}\n",
     "actions.us.x.add.instruments.sanction.level: unknown parameter path; nearest: instruments.sanctions.level"),
    ("  us:\n    x: {label: X, effect: E, add: {instruments.sanctions.level: 1}}\n",
     "actions.us.x: give its evidence or assumption"),
    ("  us:\n    x: {label: X, effect: E, assumption: A, set: {actors.moscow.resolve: 1}}\n",
     "actions.us.x.set.actors.moscow.resolve: is a government's resolve"),
    ("  us:\n    x: {label: X, effect: E, assumption: A, set: {instruments.us_aid.level: -1}}\n",
     "actions.us.x.set.instruments.us_aid.level: must be >= 0 (got -1)"),
    ("  us:\n    x: {label: X, effect: E, assumption: A, scale: {negotiation.guarantee.active: 2}}\n",
     "scale needs a number, and negotiation.guarantee.active is a switch"),
    ("  us:\n    x: {label: X, effect: E, assumption: A, weariness: {us: 0.1}}\n",
     "actions.us.x.weariness.us: no public 'us'"),
    ("  us:\n    pass: {label: X, effect: E, assumption: A, weariness: {ukraine_public: 0.1}}\n",
     "actions.us.pass: an action's name must be a word"),
    ("  us:\n    x: {label: X, effect: E, assumption: A}\n", "actions.us.x: changes nothing"),
]


@pytest.mark.parametrize("block, message", BAD, ids=[m.split(":")[0] for _b, m in BAD])
def test_bad_action_blocks_name_file_and_line(tmp_path, block, message):
    (tmp_path / "base.yaml").write_text((ROOT / "scenarios" / "baseline.yaml").read_text())
    path = tmp_path / "s.yaml"
    path.write_text("extends: base.yaml\nname: s\nactions:\n" + block)
    with pytest.raises(ScenarioError) as e:
        load_scenario(path)
    assert f"{path}:5:" in str(e.value) or f"{path}:4:" in str(e.value), str(e.value)
    assert message in str(e.value), str(e.value)


if __name__ == "__main__":  # the figures: mean paired difference (and replicates compared) per action
    comp = compile_scenario(load_scenario(CLASSROOM))
    base = {r: game.play(comp, SEED, r, ["kyiv"], game.Recorded([])) for r in REPLICATES}
    for role, action in sorted({(r, a) for r, a, _m, _s in EXPECTED}, key=lambda x: list(comp.actions).index(x[0])):
        d = differences(comp, base, [game.Move(1, role, "act", action)])
        shown = [m for r, a, m, _s in EXPECTED if (r, a) == (role, action)]
        print(f"{role} {action} (n={len(d)}): " + ", ".join(f"{m} {np.mean([x[m] for x in d]):+.4g}" for m in shown))
