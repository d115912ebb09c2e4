"""One run, month by month, as a narrative (the agent engine, stepped)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

from sim import rules
from sim.compile import Compiled, compile_scenario
from sim.model import NegotiationModel, run_one
from sim.records import stack_runs, to_frame
from sim.scenario import Scenario
from sim.shocks import draw


@dataclass
class Explanation:
    """The narrative of one replicate and its results row (identical to a batch's row)."""

    lines: list[str]
    row: pd.Series
    model: NegotiationModel

    def series(self) -> pd.DataFrame:
        """Monthly series collected by Mesa's DataCollector."""
        return self.model.datacollector.get_model_vars_dataframe()


def explain(scenario: Scenario, seed: int, replicate: int) -> Explanation:
    c = compile_scenario(scenario)
    shocks = draw(c, seed, [replicate])
    model = run_one(c, shocks.run(0))
    row = to_frame(c, stack_runs([model.record()]), shocks.replicates, shocks.params).iloc[0]
    return Explanation(narrate(c, model, row), row, model)


def month_label(start: str, t: int) -> str:
    year, month = (int(x) for x in start.split("-"))
    m = month - 1 + t
    return f"{year + m // 12}-{m % 12 + 1:02d}"


def narrate(c: Compiled, model: NegotiationModel, row: pd.Series) -> list[str]:
    start = c.scenario.model.start
    govs, pubs = c.governments, c.publics
    lines = [f"Scenario {c.scenario.name}, replicate {int(row['replicate'])}: start {start}, "
             f"Russia holds {model.p['territory0']:,.0f} km2, Ukraine holds {model.p['kursk0']:,.0f} km2 of Kursk."]
    for e in model.log:
        t = e["month"]
        lines.append("")
        lines.append(f"Month {t} ({month_label(start, t)})" + ("  [timed event]" if e["events"] else ""))
        lines.append(f"  Front: {e['change']:+,.0f} km2 (Russia holds {e['territory']:,.0f}); "
                     f"Kursk: {e['retaken']:,.0f} km2 retaken ({e['kursk']:,.0f} still held by Ukraine).")
        hurt = ", ".join(f"{g} {h:.3f} (threshold {model.p['hurt_threshold'][i]:.2f})" for i, (g, h) in enumerate(zip(govs, e["hurt"], strict=True)))
        belief = ", ".join(f"{g} {b:.2f}" for g, b in zip(govs, e["belief"], strict=True))
        lines.append(f"  Hurt: {hurt}. Believed chance of gaining ground: {belief}.")
        if e["weariness"]:
            lines.append("  War-weariness: " + ", ".join(f"{pubs[g]} {w:.2f}" for g, w in e["weariness"].items()) + ".")
        lines += _talks(c, e)
    lines.append("")
    lines.append(_outcome(c, row))
    return lines


def _talks(c: Compiled, e: dict[str, Any]) -> list[str]:
    out = []
    if "preconditions" in e:
        failed = [f"{name} ({gov})" for gov, name, ok in e["preconditions"] if not ok]
        held = [f"{name} ({gov})" for gov, name, ok in e["preconditions"] if ok]
        if failed:
            return [f"  Talks closed: precondition {', '.join(failed)} does not hold."]
        if held:
            out.append(f"  Preconditions hold: {', '.join(held)}.")
        if e.get("opened"):
            out.append(f"  Talks open (ripeness {e['ripeness']:.2f}).")
        else:
            return [*out, f"  Talks closed: not ripe (chance of opening {e['ripeness']:.2f})."]
    talk = e.get("talks")
    if talk is None:
        return out
    terms = ", ".join(f"{k}={v}" for k, v in c.term_names(talk["package"]).items())
    who = f"{talk['lead']}" if talk["lead"] else "the parties directly (no active mediator)"
    zone = "inside the zone of agreement" if talk["zone"] else "no zone of agreement: least shortfall"
    out.append(f"  Proposal by {who}: {terms} ({zone}).")
    for g, (prob, ok) in enumerate(talk["answers"]):
        out.append(f"    {c.governments[g]}: utility {talk['utilities'][g]:.3f} vs reservation "
                   f"{talk['reservations'][g]:.3f} -> {'accepts' if ok else 'rejects'} (p={prob:.2f})")
    for g, (prob, ok, voted) in talk["votes"].items():
        if voted:
            out.append(f"    {c.publics[g]}: {'ratifies' if ok else 'rejects'} (p={prob:.2f})")
        else:
            out.append(f"    {c.publics[g]}: no ratifying vote")
    ratify = [talk["votes"].get(g, (1.0, True))[0] for g in (0, 1)]
    chance = rules.deal_probability(talk["answers"][0][0], talk["answers"][1][0], ratify[0], ratify[1])
    out.append(f"    chance of a ratified deal this month: {chance:.2f}")
    if talk["agreed"]:
        out.append("  Agreement.")
    elif talk.get("breakdown"):
        out.append("  No deal; talks break down.")
    else:
        out.append("  No deal; talks continue.")
    return out


def _outcome(c: Compiled, row: pd.Series) -> str:
    if row["outcome"] == "agreement":
        terms = ", ".join(f"{k}={row[f'term_{k}']}" for k in c.issues)
        return (f"Outcome: agreement in month {int(row['agreement_month'])} ({row['outcome_class']}): {terms}; "
                f"lead mediator {row['lead_mediator']}.")
    if row["outcome"] == "talks_failed":
        return (f"Outcome: talks_failed: talks first opened in month {int(row['talks_month'])}, "
                f"{int(row['proposals'])} proposals, no ratified deal by month {c.horizon}.")
    return f"Outcome: no_talks: talks never opened in {c.horizon} months."
