"""Validity (m): an issue on which both sides agree does not lower P(agreement) (issue 18, part 5).

Expectation: adding to the agenda an issue on which both governments hold the same ideal adds no conflict. If a
deal can give both that ideal and no deal does not, it adds a gain both share only with a deal, so the zone of
agreement can only widen (Fearon 1995: the range of deals both prefer to war grows with what both lose without
one). The test adds agenda_2025.yaml's ``prisoners`` issue to the baseline with both sides' ideal "all for all"
(without a settlement exchanges go on in batches, as the agenda says), at saliences from 0.02 to 0.8 for each side
(Kyiv's other saliences scaled by 1 - s so they still sum to 1; Moscow's are normalised per run). Paired runs,
same seed and replicates as the baseline. Pass: paired difference in P(agreement) >= -(its 95% half-width), and
every deal gives both sides their shared ideal.

Where a deal changes nothing on the issue (no deal already sits at the shared ideal, "exchanges in batches"),
the issue only dilutes the others: every side's stakes on the rest shrink by 1 - s. The Ukrainian public's bar
was in fixed utility units, so P(agreement) fell where Kyiv weighs the issue 0.2 against Moscow's 0.05 (-1.67 +-
0.76 points) and at 0.8 for both (-15.43 +- 1.89). The engine now scales a public's bar by the share of its
side's utility scale in dispute (``rules.stake_share``: 1 - s here), and all eight settings pass. The last test
pins the mechanism: with the bar raised back to its undiluted value (0.17 / (1 - s)) the fall returns.
"""

from __future__ import annotations

import pytest
from validity_helpers import BASELINE, agreed, paired, runs, with_agenda_issues

import sim

N = 3000
AT_STAKE = [(0.02, 0.02), (0.05, 0.05), (0.1, 0.1), (0.2, 0.2), (0.05, 0.2), (0.2, 0.05), (0.4, 0.4), (0.8, 0.8)]
NOTHING_AT_STAKE = AT_STAKE
DILUTION_FAILS = [(0.2, 0.05), (0.8, 0.8)]
BAR = 0.17  # the baseline's actors.ukraine_public.ratification.threshold


class FellBeyondInterval(AssertionError):
    """P(agreement) fell beyond its paired 95% interval."""


def agreed_issue(kyiv: float, moscow: float, ideal: float) -> sim.Scenario:
    """The baseline with the prisoners issue, both sides' ideal ``ideal``, Kyiv weighing it ``kyiv``, Moscow ``moscow``."""
    rest = 1.0 - kyiv
    return with_agenda_issues(
        "validity_agreed_issue", ["prisoners"],
        {"kyiv": {"crimea_status": 0.25 * rest, "land_returned": 0.5 * rest, "legal_recognition": 0.25 * rest,
                  "prisoners": kyiv}, "moscow": {"prisoners": moscow}},
        ideal={"kyiv": {"prisoners": ideal}, "moscow": {"prisoners": ideal}})


@pytest.fixture(scope="module")
def baseline():
    return runs(BASELINE, N, seed=7)


def check(baseline, kyiv: float, moscow: float, ideal: float, label: str, overrides: dict | None = None) -> None:
    sc = agreed_issue(kyiv, moscow, ideal)
    df = runs(sc, N, seed=7, overrides=overrides)
    before, after = agreed(baseline), agreed(df)
    diff, half = paired(before, after)
    shared = next(name for name, x in sc.model.issues["prisoners"].options.items() if x == ideal)
    at_ideal = (df.loc[after, "term_prisoners"] == shared).mean()
    print(f"\n[agreed issue] {label}, Kyiv {kyiv}, Moscow {moscow} (n = {N}): P(agreement) {before.mean():.3f} -> "
          f"{after.mean():.3f}, paired diff {100 * diff:+.2f} +- {100 * half:.2f} points; runs that lose their "
          f"agreement: {int((before & ~after).sum())}; deals at the shared ideal: {at_ideal:.4f}")
    assert at_ideal == 1.0, "a deal left both sides short of the ideal they share"
    if diff + half < 0.0:
        raise FellBeyondInterval("an issue both sides agree on lowered P(agreement) beyond the paired 95% interval")


@pytest.mark.parametrize(("kyiv", "moscow"), AT_STAKE)
def test_an_agreed_issue_a_deal_settles_never_lowers_p_agreement(baseline, kyiv, moscow):
    check(baseline, kyiv, moscow, 1.0, "all for all (no deal: batches)")


@pytest.mark.parametrize(("kyiv", "moscow"), NOTHING_AT_STAKE)
def test_an_agreed_issue_already_settled_never_lowers_p_agreement(baseline, kyiv, moscow):
    check(baseline, kyiv, moscow, 0.5, "batches (no deal: batches)")


@pytest.mark.parametrize(("kyiv", "moscow"), DILUTION_FAILS)
def test_with_the_public_s_bar_undiluted_p_agreement_falls(baseline, kyiv, moscow):
    """The mechanism: undo the engine's scaling of the bar (threshold / stake share) and the dilution returns."""
    bar = {"actors.ukraine_public.ratification.threshold": BAR / (1.0 - kyiv)}
    with pytest.raises(FellBeyondInterval):
        check(baseline, kyiv, moscow, 0.5, f"batches, the public's bar {BAR} / {1.0 - kyiv:g}", overrides=bar)
