"""Properties of the model's equations (sim/engine/rules.py, Model v2), checked with Hypothesis.

The rules are pure functions on floats or numpy arrays with an optional
leading run axis; the vector engine calls them on (R, ...) arrays and the
Mesa agents on one run's values, so a rule must give, to the bit, the same
result either way. The theory cases (Nash, Fearon, Rubinstein, ...) are in
tests/validity/.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st
from scipy.special import ndtri

from sim.engine import rules

RULES = settings(max_examples=100, deadline=None)  # scalar inputs
ARRAYS = settings(max_examples=50, deadline=None)  # numpy-array inputs: each example costs more to draw

unit = st.floats(0.0, 1.0)
nonneg = st.floats(0.0, 1e6)
finite = st.floats(-1e6, 1e6)
km = st.floats(0.0, 2e5)
resolve_lt1 = st.floats(0.0, 0.999)


def arrays(dtype, shape, elements=None):
    """Numpy arrays of a fixed shape, drawn as flat lists (quicker than hypothesis.extra.numpy)."""
    shape = (shape,) if isinstance(shape, int) else tuple(shape)
    size = int(np.prod(shape))
    elements = elements if elements is not None else st.booleans()
    return st.lists(elements, min_size=size, max_size=size).map(lambda v: np.array(v, dtype=dtype).reshape(shape))


def vec(n: int, elements=unit):
    return arrays(np.float64, n, elements=elements)


@st.composite
def preferences(draw, k=None):
    """(x, ideal, salience) over k issues: positions and ideals in [0, 1], saliences >= 0 summing to 1."""
    k = k or draw(st.integers(1, 6))
    x, ideal = draw(vec(k)), draw(vec(k))
    weights = draw(vec(k, st.floats(0.0, 1.0)))
    assume(weights.sum() > 1e-6)
    return x, ideal, weights / weights.sum()


@st.composite
def land(draw):
    """(territory, pre-2022 line, claimed area) in km2, with claimed > pre-2022."""
    pre = draw(st.floats(0.0, 1e5))
    claimed = pre + draw(st.floats(1.0, 2e5))
    territory = draw(st.floats(0.0, 4e5))
    return territory, pre, claimed


# ----------------------------------------------------------------- utility


@RULES
@given(preferences())
def test_utility_in_unit_interval(pref):
    x, ideal, salience = pref
    u = rules.utility(x, ideal, salience)
    assert np.ndim(u) == 0
    assert 0.0 <= u <= 1.0 + 1e-12


@RULES
@given(preferences())
def test_utility_is_one_at_the_ideal_and_nowhere_higher(pref):
    x, ideal, salience = pref
    at_ideal = rules.utility(ideal, ideal, salience)
    assert at_ideal == pytest.approx(1.0, abs=1e-12)
    assert rules.utility(x, ideal, salience) <= at_ideal


@RULES
@given(preferences(), st.data())
def test_utility_does_not_rise_moving_away_from_the_ideal(pref, data):
    x, ideal, salience = pref
    extra = data.draw(vec(len(x), st.floats(0.0, 1.0)))
    side = np.where(x >= ideal, 1.0, -1.0)
    further = np.clip(ideal + side * (np.abs(x - ideal) + extra), 0.0, 1.0)
    assert np.all(np.abs(further - ideal) >= np.abs(x - ideal))
    assert rules.utility(further, ideal, salience) <= rules.utility(x, ideal, salience)


@RULES
@given(preferences())
def test_utility_falls_strictly_on_a_salient_issue(pref):
    _, ideal, salience = pref
    k = int(np.argmax(salience))
    moved = ideal.copy()
    moved[k] = 1.0 if ideal[k] < 0.5 else 0.0
    assume(abs(moved[k] - ideal[k]) * salience[k] > 1e-9)
    assert rules.utility(moved, ideal, salience) < rules.utility(ideal, ideal, salience)


@ARRAYS
@given(st.integers(1, 4), st.integers(1, 8), st.data())
def test_package_utilities_are_the_utility_of_each_package(k, p, data):
    _, ideal, salience = data.draw(preferences(k))
    packages = data.draw(arrays(np.float64, (p, k), elements=unit))
    out = rules.package_utilities(packages, ideal, salience)
    assert out.shape == (p,)
    for i in range(p):
        assert out[i] == rules.utility(packages[i], ideal, salience)


# ----------------------------------------------------------------- land, relative to the line of control


@RULES
@given(land(), km)
def test_land_position_falls_as_russia_holds_more_with_no_clip(case, other):
    territory, pre, claimed = case
    lo, hi = sorted((territory, other))
    p_lo, p_hi = rules.land_position(lo, pre, claimed), rules.land_position(hi, pre, claimed)
    assert p_hi <= p_lo
    if hi > claimed:  # beyond the claimed regions the position goes on falling: no side is satiated there
        assert p_hi < 0.0
    assert rules.land_position(pre, pre, claimed) == 1.0  # the line of February 2022
    assert rules.land_position(claimed, pre, claimed) == 0.0  # Russia holds all it claims


@RULES
@given(land(), st.floats(-1.0, 1.0), st.floats(-1.0, 1.0))
def test_more_land_returned_never_lowers_the_ukraine_side_s_land_position(case, s1, s2):
    territory, pre, claimed = case
    lo, hi = sorted((s1, s2))
    packages = np.array([[0.0], [0.0]])
    pos = rules.package_positions(packages, 0, np.array([lo, hi]), territory, pre, claimed)[:, 0]
    assert pos[0] <= pos[1]
    # so, with its holder's end of the scale as ideal, land utility is monotone for each side
    u_ukraine = rules.package_utilities(pos[:, None], np.array([1.0]), np.array([1.0]), 0)
    u_russia = rules.package_utilities(pos[:, None], np.array([0.0]), np.array([1.0]), 0)
    assert u_ukraine[0] <= u_ukraine[1]
    assert u_russia[0] >= u_russia[1]


@RULES
@given(land())
def test_a_freeze_moves_no_land_and_keeps_the_line_of_the_day(case):
    territory, pre, claimed = case
    assert rules.land_moved(0.0, territory, pre, claimed) == 0.0
    pos = rules.package_positions(np.array([[0.3, 0.0]]), 1, np.array([0.0]), territory, pre, claimed)
    assert pos[0, 1] == rules.land_position(territory, pre, claimed)
    assert pos[0, 0] == 0.3  # other issues keep their fixed positions


@RULES
@given(land(), st.floats(-1.0, 1.0))
def test_land_moved_is_within_what_was_taken_and_the_rest_of_the_claim(case, share):
    territory, pre, claimed = case
    moved = rules.land_moved(share, territory, pre, claimed)
    taken, rest = max(0.0, territory - pre), max(0.0, claimed - territory)
    assert -rest <= moved <= taken
    assert np.sign(moved) in (0.0, np.sign(share))
    assert rules.land_moved(1.0, territory, pre, claimed) == taken  # all land taken since 2022 returned
    assert rules.land_moved(-1.0, territory, pre, claimed) == -rest  # the rest of the claim ceded


def test_package_positions_without_a_land_issue_are_the_packages():
    packages = np.array([[0.0, 1.0], [0.5, 0.5]])
    out = rules.package_positions(packages, -1, np.zeros(2), np.array([1e5, 2e5, 3e5]), 4e4, 1.3e5)
    assert out.shape == (3, 2, 2)
    assert np.array_equal(out[1], packages)


# ----------------------------------------------------------------- battlefield


@RULES
@given(st.floats(0.0, 5000.0), finite, st.floats(0.0, 1e4), st.floats(-10.0, 10.0))
def test_kursk_retaken_is_between_zero_and_what_is_held(kursk, mean, sd, z):
    taken = rules.kursk_retaken(kursk, mean, sd, z)
    assert 0.0 <= taken <= kursk
    assert kursk - taken >= 0.0


@RULES
@given(km, finite, nonneg, st.floats(0.0, 1e4), st.floats(-10.0, 10.0))
def test_battlefield_quantities_are_never_negative(territory, change, kursk_lost, sd, z):
    assert rules.advance_territory(territory, change) >= 0.0
    assert rules.casualties(3000.0, sd, z) >= 0.0
    for sign in (-1.0, 1.0):
        lost = rules.ground_lost(change, sign, kursk_lost)
        assert lost >= kursk_lost
        assert lost == max(0.0, -sign * change) + kursk_lost
    assert rules.normal_draw(5.0, sd, z) == 5.0 + sd * z


# ----------------------------------------------------------------- beliefs: the pace of the front


@RULES
@given(finite, st.floats(1e-8, 1e2), finite, st.floats(1e-2, 1e3))
def test_drift_belief_moves_toward_the_observation_and_grows_more_precise(mean, precision, observed, sd):
    new_mean, new_precision = rules.update_drift_belief(mean, precision, observed, sd)
    assert min(mean, observed) - 1e-9 <= new_mean <= max(mean, observed) + 1e-9
    assert abs(new_mean - observed) <= abs(mean - observed) + 1e-9
    assert new_precision > precision
    assert new_precision == pytest.approx(precision + 1.0 / sd**2, rel=1e-12)


@RULES
@given(st.floats(-2000.0, 2000.0), st.floats(-2000.0, 2000.0), st.floats(50.0, 500.0), st.floats(10.0, 300.0))
def test_drift_belief_converges_to_the_true_pace_on_a_noiseless_series(prior, true, prior_sd, noise_sd):
    mean, precision = prior, 1.0 / prior_sd**2
    gaps = []
    for _ in range(2000):
        mean, precision = rules.update_drift_belief(mean, precision, true, noise_sd)
        gaps.append(abs(mean - true))
    assert all(b <= a + 1e-9 for a, b in zip(gaps, gaps[1:], strict=False))  # never moves away
    # normal-normal closed form: the gap shrinks by prior precision / posterior precision
    expected = abs(prior - true) * (1.0 / prior_sd**2) / (1.0 / prior_sd**2 + 2000 / noise_sd**2)
    assert gaps[-1] == pytest.approx(expected, rel=1e-6, abs=1e-9)
    assert gaps[-1] <= 0.02 * abs(prior - true) + 1e-9  # 2000 months close at least 98% of the gap


@RULES
@given(finite, finite, unit, unit)
def test_credible_drift_lies_between_belief_and_the_mediator_s_reading(drift, true, trust, bias):
    for side in (0.0, 1.0):
        cred = rules.credibility(trust, bias, side)
        assert 0.0 <= cred <= trust
        heard = rules.credible_drift(drift, true, cred)
        assert min(drift, true) - 1e-6 <= heard <= max(drift, true) + 1e-6
    # Kydd (2003): advice is most credible from a mediator that shares the listener's preferences
    assert rules.credibility(trust, 0.0, 0.0) == trust
    assert rules.credibility(trust, 1.0, 1.0) == trust
    assert rules.credibility(trust, 1.0, 0.0) == 0.0


@RULES
@given(km, st.floats(-2000.0, 2000.0), st.integers(0, 60))
def test_expected_territory_extends_the_believed_drift(territory, drift, months):
    assert rules.expected_territory(territory, drift, months) == territory + drift * months


def test_no_deal_point_fixed_mapped_and_land_columns():
    fixed = np.array([0.5, np.nan, np.nan, 0.25])
    controls = [None, ("kursk_held_km2", np.array([0.0, 1000.0]), np.array([1.0, 0.0])), None, None]
    out = rules.no_deal_point(fixed, controls, 1.0e5, 250.0, 2, 4.0e4, 1.4e5)
    assert out.shape == (4,)
    assert out[0] == 0.5 and out[3] == 0.25
    assert out[1] == pytest.approx(0.75)
    assert out[2] == rules.land_position(1.0e5, 4.0e4, 1.4e5) == pytest.approx(0.4)


# ----------------------------------------------------------------- costs of war (Fearon 1995)


@RULES
@given(unit, resolve_lt1, nonneg, nonneg)
def test_war_value_falls_as_costs_rise(u, resolve, c1, c2):
    lo, hi = sorted((c1, c2))
    v_lo, v_hi = rules.war_value(u, resolve, lo), rules.war_value(u, resolve, hi)
    assert v_hi <= v_lo
    if (1.0 - resolve) * (hi - lo) > 1e-6:
        assert v_hi < v_lo


@RULES
@given(unit, unit, unit, nonneg)
def test_war_value_rises_with_resolve(u, q1, q2, cost):
    lo, hi = sorted((q1, q2))
    assert rules.war_value(u, lo, cost) <= rules.war_value(u, hi, cost)


@RULES
@given(unit, nonneg, nonneg)
def test_full_resolve_ignores_costs(u, c1, c2):
    assert rules.war_value(u, 1.0, c1) == rules.war_value(u, 1.0, c2) == u


@RULES
@given(unit, unit, resolve_lt1, nonneg)
def test_net_gain_is_war_value_less_today_s_line(u_expected, u_today, resolve, cost):
    gain = rules.net_gain_of_fighting(u_expected, u_today, resolve, cost)
    assert gain == pytest.approx(rules.war_value(u_expected, resolve, cost) - u_today, abs=1e-9)


@RULES
@given(st.floats(0.0, 100.0), unit, unit, st.integers(0, 60), st.integers(0, 60))
def test_war_cost_grows_with_the_monthly_cost_and_the_look_ahead_undiscounted(monthly, discount, extra, n1, n2):
    lo, hi = sorted((n1, n2))
    assert 0.0 <= rules.war_cost(monthly, lo) <= rules.war_cost(monthly, hi) + 1e-12
    assert rules.war_cost(monthly, hi) <= rules.war_cost(monthly + extra, hi)
    assert rules.war_cost(monthly, hi) == pytest.approx(monthly * hi, rel=1e-12)  # gains and costs on one footing


def test_no_deal_utility_is_the_utility_of_the_no_deal_point():
    rng = np.random.default_rng(3)
    fixed = np.array([[0.5, np.nan, np.nan]] * 4)
    controls = [None, ("kursk_held_km2", np.array([0.0, 500.0]), np.array([0.2, 0.8])), None]
    terr, kursk = rng.uniform(4e4, 1.5e5, 4), rng.uniform(0, 600, 4)
    ideal, sal = rng.random((4, 3)), rng.dirichlet(np.ones(3), 4)
    point = rules.no_deal_point(fixed, controls, terr, kursk, 2, 43600.0, 135800.0)
    assert np.array_equal(rules.no_deal_utility(fixed, controls, terr, kursk, 2, 43600.0, 135800.0, ideal, sal),
                          rules.utility(point, ideal, sal, 2))


@RULES
@given(st.floats(0.0, 1e5), unit, st.floats(1.0, 1e5), st.floats(0.0, 1.0))
def test_casualty_cost_counts_no_ground(cas, sens, scale, extra):
    assert rules.casualty_cost(cas, sens, scale, extra) == pytest.approx(sens * cas / scale + extra)


@RULES
@given(unit, st.floats(0.5, 0.999), st.floats(0.5, 0.999))
def test_nash_weights_favour_the_more_patient_side(bias, d1, d2):
    lo, hi = sorted((d1, d2))
    assume(hi - lo > 1e-6)
    w_a, w_b = rules.nash_weights(bias, hi, lo)  # the ukraine side more patient
    w_a0, w_b0 = rules.nash_weights(bias, lo, lo)
    assert w_a + w_b == pytest.approx(1.0)
    assert w_a >= w_a0 - 1e-12
    assert rules.nash_weights(bias, lo, lo) == pytest.approx(rules.nash_weights(bias))


@RULES
@given(unit, unit)
def test_credibility_only_to_the_side_a_mediator_leans_toward(trust, bias):
    to_ukraine, to_russia = rules.credibility(trust, bias, 0.0), rules.credibility(trust, bias, 1.0)
    assert to_ukraine == 0.0 or to_russia == 0.0  # never credible to both
    assert rules.credibility(trust, 0.5, 0.0) == 0.0 and rules.credibility(trust, 0.5, 1.0) == 0.0  # Kydd
    if bias < 0.5:
        assert to_russia == 0.0
    if bias > 0.5:
        assert to_ukraine == 0.0


@RULES
@given(arrays(np.float64, 3, elements=st.floats(0.01, 1.0)), st.floats(-1.0, 1.0), st.floats(0.01, 1.0))
def test_a_rejection_moves_the_belief_toward_types_that_ask_more(weights, u, temp):
    prior = weights / weights.sum()
    need = np.array([0.0, 0.3, 0.6])  # a type that asks more
    like = rules.type_likelihood(u, need, temp)
    post = rules.update_type_belief(prior, prior, like, False)
    assert post.sum() == pytest.approx(1.0)
    mean_before, mean_after = prior @ need, post @ need
    assert mean_after >= mean_before - 1e-9
    post_yes = rules.update_type_belief(prior, prior, like, True)
    assert post_yes @ need <= mean_before + 1e-9


@RULES
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 5.0), st.floats(-1.0, 1.0))
def test_hazard_falls_with_a_guarantee_and_rises_with_the_gain_of_fighting(base, cut, slope, gain):
    h = rules.hazard_chance(base, cut, slope, gain)
    assert 0.0 <= h <= 1.0
    assert h <= rules.hazard_chance(base, 0.0, slope, gain) + 1e-12
    assert h <= rules.hazard_chance(base, cut, slope, gain + 0.1) + 1e-12


@RULES
@given(nonneg, st.floats(0.0, 5.0), unit, unit)
def test_public_pressure_only_raises_the_cost(cost, pressure, w1, w2):
    lo, hi = sorted((w1, w2))
    assert cost <= rules.pressured_cost(cost, pressure, lo) <= rules.pressured_cost(cost, pressure, hi)
    assert rules.pressured_cost(cost, 0.0, hi) == cost


@RULES
@given(st.floats(0.0, 1e5), st.floats(-3000.0, 3000.0), st.floats(0.0, 1.0), st.floats(1.0, 1e5), st.floats(1.0, 1e5))
def test_expected_month_cost_counts_ground_only_when_the_front_moves_against_the_side(cas, drift, sens, cs, gs):
    for sign in (-1.0, 1.0):
        cost = rules.expected_month_cost(cas, drift, sign, sens, cs, gs)
        assert cost == rules.month_cost(cas, max(0.0, -sign * drift), sens, cs, gs)
        assert cost >= rules.month_cost(cas, 0.0, sens, cs, gs)


@RULES
@given(st.floats(0.0, 10.0), st.floats(0.0, 0.99), st.integers(0, 400))
def test_initial_hurt_equals_iterating_update_hurt_from_zero(cost, decay, months):
    hurt = 0.0
    for _ in range(months):
        hurt = rules.update_hurt(hurt, decay, cost)
    assert rules.initial_hurt(cost, decay, months) == pytest.approx(hurt, rel=1e-9, abs=1e-12)


@RULES
@given(st.floats(0.0, 0.99), st.floats(0.0, 100.0), st.floats(0.0, 1.0), st.integers(1, 400))
def test_hurt_stays_below_cost_over_one_minus_decay(decay, cost, start_share, months):
    bound = cost / (1.0 - decay)
    hurt = start_share * bound
    for _ in range(months):
        hurt = rules.update_hurt(hurt, decay, cost)
        assert 0.0 <= hurt <= bound * (1 + 1e-12)
    closed_form = bound + decay**months * (start_share * bound - bound)
    assert hurt == pytest.approx(closed_form, rel=1e-9, abs=1e-12)


# ----------------------------------------------------------------- ripeness (Zartman)


@RULES
@given(nonneg, nonneg, unit, unit, st.floats(0.0, 1e3), st.booleans(), st.booleans())
def test_ripeness_is_zero_without_a_stalemate_or_a_way_out(h_a, h_b, t_a, t_b, slope, stalemate, way_out):
    chance = rules.ripeness(h_a, h_b, t_a, t_b, slope, np.bool_(stalemate), np.bool_(way_out))
    assert 0.0 <= chance <= 1.0
    if not (stalemate and way_out):
        assert chance == 0.0


@RULES
@given(st.floats(0.0, 1.0), st.floats(0.0, 1.0), st.floats(0.0, 1.0), unit, unit, st.floats(0.0, 1e3))
def test_ripeness_grows_with_the_lesser_hurt(h1, h2, h_b, t_a, t_b, slope):
    lo, hi = sorted((h1, h2))
    yes = np.bool_(True)
    assert rules.ripeness(lo, h_b, t_a, t_b, slope, yes, yes) <= rules.ripeness(hi, h_b, t_a, t_b, slope, yes, yes)


@pytest.mark.parametrize("op, value, threshold, holds", [
    ("<=", 0.0, 0.0, True), ("<", 0.0, 0.0, False), (">=", 5.0, 5.0, True), (">", 5.0, 5.0, False),
    ("<=", 1.0, 0.0, False), (">", 6.0, 5.0, True),
])
def test_precondition_holds(op, value, threshold, holds):
    assert bool(rules.precondition_holds(value, op, threshold)) is holds


# ----------------------------------------------------------------- publics (Putnam 1988)


@RULES
@given(unit, nonneg, st.floats(0.0, 50.0), st.floats(0.0, 1.0), st.floats(-50.0, 50.0))
def test_weariness_stays_in_unit_interval(w, cost, rate, noise, z):
    new = rules.update_weariness(w, cost, rate, noise, z)
    assert 0.0 <= new <= 1.0


@RULES
@given(unit, st.floats(0.0, 100.0), st.floats(0.0, 50.0), st.floats(0.0, 1.0), st.floats(-50.0, 50.0))
def test_weariness_without_noise_never_falls(w, cost, rate, noise, z):
    for quiet in (rules.update_weariness(w, cost, rate, 0.0, z), rules.update_weariness(w, cost, rate, noise, 0.0)):
        assert w <= quiet <= 1.0
    assert rules.update_weariness(w, 0.0, rate, 0.0, z) == w  # no losses, no noise: it stays where it is


@RULES
@given(unit, unit, unit, nonneg, unit, st.floats(-0.5, 0.5), st.floats(-0.5, 0.5), st.floats(0.0, 0.5),
       st.floats(-0.2, 0.2), st.floats(1e-3, 1.0))
def test_ratify_probability_is_a_monotone_probability(u1, u2, u_nd, cost, w, th1, th2, effect, legit, spread):
    lo, hi = sorted((u1, u2))
    t_lo, t_hi = sorted((th1, th2))
    m = {u: rules.ratify_margin(u, u_nd, cost, w, t_lo, effect, legit) for u in (lo, hi)}
    p_lo, p_hi = rules.ratify_probability(m[lo], spread), rules.ratify_probability(m[hi], spread)
    assert 0.0 <= p_lo <= p_hi <= 1.0
    # a more hawkish public (higher threshold) is no more likely to ratify (Schelling 1960)
    hawk = rules.ratify_probability(rules.ratify_margin(hi, u_nd, cost, w, t_hi, effect, legit), spread)
    assert hawk <= p_hi
    # legitimacy lent by a preferred mediator helps
    helped = rules.ratify_margin(hi, u_nd, cost, w, t_lo, effect, legit + 0.1)
    assert helped >= m[hi]


@RULES
@given(unit, unit, unit)
def test_legitimacy_is_the_weighted_preference_above_the_mean(pref, mean, weight):
    assert rules.legitimacy(pref, mean, weight) == weight * (pref - mean)
    assert rules.legitimacy(mean, mean, weight) == 0.0


# ----------------------------------------------------------------- acceptance


@RULES
@given(unit, unit, st.floats(-1.0, 2.0), st.floats(-1.0, 2.0), st.floats(1e-3, 1.0))
def test_acceptance_probability_is_a_monotone_probability(u1, u2, d1, d2, temperature):
    lo, hi = sorted((u1, u2))
    d_lo, d_hi = sorted((d1, d2))
    p_lo = rules.acceptance_probability(lo, d_lo, temperature)
    p_hi = rules.acceptance_probability(hi, d_lo, temperature)
    assert 0.0 <= p_lo <= p_hi <= 1.0
    assert rules.acceptance_probability(hi, d_hi, temperature) <= p_hi  # a higher demand accepts less
    if hi - lo > 1e-3 and 0.01 < p_lo and p_hi < 0.99:
        assert p_lo < p_hi


@RULES
@given(unit, st.floats(-1.0, 2.0), st.floats(-8.0, 8.0), st.floats(1e-3, 1.0), st.booleans())
def test_accepts_is_deterministic_given_the_noise(u, demand, z, temperature, allowed):
    """The same proposal gets the same answer every month: the noise is a side's judgement, drawn once."""
    noise = temperature * z
    first = bool(rules.accepts(u, demand, noise, allowed))
    months = rules.accepts(np.full(120, u), demand, noise, allowed)
    assert all(bool(rules.accepts(u, demand, noise, allowed)) == first for _ in range(12))
    assert np.all(months == first)
    assert first == (allowed and u - demand + noise >= 0.0)


