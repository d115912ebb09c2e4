"""Validity (n): with minimum terms an issue is not traded away wholesale for another (issue 18, part 5).

Issue 17 found that with linear (additive) utilities a Moscow red line requiring Ukraine's neutrality made 98.8%
of deals return 25% of the land: land was the only currency left to pay Kyiv for the neutrality, and the Nash
product spends it to the limit Moscow's land red line allows. Model v3's answer is a per-issue minimum term
(non-compensatory: a package below it is refused whatever else it gives; ``actors.<gov>.minimum``).

The case: the baseline with agenda_2025.yaml's ``nato_membership`` issue and Moscow's neutrality as the agenda
states it (its minimum 1.0 there: only the constitutional ban passes); Kyiv weighs NATO 0.2 (its other saliences
scaled to 0.8), Moscow 0.3 beside its baseline weights. 3,000 runs, seed 7.

- Premise (the issue's finding, under Model v3): without a minimum term on land, most deals return 25% of the
  land (pass: over half of them).
- Neutrality as Moscow's minimum term and as a red line forbidding the other two options give the same runs.
- With Moscow's "limited" concessions as a minimum term on land (a land share of -0.1 from Moscow's view: at most
  a tenth returned), no deal returns 25% of the land. The bound is 0, not a share: a minimum holds whatever else a
  package gives, so one deal returning a quarter fails the test; and every deal meets every minimum term of both
  sides, checked run by run from its terms.
- Where the agenda offers another issue to pay with (its ``security_guarantee``; Kyiv weighs it 0.2, Moscow 0.1),
  land is no longer the only currency, and Moscow's land minimum costs no agreement beyond the paired 95% interval
  (without another issue it costs many: the price of neutrality cannot be paid).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from validity_helpers import BASELINE, agreed, levels, paired, runs, with_agenda_issues

import sim

N = 3000
KYIV = {"crimea_status": 0.2, "land_returned": 0.4, "legal_recognition": 0.2, "nato_membership": 0.2}
KYIV_WITH_GUARANTEE = {"crimea_status": 0.15, "land_returned": 0.35, "legal_recognition": 0.15, "nato_membership": 0.15,
                       "security_guarantee": 0.2}
NEUTRALITY = {"nato_membership": 1.0}  # agenda_2025.yaml: actors.moscow.minimum.nato_membership
LIMITED = {"land_returned": -0.1}  # Moscow returns at most a tenth of the land taken since 2022, whatever it gets
BAN_RED_LINE = {"issue": "nato_membership", "forbid": ["left_to_nato_consensus", "membership_path"]}


def neutrality(*, land_minimum: bool, guarantee: bool = False, as_red_line: bool = False) -> sim.Scenario:
    issues = ["nato_membership", *(["security_guarantee"] if guarantee else [])]
    moscow = {"nato_membership": 0.3, **({"security_guarantee": 0.1} if guarantee else {})}
    minimum = {**({} if as_red_line else NEUTRALITY), **(LIMITED if land_minimum else {})}
    return with_agenda_issues("validity_neutrality", issues,
                              {"kyiv": KYIV_WITH_GUARANTEE if guarantee else KYIV, "moscow": moscow},
                              minimum={"moscow": minimum} if minimum else None,
                              red_lines={"moscow": [BAN_RED_LINE]} if as_red_line else None)


def land_returned(df) -> np.ndarray:
    """Per agreed run, the share of the land its deal returns (< 0: cedes)."""
    options = sim.load_scenario(BASELINE).model.issues["land_returned"].options
    return df.loc[agreed(df), "term_land_returned"].map(options).to_numpy(float)


@pytest.fixture(scope="module")
def linear():
    return runs(neutrality(land_minimum=False), N, seed=7)


def test_premise_neutrality_is_paid_in_land_without_a_minimum_on_it(linear):
    share = float((land_returned(linear) == 0.25).mean())
    print(f"\n[minimum terms] neutrality, no minimum on land (n = {N}): P(agreement) {agreed(linear).mean():.3f}; "
          f"deals returning 25% of the land: {share:.3f}")
    assert share > 0.5, "the case no longer shows the wholesale trade it is meant to stop"


def test_neutrality_as_a_minimum_term_is_neutrality_as_a_red_line(linear):
    red_line = runs(neutrality(land_minimum=False, as_red_line=True), N, seed=7)
    pd.testing.assert_frame_equal(linear, red_line)  # every column of every run


def test_a_minimum_on_land_is_not_traded_for_neutrality(linear):
    sc = neutrality(land_minimum=True)
    df = runs(sc, N, seed=7)
    land = land_returned(df)
    share = float((land == 0.25).mean())
    lost = int((agreed(linear) & ~agreed(df)).sum())
    print(f"\n[minimum terms] neutrality, Moscow's land minimum {LIMITED['land_returned']} (n = {N}): P(agreement) "
          f"{agreed(linear).mean():.3f} -> {agreed(df).mean():.3f} ({lost} runs lose their agreement); deals returning 25%: "
          f"{(land_returned(linear) == 0.25).mean():.3f} -> {share:.3f}; land returned "
          f"{ {float(x): int(n) for x, n in zip(*np.unique(land, return_counts=True), strict=True)} }")
    assert agreed(df).sum() >= 300, "too few deals to read the terms of"
    assert share == 0.0
    assert (land >= 0.0).all(), "a deal broke Kyiv's minimum on land (no cession)"
    assert (-land >= LIMITED["land_returned"]).all(), "a deal broke Moscow's minimum on land"
    assert (levels(df, sc, "moscow", "nato_membership") >= NEUTRALITY["nato_membership"]).all()


def test_with_another_issue_to_pay_with_the_land_minimum_costs_no_agreement():
    free = runs(neutrality(land_minimum=False, guarantee=True), N, seed=7)
    held = runs(neutrality(land_minimum=True, guarantee=True), N, seed=7)
    diff, half = paired(agreed(free), agreed(held))
    terms = {name: df.loc[agreed(df), "term_security_guarantee"].value_counts().to_dict()
             for name, df in (("free", free), ("held", held))}
    print(f"\n[minimum terms] neutrality with the guarantee on the table (n = {N}): P(agreement) "
          f"{agreed(free).mean():.3f} -> {agreed(held).mean():.3f} with Moscow's land minimum, paired diff "
          f"{100 * diff:+.2f} +- {100 * half:.2f} points; deals returning 25%: {(land_returned(free) == 0.25).mean():.3f}"
          f" -> {(land_returned(held) == 0.25).mean():.3f}; guarantee terms {terms}")
    assert (land_returned(held) == 0.25).sum() == 0
    assert diff + half >= 0.0, "the land minimum cost agreements though another issue could pay for neutrality"
