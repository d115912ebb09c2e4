"""One run, month by month, as a narrative (the agent engine, stepped)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd

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
    """The run in plain words, a paragraph a month."""
    start = c.scenario.model.start
    govs, pubs = c.governments, c.publics
    side = ("Ukraine", "Russia")
    lines = [f"Scenario {c.scenario.name}, replicate {int(row['replicate'])}: start {start}, "
             f"Russia holds {model.p['territory0']:,.0f} km2 of Ukraine and Ukraine holds "
             f"{model.p['kursk0']:,.0f} km2 of Russia's Kursk region.",
             "Each month the front moves, both sides count their losses and learn how fast the front is moving, "
             "and each government weighs what fighting on for the next "
             f"{model.p['lookahead']:.0f} months would bring (the land it expects to hold, less the expected cost "
             "in lives and ground) against what a deal would give it."]
    for e in model.log:
        t = e["month"]
        lines.append("")
        events = "; ".join(f"{path} set to {v:g}" if not isinstance(v, bool) else f"{path} set to {str(v).lower()}"
                           for path, v in e["events"])
        lines.append(f"Month {t} ({month_label(start, t)})" + (f"  [timed event: {events}]" if events else ""))
        gainer = "Russia" if e["change"] > 0 else "Ukraine"
        lines.append(f"  Front: {gainer} gains {abs(e['change']):,.0f} km2 (Russia now holds {e['territory']:,.0f} km2); "
                     f"Russia retakes {e['retaken']:,.0f} km2 of Kursk ({e['kursk']:,.0f} km2 still held by Ukraine).")
        lines.append("  Losses so far: " + ", ".join(f"{side[i]} {cas:,.0f}" for i, cas in enumerate(e["casualties"]))
                     + ". Each side now expects the front to move " + ", ".join(
                         f"{d:+,.0f} km2 a month ({govs[i]}'s view)" for i, d in enumerate(e["drift"])) + " toward Russia.")
        lines.append("  Value of fighting on (expected outcome less expected costs, 0 to 1): " + ", ".join(
            f"{govs[i]} {v:.3f} (expected costs {k:.3f})" for i, (v, k) in enumerate(zip(e["values"], e["costs"], strict=True)))
            + ".")
        if e["weariness"]:
            lines.append("  Share of each public weary of the war: " + ", ".join(
                f"{pubs[g]} {w:.0%}" for g, w in e["weariness"].items()) + ".")
        lines += _talks(c, e)
    lines.append("")
    lines.append(_outcome(c, row))
    return lines


def _talks(c: Compiled, e: dict[str, Any]) -> list[str]:
    out = []
    govs = c.governments
    if "preconditions" in e:
        failed = [f"{name} ({gov})" for gov, name, ok in e["preconditions"] if not ok]
        if failed:
            return [f"  No talks: precondition {', '.join(failed)} does not hold yet."]
        if "ripeness" in e:
            if not e["stalemate"]:
                who = [govs[i] for i, gain in enumerate(e["gains"]) if gain > 0]
                return [f"  No talks: {' and '.join(who)} still expects to gain by fighting on (no hurting stalemate)."]
            if not e["way_out"]:
                return ["  No talks: no deal both sides prefer to fighting on (no way out), given their red lines."]
            if e.get("opened"):
                out.append(f"  Talks open: a hurting stalemate with a way out (chance this month {e['ripeness']:.0%}).")
            else:
                return [f"  No talks yet: the stalemate is not felt keenly enough (chance this month {e['ripeness']:.0%})."]
    talk = e.get("talks")
    if talk is None:
        return out
    terms = ", ".join(f"{k} = {v}" for k, v in c.term_names(talk["package"]).items())
    who = talk["proposer"]
    by = f"the mediator {talk['lead']}" if who == 2 else govs[who]
    kind = "proposes" if who == 2 or talk["round_month"] == 0 else "counter-offers"
    out.append(f"  {by.capitalize() if who == 2 else by} {kind}: {terms}.")
    for g, (prob, ok) in enumerate(talk["answers"]):
        lev = talk["leverage"][g]
        paid = f" (plus {lev:.3f} the mediator offers)" if lev > 0 else ""
        asks = (f"what fighting on is worth to it after hearing the mediator ({talk['values'][g]:.3f} before)"
                if who == 2 else f"what waiting for its own offer is worth (fighting on: {talk['values'][g]:.3f})")
        out.append(f"    {govs[g]}: the deal is worth {talk['utilities'][g]:.3f}{paid}; it asks at least "
                   f"{talk['needs'][g]:.3f}, {asks}; its own reading of offers this run adds "
                   f"{talk['judgement'][g]:+.3f} -> {'accepts' if ok else 'rejects'} "
                   f"(a proposer would give it a {prob:.0%} chance of accepting).")
    for g, (prob, ok, voted) in talk["votes"].items():
        if voted:
            out.append(f"    {c.publics[g]}: {'ratifies' if ok else 'rejects'} the deal in its vote "
                       f"(chance before the vote {prob:.0%}).")
        else:
            out.append(f"    {c.publics[g]}: no vote on the deal.")
    if talk["agreed"]:
        out.append("  Agreement.")
    elif talk.get("breakdown"):
        out.append("  No deal; talks break down.")
    else:
        out.append("  No deal; talks go on next month.")
    return out


def _outcome(c: Compiled, row: pd.Series) -> str:
    if row["outcome"] == "agreement":
        terms = ", ".join(f"{k} = {row[f'term_{k}']}" for k in c.issues)
        land = row.get("land_km2", 0.0)
        moved = ("no land changes hands" if land == 0 else
                 f"{abs(land):,.0f} km2 {'returned to Ukraine' if land > 0 else 'ceded to Russia'}")
        return (f"Outcome: agreement in month {int(row['agreement_month'])} ({row['outcome_class']}): {terms}; "
                f"{moved}; lead mediator {row['lead_mediator']}.")
    if row["outcome"] == "talks_failed":
        return (f"Outcome: talks failed: talks first opened in month {int(row['talks_month'])}, "
                f"{int(row['proposals'])} proposals, no ratified deal by month {c.horizon}.")
    return f"Outcome: no talks: talks never opened in {c.horizon} months."