@RULES
@given(unit, st.floats(-0.5, 1.5), st.floats(1e-2, 1.0))
def test_acceptance_probability_is_the_chance_a_judgement_clears_the_proposal(u, demand, temperature):
    """Over the distribution of a side's judgement z ~ N(0, 1), P(accepts) = acceptance_probability."""
    n = 4000
    z = ndtri((np.arange(n) + 0.5) / n)  # the quantiles of N(0, 1)
    share = rules.accepts(u, demand, temperature * z, True).mean()
    assert share == pytest.approx(rules.acceptance_probability(u, demand, temperature), abs=1.0 / n + 1e-9)
    assert not rules.accepts(u, demand, temperature * z, False).any()  # a red line: never
    assert rules.accepts(u, demand, temperature * z, True, own=True).all()  # its own offer: always


# ----------------------------------------------------------------- red lines and the zone


@st.composite
def bargaining(draw, runs=None):
    """Utilities of P packages to each side, demands and allowed packages, over R runs."""
    r = runs or draw(st.integers(1, 4))
    p = draw(st.integers(1, 10))
    u_a = draw(arrays(np.float64, (r, p), elements=unit))
    u_b = draw(arrays(np.float64, (r, p), elements=unit))
    r_a = draw(arrays(np.float64, r, elements=st.floats(-0.5, 1.2)))
    r_b = draw(arrays(np.float64, r, elements=st.floats(-0.5, 1.2)))
    allowed = draw(arrays(np.bool_, p))
    return u_a, u_b, r_a, r_b, allowed


