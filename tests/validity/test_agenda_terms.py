"""Validity, issue 18 part 5 (last bullet): the agenda's deals vary.

Claim: in scenarios/agenda_2025.yaml (19 issues, searched) at least 5 issues vary across deals, each with 2
or more options above 5% of the deals. Measured on 2,000 runs (seed 1): the share of each option among the
agreements, issue by issue.

Measured result (this commit): 4 issues vary so: land (return_25 60.8%, freeze_line 37.2%), the recognition
by third parties (de_jure 75.6%, de_facto 16.5%, none 7.9%), language and church (protected 90.0%, unchanged
8.0%) and amnesty (tribunal 62.0%, full amnesty 28.9%, claims commission 9.1%); foreign forces come close
(monitors 97.2%, none 2.8%) and the 14 other issues take one option in every deal. Utilities are linear, so
on each issue the search picks an end of the scale unless the weights tie: each issue goes whole to the side
that weighs it more (logrolling), and only issues near a tie vary with the runs' draws. The claim is not met;
the test is marked to fail until the model meets it (it then passes, and strict xfail turns that into a
failure to remove the mark).
"""

from __future__ import annotations

import pytest
from validity_helpers import ROOT, runs

AGENDA = ROOT / "scenarios" / "agenda_2025.yaml"
N = 2000
SHARE = 0.05


def varying(df) -> dict[str, dict[str, float]]:
    """Issue -> {option: share of deals} of the issues with 2 or more options above SHARE of the deals."""
    deals = df[df["outcome"] == "agreement"]
    out = {}
    for col in [c for c in deals.columns if c.startswith("term_")]:
        shares = deals[col].value_counts(normalize=True)
        if (shares > SHARE).sum() >= 2:
            out[col.removeprefix("term_")] = {k: round(float(v), 3) for k, v in shares.items()}
    return out


@pytest.fixture(scope="module")
def agenda_runs():
    return runs(AGENDA, N, seed=1)


def test_the_agenda_has_deals(agenda_runs):
    deals = (agenda_runs["outcome"] == "agreement").mean()
    print(f"\n[agenda] P(agreement) {deals:.3f} over {N} runs")
    assert deals > 0.5 and len(varying(agenda_runs)) >= 3  # the deals vary on several issues, not on land alone


@pytest.mark.xfail(strict=True, reason="measured: 4 issues vary with 2 options above 5% of deals (land, third-party "
                                       "recognition, language and church, amnesty); the claim asks 5")
def test_at_least_five_issues_vary_across_deals(agenda_runs):
    found = varying(agenda_runs)
    print(f"\n[agenda] issues with 2+ options above {SHARE:.0%} of deals: {len(found)}: {found}")
    assert len(found) >= 5
