"""Every equation of the model, as pure functions.

Each function works elementwise on floats or numpy arrays. The vector engine
passes arrays with a leading run axis (R, ...); the Mesa agents pass the
same arrays without it. No state, no randomness: random draws come in as
arguments (``z`` standard normals, ``u`` uniforms) from ``sim.shocks``.

Sums over issues are written as explicit loops over the issue axis, so the
two engines add the same numbers in the same order and agree to the bit.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, ndtr

TINY = 1e-12  # floor of a surplus inside the log of the Nash product


def _col(x):
    """Add a trailing axis, for broadcasting a per-run value against packages."""
    return np.asarray(x)[..., None]


def sigmoid(x):
    """Logistic function 1 / (1 + exp(-x))."""
    return expit(x)


# ----------------------------------------------------------------- preferences


def utility(x, ideal, salience):
    """Linear additive utility U = sum_k s_k (1 - |x_k - ideal_k|), in [0, 1].

    The additive utility of NegMAS/GENIUS linear utility functions and of
    KTAB's spatial model. ``x``, ``ideal`` and ``salience`` broadcast against
    each other; the last axis is the issue axis. Saliences sum to 1.
    """
    total = salience[..., 0] * (1.0 - np.abs(x[..., 0] - ideal[..., 0]))
    for k in range(1, np.shape(x)[-1]):
        total = total + salience[..., k] * (1.0 - np.abs(x[..., k] - ideal[..., k]))
    return total


def package_utilities(packages, ideal, salience):
    """Utility of every package (P, K) for one actor: shape (..., P)."""
    return utility(packages, _col_issue(ideal), _col_issue(salience))


def _col_issue(a):
    a = np.asarray(a)
    return a[..., None, :]


# ----------------------------------------------------------------- battlefield


def normal_draw(mean, sd, z):
    """A normal variate from a pre-drawn standard normal: mean + sd * z."""
    return mean + sd * z


def advance_territory(territory, change):
    """Territory held by Russia after a month's change (km2), floored at 0."""
    return np.maximum(0.0, territory + change)


def kursk_retaken(kursk, mean, sd, z):
    """Km2 of the Ukraine-held Kursk area retaken this month: max(0, N(mu_k, sigma_k)), at most what is held."""
    return np.minimum(kursk, np.maximum(0.0, normal_draw(mean, sd, z)))


def casualties(mean, sd, z):
    """Casualties of one side in a month, N(mean, sd) floored at 0."""
    return np.maximum(0.0, normal_draw(mean, sd, z))


def gained_ground(change, sign):
    """1.0 if a side gained ground this month, else 0.0.

    ``sign`` is +1 for the side whose gains raise the territory Russia holds
    (russia), -1 for the other (ukraine).
    """
    return (sign * change > 0.0) * 1.0


def ground_lost(change, sign, kursk_lost):
    """Km2 a side lost this month: the front moving against it, plus Kursk for the ukraine side."""
    return np.maximum(0.0, -sign * change) + kursk_lost


# ----------------------------------------------------------------- beliefs


def update_belief(a, b, gained):
    """Bayesian Beta(a, b) update from one month's result (Slantchev 2003; Powell 2004)."""
    return a + gained, b + (1.0 - gained)


def belief_mean(a, b):
    """Believed chance of gaining ground in a month: a / (a + b)."""
    return a / (a + b)


def expected_territory(territory, a, b, sign, step, lookahead):
    """Territory a side expects Russia to hold after ``lookahead`` months of fighting on.

    Its belief p of gaining ground moves the line by (2p - 1) * step km2 a
    month in its favour: optimism on both sides is a gap between the two
    expectations (mutual optimism).
    """
    return territory + sign * (2.0 * belief_mean(a, b) - 1.0) * step * lookahead


def no_deal_point(fixed, controls, territory_expected, kursk):
    """Each issue's position if fighting goes on: fixed, or mapped from control.

    ``fixed`` (..., K) holds the fixed no-deal positions (NaN where an issue
    is mapped); ``controls[k]`` is None or (variable, km2 points, positions)
    for piecewise-linear interpolation of the expected control on the ground.
    """
    cols = []
    for k, ctl in enumerate(controls):
        if ctl is None:
            cols.append(np.asarray(fixed)[..., k])
        else:
            variable, xs, ys = ctl
            ground = territory_expected if variable == "territory_km2" else kursk
            cols.append(np.interp(ground, xs, ys))
    return np.stack(np.broadcast_arrays(*cols), axis=-1)


# ----------------------------------------------------------------- hurt and ripeness


def month_cost(casualties, lost_km2, sensitivity, casualty_scale, ground_scale):
    """Cost of a month to a side: sensitivity * (casualties/scale + ground lost/scale)."""
    return sensitivity * (casualties / casualty_scale + lost_km2 / ground_scale)