@ARRAYS
@given(bargaining(), st.data())
def test_lower_demands_never_shrink_the_zone(case, data):
    u_a, u_b, r_a, r_b, allowed = case
    drop_a = data.draw(arrays(np.float64, r_a.shape, elements=st.floats(0.0, 1.0)))
    drop_b = data.draw(arrays(np.float64, r_b.shape, elements=st.floats(0.0, 1.0)))
    zone = rules.zone_of_agreement(u_a, u_b, r_a, r_b, allowed)
    wider = rules.zone_of_agreement(u_a, u_b, r_a - drop_a, r_b - drop_b, allowed)
    assert zone.shape == u_a.shape
    assert np.all(wider >= zone)  # zone is a subset of wider
    assert not np.any(zone & ~allowed)
    for r_old, r_new, u in ((r_a, r_a - drop_a, u_a), (r_b, r_b - drop_b, u_b)):
        before = rules.acceptance_probability(u, r_old[:, None], 0.05)
        after = rules.acceptance_probability(u, r_new[:, None], 0.05)
        assert np.all(after >= before)


@ARRAYS
@given(bargaining())
def test_zone_is_where_both_sides_clear_their_demand(case):
    u_a, u_b, r_a, r_b, allowed = case
    zone = rules.zone_of_agreement(u_a, u_b, r_a, r_b, allowed)
    for r in range(u_a.shape[0]):
        for i in range(u_a.shape[1]):
            assert zone[r, i] == (bool(allowed[i]) and u_a[r, i] >= r_a[r] and u_b[r, i] >= r_b[r])


