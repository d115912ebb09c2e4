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
"""

from __future__ import annotations

import numpy as np
import pytest

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
