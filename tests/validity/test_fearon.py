"""Validity (b): Fearon (1995), the bargaining range under complete information.

One divisible land-like issue with linear utilities (U_a = x, U_b = 1 - x on
the land scale), both sides with the same beliefs about the front. Each
side's value of war is rules.war_value of the expected line less
(1 - resolve) x its expected costs (rules.war_cost), so the packages both
prefer to war (rules.zone_of_agreement) form the interval
[p - (1 - r_a) c_a, p + (1 - r_b) c_b] around the expected outcome p, whose
width is the sum of the two sides' (1 - resolve) x costs.

Model v3: the cost of war counted in a value of war is the casualties'
(rules.casualty_cost; ground lost is already in the expected line) over the
look-ahead, undiscounted (rules.war_cost), so the unit tests below no longer
take a discount. The engine-level test runs the whole kernel under complete
information (tests/data/validity_complete_information.yaml: fixed resolves,
so one type per side; both sides believe the true pace; no precondition;
almost no judgement noise; no public vote): with a non-empty range at the
start, a settlement must come in the first month of talks in >= 99% of runs,
and talks must open at once (hurt thresholds 0).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from validity_helpers import DATA, agreed, runs

import sim
from sim.engine import rules
from sim.engine.kernel import Kernel, instruments
from sim.engine.shocks import draw
from sim.scenario.compile import compile_scenario

N = 2001  # packages: land positions 0, 0.0005, ..., 1
STEP = 1.0 / (N - 1)
X = np.linspace(0.0, 1.0, N)
PRE2022, CLAIMED = 43_600.0, 135_800.0  # the baseline's land scale
SIGN = (-1.0, 1.0)  # ukraine side, russia side


def bargaining_range(territory, drift, lookahead, resolve, casualties, sensitivity):
    """(zone indices, expected outcome p, the two sides' (1 - resolve) x costs) through the rules."""
    expected = rules.expected_territory(territory, drift, lookahead)  # the same belief for both
    nd = rules.no_deal_point(np.array([np.nan]), [None], expected, 0.0, 0, PRE2022, CLAIMED)
    packages = X[:, None]
    values, weighted = [], []
    ideals = (1.0, 0.0)  # each side's end of the land scale
    for g in (0, 1):
        u_nd = rules.utility(nd, np.array([ideals[g]]), np.array([1.0]))
        monthly = rules.casualty_cost(casualties[g], sensitivity[g], 10_000.0)
        cost = rules.war_cost(monthly, lookahead)
        values.append(rules.war_value(u_nd, resolve[g], cost))
        weighted.append((1.0 - resolve[g]) * cost)
    u_a = rules.package_utilities(packages, np.array([1.0]), np.array([1.0]))
    u_b = rules.package_utilities(packages, np.array([0.0]), np.array([1.0]))
    zone = rules.zone_of_agreement(u_a, u_b, values[0], values[1], np.ones(N, bool))
    return np.flatnonzero(zone), float(nd[0]), weighted


def check(territory, drift, lookahead, resolve, casualties, sensitivity):
    idx, p, (k_a, k_b) = bargaining_range(territory, drift, lookahead, resolve, casualties, sensitivity)
    assert len(idx) > 0 and p - k_a >= 0.0 and p + k_b <= 1.0, "choose parameters with the range inside [0, 1]"
    assert np.all(np.diff(idx) == 1), "the bargaining range is an interval"
    low, high = X[idx[0]], X[idx[-1]]
    assert p - k_a - 1e-9 <= low < p - k_a + STEP + 1e-9
    assert p + k_b - STEP - 1e-9 < high <= p + k_b + 1e-9
    width = len(idx) * STEP  # the measure of the range: each package stands for one grid step
    assert width == pytest.approx(k_a + k_b, abs=STEP + 1e-9)  # within the grid step
    assert low - STEP < p < high + STEP  # the expected outcome of war is in the range (to the grid)
    return width, k_a + k_b, p


def test_baseline_like_bargaining_range_is_the_sum_of_costs():
    # The baseline's battlefield and costs, both sides believing the recent pace (480 km2 a month).
    width, costs, p = check(110_649.0, 480.0, 24, (0.35, 0.75), (3000.0, 3500.0), (0.011, 0.012))
    print(f"\n[fearon] baseline-like: p = {p:.4f}, width {width:.4f} = {width * (CLAIMED - PRE2022):,.0f} km2, "
          f"sum of (1 - r) x costs {costs:.4f}")


def test_no_costs_or_full_resolve_leave_only_the_expected_outcome():
    for resolve, sensitivity in (((0.35, 0.75), (0.0, 0.0)), ((1.0, 1.0), (0.011, 0.012))):
        idx, p, (k_a, k_b) = bargaining_range(110_649.0, 480.0, 24, resolve, (3000.0, 3500.0), sensitivity)
        assert k_a == k_b == 0.0
        assert len(idx) <= 1 and all(abs(X[i] - p) < 1e-12 for i in idx)  # at most the point p itself


@settings(max_examples=40, deadline=None)
@given(st.floats(60_000.0, 120_000.0), st.floats(-300.0, 900.0), st.integers(1, 36),
       st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 1.0)), st.tuples(st.floats(0.0, 6000.0), st.floats(0.0, 6000.0)),
       st.tuples(st.floats(0.0, 0.02), st.floats(0.0, 0.02)))
def test_bargaining_range_width_equals_the_sum_of_weighted_costs(territory, drift, lookahead, resolve, casualties,
                                                                  sensitivity):
    idx, p, (k_a, k_b) = bargaining_range(territory, drift, lookahead, resolve, casualties, sensitivity)
    if p - k_a < 0.0 or p + k_b > 1.0 or k_a + k_b < 2 * STEP:
        return  # clipped at an end of the scale, or narrower than the grid: nothing to measure
    check(territory, drift, lookahead, resolve, casualties, sensitivity)


COMPLETE = DATA / "validity_complete_information.yaml"
N_ENGINE = 3000


def test_complete_information_settles_in_the_first_month_of_talks():
    sc = sim.load_scenario(COMPLETE)
    c = compile_scenario(sc)
    assert (c.type_values[:, 0:1] == c.type_values).all(), "one type per side: nothing private"
    k = Kernel(c, draw(c, 7, range(200)))
    instruments(k)  # the month's instrument levels (sanctions a deal would lift count in Moscow's value of war)
    a = k.assess()
    zone = (a.both & (a.ub[0] >= a.v[0][:, None]) & (a.ub[1] >= a.v[1][:, None])).any(axis=-1)
    assert zone.all(), "the fixture must leave a non-empty bargaining range at the start"
    df = runs(sc, N_ENGINE, seed=7)
    first = (df["agreement_month"] == df["talks_month"]).to_numpy() & agreed(df)
    at_once = (df["talks_month"] == 1).mean()
    print(f"\n[fearon, engine] complete information, n = {N_ENGINE}: talks open in month 1 in {at_once:.4f} of runs; "
          f"settlement in the first month of talks in {first.mean():.4f}; P(agreement) {agreed(df).mean():.4f}")
    assert at_once >= 0.99
    assert first.mean() >= 0.99