@settings(max_examples=100, deadline=None)
@given(arrays(np.bool_, (3, 7)), arrays(np.float64, 3, elements=st.sampled_from([0.0, 1.0])))
def test_allowed_packages_drop_only_packages_across_active_red_lines(breaks, active):
    ok = rules.allowed_packages(active, breaks)
    expected = ~(breaks & (active[:, None] > 0)).any(axis=0)
    assert np.array_equal(ok, expected)
    assert rules.allowed_packages(np.zeros(3), breaks).all()  # red lines switched off allow everything
    assert rules.allowed_packages(np.zeros(0), np.zeros((0, 7), bool)).all()  # no red lines


# ----------------------------------------------------------------- alternating offers (Rubinstein 1982)


@ARRAYS
@given(bargaining(), arrays(np.float64, 4, elements=unit), arrays(np.float64, 4, elements=unit), st.floats(0.0, 1.0))
def test_demands_are_at_least_the_outside_option_and_proposals_meet_them(case, d_a, d_b, breakdown):
    u_a, u_b, v_a, v_b, allowed = case
    n = u_a.shape[0]
    need_a, need_b, x_a, x_b = rules.demands(u_a, u_b, v_a, v_b, d_a[:n], d_b[:n], breakdown, allowed)
    assert np.all(need_a >= v_a) and np.all(need_b >= v_b)
    for r in range(n):
        for x, u_self, u_other, floor, need_other in ((x_a[r], u_a[r], u_b[r], v_a[r], need_b[r]),
                                                      (x_b[r], u_b[r], u_a[r], v_b[r], need_a[r])):
            ok = allowed & (u_other >= need_other) & (u_self >= floor)
            if x < 0:
                assert not ok.any()
            else:
                assert ok[x] and u_self[x] == u_self[ok].max()  # the best acceptable package for the proposer


