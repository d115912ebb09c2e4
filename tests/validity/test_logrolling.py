"""Validity (o): logrolling, each side gets more on the issue it weighs more (issue 18, part 5).

Source: H. Raiffa (1982), *The Art and Science of Negotiation* (negotiations over many issues: where the
sides' priorities differ, efficient packages have each side concede on the issue it weighs less and win on the one
it weighs more); D. G. Pruitt (1981), *Negotiation Behavior* (logrolling). In the model a mediator maximises the
Nash product of additive utilities, so on two issues weighed in opposite ways its package should give each side
its way on the issue it weighs more (case a's unit test shows it on nine packages; this is the engine).

The case: the baseline with two issues of agenda_2025.yaml, ``security_guarantee`` and ``nato_membership``
(options, no-deal points and ideals as the agenda states them: Kyiv wants an Article-5-like guarantee and a path
to membership; Moscow wants assurances and a constitutional ban). Kyiv weighs one 0.2 and the other 0.05 (its
other saliences scaled by 0.75), Moscow the opposite, beside its baseline weights; then the saliences swap.
3,000 runs, seed 7. A side's level on an issue is 1 - |agreed option - its ideal|. Pass, over the deals of each
arrangement, each mean difference beyond its 95% interval: (1) each side's level on the issue it weighs more
exceeds its level on the issue it weighs less; (2) on each issue the side that weighs it more is nearer its
ideal than the other side is.
"""

from __future__ import annotations

import pytest
from validity_helpers import agreed, levels, paired, runs, with_agenda_issues

import sim

N = 3000
ISSUES = ["security_guarantee", "nato_membership"]
MORE, LESS = 0.2, 0.05


def opposite(kyiv_more: str) -> sim.Scenario:
    """Kyiv weighs ``kyiv_more`` 0.2 and the other issue 0.05; Moscow the other way round."""
    other = next(i for i in ISSUES if i != kyiv_more)
    rest = 1.0 - MORE - LESS
    kyiv = {"crimea_status": 0.25 * rest, "land_returned": 0.5 * rest, "legal_recognition": 0.25 * rest,
            kyiv_more: MORE, other: LESS}
    return with_agenda_issues("validity_logrolling", ISSUES, {"kyiv": kyiv, "moscow": {kyiv_more: LESS, other: MORE}})


@pytest.mark.parametrize("kyiv_more", ISSUES)
def test_each_side_gets_its_way_on_the_issue_it_weighs_more(kyiv_more):
    moscow_more = next(i for i in ISSUES if i != kyiv_more)
    sc = opposite(kyiv_more)
    df = runs(sc, N, seed=7)
    n = int(agreed(df).sum())
    assert n >= 300, "too few deals to read the terms of"
    own = {gov: paired(levels(df, sc, gov, less), levels(df, sc, gov, more))
           for gov, more, less in (("kyiv", kyiv_more, moscow_more), ("moscow", moscow_more, kyiv_more))}
    nearer = {issue: paired(levels(df, sc, other, issue), levels(df, sc, gov, issue))
              for issue, gov, other in ((kyiv_more, "kyiv", "moscow"), (moscow_more, "moscow", "kyiv"))}
    terms = {i: df.loc[agreed(df), f"term_{i}"].value_counts().to_dict() for i in ISSUES}
    print(f"\n[logrolling] Kyiv weighs {kyiv_more} more, Moscow {moscow_more} (n = {N}, {n} deals): terms {terms}; "
          + "; ".join(f"{g}'s level on its heavier issue minus its lighter {d:+.3f} +- {h:.3f}" for g, (d, h) in own.items())
          + "; " + "; ".join(f"on {i} the heavier side's level minus the other's {d:+.3f} +- {h:.3f}"
                             for i, (d, h) in nearer.items()))
    for diff, half in (*own.values(), *nearer.values()):
        assert diff - half > 0.0
