"""Every equation of the model, as pure functions.

Each function works elementwise on floats or numpy arrays. The engine's
kernel (:mod:`sim.engine.kernel`) passes arrays with a leading run axis
(R, ...), R = 1 for the Mesa model. No state, no randomness: random draws
come in as arguments (``z`` standard normals, ``u`` uniforms) from
``sim.engine.shocks``.

Sums over issues are written as explicit loops over the issue axis, so every
caller adds the same numbers in the same order and agrees to the bit.

Sources of the equations (docs/model.md gives the whole model):

- Fearon (1995), *Rationalist explanations for war*: the value of fighting
  on is the expected outcome less the expected costs; the bargaining range
  is as wide as the sum of the two sides' costs.
- Rubinstein (1982) and Binmore, Rubinstein & Wolinsky (1986): alternating
  offers, where a responder demands what waiting for its own proposal is
  worth, discounted and at the risk of breakdown.
- Nash (1950) and its asymmetric form (Kalai 1977): the mediator's proposal.
- Putnam (1988): a deal must also pass the level-II ratification.
- Schelling (1960): a hawkish ratifier moves the terms toward its side.
- Kydd (2003): a mediator's advice is credible to a side in proportion to
  how much the mediator shares that side's preferences.
- Zartman (2000): ripeness is a mutually hurting stalemate plus a way out.
- Slantchev (2003): fighting reveals the balance of forces; beliefs about
  the front's pace converge and mutual optimism closes.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, ndtr

from sim.engine.lastaxis import SMALL, last_any, last_max, last_sum

TINY = 1e-12  # floor of a surplus or a probability inside a log


def power(base, exponent):
    """base ** exponent for base >= 0, computed as exp(exponent * log(base)) (1 where exponent is 0).

    numpy's ``**`` and ``np.power`` round differently for a scalar than for an
    array (a scalar C pow against a vectorised loop); ``exp`` and ``log`` give
    the same bits either way. It was written so that the two engines that
    preceded the kernel agreed to the bit, and stays: the oracle
    (``tests/data/oracle/``) holds its bits.
    """
    base, exponent = np.asarray(base, float), np.asarray(exponent, float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.exp(exponent * np.log(base))
    return np.where(exponent == 0.0, 1.0, out)


def _col(x):
    """Add a trailing axis, for broadcasting a per-run value against packages."""
    return np.asarray(x)[..., None]


def sigmoid(x):
    """Logistic function 1 / (1 + exp(-x))."""
    return expit(x)


# ----------------------------------------------------------------- preferences


def term_value(x, ideal, land=False):
    """One issue's term of the utility: 1 - |x - ideal| on a position issue; on the land issue, linear.

    The land position is not clipped at either end of its scale (the line can
    pass the claimed regions), so its term is linear in it: ``x`` for the side
    whose ideal is 1 (the ukraine side), ``1 - x`` for the side whose ideal is
    0: more land is always better for its holder, with no kink and no
    satiation at the claimed line.
    """
    if land:
        return ideal * x + (1.0 - ideal) * (1.0 - x)
    return 1.0 - np.abs(x - ideal)


def utility(x, ideal, salience, land_issue=-1):
    """Additive utility U = sum_k s_k v_k(x_k), with v_k of :func:`term_value` (about [0, 1]).

    The additive utility of NegMAS/GENIUS linear utility functions and of
    KTAB's spatial model. ``x``, ``ideal`` and ``salience`` broadcast against
    each other; the last axis is the issue axis. Saliences sum to 1.
    ``land_issue`` is the column of the land issue (-1: none).
    """
    total = salience[..., 0] * term_value(x[..., 0], ideal[..., 0], land_issue == 0)
    for k in range(1, np.shape(x)[-1]):
        total = total + salience[..., k] * term_value(x[..., k], ideal[..., k], land_issue == k)
    return total


def package_utilities(packages, ideal, salience, land_issue=-1):
    """Utility of every package (..., P, K) for one actor: shape (..., P)."""
    return utility(packages, _col_issue(ideal), _col_issue(salience), land_issue)


def _col_issue(a):
    a = np.asarray(a)
    return a[..., None, :]


# ----------------------------------------------------------------- land, relative to the line of control


def land_position(territory, pre2022, claimed):
    """Position of a line of control on the land scale: (claimed - T) / (claimed - pre-2022 line).

    1 is the line of February 2022 (all land taken since returned), 0 is
    Russia holding every region it claims. Not clipped: a line beyond the
    claimed regions is below 0, so the value of land is monotone (no side is
    satiated at the claimed line; Powell's shifting power keeps its sign).
    """
    return (claimed - territory) / (claimed - pre2022)


def land_moved(share, territory, pre2022, claimed):
    """Km2 that change hands under a land term, relative to the line at the time of agreement.

    ``share`` >= 0 returns that share of the land taken since 2022 to the
    ukraine side; ``share`` < 0 cedes that share of the rest of the claimed
    regions to the russia side (a negative number of km2). A freeze (0) moves
    nothing.
    """
    taken = np.maximum(0.0, territory - pre2022)
    rest = np.maximum(0.0, claimed - territory)
    return np.where(share >= 0.0, share * taken, share * rest)


def package_positions(packages, land_issue, land_share, territory, pre2022, claimed):
    """Positions (..., P, K) of every package at today's line: the land column follows the line.

    ``land_issue`` is the column of the land issue (-1: none); ``land_share``
    (P,) the share of each package's land term.
    """
    packages = np.asarray(packages)
    if land_issue < 0:
        return np.broadcast_to(packages, (*np.shape(territory), *packages.shape))
    t = _col(territory)
    moved = land_moved(land_share, t, _col(pre2022), _col(claimed))
    pos = land_position(t - moved, _col(pre2022), _col(claimed))
    out = np.broadcast_to(packages, (*np.shape(pos)[:-1], *packages.shape)).copy()
    out[..., land_issue] = pos
    return out


def package_land(land_issue, land_share, territory, pre2022, claimed):
    """The land column of :func:`package_positions` (..., P): each package's land position at today's line (None
    without a land issue)."""
    if land_issue < 0:
        return None
    if np.ndim(territory) == 1 and np.ndim(land_share) == 1 and np.ndim(pre2022) == np.ndim(claimed) == 1:
        # n runs: the same operations on the transposed (P, n) array, whose rows are long (numpy works an (n, P)
        # array against an (n, 1) operand P numbers at a time)
        share = np.asarray(land_share)[:, None]
        moved = land_moved(share, territory, pre2022, claimed)
        return np.ascontiguousarray(land_position(territory - moved, pre2022, claimed).T)
    t = _col(territory)
    moved = land_moved(land_share, t, _col(pre2022), _col(claimed))
    return land_position(t - moved, _col(pre2022), _col(claimed))


def utilities_at(packages, land, ideal, salience, land_issue, n):
    """``package_utilities(package_positions(...), ideal, salience, land_issue)`` of n runs, (n, P), without
    building the positions: an issue's column is the packages' own, shared by every run, but the land issue's
    (``land``, (n, P), of :func:`package_land`). The same terms, added in issue order: the same numbers."""
    if np.ndim(ideal) == np.ndim(salience) == 2 and (land is None or np.ndim(land) == 2):
        return _utilities_rows(packages, land, ideal, salience, land_issue, n)
    ideal, salience = _col_issue(ideal), _col_issue(salience)
    total = None
    for k in range(np.shape(packages)[-1]):
        x = land if k == land_issue else packages[:, k]
        term = salience[..., k] * term_value(x, ideal[..., k], land_issue == k)
        total = term if total is None else total + term
    shape = (n, np.shape(packages)[0])
    return total if np.shape(total) == shape else np.broadcast_to(total, shape).copy()


def _utilities_rows(packages, land, ideal, salience, land_issue, n):
    """:func:`utilities_at` of n runs (``ideal``, ``salience``: (n or 1, K)): the same terms, added in issue order,
    on the transposed (P, n) array, whose rows are long (numpy works an (n, P) array against an (n, 1) operand P
    numbers at a time)."""
    total = None
    for k in range(np.shape(packages)[-1]):
        x = land.T if k == land_issue else packages[:, k, None]
        term = salience[:, k] * term_value(x, ideal[:, k], land_issue == k)
        total = term if total is None else total + term
    shape = (np.shape(packages)[0], n)
    return np.ascontiguousarray((total if np.shape(total) == shape else np.broadcast_to(total, shape)).T)


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


def ground_lost(change, sign, kursk_lost):
    """Km2 a side lost this month: the front moving against it, plus Kursk for the ukraine side.

    ``sign`` is +1 for the side whose gains raise the territory Russia holds
    (russia), -1 for the other (ukraine).
    """
    return np.maximum(0.0, -sign * change) + kursk_lost


# ----------------------------------------------------------------- beliefs: the pace of the front


def update_drift_belief(mean, precision, observed, noise_sd, process_sd=0.0):
    """Normal-normal update of a belief about the front's monthly drift (km2 a month to Russia).

    The belief first widens by the process noise (the pace itself may change
    from month to month by ``process_sd``: a Kalman filter's predict step),
    then the month's change, drift + noise with known sd, adds 1/sd^2 to the
    precision and moves the mean toward the observation by the observation's
    share of the precision (Slantchev 2003: fighting reveals the balance of
    forces, so two priors that start apart converge; with process noise the
    precision stays bounded and beliefs follow a front that turns).
    """
    sd = np.maximum(noise_sd, 1e-9)
    obs_precision = 1.0 / (sd * sd)
    prior = 1.0 / (1.0 / precision + process_sd * process_sd)
    new_precision = prior + obs_precision
    return mean + (observed - mean) * (obs_precision / new_precision), new_precision


def expected_territory(territory, drift, lookahead):
    """Territory a side expects Russia to hold after ``lookahead`` months at its believed drift."""
    return territory + drift * lookahead


def credible_drift(drift, true_drift, credibility):
    """A side's believed drift after hearing a mediator: moved toward the mediator's (true) reading.

    Kydd (2003): advice is credible only from a mediator who shares the
    listener's preferences, so ``credibility`` = trust x closeness (see
    :func:`credibility`).
    """
    return (1.0 - credibility) * drift + credibility * true_drift


def credibility(trust, bias, side):
    """How far a side believes a mediator's report: trust x max(0, 2 x lean - 1), lean its lean toward that side.

    Kydd (2003): a mediator's advice is credible to a side only if the
    mediator leans toward it (it would rather that side did well, so a
    warning to settle is costly to give); a purely peace-seeking mediator
    (bias 0.5) has an incentive to exaggerate each side's resolve to the other
    and is credible to neither. ``side`` is 0 for the ukraine side and 1 for
    the russia side; ``bias`` is 0 for a mediator leaning fully to the ukraine
    side, 1 to the russia side.
    """
    lean = side * bias + (1.0 - side) * (1.0 - bias)
    return trust * np.maximum(0.0, 2.0 * lean - 1.0)


def no_deal_point(fixed, controls, territory_expected, kursk, land_issue, pre2022, claimed):
    """Each issue's position if fighting goes on: fixed, mapped from control, or the land position.

    ``fixed`` (..., K) holds the fixed no-deal positions (NaN where mapped);
    ``controls[k]`` is None or (variable, km2 points, positions) for a
    piecewise-linear map; the land issue takes the expected line of control.
    """
    cols = []
    for k, ctl in enumerate(controls):
        if k == land_issue:
            cols.append(land_position(territory_expected, pre2022, claimed))
        elif ctl is None:
            cols.append(np.asarray(fixed)[..., k])
        else:
            variable, xs, ys = ctl
            ground = territory_expected if variable == "territory_km2" else kursk
            cols.append(np.interp(ground, xs, ys))
    return np.stack(np.broadcast_arrays(*cols), axis=-1)


def no_deal_utility(fixed, controls, territory_expected, kursk, land_issue, pre2022, claimed, ideal, salience):
    """Utility of the no-deal point (:func:`no_deal_point`) for one actor, its terms added in issue order:
    the same number as ``utility(no_deal_point(...), ideal, salience, land_issue)``, without building the point.

    The fixed positions' terms are worked out for every issue at once (the same operations, elementwise: a few
    calls, not a few per issue), the land issue's and the mapped issues' terms apart, and added in issue order."""
    fixed_terms = salience * term_value(np.asarray(fixed, float), ideal)  # NaN where mapped: replaced below
    moving = {}
    for k, ctl in enumerate(controls):
        if k == land_issue:
            x = land_position(territory_expected, pre2022, claimed)
        elif ctl is None:
            continue
        else:
            variable, xs, ys = ctl
            x = np.interp(territory_expected if variable == "territory_km2" else kursk, xs, ys)
        moving[k] = salience[..., k] * term_value(x, ideal[..., k], k == land_issue)
    total = None
    for k in range(len(controls)):
        term = moving[k] if k in moving else fixed_terms[..., k]
        total = term if total is None else total + term
    return total


# ----------------------------------------------------------------- costs of war (Fearon 1995)


def month_cost(casualties, lost_km2, sensitivity, casualty_scale, ground_scale):
    """Felt cost of a month to a side: sensitivity * (casualties/scale + ground lost/scale) (hurt, weariness)."""
    return sensitivity * (casualties / casualty_scale + lost_km2 / ground_scale)


def expected_month_cost(casualty_mean, drift, sign, sensitivity, casualty_scale, ground_scale):
    """Felt cost a side expects from a month of fighting at its believed drift (the hurt the war so far left)."""
    return month_cost(casualty_mean, np.maximum(0.0, -sign * drift), sensitivity, casualty_scale, ground_scale)


def casualty_cost(casualty_mean, sensitivity, casualty_scale, extra=0.0):
    """The monthly cost of fighting on that a value of war counts: casualties (and ``extra``, e.g. sanctions).

    Ground lost is *not* in it: the value of war already counts the land in
    the expected line of control, so counting it again as a cost would count
    it twice.
    """
    return sensitivity * casualty_mean / casualty_scale + extra


def war_cost(monthly_cost, lookahead):
    """Expected cost of fighting on over the look-ahead: monthly cost x months.

    Not discounted, like the land the same months are expected to bring (the
    expected line at the end of the look-ahead): gains and costs of fighting
    are counted on the same footing, and a side's bargaining patience
    (``discount``) stays out of its value of war (Fearon 1995's p - c).
    """
    return monthly_cost * lookahead


def pressured_cost(cost, pressure, weariness):
    """The cost of fighting on as a government weighs it: raised by its public's weariness (Putnam 1988)."""
    return cost * (1.0 + pressure * weariness)


def war_value(u_expected, resolve, cost):
    """Value of fighting on (Fearon 1995): U(expected outcome) - (1 - resolve) * expected costs."""
    return u_expected - (1.0 - resolve) * cost


def net_gain_of_fighting(u_expected, u_today, resolve, cost):
    """What a side expects to gain by fighting on rather than freezing today's line (a ceasefire's test)."""
    return u_expected - u_today - (1.0 - resolve) * cost


def initial_hurt(monthly_cost, decay, war_months):
    """Hurt at the start month: what ``war_months`` months of the current pace leave, sum of decay^t."""
    return monthly_cost * (1.0 - power(decay, war_months)) / (1.0 - decay)


def update_hurt(hurt, decay, cost):
    """Hurt H <- lambda * H + cost (Zartman's hurting stalemate); bounded by cost/(1-lambda)."""
    return decay * hurt + cost


# ----------------------------------------------------------------- ripeness (Zartman)


def precondition_holds(value, op, threshold):
    """A precondition on a state variable (e.g. Kursk area held <= 0)."""
    if op == "<=":
        return value <= threshold
    if op == "<":
        return value < threshold
    if op == ">=":
        return value >= threshold
    return value > threshold


def ripeness(hurt_a, hurt_b, threshold_a, threshold_b, slope, stalemate, way_out):
    """Chance that talks open this month (Zartman 2000).

    Zero unless the stalemate hurts both sides (neither expects a net gain
    from fighting on) and a way out is seen (a zone of agreement exists given
    each side's beliefs); then sigmoid(k * min_i(H_i - h_i)), where past hurt
    H_i is how keenly the stalemate is felt.
    """
    felt = sigmoid(slope * np.minimum(hurt_a - threshold_a, hurt_b - threshold_b))
    return np.where(stalemate & way_out, felt, 0.0)


# ----------------------------------------------------------------- publics (Putnam 1988)


def update_weariness(w, cost, rate, noise, z):
    """War-weariness accumulates with losses: w + rate * cost * (1 - w) + noise, kept in [0, 1].

    It starts at the scenario's stated level and never washes back toward a
    fixed point; only noise (polls move) takes it down.
    """
    return np.clip(w + rate * cost * (1.0 - w) + noise * z, 0.0, 1.0)


def ratify_margin(u_deal, u_no_deal, war_cost, weariness, threshold, weariness_effect, legitimacy):
    """How far a deal clears the public's bar (before its mood of the round).

    The public compares the deal with fighting on as its weariness sees it
    (costs counted in proportion to weariness), less a threshold tau (a
    hawkish public has a high tau) that weariness lowers, plus the
    legitimacy its preferred mediator lends.
    """
    return u_deal - (u_no_deal - weariness * war_cost) - (threshold - weariness_effect * weariness) + legitimacy


def stake_share(salience, ideal_a, ideal_b):
    """The share of a side's utility scale in dispute: 1 - sum_k s_k (1 - |ideal_a,k - ideal_b,k|) (positions in [0, 1]).

    An issue on which both governments have the same ideal only dilutes the others (saliences sum to 1), so a
    public's bar, in utility units, is scaled by this share; with every issue fully disputed it is exactly 1.
    """
    return 1.0 - (salience * (1.0 - np.abs(ideal_a - ideal_b))).sum(axis=-1)


def log_vote_chance(probability, votes):
    """A public's term in the log-chance that a package is ratified: log P(ratify) if it votes, else 0."""
    return np.where(votes, np.log(np.maximum(probability, TINY)), 0.0)


def ratify_probability(margin, spread):
    """P(ratify) = Phi(margin / sigma): the chance the public's mood of the round clears the bar."""
    return ndtr(margin / spread)


def legitimacy(preference, preference_mean, weight):
    """Legitimacy a lead mediator lends at ratification: weight x (its preference - the mean preference)."""
    return weight * (preference - preference_mean)


# ----------------------------------------------------------------- red lines and the zone


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


# ----------------------------------------------------------------- alternating offers (Rubinstein 1982)


def demands(u_a, u_b, v_a, v_b, d_a, d_b, breakdown, allowed):
    """What each side demands of a proposal: the stationary alternating-offers thresholds.

    A responder accepts no less than waiting is worth: its own proposal next
    month, discounted (``d_a``, ``d_b``) and at the risk of breakdown, after
    which it is left with fighting on (``v_a``, ``v_b``, the outside option of
    Binmore, Rubinstein & Wolinsky 1986):

        need_a = max(v_a, d_a ((1 - q) U_a(x_a) + q v_a)),  x_a = best for a with U_b >= need_b

    and the same for b. b's demand is one of finitely many values (fighting
    on, or the discounted worth to b of one package as its own offer); each
    candidate c is run through one round of best replies, F(c), and b's
    demand is the largest candidate it can sustain, F(c) >= c. Over a fine
    split of one issue with no outside option this is Rubinstein's (1982)
    equilibrium: the first proposer gets (1 - d_b) / (1 - d_a d_b).

    Returns (demand_a, demand_b, proposal of a, proposal of b); a proposal is
    -1 where the proposer has no acceptable package.
    """
    u_a, u_b = np.asarray(u_a, float), np.asarray(u_b, float)
    lead = np.broadcast_shapes(u_a.shape, u_b.shape, np.shape(allowed))[:-1]
    n = int(np.prod(lead)) if lead else 1
    P = u_a.shape[-1]
    if lead and n > 1 and n * (P + 1) * P > _CHUNK:  # the candidate table is n x (P + 1) x P: split the runs
        step = max(1, _CHUNK // ((P + 1) * P))
        def rows(x, i, per_package):
            x = np.asarray(x)
            runs = x.ndim == len(lead) + per_package and x.shape[0] > 1
            return x[i:i + step] if runs else x

        parts = [demands(*(rows(x, i, 1) for x in (u_a, u_b)), *(rows(x, i, 0) for x in (v_a, v_b, d_a, d_b, breakdown)),
                         rows(allowed, i, 1))
                 for i in range(0, lead[0], step)]
        return tuple(np.concatenate([part[k] for part in parts]) for k in range(4))
    v_a, v_b = np.asarray(v_a, float) * 1.0, np.asarray(v_b, float) * 1.0
    q = np.asarray(breakdown, float)

    def worth(best, has, v, d, q):
        return np.maximum(v, d * ((1.0 - q) * np.where(has, best, v) + q * v))

    qc, vb, va = _col(q), _col(v_b), _col(v_a)
    # b's own offer can only be an allowed package: a package outside ``allowed`` gives no candidate (it stands
    # in as fighting on, the first candidate), so the demand does not depend on which other packages are in
    # the table (the block's columns: packages some other run of the block allows)
    own = np.where(allowed, worth(u_b, True, vb, _col(d_b), qc), vb)
    cand = np.concatenate(np.broadcast_arrays(vb, own), axis=-1)
    need_a = worth(*_best_per_bar(u_a, u_b, cand, va, allowed), va, _col(d_a), qc)
    sustained = worth(*_best_per_bar(u_b, u_a, need_a, vb, allowed), vb, _col(d_b), qc) >= cand
    need_b = last_max(np.where(sustained, cand, -np.inf))
    x_a, best_a = _best_offer(u_a, u_b, need_b, v_a, allowed)
    need_a = worth(best_a, x_a >= 0, v_a, d_a, q)
    x_b, _ = _best_offer(u_b, u_a, need_a, v_b, allowed)
    return need_a, need_b, x_a, x_b


_CHUNK = 2_000_000  # cells of the candidate table computed at once


def _best_per_bar(u_self, u_other, bars, floor, allowed):
    """The candidate table of :func:`demands`: for each bar (..., B), the best ``u_self`` (-inf if none) over the
    allowed packages whose ``u_other`` reaches the bar and whose ``u_self`` reaches ``floor`` (..., 1), and whether
    there is one. A few packages are taken one at a time (a maximum is exact: the same numbers either way)."""
    P = u_self.shape[-1]
    if not 0 < P <= SMALL:
        ok = np.asarray(allowed)[..., None, :] & (u_other[..., None, :] >= bars[..., :, None]) \
            & (u_self[..., None, :] >= floor[..., None])
        return np.where(ok, u_self[..., None, :], -np.inf).max(axis=-1), ok.any(axis=-1)
    allowed = np.asarray(allowed)
    best, has = [], []
    for k in range(P):
        ok = (allowed[..., k] & (u_self[..., k] >= floor[..., 0]))[..., None] & (u_other[..., k, None] >= bars)
        cell = np.where(ok, u_self[..., k, None], -np.inf)
        best.append(cell if k == 0 else np.maximum(best[-1], cell))
        has.append(ok if k == 0 else has[-1] | ok)
    return best[-1], has[-1]


def _best_offer(u_self, u_other, need_other, floor_self, allowed):
    """The allowed package best for the proposer that the other accepts and the proposer prefers to war."""
    ok = allowed & (u_other >= _col(need_other)) & (u_self >= _col(floor_self))
    score = np.where(ok, u_self, -np.inf)
    x = score.argmax(axis=-1)
    has = last_any(ok)
    best = np.take_along_axis(u_self, x[..., None], -1)[..., 0]
    return np.where(has, x, -1), best


def acceptance_probability(u, demand, temperature):
    """Chance a side's judgement of the round clears a proposal: Phi((U - demand) / temperature).

    A side's private noise in judging proposals is drawn once a run (see
    :func:`accepts`), so this is the chance as seen by a proposer, not a
    fresh draw each month: a package it rejects once it rejects every time.
    """
    return ndtr((u - demand) / temperature)


def accepts(u, demand, noise, allowed, own=False):
    """A side accepts a proposal if it breaks none of its red lines and U - demand + its noise >= 0.

    A proposal that is its ``own`` it accepts whatever its noise: its judgement reads the offers of others,
    and it chose this one (its own offers keep to its red lines).
    """
    return (allowed & (u - demand + noise >= 0.0)) | own


def mediator_proposal(u_a, u_b, need_a, need_b, w_a, w_b, log_chance, allowed, either=None):
    """The mediator's package: asymmetric Nash product times the chance that it is accepted and ratified.

    ``need_a``, ``need_b`` are the demands the mediator expects; ``log_chance`` (..., C) the log-chance that both
    sides accept (over the types it believes they may be) and every voting public ratifies. Inside the zone
    (both expected demands met) it maximises
    w_a log(U_a - need_a) + w_b log(U_b - need_b) + log_chance
    (Nash 1950 with Putnam's level II and the risk of rejection). With an empty zone it proposes the package
    most likely to be accepted and ratified; where no package is allowed to
    both, the likeliest of those ``either`` side allows (if given): an offer
    stated for the record, which cannot settle.
    Returns (package, zone non-empty).
    """
    s_a, s_b = u_a - _col(need_a), u_b - _col(need_b)
    zone = allowed & (s_a >= 0.0) & (s_b >= 0.0)
    nash = _col(w_a) * np.log(np.maximum(s_a, TINY)) + _col(w_b) * np.log(np.maximum(s_b, TINY)) + log_chance
    has_zone = last_any(zone)
    stated = allowed if either is None else np.where(_col(last_any(allowed)), allowed, either)
    score = np.where(_col(has_zone), np.where(zone, nash, -np.inf), np.where(stated, log_chance, -np.inf))
    return score.argmax(axis=-1), has_zone


def government_proposal(u_self, p_other, need_self, log_ratify, allowed, own=None):
    """A government's package: the one with the best expected gain for itself.

    Among the allowed packages that beat its own demand it maximises
    P(the other accepts) x P(ratified) x (U_self - need_self): the proposer of
    alternating offers, who asks as much as the other side is likely to take;
    ``p_other`` (..., C) is that chance, over the types the proposer believes
    the other may be. A proposer that no package satisfies states its best
    package (it would rather fight on than offer less); where no package is
    allowed to both sides, the best of those ``own`` (its own red lines and
    minimum terms) allows, if given. Returns (package, whether any package
    gains it anything).
    """
    gain = u_self - _col(need_self)
    ok = allowed & (gain > 0.0)
    score = np.where(ok, np.log(np.maximum(p_other, TINY)) + log_ratify + np.log(np.maximum(gain, TINY)), -np.inf)
    stated = allowed if own is None else np.where(_col(last_any(allowed)), allowed, own)
    best = np.where(stated, u_self, -np.inf).argmax(axis=-1)
    has = last_any(ok)
    return np.where(has, score.argmax(axis=-1), best), has


# ----------------------------------------------------------------- mediators


def acceptability(trust, preference, weight):
    """A side's acceptability of a mediator: trust blended with its public's preference."""
    return (1.0 - weight) * trust + weight * preference


def lead_mediator(acc_a, acc_b, active):
    """Index of the active mediator most acceptable to both (the largest product); -1 if none.

    Ties go to the mediator listed first in the scenario.
    """
    if np.shape(active)[-1] == 0:
        return np.full(np.broadcast_shapes(np.shape(acc_a)[:-1], np.shape(acc_b)[:-1], np.shape(active)[:-1]), -1)
    score = np.where(active > 0.0, np.multiply(acc_a, acc_b), -np.inf)
    return np.where(last_any(active > 0.0), score.argmax(axis=-1), -1)


def draw_lead(acc_a, acc_b, active, u):
    """The mediator who leads a round of talks: drawn with chance proportional to the product of its acceptabilities.

    Recognition as in Baron & Ferejohn (1989), weighted: the mediator both
    sides find most acceptable leads most rounds, a less acceptable one some.
    Among active mediators with no acceptability at all, each is as likely.
    Returns -1 when no mediator is active.
    """
    on = np.asarray(active) > 0.0
    score = np.where(on, np.maximum(acc_a, 0.0) * np.maximum(acc_b, 0.0), 0.0)
    score = np.where((last_sum(score) > 0.0)[..., None], score, on * 1.0)
    if np.shape(score)[-1]:  # relative to the largest: subnormal acceptabilities keep their proportions
        top = last_max(score)[..., None]
        score = score / np.where(top > 0.0, top, 1.0)
    cum = np.cumsum(score, axis=-1)
    if np.shape(cum)[-1] == 0:
        return np.full(np.shape(cum)[:-1], -1)
    pick = ((cum >= _col(u * cum[..., -1])) & (score > 0.0)).argmax(axis=-1)  # first that reaches u x total
    return np.where(last_any(on), pick, -1)


def nash_weights(bias, discount_a=None, discount_b=None):
    """Weights of the asymmetric Nash product: the mediator's bias times each side's patience.

    Binmore, Rubinstein & Wolinsky (1986): alternating offers with short
    periods give the asymmetric Nash solution with bargaining powers
    proportional to 1 / -log(discount), so the more patient side gets more.
    The mediator's bias (0 leans to the ukraine side) weighs the two on top.
    Weights sum to 1; with equal discounts they are (1 - bias, bias).
    """
    if discount_a is None or discount_b is None:
        return 1.0 - bias, bias
    pa = 1.0 / np.maximum(-np.log(np.clip(discount_a, 1e-12, 1.0 - 1e-9)), 1e-12)
    pb = 1.0 / np.maximum(-np.log(np.clip(discount_b, 1e-12, 1.0 - 1e-9)), 1e-12)
    wa, wb = (1.0 - bias) * pa, bias * pb
    total = np.maximum(wa + wb, TINY)
    return wa / total, wb / total


def proposer(month_of_round, first, has_mediator):
    """Who proposes this month of a round: 0 or 1 (a government), 2 (the mediator).

    With a mediator the turns cycle mediator, ``first``, the other side; in
    direct talks the governments alternate, ``first`` opening. ``first``
    alternates from round to round, so neither side keeps the first mover's
    edge.
    """
    j = np.asarray(month_of_round)
    cycle = np.where(has_mediator, j % 3, j % 2 + 1)
    return np.where(cycle == 0, 2, np.where(cycle == 1, first, 1 - first))


# ----------------------------------------------------------------- private information (Fearon 1995, Powell 2004)


def type_likelihood(u, need_by_type, temperature):
    """(..., N) chance that each type of a side accepts a package worth ``u`` to it: Phi((u - need_k) / temp)."""
    return ndtr((_col(u) - need_by_type) / _col(temperature))


def expected_acceptance(u, need_by_type, belief, temperature, types=None):
    """Chance a side accepts, as one who holds ``belief`` (..., N) over its types sees it.

    ``u`` (..., C), ``need_by_type`` (..., N): sum_k belief_k Phi((u - need_k) / temp), shape (..., C): the
    risk-return trade-off of a proposer who does not know the other side's resolve. ``types``: a list that
    receives each type's chance of accepting, Phi((u - need_k) / temp) (..., C), the numbers of
    :func:`type_likelihood`.
    """
    temp = _col(temperature)
    total = None
    for k in range(np.shape(belief)[-1]):  # a few types: a loop adds them in order, as one run alone does
        term = np.subtract(u, need_by_type[..., k, None])  # the same operations as b_k x Phi((u - need_k) / temp),
        term /= temp  # in place
        ndtr(term, out=term)
        if types is not None:
            types.append(term)
            term = term * belief[..., k, None]
        else:
            term *= belief[..., k, None]
        total = term if total is None else np.add(total, term, out=total)
    return total


def expect(belief, values):
    """The mean of ``values`` (..., N) under ``belief`` (..., N): sum_k belief_k values_k, added in type order."""
    total = belief[..., 0] * values[..., 0]
    for k in range(1, np.shape(belief)[-1]):
        total = total + belief[..., k] * values[..., k]
    return total


def update_type_belief(belief, prior, accept_by_type, accepted):
    """Bayes' rule over a side's discrete types after it answered: P(k) x P(answer | k), renormalised.

    A rejection shifts the belief toward the types that ask more (screening:
    Fearon 1995, Powell 2004). An answer that no type would give (all
    likelihoods 0) leaves the belief at the ``prior``.
    """
    like = np.where(_col(accepted), accept_by_type, 1.0 - accept_by_type)
    post = belief * like
    total = _col(expect(belief, like))
    return np.where(total > TINY, post / np.maximum(total, TINY), prior)


def hear_type(belief, truth, credibility):
    """A credible mediator's report of a side's type: the belief moves toward the truth (one-hot) by ``credibility``."""
    return (1.0 - _col(credibility)) * belief + _col(credibility) * truth


# ----------------------------------------------------------------- stages: partial deals, ceasefire, relapse


def hazard_chance(base, cut, slope, gain):
    """A monthly chance of breakdown: base x (1 - cut) + slope x max(0, gain), kept in [0, 1].

    ``cut`` is the share of the hazard that guarantees, foreign forces or
    monitoring remove (Fortna 2004: stronger agreements last longer);
    ``gain`` what a side expects to gain by fighting rather than keeping the
    line (the commitment problem: a side that expects to grow stronger has a
    reason to break the deal; Powell 2006).
    """
    return np.clip(base * (1.0 - cut) + slope * np.maximum(0.0, gain), 0.0, 1.0)