# ----------------------------------------------------------------- proposals


@ARRAYS
@given(bargaining(), arrays(np.float64, 4, elements=unit), st.data())
def test_mediator_proposal_stays_in_the_zone_and_maximises_nash_and_ratification(case, bias, data):
    u_a, u_b, need_a, need_b, allowed = case
    n, p = u_a.shape
    assume(allowed.any())
    log_ratify = data.draw(arrays(np.float64, (n, p), elements=st.floats(-20.0, 0.0)))
    w_a, w_b = rules.nash_weights(bias[:n])
    choice, has_zone = rules.mediator_proposal(u_a, u_b, need_a, need_b, w_a, w_b, log_ratify, allowed)
    zone = rules.zone_of_agreement(u_a, u_b, need_a, need_b, allowed)
    assert np.array_equal(has_zone, zone.any(axis=-1))
    for r in range(n):
        x = int(choice[r])
        assert allowed[x]
        if zone[r].any():
            assert zone[r, x]
            s_a = np.maximum(u_a[r] - need_a[r], rules.TINY)
            s_b = np.maximum(u_b[r] - need_b[r], rules.TINY)
            score = w_a[r] * np.log(s_a) + w_b[r] * np.log(s_b) + log_ratify[r]
            assert score[x] >= score[zone[r]].max() - 1e-9


@ARRAYS
@given(bargaining(), st.data())
def test_government_proposal_is_allowed_and_reports_any_gain(case, data):
    u_self, u_other, need_self, need_other, allowed = case
    n, p = u_self.shape
    assume(allowed.any())
    log_ratify = data.draw(arrays(np.float64, (n, p), elements=st.floats(-20.0, 0.0)))
    temperature = data.draw(arrays(np.float64, n, elements=st.floats(1e-3, 1.0)))
    p_other = rules.acceptance_probability(u_other, need_other[:, None], temperature[:, None])
    choice, gains = rules.government_proposal(u_self, p_other, need_self, log_ratify, allowed)
    assert np.all(allowed[choice])
    gain = u_self - need_self[:, None]
    assert np.array_equal(gains, (allowed & (gain > 0.0)).any(axis=-1))
    for r in range(n):  # no package beats its demand: it states its best package, for the record
        if not gains[r]:
            assert u_self[r, choice[r]] == u_self[r, allowed].max()


