"""Choose the run a class plays, and write it into scenarios/classroom.yaml's `play:` block.

    .venv/bin/python docs/teaching/choose_run.py            # search, print the choice, rewrite `play:`
    .venv/bin/python docs/teaching/choose_run.py --check    # search, print, and fail if `play:` differs

The class plan, the worksheet, the answer key, `negsim play` and `negsim classroom` all take the run from
that block (the commands read it when no --seed / --replicate is given), so the run is chosen once, here,
by these criteria on the model's own play of the run:

- every role (both governments, both mediators, both publics) has at least MIN_DECISIONS decisions: offers
  it makes, offers it answers, deals it votes on, and the month-by-month choice of a move on the ground (a
  public votes only on a deal both governments accepted, so its moves on the ground are most of its game);
- both governments and both mediators have at least MIN_DECISIONS of them in the talks (offers and answers):
  the negotiation is more than one offer taken at once;
- the talks last MIN_TALK_MONTHS months or more, from the month they open to the deal or the end of the game;
- the terms vary: the offers put on the table differ on at least MIN_VARYING_ISSUES issues.

The search plays replicates 0, 1, 2, ... of SEED (the answer key's seed) and takes the first that meets them
all: re-run on any range that holds the chosen replicate and starts at or before it, it picks the same run
(tests/test_teaching.py checks both).
"""

from __future__ import annotations

import argparse
import re
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

CLASSROOM = ROOT / "scenarios" / "classroom.yaml"
SEED = 1  # the answer key's seed: the end screen sets a game against that seed's batch
SEARCH = 200  # replicates searched by default
MIN_DECISIONS = 3
MIN_TALK_MONTHS = 6
MIN_VARYING_ISSUES = 2
TALK_KINDS = ("propose", "answer", "ratify")


@dataclass
class RunFacts:
    """What the model's own play of one run gives each role to do."""

    seed: int
    replicate: int
    outcome: str
    talks_month: int | None
    agreement_month: int | None
    decisions: Counter = field(default_factory=Counter)  # role -> decisions (talks and moves on the ground)
    talks: Counter = field(default_factory=Counter)  # role -> decisions in the talks (offers, answers, votes)
    varying: list[str] = field(default_factory=list)  # issues on which the offers differ
    offers: int = 0

    horizon: int = 0
    drawn: dict[str, float] = field(default_factory=dict)  # the run's uncertain parameters, as drawn

    @property
    def talk_months(self) -> int:
        """Months from the opening of talks to the deal, or to the end of the game."""
        if self.talks_month is None:
            return 0
        return (self.agreement_month if self.agreement_month is not None else self.horizon) - self.talks_month

    def failures(self, kinds: dict[str, str]) -> list[str]:
        """The criteria the run misses (empty: it qualifies); ``kinds``: role -> government, mediator or public."""
        out = [f"{r} has {self.decisions[r]} decisions" for r in kinds if self.decisions[r] < MIN_DECISIONS]
        out += [f"{r} has {self.talks[r]} decisions in the talks" for r, kind in kinds.items()
                if kind != "public" and self.talks[r] < MIN_DECISIONS]
        if self.talk_months < MIN_TALK_MONTHS:
            out.append(f"talks last {self.talk_months} months")
        if len(self.varying) < MIN_VARYING_ISSUES:
            out.append(f"offers differ on {len(self.varying)} issues")
        return out


def _month(v: Any) -> int | None:
    import pandas as pd

    return None if pd.isna(v) else int(v)


def roles(c: Any) -> dict[str, str]:
    """Every role of the scenario (governments, mediators, publics) and its kind."""
    from sim.play import game

    return game.role_kinds(c)


def examine(c: Any, seed: int, replicate: int) -> RunFacts:
    """Play the run as the model plays it, recording every decision a person could take over."""
    from sim.play import game

    asked: list[Any] = []

    def record(d: Any) -> None:
        asked.append(d)

    played = game.play(c, seed, replicate, list(roles(c)), record)
    row = played.row
    facts = RunFacts(seed, replicate, str(row["outcome"]), _month(row["talks_month"]), _month(row["agreement_month"]),
                     horizon=c.horizon, drawn={k.removeprefix("param:"): float(v) for k, v in row.items()
                                               if k.startswith("param:")})
    offers = []
    for d in asked:
        facts.decisions[d.role] += 1
        if d.kind in TALK_KINDS:
            facts.talks[d.role] += 1
        if d.kind == "propose":
            offers.append(int(d.default))
    facts.offers = len(offers)
    facts.varying = [issue for k, issue in enumerate(c.issues) if len({int(c.package_options[x, k]) for x in offers}) > 1]
    return facts


def choose(c: Any, seed: int = SEED, replicates: range = range(SEARCH)) -> RunFacts | None:
    """The first replicate of ``replicates`` (in order) whose run meets every criterion; None if none does."""
    for r in replicates:
        facts = examine(c, seed, r)
        if not facts.failures(roles(c)):
            return facts
    return None


def play_block(facts: RunFacts) -> str:
    """The `play:` block of scenarios/classroom.yaml for the chosen run."""
    def counts(c: Counter) -> str:
        return ", ".join(f"{r} {n}" for r, n in sorted(c.items()))

    end = (f"the deal in month {facts.agreement_month}" if facts.agreement_month is not None
           else f"the end of the game in month {facts.horizon}, where they have failed ({facts.outcome})")
    why = (f"Chosen by docs/teaching/choose_run.py, the first replicate of seed {facts.seed} from 0 up that meets "
           f"its criteria: in the model's own play of this run every role has at least {MIN_DECISIONS} decisions "
           f"({counts(facts.decisions)}, moves on the ground included), of them in the talks {counts(facts.talks)}; "
           f"the talks last {facts.talk_months} months (from month {facts.talks_month} to {end}); the "
           f"{facts.offers} offers differ on {len(facts.varying)} issues ({', '.join(facts.varying)}).")
    return (f"play:\n  seed: {facts.seed}\n  replicate: {facts.replicate}\n"
            f"  assumption: \"{why}\"\n")


PLAY_RE = re.compile(r"^play:\n(?:  .*\n)*", flags=re.M)


def with_block(text: str, block: str) -> str:
    """The scenario's text with its `play:` block replaced (or added at the end)."""
    if PLAY_RE.search(text):
        return PLAY_RE.sub(lambda _: block, text, count=1)
    return text.rstrip("\n") + "\n\n" + block


def main(argv: list[str] | None = None) -> int:
    import sim
    from sim.scenario.compile import compile_scenario

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--search", type=int, default=SEARCH, help="replicates to search (default %(default)s)")
    parser.add_argument("--check", action="store_true", help="fail if scenarios/classroom.yaml names another run")
    args = parser.parse_args(argv)
    c = compile_scenario(sim.load_scenario(CLASSROOM))
    facts = choose(c, SEED, range(args.search))
    if facts is None:
        print(f"no replicate of seed {SEED} among the first {args.search} meets the criteria", file=sys.stderr)
        return 1
    block = play_block(facts)
    print(block, end="")
    text = CLASSROOM.read_text(encoding="utf-8")
    new = with_block(text, block)
    if args.check:
        if new != text:
            print("scenarios/classroom.yaml names another run: run docs/teaching/choose_run.py", file=sys.stderr)
            return 1
        return 0
    CLASSROOM.write_text(new, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