def update_hurt(hurt, decay, cost):
    """Hurt H <- lambda * H + cost (Zartman's hurting stalemate); bounded by cost/(1-lambda)."""
    return decay * hurt + cost


def precondition_holds(value, op, threshold):
    """A precondition on a state variable (e.g. Kursk area held <= 0)."""
    if op == "<=":
        return value <= threshold
    if op == "<":
        return value < threshold
    if op == ">=":
        return value >= threshold
    return value > threshold


def ripeness(hurt_a, hurt_b, threshold_a, threshold_b, slope):
    """Chance that talks open this month: sigmoid(k * min_i(H_i - h_i)) (Zartman)."""
    return sigmoid(slope * np.minimum(hurt_a - threshold_a, hurt_b - threshold_b))


# ----------------------------------------------------------------- publics


def update_weariness(w, hurt, rate, half, noise, z):
    """War-weariness drifts toward H/(H + half) at ``rate`` a month, plus noise, kept in [0, 1]."""
    return np.clip(w + rate * (hurt / (hurt + half) - w) + noise * z, 0.0, 1.0)


def public_pressure(weariness, weight):
    """Pressure to settle a public puts on its government (Putnam 1988)."""
    return weight * weariness


def ratify_probability(u_deal, u_no_deal, threshold, weariness_effect, weariness, spread):
    """P(ratify) = Phi((U(x) - U(no deal) - tau) / sigma); weariness lowers tau."""
    return ndtr((u_deal - u_no_deal - (threshold - weariness_effect * weariness)) / spread)


# ----------------------------------------------------------------- reservation values


def reservation(u_no_deal, resolve, hurt, pressure, leverage):
    """R = U(expected outcome of fighting on) - (1 - resolve) * H * (1 + pressure) - leverage."""
    return u_no_deal - (1.0 - resolve) * hurt * (1.0 + pressure) - leverage


def allowed_packages(active, breaks):
    """Packages that break none of a government's active red lines.

    ``active`` (..., L) holds 1 for a red line in force; ``breaks`` (L, P) is
    True where package p crosses red line l. Returns (..., P) booleans.
    """
    crossed = (np.asarray(active)[..., :, None] > 0.0) & breaks
    return ~crossed.any(axis=-2)


def zone_of_agreement(u_a, u_b, r_a, r_b, allowed):
    """Packages every government prefers to no deal and that break no red line."""
    return allowed & (u_a >= _col(r_a)) & (u_b >= _col(r_b))


# ----------------------------------------------------------------- mediators


def acceptability(trust, preference, weight):
    """A side's acceptability of a mediator: trust blended with its public's preference."""
    return (1.0 - weight) * trust + weight * preference


def lead_mediator(acc_a, acc_b, active):
    """Index of the active mediator most acceptable to both (max of the min); -1 if none.

    Ties go to the mediator listed first in the scenario.
    """
    if np.shape(active)[-1] == 0:
        return np.full(np.shape(active)[:-1], -1)
    score = np.where(active > 0.0, np.minimum(acc_a, acc_b), -np.inf)
    return np.where((active > 0.0).any(axis=-1), score.argmax(axis=-1), -1)


def nash_weights(bias):
    """Weights of the asymmetric Nash product from a mediator's bias (Kydd 2003)."""
    return 1.0 - bias, bias


def propose(u_a, u_b, r_a, r_b, w_a, w_b, allowed):
    """The mediator's proposal: (package index, whether the zone of agreement is non-empty).

    In the zone, the package maximising prod_i (U_i - R_i)^w_i; with an
    empty zone, the allowed package with the smallest largest shortfall.
    """
    s_a, s_b = u_a - _col(r_a), u_b - _col(r_b)
    zone = zone_of_agreement(u_a, u_b, r_a, r_b, allowed)
    nash = _col(w_a) * np.log(np.maximum(s_a, TINY)) + _col(w_b) * np.log(np.maximum(s_b, TINY))
    score = np.where(zone, nash, -np.inf)
    shortfall = np.where(allowed, np.maximum(-s_a, -s_b), np.inf)
    has_zone = zone.any(axis=-1)
    return np.where(has_zone, score.argmax(axis=-1), shortfall.argmin(axis=-1)), has_zone


# ----------------------------------------------------------------- acceptance


def accept_probability(u, r, temperature, allowed):
    """P(accept) = sigmoid((U(x) - R) / temperature); 0 for a package across a red line."""
    return np.where(allowed, sigmoid((u - r) / temperature), 0.0)


def deal_probability(p_accept_a, p_accept_b, p_ratify_a, p_ratify_b):
    """Chance a proposal becomes a ratified agreement this month."""
    return p_accept_a * p_accept_b * p_ratify_a * p_ratify_b
