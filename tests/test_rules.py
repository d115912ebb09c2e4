"""Properties of the model's equations (sim/rules.py), checked with Hypothesis.

The rules are pure functions on floats or numpy arrays with an optional
leading run axis; the vector engine calls them on (R, ...) arrays and the
Mesa agents on one run's values, so a rule must give, to the bit, the same
result either way.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sim import rules

RULES = settings(max_examples=100, deadline=None)  # scalar inputs
ARRAYS = settings(max_examples=50, deadline=None)  # numpy-array inputs: each example costs more to draw

unit = st.floats(0.0, 1.0)
nonneg = st.floats(0.0, 1e6)
finite = st.floats(-1e6, 1e6)


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


# ----------------------------------------------------------------- reservation values


@RULES
@given(unit, st.floats(0.0, 0.999), nonneg, nonneg, st.floats(0.0, 5.0), st.floats(0.0, 0.5))
def test_reservation_falls_as_hurt_rises(u_nd, resolve, h1, h2, pressure, leverage):
    lo, hi = sorted((h1, h2))
    r_lo = rules.reservation(u_nd, resolve, lo, pressure, leverage)
    r_hi = rules.reservation(u_nd, resolve, hi, pressure, leverage)
    assert r_hi <= r_lo
    if (1.0 - resolve) * (hi - lo) > 1e-6:
        assert r_hi < r_lo


@RULES
@given(unit, unit, unit, nonneg, st.floats(0.0, 5.0), st.floats(0.0, 0.5))
def test_reservation_rises_with_resolve(u_nd, q1, q2, hurt, pressure, leverage):
    lo, hi = sorted((q1, q2))
    assert rules.reservation(u_nd, lo, hurt, pressure, leverage) <= rules.reservation(u_nd, hi, hurt, pressure, leverage)


@RULES
@given(unit, nonneg, st.floats(0.0, 5.0), st.floats(0.0, 0.5))
def test_full_resolve_ignores_hurt(u_nd, hurt, pressure, leverage):
    assert rules.reservation(u_nd, 1.0, hurt, pressure, leverage) == rules.reservation(u_nd, 1.0, 0.0, pressure, leverage)


# ----------------------------------------------------------------- hurt and weariness


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


@ARRAYS
@given(arrays(np.float64, 5, elements=st.floats(0.0, 0.99)), arrays(np.float64, 5, elements=st.floats(0.0, 100.0)))
def test_hurt_bounded_elementwise_on_runs(decay, cost):
    hurt = np.zeros(5)
    for _ in range(300):
        hurt = rules.update_hurt(hurt, decay, cost)
    assert np.all(hurt <= cost / (1.0 - decay) * (1 + 1e-12))


@RULES
@given(unit, nonneg, unit, st.floats(1e-3, 1e3), st.floats(0.0, 1.0), st.floats(-50.0, 50.0))
def test_weariness_stays_in_unit_interval(w, hurt, rate, half, noise, z):
    new = rules.update_weariness(w, hurt, rate, half, noise, z)
    assert 0.0 <= new <= 1.0


@RULES
@given(unit, nonneg, st.floats(0.01, 1.0), st.floats(1e-3, 1e3))
def test_weariness_without_noise_moves_toward_its_target(w, hurt, rate, half):
    target = hurt / (hurt + half)
    new = rules.update_weariness(w, hurt, rate, half, 0.0, 0.0)
    assert min(w, target) - 1e-12 <= new <= max(w, target) + 1e-12


# ----------------------------------------------------------------- ratification and acceptance


@RULES
@given(unit, unit, unit, st.floats(-0.5, 0.5), st.floats(0.0, 0.5), unit, st.floats(1e-3, 1.0))
def test_ratify_probability_is_a_monotone_probability(u1, u2, u_nd, threshold, effect, weariness, spread):
    lo, hi = sorted((u1, u2))
    p_lo = rules.ratify_probability(lo, u_nd, threshold, effect, weariness, spread)
    p_hi = rules.ratify_probability(hi, u_nd, threshold, effect, weariness, spread)
    assert 0.0 <= p_lo <= p_hi <= 1.0


@RULES
@given(unit, unit, st.floats(-1.0, 2.0), st.floats(1e-3, 1.0))
def test_accept_probability_is_a_monotone_probability(u1, u2, r, temperature):
    lo, hi = sorted((u1, u2))
    p_lo = rules.accept_probability(lo, r, temperature, True)
    p_hi = rules.accept_probability(hi, r, temperature, True)
    assert 0.0 <= p_lo <= p_hi <= 1.0
    if hi - lo > 1e-3 and 0.01 < p_lo and p_hi < 0.99:
        assert p_lo < p_hi


@ARRAYS
@given(st.integers(1, 10), st.data())
def test_accept_probability_is_zero_across_a_red_line(p, data):
    u = data.draw(vec(p))
    allowed = data.draw(arrays(np.bool_, p))
    r = data.draw(st.floats(-1.0, 2.0))
    prob = rules.accept_probability(u, r, data.draw(st.floats(1e-3, 1.0)), allowed)
    assert np.all(prob[~allowed] == 0.0)
    assert np.all(prob[allowed] >= 0.0) and np.all(prob <= 1.0)
    assert rules.accept_probability(1.0, -10.0, 0.01, False) == 0.0


# ----------------------------------------------------------------- zone of agreement


@st.composite
def bargaining(draw, runs=None):
    """Utilities of P packages to each side, reservation values and allowed packages, over R runs."""
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
def test_lower_reservations_never_shrink_the_zone(case, data):
    u_a, u_b, r_a, r_b, allowed = case
    drop_a = data.draw(arrays(np.float64, r_a.shape, elements=st.floats(0.0, 1.0)))
    drop_b = data.draw(arrays(np.float64, r_b.shape, elements=st.floats(0.0, 1.0)))
    zone = rules.zone_of_agreement(u_a, u_b, r_a, r_b, allowed)
    wider = rules.zone_of_agreement(u_a, u_b, r_a - drop_a, r_b - drop_b, allowed)
    assert zone.shape == u_a.shape
    assert np.all(wider >= zone)  # zone is a subset of wider
    assert not np.any(zone & ~allowed)
    for r_old, r_new, u in ((r_a, r_a - drop_a, u_a), (r_b, r_b - drop_b, u_b)):
        before = rules.accept_probability(u, r_old[:, None], 0.05, allowed)
        after = rules.accept_probability(u, r_new[:, None], 0.05, allowed)
        assert np.all(after >= before)


@ARRAYS
@given(bargaining())
def test_zone_is_where_both_sides_clear_their_reservation(case):
    u_a, u_b, r_a, r_b, allowed = case
    zone = rules.zone_of_agreement(u_a, u_b, r_a, r_b, allowed)
    for r in range(u_a.shape[0]):
        for i in range(u_a.shape[1]):
            assert zone[r, i] == (bool(allowed[i]) and u_a[r, i] >= r_a[r] and u_b[r, i] >= r_b[r])


@ARRAYS
@given(bargaining(), arrays(np.float64, 4, elements=unit))
def test_propose_stays_in_the_zone_or_minimises_the_largest_shortfall(case, bias):
    u_a, u_b, r_a, r_b, allowed = case
    assume(allowed.any())
    w_a, w_b = rules.nash_weights(bias[: u_a.shape[0]])
    choice, has_zone = rules.propose(u_a, u_b, r_a, r_b, w_a, w_b, allowed)
    zone = rules.zone_of_agreement(u_a, u_b, r_a, r_b, allowed)
    assert np.array_equal(has_zone, zone.any(axis=-1))
    for r in range(u_a.shape[0]):
        x = int(choice[r])
        assert allowed[x]
        if zone[r].any():
            assert zone[r, x]
        else:
            shortfall = np.maximum(r_a[r] - u_a[r], r_b[r] - u_b[r])
            assert shortfall[x] == shortfall[allowed].min()


@ARRAYS
@given(bargaining(runs=1), unit)
def test_propose_maximises_the_nash_product_in_the_zone(case, bias):
    u_a, u_b, r_a, r_b, allowed = case
    zone = rules.zone_of_agreement(u_a, u_b, r_a, r_b, allowed)[0]
    assume(zone.any())
    w_a, w_b = rules.nash_weights(bias)
    choice, has_zone = rules.propose(u_a[0], u_b[0], r_a[0], r_b[0], w_a, w_b, allowed)
    assert has_zone
    with np.errstate(invalid="ignore"):
        product = np.where(zone, (u_a[0] - r_a[0]) ** w_a * (u_b[0] - r_b[0]) ** w_b, -np.inf)
    assert product[int(choice)] >= product.max() - 1e-9


# ----------------------------------------------------------------- mediators


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
        best = max(min(acc_a[i], acc_b[i]) for i in on)
        assert lead == min(i for i in on if min(acc_a[i], acc_b[i]) == best)  # ties: first listed


def test_lead_mediator_none_active_and_none_listed():
    assert int(rules.lead_mediator(np.array([0.9, 0.8]), np.array([0.9, 0.8]), np.zeros(2))) == -1
    assert int(rules.lead_mediator(np.zeros(0), np.zeros(0), np.zeros(0))) == -1
    assert rules.lead_mediator(np.zeros((3, 0)), np.zeros((3, 0)), np.zeros((3, 0))).tolist() == [-1, -1, -1]


# ----------------------------------------------------------------- beliefs and battlefield


@RULES
@given(st.floats(0.01, 1000.0), st.floats(0.01, 1000.0))
def test_belief_mean_moves_toward_the_month_result(a, b):
    before = rules.belief_mean(a, b)
    up = rules.belief_mean(*rules.update_belief(a, b, 1.0))
    down = rules.belief_mean(*rules.update_belief(a, b, 0.0))
    assert down < before < up
    assert 0.0 < down and up < 1.0


@RULES
@given(st.floats(0.0, 5000.0), finite, st.floats(0.0, 1e4), st.floats(-10.0, 10.0))
def test_kursk_retaken_is_between_zero_and_what_is_held(kursk, mean, sd, z):
    taken = rules.kursk_retaken(kursk, mean, sd, z)
    assert 0.0 <= taken <= kursk
    assert kursk - taken >= 0.0


# ----------------------------------------------------------------- elementwise over runs


@st.composite
def run_batch(draw):
    """Inputs with a leading run axis of R runs (K issues, P packages, M mediators)."""
    r, k, p, m = draw(st.integers(1, 5)), draw(st.integers(1, 4)), draw(st.integers(1, 8)), draw(st.integers(1, 4))

    def a(shape, elements=unit):
        return draw(arrays(np.float64, shape, elements=elements))

    weights = a((r, k), st.floats(0.01, 1.0))
    return {
        "R": r,
        "x": a((r, k)), "ideal": a((r, k)), "salience": weights / weights.sum(axis=-1, keepdims=True),
        "packages": a((p, k)), "u_a": a((r, p)), "u_b": a((r, p)),
        "allowed": draw(arrays(np.bool_, p)),
        "unit": [a(r) for _ in range(4)],
        "km": [a(r, st.floats(0.0, 2e5)) for _ in range(2)],
        "change": a(r, st.floats(-5e3, 5e3)),
        "z": [a(r, st.floats(-8.0, 8.0)) for _ in range(2)],
        "pos": [a(r, st.floats(0.01, 100.0)) for _ in range(3)],
        "decay": a(r, st.floats(0.0, 0.99)),
        "gained": a(r, st.sampled_from([0.0, 1.0])),
        "res": [a(r, st.floats(-0.5, 1.5)) for _ in range(2)],
        "acc": [a((r, m)) for _ in range(2)],
        "active": a((r, m), st.sampled_from([0.0, 1.0])),
        "breaks": draw(arrays(np.bool_, (m, p))),
        "fixed": np.where(a(k) > 0.5, a((r, k)), np.nan),  # NaN columns are mapped from control
    }


def _cases(b):
    """(rule, args, which args carry the run axis) for every rule of sim.rules."""
    u, km, z, pos, res = b["unit"], b["km"], b["z"], b["pos"], b["res"]
    controls = [None if not np.isnan(f) else ("territory_km2" if i % 2 else "kursk_held_km2",
                                              np.array([0.0, 1e5, 2e5]), np.array([1.0, 0.3, 0.0]))
                for i, f in enumerate(b["fixed"][0])]
    yes = True
    return {
        "utility": (rules.utility, (b["x"], b["ideal"], b["salience"]), (yes, yes, yes)),
        "package_utilities": (rules.package_utilities, (b["packages"], b["ideal"], b["salience"]), (False, yes, yes)),
        "normal_draw": (rules.normal_draw, (b["change"], pos[0], z[0]), (yes, yes, yes)),
        "advance_territory": (rules.advance_territory, (km[0], b["change"]), (yes, yes)),
        "kursk_retaken": (rules.kursk_retaken, (km[1], b["change"], pos[0], z[0]), (yes, yes, yes, yes)),
        "casualties": (rules.casualties, (b["change"], pos[1], z[1]), (yes, yes, yes)),
        "gained_ground": (rules.gained_ground, (b["change"], -1.0), (yes, False)),
        "ground_lost": (rules.ground_lost, (b["change"], 1.0, km[1]), (yes, False, yes)),
        "update_belief": (rules.update_belief, (pos[0], pos[1], b["gained"]), (yes, yes, yes)),
        "belief_mean": (rules.belief_mean, (pos[0], pos[1]), (yes, yes)),
        "expected_territory": (rules.expected_territory, (km[0], pos[0], pos[1], -1.0, pos[2], u[0]),
                               (yes, yes, yes, False, yes, yes)),
        "no_deal_point": (rules.no_deal_point, (b["fixed"], controls, km[0], km[1]), (yes, False, yes, yes)),
        "month_cost": (rules.month_cost, (km[0], km[1], u[0], pos[0], pos[1]), (yes, yes, yes, yes, yes)),
        "update_hurt": (rules.update_hurt, (pos[0], b["decay"], pos[1]), (yes, yes, yes)),
        "precondition_holds": (rules.precondition_holds, (km[1], "<=", km[0]), (yes, False, yes)),
        "ripeness": (rules.ripeness, (pos[0], pos[1], u[0], u[1], pos[2]), (yes, yes, yes, yes, yes)),
        "update_weariness": (rules.update_weariness, (u[0], pos[0], u[1], pos[1], u[2], z[0]), (yes,) * 6),
        "public_pressure": (rules.public_pressure, (u[0], pos[0]), (yes, yes)),
        "ratify_probability": (rules.ratify_probability, (u[0], u[1], res[0], u[2], u[3], pos[0]), (yes,) * 6),
        "reservation": (rules.reservation, (u[0], u[1], pos[0], pos[1], u[2]), (yes,) * 5),
        "allowed_packages": (rules.allowed_packages, (b["active"], b["breaks"]), (yes, False)),
        "zone_of_agreement": (rules.zone_of_agreement, (b["u_a"], b["u_b"], res[0], res[1], b["allowed"]),
                              (yes, yes, yes, yes, False)),
        "acceptability": (rules.acceptability, (b["acc"][0], b["acc"][1], u[0][:, None]), (yes, yes, yes)),
        "lead_mediator": (rules.lead_mediator, (b["acc"][0], b["acc"][1], b["active"]), (yes, yes, yes)),
        "nash_weights": (rules.nash_weights, (u[0],), (yes,)),
        "propose": (rules.propose, (b["u_a"], b["u_b"], res[0], res[1], u[0], u[1], b["allowed"]), (yes,) * 6 + (False,)),
        "accept_probability": (rules.accept_probability, (b["u_a"], res[0][:, None], pos[0][:, None], b["allowed"]),
                               (yes, yes, yes, False)),
        "deal_probability": (rules.deal_probability, tuple(u), (yes,) * 4),
        "sigmoid": (rules.sigmoid, (b["change"],), (yes,)),
    }


ELEMENTWISE = [
    "utility", "package_utilities", "normal_draw", "advance_territory", "kursk_retaken", "casualties",
    "gained_ground", "ground_lost", "update_belief", "belief_mean", "expected_territory", "no_deal_point",
    "month_cost", "update_hurt", "precondition_holds", "ripeness", "update_weariness", "public_pressure",
    "ratify_probability", "reservation", "allowed_packages", "zone_of_agreement", "acceptability", "lead_mediator", "nash_weights",
    "propose", "accept_probability", "deal_probability", "sigmoid",
]


def test_every_public_rule_is_checked_elementwise():
    public = {name for name in dir(rules) if not name.startswith("_") and callable(getattr(rules, name))
              and getattr(getattr(rules, name), "__module__", None) == rules.__name__}
    assert public <= set(ELEMENTWISE), f"rules without an elementwise check: {sorted(public - set(ELEMENTWISE))}"


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


@settings(max_examples=100, deadline=None)
@given(arrays(np.bool_, (3, 7)), arrays(np.float64, 3, elements=st.sampled_from([0.0, 1.0])))
def test_allowed_packages_drop_only_packages_across_active_red_lines(breaks, active):
    ok = rules.allowed_packages(active, breaks)
    expected = ~(breaks & (active[:, None] > 0)).any(axis=0)
    assert np.array_equal(ok, expected)
    assert rules.allowed_packages(np.zeros(3), breaks).all()  # red lines switched off allow everything
    assert rules.allowed_packages(np.zeros(0), np.zeros((0, 7), bool)).all()  # no red lines
