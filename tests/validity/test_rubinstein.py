"""Validity (c): Rubinstein (1982), the split under alternating offers with discounting.

A fine split of one issue (1001 packages, U_a = x, U_b = 1 - x), no outside
option (values of war 0) and no breakdown: rules.demands must give proposer a
the share (1 - d_b) / (1 - d_a d_b) of the unique subgame-perfect equilibrium,
and the more patient side must get more.

rules.demands solves the stationary demands exactly over the finitely many
candidate demands of b (commit 2dc61ee; before it, 8 simultaneous updates left
patient sides far from the equilibrium: 0.98/0.98 gave a 0.926 instead of 0.505).

Tolerance: each best reply rounds down to the grid, and the two-round map has
slope d_a d_b, so the discrete game's split may differ from the continuous one
by up to about a grid step / (1 - d_a d_b): 2 steps / (1 - d_a d_b) is allowed
(2.2 steps for 0.1/0.9 up to 50.5 steps for 0.98/0.98; the largest deviation
measured is 5.1 steps, at 0.98/0.98).

Engine level (Rubinstein 1982; Binmore, Rubinstein & Wolinsky 1986): in the
whole kernel patience enters the governments' alternating-offers demands
(rules.demands) and the mediator's Nash weights (rules.nash_weights, bargaining
power 1 / -log(discount)). On the baseline with both discounts at 0.95, raising
one side's to 0.995 must move the land of the deals toward that side: paired
runs (same seed and replicates) that agree under both settings, mean change
of land_km2 (> 0: toward Ukraine) with its 95% interval excluding 0.
"""

from __future__ import annotations

import numpy as np
import pytest
from validity_helpers import BASELINE, agreed, paired, runs

from sim.engine import rules

N = 1001
STEP = 1.0 / (N - 1)
X = np.linspace(0.0, 1.0, N)
ALL = np.ones(N, bool)

def split(d_a: float, d_b: float) -> tuple[float, float]:
    """(a's share when a proposes, b's share when b proposes)."""
    _, _, x_a, x_b = rules.demands(X, 1.0 - X, 0.0, 0.0, d_a, d_b, 0.0, ALL)
    assert x_a >= 0 and x_b >= 0
    return float(X[x_a]), float(1.0 - X[x_b])


def rubinstein(d_a: float, d_b: float) -> float:
    return (1.0 - d_b) / (1.0 - d_a * d_b)


@pytest.mark.parametrize("d_a, d_b", [
    (0.5, 0.5), (0.3, 0.6), (0.6, 0.3), (0.2, 0.5), (0.1, 0.9), (0.4, 0.7), (0.7, 0.4), (0.6, 0.6),
    (0.8, 0.9), (0.9, 0.95), (0.98, 0.98),
])
def test_proposer_share_is_rubinstein_s(d_a, d_b):
    share_a, share_b = split(d_a, d_b)
    tol = 2 * STEP / (1.0 - d_a * d_b) + 1e-9
    print(f"\n[rubinstein] d_a {d_a}, d_b {d_b}: a proposes {share_a:.3f} (theory {rubinstein(d_a, d_b):.4f}), "
          f"b proposes {share_b:.3f} (theory {rubinstein(d_b, d_a):.4f})")
    assert share_a == pytest.approx(rubinstein(d_a, d_b), abs=tol)
    assert share_b == pytest.approx(rubinstein(d_b, d_a), abs=tol)


@pytest.mark.parametrize("d_b", [0.3, 0.5])
def test_the_more_patient_side_gets_more(d_b):
    shares = [split(d_a, d_b)[0] for d_a in np.arange(0.05, 0.95, 0.05)]
    assert all(b >= a for a, b in zip(shares, shares[1:], strict=False)), shares  # patience pays
    for d_a in (0.6, 0.8):
        share_a, share_b = split(d_a, d_b)  # a is the more patient side
        assert share_a > share_b
        assert share_a > 0.5


def test_responder_demands_are_what_its_own_proposal_is_worth_next_round():
    need_a, need_b, x_a, x_b = rules.demands(X, 1.0 - X, 0.0, 0.0, 0.5, 0.5, 0.0, ALL)
    # d x its share as proposer (exact since the demands are solved exactly; the 3-step tolerance is slack)
    assert need_b == pytest.approx(0.5 * (1.0 - X[x_b]), abs=3 * STEP)
    assert need_a == pytest.approx(0.5 * X[x_a], abs=3 * STEP)
    assert 1.0 - X[x_a] >= need_b and X[x_b] >= need_a  # each proposal meets the responder's demand


N_ENGINE = 3000
IMPATIENT = {"actors.kyiv.discount": 0.95, "actors.moscow.discount": 0.95}


@pytest.fixture(scope="module")
def impatient():
    return runs(BASELINE, N_ENGINE, seed=7, overrides=IMPATIENT)


@pytest.mark.parametrize("side, sign", [("kyiv", 1.0), ("moscow", -1.0)])
def test_a_more_patient_side_gets_better_terms_in_the_engine(impatient, side, sign):
    patient = runs(BASELINE, N_ENGINE, seed=7, overrides={**IMPATIENT, f"actors.{side}.discount": 0.995})
    both = agreed(impatient) & agreed(patient)
    before, after = impatient["land_km2"].to_numpy()[both], patient["land_km2"].to_numpy()[both]
    diff, half = paired(before, after)
    print(f"\n[rubinstein, engine] {side} discount 0.95 -> 0.995 (n = {N_ENGINE}): P(agreement) "
          f"{agreed(impatient).mean():.3f} -> {agreed(patient).mean():.3f}; land_km2 of deals, paired over "
          f"{both.sum()} runs: {before.mean():,.0f} -> {after.mean():,.0f} ({diff:+,.0f} +- {half:,.0f} km2)")
    assert both.sum() >= 300
    assert sign * diff - half > 0.0, f"a more patient {side} did not get better terms"