@RULES
@given(st.integers(0, 60), st.sampled_from([0, 1]))
def test_proposer_cycles_mediator_first_other_or_alternates_without_one(j, first):
    with_mediator = int(rules.proposer(j, first, True))
    assert with_mediator == (2, first, 1 - first)[j % 3]
    direct = int(rules.proposer(j, first, False))
    assert direct == (first, 1 - first)[j % 2]
    assert int(rules.proposer(0, first, True)) == 2  # the mediator opens a round
    assert int(rules.proposer(0, first, False)) == first


# ----------------------------------------------------------------- mediators


@RULES
@given(unit)
def test_nash_weights_sum_to_one_and_follow_the_bias(bias):
    w_a, w_b = rules.nash_weights(bias)
    assert w_a + w_b == pytest.approx(1.0)
    assert w_a >= 0.0 and w_b >= 0.0
    assert (w_a >= w_b) == (bias <= 0.5)


@RULES
@given(unit, unit, unit)
def test_acceptability_blends_trust_and_preference(trust, preference, weight):
    acc = rules.acceptability(trust, preference, weight)
    assert min(trust, preference) - 1e-12 <= acc <= max(trust, preference) + 1e-12


@ARRAYS
@given(st.integers(1, 5), st.data())
def test_lead_mediator(m, data):
    acc_a, acc_b = data.draw(vec(m)), data.draw(vec(m))
    active = data.draw(arrays(np.float64, m, elements=st.sampled_from([0.0, 1.0])))
    lead = int(rules.lead_mediator(acc_a, acc_b, active))
    on = [i for i in range(m) if active[i] > 0]
    if not on:
        assert lead == -1
    else:
        best = max(acc_a[i] * acc_b[i] for i in on)
        assert lead == min(i for i in on if acc_a[i] * acc_b[i] == best)  # ties: first listed


def test_lead_mediator_none_active_and_none_listed():
    assert int(rules.lead_mediator(np.array([0.9, 0.8]), np.array([0.9, 0.8]), np.zeros(2))) == -1
    assert int(rules.lead_mediator(np.zeros(0), np.zeros(0), np.zeros(0))) == -1
    assert rules.lead_mediator(np.zeros((3, 0)), np.zeros((3, 0)), np.zeros((3, 0))).tolist() == [-1, -1, -1]


def test_lead_mediator_broadcasts_a_shared_active_row_with_mediators():
    """The vector engine passes ``active`` as one shared row (1, M) against per-run (R, M) acceptabilities."""
    out = rules.lead_mediator(np.zeros((3, 2)), np.ones((3, 2)), np.ones((1, 2)))
    assert out.shape == (3,)


def test_lead_mediator_broadcasts_a_shared_active_row_without_mediators():
    """With no mediator the shape still follows the runs (this crashed the vector engine before model v2)."""
    out = rules.lead_mediator(np.zeros((3, 0)), np.zeros((3, 0)), np.zeros((1, 0)))
    assert out.shape == (3,)


@ARRAYS
@given(st.integers(1, 5), st.data())
def test_draw_lead_picks_an_active_mediator_in_proportion_to_its_acceptability(m, data):
    normal = st.floats(0.0, 1.0)  # subnormal acceptabilities too: an inactive mediator is never picked
    acc_a, acc_b = data.draw(vec(m, normal)), data.draw(vec(m, normal))
    active = data.draw(arrays(np.float64, m, elements=st.sampled_from([0.0, 1.0])))
    n = 2000
    u = (np.arange(n) + 0.5) / n  # the quantiles of U(0, 1)
    picks = rules.draw_lead(np.broadcast_to(acc_a, (n, m)), np.broadcast_to(acc_b, (n, m)),
                            np.broadcast_to(active, (n, m)), u)
    assert picks.shape == (n,)
    if not (active > 0).any():
        assert np.all(picks == -1)
        return
    assert np.all(active[picks] > 0)
    score = np.where(active > 0, acc_a * acc_b, 0.0)  # each side consents independently
    weight = score / score.sum() if score.sum() > 0 else (active > 0) / (active > 0).sum()
    share = np.bincount(picks, minlength=m) / n
    np.testing.assert_allclose(share, weight, atol=2.0 / n + 1e-9)


# ----------------------------------------------------------------- elementwise over runs


@st.composite
def run_batch(draw):
    """Inputs with a leading run axis of R runs (K issues, P packages, M mediators)."""
    r, k, p, m = draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(1, 8)), draw(st.integers(1, 4))

    def a(shape, elements=unit):
        return draw(arrays(np.float64, shape, elements=elements))

    weights = a((r, k), st.floats(0.01, 1.0))
    pre = a(r, st.floats(0.0, 1e5))
    belief = a((r, 3), st.floats(0.01, 1.0))
    return {
        "R": r,
        "x": a((r, k)), "ideal": a((r, k)), "salience": weights / weights.sum(axis=-1, keepdims=True),
        "packages": a((p, k)), "share": a(p, st.floats(-1.0, 1.0)), "u_a": a((r, p)), "u_b": a((r, p)),
        "log_ratify": a((r, p), st.floats(-30.0, 0.0)),
        "allowed": draw(arrays(np.bool_, p)),
        "unit": [a(r) for _ in range(4)],
        "km": [a(r, st.floats(0.0, 2e5)) for _ in range(2)],
        "pre": pre, "claimed": pre + a(r, st.floats(1.0, 2e5)),
        "change": a(r, st.floats(-5e3, 5e3)),
        "z": [a(r, st.floats(-8.0, 8.0)) for _ in range(2)],
        "pos": [a(r, st.floats(0.01, 100.0)) for _ in range(3)],
        "decay": a(r, st.floats(0.0, 0.99)),
        "months": draw(arrays(np.int64, r, elements=st.integers(0, 60))),
        "flags": [draw(arrays(np.bool_, r)) for _ in range(2)],
        "res": [a(r, st.floats(-0.5, 1.5)) for _ in range(2)],
        "acc": [a((r, m)) for _ in range(2)],
        "active": a((r, m), st.sampled_from([0.0, 1.0])),
        "breaks": draw(arrays(np.bool_, (m, p))),
        "fixed": np.where(a(k) > 0.5, a((r, k)), np.nan),  # NaN columns are mapped from control
        "types": a((r, 3), st.floats(-0.5, 1.5)),
        "belief": belief / belief.sum(axis=-1, keepdims=True),
        "like": a((r, 3)),
    }


