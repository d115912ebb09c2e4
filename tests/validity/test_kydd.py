"""Validity: Kydd (2003), a biased mediator is credible to the side it leans toward; an unbiased one is not.

Kydd (2003): a mediator who only wants peace has a reason to tell each side
that the other is strong, so its reports are cheap talk, believed by neither;
a mediator who leans toward a side would rather that side did well, so its
advice to settle is costly and credible to that side. rules.credibility is
trust x max(0, 2 x lean - 1).

Unit level: the formula's values at the corners and its sign pattern.
Engine level (tests/data/validity_kydd.yaml: one mediator, talks every month
for 24 months, no settlement, Moscow firmly believing the front moves 700 km2
a month against a true 480): Moscow's believed pace at the end
(drift_belief_moscow) is compared, run by run, between Moscow trusting the
mediator (0.8) and not at all (0). With a mediator of bias 0.5 (and one
leaning to Kyiv, 0.3) trust makes no difference at all: its reports move
nothing. With a mediator leaning to Moscow (0.6, 0.8) trust moves Moscow's
belief toward the truth: the mean paired change of |belief - 480| is
negative, its 95% interval excluding 0.
"""

from __future__ import annotations

import numpy as np
import pytest
from validity_helpers import DATA, paired, runs

from sim.engine import rules

FIXTURE = DATA / "validity_kydd.yaml"
N = 2000
TRUE_PACE = 480.0


def test_credibility_is_trust_times_lean_toward_the_listener():
    # bias 0 leans fully to the ukraine side (0), 1 to the russia side (1)
    assert rules.credibility(0.8, 0.5, 0) == 0.0 and rules.credibility(0.8, 0.5, 1) == 0.0
    assert rules.credibility(1.0, 1.0, 1) == pytest.approx(1.0) and rules.credibility(1.0, 1.0, 0) == 0.0
    assert rules.credibility(1.0, 0.0, 0) == pytest.approx(1.0) and rules.credibility(1.0, 0.0, 1) == 0.0
    assert rules.credibility(0.5, 0.8, 1) == pytest.approx(0.5 * 0.6)
    bias = np.linspace(0.0, 1.0, 101)
    to_russia, to_ukraine = rules.credibility(0.7, bias, 1), rules.credibility(0.7, bias, 0)
    assert (to_russia[bias <= 0.5] == 0.0).all() and (to_russia[bias > 0.5] > 0.0).all()
    assert (to_ukraine[bias >= 0.5] == 0.0).all() and (to_ukraine[bias < 0.5] > 0.0).all()
    assert (np.diff(to_russia) >= 0.0).all() and (np.diff(to_ukraine) <= 0.0).all()
    # never credible to both sides at once
    assert ((to_russia == 0.0) | (to_ukraine == 0.0)).all()


def error(df) -> np.ndarray:
    return np.abs(df["drift_belief_moscow"].to_numpy() - TRUE_PACE)


@pytest.mark.parametrize("bias, credible", [(0.5, False), (0.3, False), (0.6, True), (0.8, True)])
def test_only_a_mediator_leaning_to_moscow_moves_moscow_s_belief_toward_the_truth(bias, credible):
    trusted = runs(FIXTURE, N, seed=7, overrides={"actors.us.bias": bias})
    ignored = runs(FIXTURE, N, seed=7, overrides={"actors.us.bias": bias, "actors.us.trust.moscow": 0.0})
    assert (trusted["offers_mediator"] > 0).mean() > 0.9  # the mediator does report in nearly every run
    diff, half = paired(error(ignored), error(trusted))
    print(f"\n[kydd] bias {bias} (n = {N}): Moscow's error |belief - {TRUE_PACE:.0f}| at month 24, trust 0: "
          f"{error(ignored).mean():.1f}, trust 0.8: {error(trusted).mean():.1f} km2 a month (paired {diff:+.2f} "
          f"+- {half:.2f})")
    if credible:
        assert diff + half < 0.0, "a mediator leaning to Moscow did not move Moscow's belief toward the truth"
    else:
        np.testing.assert_array_equal(trusted["drift_belief_moscow"].to_numpy(),
                                      ignored["drift_belief_moscow"].to_numpy())