def _cases(b):
    """(rule, args, which args carry the run axis) for every rule of sim.engine.rules."""
    u, km, z, pos, res = b["unit"], b["km"], b["z"], b["pos"], b["res"]
    pre, claimed, months, flags = b["pre"], b["claimed"], b["months"], b["flags"]
    controls = [None if not np.isnan(f) else ("territory_km2" if i % 2 else "kursk_held_km2",
                                              np.array([0.0, 1e5, 2e5]), np.array([1.0, 0.3, 0.0]))
                for i, f in enumerate(b["fixed"][0])]
    land_issue = len(controls) - 1
    col = [x[:, None] for x in u]
    yes = True
    return {
        "land_position": (rules.land_position, (km[0], pre, claimed), (yes, yes, yes)),
        "land_moved": (rules.land_moved, (res[0], km[0], pre, claimed), (yes, yes, yes, yes)),
        "package_positions": (rules.package_positions, (b["packages"], 0, b["share"], km[0], pre, claimed),
                              (False, False, False, yes, yes, yes)),
        "update_drift_belief": (rules.update_drift_belief, (b["change"], pos[0], km[1], pos[1], pos[2]), (yes,) * 5),
        "expected_territory": (rules.expected_territory, (km[0], b["change"], months), (yes, yes, yes)),
        "credible_drift": (rules.credible_drift, (b["change"], km[1], u[0]), (yes, yes, yes)),
        "credibility": (rules.credibility, (u[0], u[1], 1.0), (yes, yes, False)),
        "no_deal_point": (rules.no_deal_point, (b["fixed"], controls, km[0], km[1], land_issue, pre, claimed),
                          (yes, False, yes, yes, False, yes, yes)),
        "month_cost": (rules.month_cost, (km[0], km[1], u[0], pos[0], pos[1]), (yes,) * 5),
        "expected_month_cost": (rules.expected_month_cost, (km[0], b["change"], -1.0, u[0], pos[0], pos[1]),
                                (yes, yes, False, yes, yes, yes)),
        "power": (rules.power, (b["decay"], months), (yes, yes)),
        "log_vote_chance": (rules.log_vote_chance, (u[0], flags[0]), (yes, yes)),
        "war_cost": (rules.war_cost, (pos[0], months), (yes, yes)),
        "casualty_cost": (rules.casualty_cost, (km[0], u[0], pos[0], u[1]), (yes,) * 4),
        "term_value": (rules.term_value, (u[0], u[1]), (yes, yes)),
        "type_likelihood": (rules.type_likelihood, (u[0], b["types"], pos[0]), (yes, yes, yes)),
        "expected_acceptance": (rules.expected_acceptance, (b["u_a"], b["types"], b["belief"], pos[0]), (yes,) * 4),
        "update_type_belief": (rules.update_type_belief, (b["belief"], b["belief"], b["like"], flags[0]), (yes,) * 4),
        "no_deal_utility": (rules.no_deal_utility, (b["fixed"], controls, km[0], km[1], land_issue, pre, claimed,
                                                    b["ideal"], b["salience"]), (yes, False, yes, yes, False, yes, yes,
                                                                                 yes, yes)),
        "expect": (rules.expect, (b["belief"], b["types"]), (yes, yes)),
        "hear_type": (rules.hear_type, (b["belief"], b["like"], u[0]), (yes, yes, yes)),
        "hazard_chance": (rules.hazard_chance, (u[0], u[1], pos[0], res[0]), (yes,) * 4),
        "pressured_cost": (rules.pressured_cost, (pos[0], pos[1], u[0]), (yes, yes, yes)),
        "war_value": (rules.war_value, (u[0], u[1], pos[0]), (yes, yes, yes)),
        "net_gain_of_fighting": (rules.net_gain_of_fighting, (u[0], u[1], u[2], pos[0]), (yes,) * 4),
        "initial_hurt": (rules.initial_hurt, (pos[0], b["decay"], months), (yes, yes, yes)),
        "update_hurt": (rules.update_hurt, (pos[0], b["decay"], pos[1]), (yes, yes, yes)),
        "precondition_holds": (rules.precondition_holds, (km[1], "<=", km[0]), (yes, False, yes)),
        "ripeness": (rules.ripeness, (pos[0], pos[1], u[0], u[1], pos[2], flags[0], flags[1]), (yes,) * 7),
        "update_weariness": (rules.update_weariness, (u[0], pos[0], u[1], u[2], z[0]), (yes,) * 5),
        "ratify_margin": (rules.ratify_margin, (b["u_a"], col[0], col[1], col[2], res[0][:, None], col[3],
                                                res[1][:, None]), (yes,) * 7),
        "ratify_probability": (rules.ratify_probability, (res[0], pos[0]), (yes, yes)),
        "legitimacy": (rules.legitimacy, (u[0], u[1], u[2]), (yes, yes, yes)),
        "allowed_packages": (rules.allowed_packages, (b["active"], b["breaks"]), (yes, False)),
        "zone_of_agreement": (rules.zone_of_agreement, (b["u_a"], b["u_b"], res[0], res[1], b["allowed"]),
                              (yes, yes, yes, yes, False)),
        "demands": (rules.demands, (b["u_a"], b["u_b"], res[0], res[1], u[0], u[1], u[2], b["allowed"]),
                    (yes,) * 7 + (False,)),
        "acceptance_probability": (rules.acceptance_probability, (b["u_a"], res[0][:, None], pos[0][:, None]),
                                   (yes, yes, yes)),
        "accepts": (rules.accepts, (b["u_a"], res[0][:, None], z[0][:, None] * 0.05, b["allowed"]),
                    (yes, yes, yes, False)),
        "mediator_proposal": (rules.mediator_proposal, (b["u_a"], b["u_b"], res[0], res[1], u[0], u[1],
                                                        b["log_ratify"], b["allowed"]), (yes,) * 7 + (False,)),
        "government_proposal": (rules.government_proposal, (b["u_a"], b["u_b"], res[0], b["log_ratify"],
                                                            b["allowed"]), (yes,) * 4 + (False,)),
        "acceptability": (rules.acceptability, (b["acc"][0], b["acc"][1], u[0][:, None]), (yes, yes, yes)),
        "lead_mediator": (rules.lead_mediator, (b["acc"][0], b["acc"][1], b["active"]), (yes, yes, yes)),
        "draw_lead": (rules.draw_lead, (b["acc"][0], b["acc"][1], b["active"], u[3]), (yes,) * 4),
        "nash_weights": (rules.nash_weights, (u[0], b["decay"], b["decay"][::-1]), (yes, yes, yes)),
        "proposer": (rules.proposer, (months, (months // 7) % 2, flags[0]), (yes, yes, yes)),
        "utility": (rules.utility, (b["x"], b["ideal"], b["salience"], 0), (yes, yes, yes, False)),
        "package_utilities": (rules.package_utilities, (b["packages"], b["ideal"], b["salience"], 0),
                              (False, yes, yes, False)),
        "normal_draw": (rules.normal_draw, (b["change"], pos[0], z[0]), (yes, yes, yes)),
        "advance_territory": (rules.advance_territory, (km[0], b["change"]), (yes, yes)),
        "kursk_retaken": (rules.kursk_retaken, (km[1], b["change"], pos[0], z[0]), (yes, yes, yes, yes)),
        "casualties": (rules.casualties, (b["change"], pos[1], z[1]), (yes, yes, yes)),
        "ground_lost": (rules.ground_lost, (b["change"], 1.0, km[1]), (yes, False, yes)),
        "sigmoid": (rules.sigmoid, (b["change"],), (yes,)),
        "stake_share": (rules.stake_share, (b["salience"], b["ideal"], b["x"]), (yes, yes, yes)),
        "package_land": (rules.package_land, (0, b["share"], km[0], pre, claimed), (False, False, yes, yes, yes)),
        "utilities_at": (_utilities_at, (b["packages"], rules.package_land(0, b["share"], km[0], pre, claimed),
                                         b["ideal"], b["salience"]), (False, yes, yes, yes)),
    }


def _utilities_at(packages, land, ideal, salience):
    """rules.utilities_at over the runs of ``ideal`` (R, K), or one run (K,): its ``n`` is the run count."""
    if np.ndim(ideal) == 1:
        return rules.utilities_at(packages, land[None], ideal[None], salience[None], 0, 1)[0]
    return rules.utilities_at(packages, land, ideal, salience, 0, len(ideal))


ELEMENTWISE = [
    "land_position", "land_moved", "package_positions", "update_drift_belief", "expected_territory",
    "credible_drift", "credibility", "no_deal_point", "month_cost", "expected_month_cost", "war_cost",
    "pressured_cost", "war_value", "net_gain_of_fighting", "initial_hurt", "update_hurt", "precondition_holds",
    "ripeness", "update_weariness", "ratify_margin", "ratify_probability", "legitimacy", "allowed_packages",
    "zone_of_agreement", "demands", "acceptance_probability", "accepts", "mediator_proposal",
    "government_proposal", "acceptability", "lead_mediator", "draw_lead", "nash_weights", "proposer", "utility",
    "package_utilities", "normal_draw", "advance_territory", "kursk_retaken", "casualties", "ground_lost",
    "sigmoid", "power", "log_vote_chance", "casualty_cost", "term_value", "type_likelihood", "expected_acceptance",
    "update_type_belief", "hear_type", "hazard_chance", "expect", "no_deal_utility", "stake_share", "package_land",
    "utilities_at",
]


@settings(max_examples=50, deadline=None)
@given(run_batch())
def test_utilities_at_is_package_utilities_of_package_positions_to_the_bit(b):
    """The kernel's shortcut (no (runs, packages, issues) positions built) gives the same numbers."""
    km, pre, claimed = b["km"], b["pre"], b["claimed"]
    land = rules.package_land(0, b["share"], km[0], pre, claimed)
    fast = rules.utilities_at(b["packages"], land, b["ideal"], b["salience"], 0, b["R"])
    slow = rules.package_utilities(rules.package_positions(b["packages"], 0, b["share"], km[0], pre, claimed),
                                   b["ideal"], b["salience"], 0)
    assert np.array_equal(fast, slow)


def test_stake_share_is_one_when_every_issue_is_disputed_end_to_end():
    """The public's bar is unchanged (exactly) on the baseline's issues, and an agreed issue's weight comes off."""
    sal = np.array([0.3, 0.5, 0.2])
    assert rules.stake_share(sal, np.array([1.0, 1.0, 1.0]), np.array([0.0, 0.0, 0.0])) == 1.0
    assert rules.stake_share(sal, np.array([1.0, 1.0, 0.5]), np.array([0.0, 0.0, 0.5])) == pytest.approx(0.8)
    assert rules.stake_share(sal, np.array([1.0, 1.0, 1.0]), np.array([0.0, 0.0, 0.5])) == pytest.approx(0.9)


def test_power_is_the_same_bits_for_a_scalar_and_an_array():
    """numpy's ** rounds a scalar and an array differently (about 5% of cases); rules.power must not."""
    rng = np.random.default_rng(0)
    base, exponent = rng.random(20_000), rng.integers(0, 400, 20_000).astype(float)
    together = rules.power(base, exponent)
    alone = np.array([rules.power(np.float64(b), np.float64(e)) for b, e in zip(base, exponent, strict=True)])
    assert np.array_equal(together, alone)
    np.testing.assert_allclose(together, base**exponent, rtol=1e-12, atol=1e-300)
    assert rules.power(0.0, 0.0) == 1.0 and rules.power(0.0, 3.0) == 0.0


def test_every_public_rule_is_checked_elementwise():
    public = {name for name in dir(rules) if not name.startswith("_") and callable(getattr(rules, name))
              and getattr(getattr(rules, name), "__module__", None) == rules.__name__}
    assert public <= set(ELEMENTWISE), f"rules without an elementwise check: {sorted(public - set(ELEMENTWISE))}"
    assert set(ELEMENTWISE) <= public, f"checks of rules that no longer exist: {sorted(set(ELEMENTWISE) - public)}"


def _same(batch, single) -> bool:
    if isinstance(batch, tuple):
        return len(batch) == len(single) and all(_same(x, y) for x, y in zip(batch, single, strict=True))
    single = np.asarray(single)
    return batch.dtype == single.dtype and np.array_equal(batch, single, equal_nan=True)


@settings(max_examples=50, deadline=None)
@given(run_batch())
def test_rules_on_runs_equal_rules_on_each_run(batch):
    cases = _cases(batch)
    assert sorted(cases) == sorted(ELEMENTWISE)
    failures = []
    for name in ELEMENTWISE:
        rule, args, per_run = cases[name]
        together = rule(*args)
        parts = together if isinstance(together, tuple) else (together,)
        if any(np.shape(part)[:1] != (batch["R"],) for part in parts):
            failures.append(f"{name} lost the run axis: shapes {[np.shape(p) for p in parts]}")
            continue
        for r in range(batch["R"]):
            alone = rule(*[arg[r] if run else arg for arg, run in zip(args, per_run, strict=True)])
            one = tuple(np.asarray(p)[r] for p in parts) if isinstance(together, tuple) else np.asarray(together)[r]
            if not _same(one, alone):
                failures.append(f"{name}: run {r} gives {alone!r} alone, {one!r} in the batch")
    assert not failures, "\n".join(failures)
