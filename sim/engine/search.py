"""A proposal search that never enumerates the package space (issue 18, part 2).

The rules of :mod:`sim.engine.rules` score every package of the space: arrays of shape (runs, P), with P the
product of the issues' option counts. Utilities are additive over issues (``rules.utility``), so a weighted
sum of the actors' utilities is maximised issue by issue, and the search works on arrays of shape
(runs, issues, options) instead:

1. the *supported Pareto frontier*: for each weight vector of a grid on the simplex of the actors whose
   utilities enter the objective, the package that takes, on each issue, the allowed option with the largest
   weighted term (:func:`frontier`);
2. a few *tangent* packages: at the best package so far, the objective's slope in each actor's utility is a
   weight vector, and the package that maximises that weighted sum is added (a Frank-Wolfe step);
3. the objective over these candidates; the best few distinct ones start a *local search* by single-issue
   changes, which moves while one change improves the objective (bounded steps).

Every filter that acts issue by issue (a red line on one issue, a minimum term) is an option mask; a package
is allowed when every issue's option is. An objective is a function of the actors' total utilities that
returns a (tier, value) pair, compared tier first: the rules' fallbacks (the mediator's empty zone, the
proposer with no gain) are a lower tier. docs/model.md, "The proposal search", says what it computes, where
it is exact and which cases it can miss.

Everything is vectorised over runs; the loops are over issues, weights, starting points and search steps.
Memory is O(runs x issues x options x actors) per block of runs, whatever the number of packages.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sim.engine import rules

BLOCKED = -(2**30)  # tier of a package some filter forbids: below every objective's tiers
CELLS = 1_000_000  # runs x starts x issues x options evaluated at once by the local search

# An objective: (utilities (A, n, M), runs (n,) indices into the call's runs) -> (tier (n, M), value (n, M))
Objective = Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]


class Increasing:
    """An objective that never falls when an actor's utility rises, the others' held (compared tier first, then
    value): every objective of the rules below. The local search then passes over a change that raises no
    actor's utility (:func:`local_search`)."""

    def __init__(self, objective: Objective):
        self.objective = objective

    def __call__(self, U: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return self.objective(U, rows)


@dataclass
class Space:
    """The package space of a call, issue by issue.

    ``values`` (A, R, K, O): salience-weighted term of option o of issue k to actor a in run r (any number
    where the option does not exist); ``allowed`` (R or 1, K, O): the option passes every filter (padding:
    False); ``offset`` (A, R or 1): added to each actor's total (a side-payment, a guarantee).
    """

    values: np.ndarray
    allowed: np.ndarray
    offset: np.ndarray = field(default_factory=lambda: np.zeros((1, 1)))

    def __post_init__(self) -> None:
        self.values = np.asarray(self.values, float)
        A, R, K, Q = self.values.shape
        self.allowed = np.broadcast_to(np.asarray(self.allowed, bool), (R, K, Q))
        self.values = np.where(self.allowed[None], self.values, 0.0)
        self.offset = np.broadcast_to(np.asarray(self.offset, float), (A, R))

    @property
    def shape(self) -> tuple[int, int, int, int]:
        A, R, K, Q = self.values.shape
        return A, R, K, Q

    def feasible(self) -> np.ndarray:
        """(R,) some package passes every filter (every issue has an allowed option)."""
        return self.allowed.any(axis=-1).all(axis=-1)

    def utilities(self, x: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """(A, n, M) each actor's utility of packages ``x`` (n, M, K), its terms added in issue order."""
        rows = np.arange(self.shape[1]) if rows is None else rows
        return add_issues(cells(self.values, x, rows)) + self.offset[:, rows, None]

    def allows(self, x: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """(n, M) packages ``x`` (n, M, K) pass every filter."""
        rows = np.arange(self.shape[1]) if rows is None else rows
        return np.logical_and.reduce(cells(self.allowed, x, rows), axis=0)


def cells(a: np.ndarray, x: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(..., K, n, M) ``a[..., rows[i], k, x[i, m, k]]`` of ``a`` (..., R, K, Q): each issue's entry for packages
    ``x`` (n, M, K) of runs ``rows``, issue first (one flat ``take``; a run axis broadcast from one row is read
    at that row)."""
    *lead, _, K, Q = a.shape
    if a.strides[-3] == 0:  # one row broadcast to every run
        a, rows = a[..., :1, :, :], np.zeros(len(rows), np.int64)
    flat = np.ascontiguousarray(a).reshape(*lead, -1)
    at = (rows[None, :, None] * K + np.arange(K)[:, None, None]) * Q + np.moveaxis(x, -1, 0)
    return np.take(flat, at, axis=len(lead))


def add_issues(terms: np.ndarray) -> np.ndarray:
    """(..., n, M) the terms (..., K, n, M) of :func:`cells` added in issue order, from the first."""
    total = terms[..., 0, :, :]
    for k in range(1, terms.shape[-3]):
        total = total + terms[..., k, :, :]
    return total


def pad(per_issue: list[np.ndarray], fill: float = 0.0) -> tuple[np.ndarray, np.ndarray]:
    """Issue arrays (..., n_k) of different option counts as one (..., K, max n_k) array and its mask."""
    width = max(np.shape(a)[-1] for a in per_issue)
    lead = np.broadcast_shapes(*(np.shape(a)[:-1] for a in per_issue))
    out = np.full((*lead, len(per_issue), width), fill, float)
    mask = np.zeros((len(per_issue), width), bool)
    for k, a in enumerate(per_issue):
        out[..., k, :np.shape(a)[-1]] = a
        mask[k, :np.shape(a)[-1]] = True
    return out, mask


# ----------------------------------------------------------------- comparing (tier, value) pairs


def _clean(tier: np.ndarray, value: np.ndarray, ok: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Forbidden packages to the blocked tier; a NaN value to -inf."""
    value = np.where(np.isnan(value), -np.inf, value)
    return np.where(ok, tier, BLOCKED), np.where(ok, value, -np.inf)


def lex_best(tier: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Index along the last axis of the largest (tier, value) pair; the first among equals."""
    top = tier.max(axis=-1, keepdims=True)
    in_top = tier == top
    v = np.where(in_top, value, -np.inf)
    none = v.max(axis=-1) == -np.inf  # every value of the top tier is -inf
    return np.where(none, in_top.argmax(axis=-1), v.argmax(axis=-1))


def better(tier: np.ndarray, value: np.ndarray, tier0: np.ndarray, value0: np.ndarray) -> np.ndarray:
    """(tier, value) beats (tier0, value0) by more than rounding (so a search step cannot cycle)."""
    scale = np.where(np.isfinite(value0), np.abs(value0), 0.0)
    gain = value > np.where(np.isfinite(value0), value0 + 1e-12 * (1.0 + scale), value0)
    return (tier > tier0) | ((tier == tier0) & gain & (value > -np.inf))


# ----------------------------------------------------------------- the supported Pareto frontier


@functools.cache
def simplex_grid(actors: int, divisions: int) -> np.ndarray:
    """(W, A) weight vectors on the simplex with coordinates multiples of 1 / divisions (read-only: one array per
    shape, worked out once; the kernel asks for the same grid every month)."""
    if actors == 1:
        grid = np.ones((1, 1))
    else:
        points = [(i,) + rest for i in range(divisions + 1)
                  for rest in map(tuple, simplex_grid(actors - 1, divisions - i) * (divisions - i))]
        grid = np.array(points, float).reshape(-1, actors) / max(divisions, 1)
    grid.flags.writeable = False
    return grid


def rows_of(a: np.ndarray, rows: np.ndarray, axis: int = 0) -> np.ndarray:
    """``a`` at ``rows`` along ``axis``: a view when ``rows`` are all of them in order, else a copy."""
    n = a.shape[axis]
    if len(rows) == n and (n == 0 or (rows[0] == 0 and rows[-1] == n - 1 and (n < 3 or (np.diff(rows) == 1).all()))):
        return a
    return a.take(rows, axis=axis)


def by_width(space: Space, rows: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    """The issues of runs ``rows`` in classes by their count of options some run allows (at least 1): per class,
    (its issues (k,), those options (k, q) in their order, their terms (A, q, n, k) option-major, NaN where a
    run does not allow the option).

    A weighted sum's best option of an issue (:func:`weighted_best`) is read over these: an option no run
    allows (padding, or one the filters shared by the runs forbid) is never the best, and a NaN term is never
    larger than a best so far. An issue with no such option takes its first option, NaN in every run.
    """
    A, _, K, Q = space.shape
    allowed = rows_of(space.allowed, rows)
    live = allowed.any(axis=0)  # (K, Q)
    live[live.sum(axis=1) == 0, 0] = True
    count = live.sum(axis=1)
    values = rows_of(space.values, rows, axis=1)
    out = []
    for q in np.unique(count):
        ks = np.flatnonzero(count == q)
        opt = np.nonzero(live[ks])[1].reshape(len(ks), q)  # row-major: each issue's options in their order
        k = ks[:, None]
        v = np.where(allowed[None, :, k, opt], values[:, :, k, opt], np.nan)
        out.append((ks, opt, np.ascontiguousarray(v.transpose(0, 3, 1, 2))))
    return out


FRONTIER_CELLS = 1 << 16  # weights x runs x issues worked at once by weighted_argmax (in cache)


def weighted_argmax(classes: list[tuple[np.ndarray, np.ndarray, np.ndarray]], weights: np.ndarray,
                    K: int) -> np.ndarray:
    """(n, W, K) per weight vector, the allowed option of each issue with the largest weighted term sum_a w_a v_a,
    the first among equals (0 where none is allowed): ``np.argmax`` of those sums over the allowed options.

    ``classes``: :func:`by_width` of n runs; ``weights`` (W, A, 1) for every run or (W, A, n) per run. The sums
    are the same numbers as ``w_0 v_0 + w_1 v_1 + ...`` of every option (added in actor order), compared option
    by option in their order: a strictly larger one replaces the best, so the first of equal sums stays, as with
    argmax.
    """
    W, A = weights.shape[:2]
    n = classes[0][2].shape[2] if classes else 0
    out = np.zeros((n, W, K), np.int16 if max((int(o.max()) for _, o, _ in classes), default=0) < 2**15 else np.int64)
    step = max(1, FRONTIER_CELLS // max(1, W * K))
    for r0 in range(0, n, step):
        r1 = min(n, r0 + step)
        w = weights if weights.shape[2] == 1 else weights[:, :, r0:r1]
        for ks, opt, v in classes:
            best = np.full((W, r1 - r0, len(ks)), -np.inf)
            idx = np.zeros(best.shape, out.dtype)
            for o in range(v.shape[1]):
                s = w[:, 0, :, None] * v[0, o, r0:r1]
                for a in range(1, A):
                    s = s + w[:, a, :, None] * v[a, o, r0:r1]
                np.copyto(idx, opt[:, o].astype(out.dtype), where=s > best)
                np.fmax(best, s, out=best)
            out[r0:r1][:, :, ks] = idx.transpose(1, 0, 2)
    return out


def weighted_best(space: Space, weights: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """(n, K) the package that maximises sum_a weights[a] U_a among the allowed ones, issue by issue.

    ``weights`` (A,) for every run or (A, n) per run. One weight vector: the sums are worked out over the padded
    arrays at once, not class by class and option by option (:func:`weighted_argmax`, for a grid of them); they are
    the same numbers, and ``argmax`` of them, where allowed, is the same option (the first of equal sums, 0 where
    none is allowed).
    """
    w = np.asarray(weights, float)
    w = (w[:, None] if w.ndim == 1 else w)[:, :, None, None]
    values = rows_of(space.values, rows, axis=1)
    total = w[0] * values[0]
    for a in range(1, len(w)):
        total = total + w[a] * values[a]
    total = np.where(rows_of(space.allowed, rows) & ~np.isnan(total), total, -np.inf)
    return np.where(total.max(axis=-1) == -np.inf, 0, total.argmax(axis=-1))


def frontier(space: Space, rows: np.ndarray, divisions: int) -> np.ndarray:
    """(n, W, K) the supported Pareto frontier over the weight grid (duplicates kept; :func:`distinct_best`)."""
    grid = simplex_grid(space.shape[0], divisions)
    return weighted_argmax(by_width(space, rows), grid[:, :, None], space.shape[2])


def runs_of_equal(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Packages ``x`` (n, W, K) as runs of equal neighbours (a frontier's neighbouring weights often take the same
    package): ((n, M) the first column of each run, a row's last repeated past its runs; (n, W) each column's run).
    Equal packages have the same utilities and objective, read once a run."""
    new = np.ones(x.shape[:2], bool)
    new[:, 1:] = (x[:, 1:] != x[:, :-1]).any(axis=-1)
    run = np.cumsum(new, axis=1) - 1
    first = np.zeros((x.shape[0], int(run[:, -1].max(initial=0)) + 1), np.int64)
    r, c = np.nonzero(new)
    first[r, run[r, c]] = c
    np.maximum.accumulate(first, axis=1, out=first)
    return first, run


def distinct_best(x: np.ndarray, tier: np.ndarray, value: np.ndarray, count: int) -> np.ndarray:
    """(n, count, K) the ``count`` best distinct packages of ``x`` (n, M, K), best first; where fewer are
    distinct, the best stands in for the missing ones."""
    return np.take_along_axis(x, distinct_columns(x, tier, value, count)[:, :, None], 1)


def distinct_columns(x: np.ndarray, tier: np.ndarray, value: np.ndarray, count: int) -> np.ndarray:
    """(n, min(count, M)) the columns of :func:`distinct_best`'s packages in ``x`` (n, M, K)."""
    out: list[np.ndarray] = []
    pick = np.arange(x.shape[0])
    for _ in range(min(count, x.shape[1])):
        j = lex_best(tier, value)
        if out:
            j = np.where(tier.max(axis=-1) > BLOCKED, j, out[0])
        out.append(j)
        tier = np.where((x == x[pick, j][:, None]).all(axis=-1), BLOCKED, tier)
    return np.stack(out, axis=1)


def slope(objective: Objective, u: np.ndarray, rows: np.ndarray, step: float = 1e-6) -> np.ndarray:
    """(A, n) the objective's slope in each actor's utility at utilities ``u`` (A, n), by central differences,
    within the tier it has there (0 where a step changes the tier). The 2A stepped points are one call's columns
    (an objective reads each column alone: the same numbers as a call each)."""
    A = u.shape[0]
    points = np.repeat(u[:, :, None], 2 * A, axis=2)  # columns 2a, 2a + 1: actor a's utility up, down a step
    for a in range(A):
        points[a, :, 2 * a] += step
        points[a, :, 2 * a + 1] -= step
    t, v = objective(points, rows)
    d = (v[:, 0::2] - v[:, 1::2]) / (2 * step)  # (n, A)
    return np.where((t[:, 0::2] == t[:, 1::2]) & np.isfinite(d), d, 0.0).T


# ----------------------------------------------------------------- local search by single-issue changes


def neighbours(space: Space, x: np.ndarray, u: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every single-issue change of packages ``x`` (n, K) with utilities ``u`` (A, n): their utilities
    (A, n, K x O) and whether they pass the filters (n, K x O), change (k, o) at column k x O + o.

    ``x`` must pass the filters; a change then does when its new option does.
    """
    A, _, K, Q = space.shape
    n = len(rows)
    now = space.values[:, rows[:, None], np.arange(K)[None, :], x]  # (A, n, K)
    cand = (u[:, :, None, None] - now[..., None]) + space.values[:, rows]
    return cand.reshape(A, n, K * Q), space.allowed[rows].reshape(n, K * Q)


class _Changes:
    """The single-issue changes a local search over rows ``rows`` looks at: the columns (issue k, option o) at
    k x O + o that some of its runs allow (a change no run allows is never made), each one's terms and filter
    read once per run."""

    def __init__(self, space: Space, rows: np.ndarray):
        A, _, K, Q = space.shape
        self.space, self.rows = space, rows
        runs, self.at = np.unique(rows, return_inverse=True)
        allowed = rows_of(space.allowed, runs).reshape(len(runs), K * Q)
        self.cols = np.flatnonzero(allowed.any(axis=0))
        self.issue = self.cols // Q
        self.values = rows_of(space.values, runs, axis=1).reshape(A, len(runs), K * Q)[:, :, self.cols]
        self.allowed = allowed[:, self.cols]
        self.flat = space.values.reshape(A, -1)  # (A, R x K x Q): the terms of a package are one take of it
        self.first = rows[:, None] * (K * Q) + np.arange(K) * Q  # issue k's first option in row r's run

    def of(self, x: np.ndarray, u: np.ndarray, i: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The changes of rows ``i`` (packages ``x[i]``, utilities ``u[:, i]``): their utilities (A, n, L), as
        :func:`neighbours` adds them, and whether they pass the filters (n, L)."""
        now = self.flat.take(self.first[i] + x[i], axis=1)  # (A, n, K) the terms of the packages' options
        at = self.at[i]
        return (u[:, i, None] - now[:, :, self.issue]) + self.values[:, at], self.allowed[at]


def _below(cand: np.ndarray, u: np.ndarray) -> np.ndarray:
    """(n, C) changes ``cand`` (A, n, C) that raise no actor's utility over ``u`` (A, n)."""
    out = cand[0] <= u[0, :, None]
    for a in range(1, len(cand)):
        out &= cand[a] <= u[a, :, None]
    return out


def _pack(cand: np.ndarray, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The changes ``keep`` (n, C) of ``cand`` (A, n, C), each row's moved to its first columns in their order
    (so ties resolve as over all): (A, n, M) and (n, M) the column each came from, -1 past a row's last."""
    r, c = np.nonzero(keep)
    count = np.bincount(r, minlength=keep.shape[0])
    at = np.arange(len(r)) - np.repeat(np.cumsum(count) - count, count)
    cols = np.full((keep.shape[0], max(1, int(count.max(initial=0)))), -1, np.int64)
    cols[r, at] = c
    packed = np.zeros((cand.shape[0], *cols.shape))
    packed[:, r, at] = cand[:, r, c]
    return packed, cols


def local_search(space: Space, objective: Objective, x: np.ndarray, rows: np.ndarray,
                 max_steps: int, starts: int = 1, start: tuple[np.ndarray, ...] | None = None
                 ) -> tuple[np.ndarray, int]:
    """Move each package of ``x`` (n, K) to its best single-issue change while one improves the objective, at
    most ``max_steps`` times: (the packages, the rounds of changes looked at). Packages that break a filter stay.

    ``starts``: the packages of one run are this many consecutive rows of ``x``. Where one reaches the package and
    the utilities (to the bit) of an earlier one of its run, the path on from there is that one's (a move is a
    function of the package, its utilities and the run): it stops, and ends where that one ends.

    An :class:`Increasing` objective is evaluated only at the changes that raise some actor's utility: a change
    that raises none is worth at most the package itself, so it is never a move, and a move's change (better
    than the package by more than rounding, :func:`better`) is the first best over the others as over all. The
    packages found are those of evaluating every change.

    ``start``: the packages' utilities (A, n), tiers and values (n,), if the caller has them (as
    :meth:`Space.utilities` and the objective give them, forbidden packages in the blocked tier).
    """
    Q = space.shape[3]
    changes = _Changes(space, rows)
    x = x.astype(np.int64)
    if start is None:
        u = space.utilities(x[:, None, :], rows)[:, :, 0]
        t, v = _clean(*objective(u[:, :, None], rows), space.allows(x[:, None, :], rows))
        t, v = t[:, 0], v[:, 0]
    else:
        u, t, v = (np.array(a) for a in start)
    active = np.flatnonzero(t > BLOCKED)
    follows = np.arange(len(x))  # the row whose end each row takes (itself, or an earlier row of its run)
    steps = 0
    while steps < max_steps:
        if starts > 1:
            active = _merge(x, u, active, follows, starts)
        if not len(active):
            break
        cand, ok = changes.of(x, u, active)
        cols = None  # per row, the changes' columns of ``changes`` where packed
        if isinstance(objective, Increasing):  # only changes that raise some actor's utility can improve it
            cand, cols = _pack(cand, ok & ~_below(cand, u[:, active]))
            ok = cols >= 0
        ct, cv = _clean(*objective(cand, rows[active]), ok)
        j = lex_best(ct, cv)
        pick = np.arange(len(active))
        bt, bv = ct[pick, j], cv[pick, j]
        move = better(bt, bv, t[active], v[active])
        idx = active[move]
        u[:, idx] = cand[:, pick[move], j[move]]
        j = changes.cols[j if cols is None else cols[pick, j]]
        x[idx, j[move] // Q] = j[move] % Q
        t[idx], v[idx] = bt[move], bv[move]
        active = idx
        steps += 1
    for _ in range(starts - 1):  # an earlier row may follow a still earlier one
        follows = follows[follows]
    return x[follows], steps


def _merge(x: np.ndarray, u: np.ndarray, active: np.ndarray, follows: np.ndarray, starts: int) -> np.ndarray:
    """The rows of ``active`` whose package and utilities are not those of an earlier row of their run; each
    other one now follows that row (``follows``, written)."""
    keep = np.ones(len(active), bool)
    for d in range(1, starts):
        at = np.flatnonzero(keep & (active % starts >= d))
        b = active[at]
        a = b - d
        same = (x[a] == x[b]).all(axis=-1)
        for i in range(u.shape[0]):
            same &= u[i, a] == u[i, b]
        follows[b[same]] = a[same]
        keep[at[same]] = False
    return active[keep]


# ----------------------------------------------------------------- the search


@dataclass
class Found:
    """What :func:`search` found, per run."""

    x: np.ndarray          # (R, K) option of each issue; -1 in a run where no package passes the filters
    tier: np.ndarray       # (R,) the objective's tier there (BLOCKED where none passes)
    value: np.ndarray      # (R,) the objective's value there (-inf where none passes)
    utilities: np.ndarray  # (A, R) each actor's utility of it (its terms added in issue order; NaN where none passes)
    steps: int = 0         # local-search steps taken (the most over the blocks of runs)


def search(space: Space, objective: Objective, divisions: int | None = None, tangents: int = 3,
           starts: int = 3, max_steps: int | None = None, supported: np.ndarray | None = None,
           known: np.ndarray | None = None) -> Found:
    """The package that maximises ``objective`` in each run, without enumerating the packages.

    ``divisions``: weights of the frontier are multiples of 1 / divisions (default 32 for two actors, 12 for
    three: 33 and 91 weight vectors); ``tangents``: Frank-Wolfe steps from the best candidate; ``starts``:
    distinct candidates the local search starts from; ``max_steps``: its bound (default 2 x issues + 8);
    ``supported``: the frontier (R, W, K), if the caller has it already (:func:`frontier` of the same space and
    divisions); ``known``: each actor's utilities of its packages (A, R, W), if the caller has them, as
    :meth:`Space.utilities` gives them where they pass the filters (read only in runs where some package does:
    there every frontier package passes).
    """
    A, R, K, Q = space.shape
    divisions = (32 if A <= 2 else 12) if divisions is None else divisions
    max_steps = 2 * K + 8 if max_steps is None else max_steps
    block = max(1, CELLS // max(1, starts * K * Q * A))
    live = np.flatnonzero(space.feasible())  # a run where no package passes the filters has nothing to search
    parts = [_search_block(space, objective, rows, divisions, tangents, starts, max_steps,
                           None if supported is None else supported[rows],
                           None if known is None else known[:, rows])
             for rows in (live[i:i + block] for i in range(0, len(live), block))]
    found = Found(np.full((R, K), -1, np.int64), np.full(R, BLOCKED, np.int64), np.full(R, -np.inf),
                  np.full((A, R), np.nan), max((p.steps for p in parts), default=0))
    if parts:
        found.x[live] = np.concatenate([p.x for p in parts])
        found.tier[live] = np.concatenate([p.tier for p in parts])
        found.value[live] = np.concatenate([p.value for p in parts])
        found.utilities[:, live] = np.concatenate([p.utilities for p in parts], axis=1)
    return found


def _evaluate(space: Space, objective: Objective, x: np.ndarray, rows: np.ndarray
              ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Utilities (A, n, M), tiers and values (n, M) of packages ``x`` (n, M, K)."""
    u = space.utilities(x, rows)
    t, v = _clean(*objective(u, rows), space.allows(x, rows))
    return u, t, v


def _evaluate_known(space: Space, objective: Objective, x: np.ndarray, rows: np.ndarray, known: np.ndarray
                    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`_evaluate` of a frontier ``x`` whose utilities are ``known`` where some package passes the filters
    (every frontier package then does); elsewhere read as there."""
    feasible = space.feasible()[rows]
    u = np.array(known, float)
    ok = np.broadcast_to(feasible[:, None], x.shape[:2]).copy()
    bad = np.flatnonzero(~feasible)
    if len(bad):
        u[:, bad] = space.utilities(x[bad], rows[bad])
        ok[bad] = space.allows(x[bad], rows[bad])
    first, run = runs_of_equal(x)  # the objective once a run of equal packages
    t, v = _clean(*objective(np.take_along_axis(u, first[None], 2), rows), np.take_along_axis(ok, first, 1))
    return u, np.take_along_axis(t, run, 1), np.take_along_axis(v, run, 1)


def _search_block(space: Space, objective: Objective, rows: np.ndarray, divisions: int, tangents: int,
                  starts: int, max_steps: int, supported: np.ndarray | None = None,
                  known: np.ndarray | None = None) -> Found:
    """:func:`search` on the runs ``rows`` (``supported``: their frontier, if known; ``known``: its utilities)."""
    A = space.shape[0]
    cand = (frontier(space, rows, divisions) if supported is None else supported).astype(np.int64)
    if known is None:
        u, t, v = _evaluate(space, objective, cand, rows)
    else:
        u, t, v = _evaluate_known(space, objective, cand, rows, known)
    for _ in range(tangents):  # Frank-Wolfe: the package that maximises the objective's slope at the best
        j = lex_best(t, v)
        w = np.maximum(slope(objective, np.take_along_axis(u, j[None, :, None], 2)[:, :, 0], rows), 0.0)
        total = w.sum(axis=0)
        w = np.where(total > 0.0, w / np.where(total > 0.0, total, 1.0), 1.0 / A)
        new = weighted_best(space, w, rows)[:, None, :]
        nu, nt, nv = _evaluate(space, objective, new, rows)
        cand, u = np.concatenate([cand, new], axis=1), np.concatenate([u, nu], axis=2)
        t, v = np.concatenate([t, nt], axis=1), np.concatenate([v, nv], axis=1)
    cols = distinct_columns(cand, t, v, starts)  # the local search starts there, from their evaluations
    n, S = cols.shape
    K = cand.shape[2]
    at = (np.arange(n)[:, None], cols)
    start = (u[(slice(None), *at)].reshape(A, n * S), t[at].reshape(n * S), v[at].reshape(n * S))
    x, steps = local_search(space, objective, cand[at].reshape(n * S, K), np.repeat(rows, S), max_steps, S, start)
    x = x.reshape(n, S, K)
    u, t, v = _evaluate(space, objective, x, rows)
    j = lex_best(t, v)
    best = np.take_along_axis(x, j[:, None, None], 1)[:, 0]
    pick = np.arange(n)
    feasible = space.feasible()[rows]
    return Found(np.where(feasible[:, None], best, -1), np.where(feasible, t[pick, j], BLOCKED),
                 np.where(feasible, v[pick, j], -np.inf), u[:, pick, j], steps)


def best_single_change(space: Space, objective: Objective, x: np.ndarray
                       ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The single-issue change of package ``x`` (R, K) that most improves ``objective`` (the draft builder's
    "best single change"): (issue, option, tier, value) per run; issue and option -1 where no change
    improves it (tier and value then those of ``x``)."""
    A, R, K, Q = space.shape
    rows = np.arange(R)
    u, t, v = _evaluate(space, objective, x[:, None, :], rows)
    cand, ok = neighbours(space, x, u[:, :, 0], rows)
    ct, cv = _clean(*objective(cand, rows), ok & space.allows(x[:, None, :], rows))
    j = lex_best(ct, cv)
    bt, bv = ct[rows, j], cv[rows, j]
    move = better(bt, bv, t[:, 0], v[:, 0]) & (bt > BLOCKED)
    return (np.where(move, j // Q, -1), np.where(move, j % Q, -1), np.where(move, bt, t[:, 0]),
            np.where(move, bv, v[:, 0]))


# ----------------------------------------------------------------- the rules' objectives


@dataclass
class Chances:
    """Per run, what the chance that a package is accepted and ratified depends on (as in the kernel).

    Government g's acceptance: ``rules.expected_acceptance`` of its utility (actor g) over its types'
    needs ``need_types`` (2, R, N) and the others' ``belief`` (2, R, N) at ``temperature`` (R,). Public g
    ratifies with ``rules.ratify_probability`` of ``rules.ratify_margin`` of the utility of actor ``voter[g]``
    (its government's, g, in the kernel; a public with its own utility is a third actor), with the (2, R)
    parameters ``u_nd``, ``cost``, ``weariness``, ``threshold``, ``weariness_effect``, ``legitimacy``,
    ``spread``, ``votes``.
    """

    need_types: np.ndarray
    belief: np.ndarray
    temperature: np.ndarray
    u_nd: np.ndarray
    cost: np.ndarray
    weariness: np.ndarray
    threshold: np.ndarray
    weariness_effect: np.ndarray
    legitimacy: np.ndarray
    spread: np.ndarray
    votes: np.ndarray
    voter: tuple[int, int] = (0, 1)

    def accept(self, u: np.ndarray, rows: np.ndarray, g: int) -> np.ndarray:
        """(n, M) the chance government g accepts packages worth ``u`` (n, M) to it, as the others see it."""
        return rules.expected_acceptance(u, self.need_types[g][rows], self.belief[g][rows], self.temperature[rows])

    def ratify(self, U: np.ndarray, rows: np.ndarray, g: int) -> np.ndarray:
        """(n, M) the chance public g ratifies (1 where it does not vote)."""
        def col(name: str) -> np.ndarray:
            return getattr(self, name)[g][rows, None]

        margin = rules.ratify_margin(U[self.voter[g]], col("u_nd"), col("cost"), col("weariness"), col("threshold"),
                                     col("weariness_effect"), col("legitimacy"))
        return np.where(col("votes"), rules.ratify_probability(margin, col("spread")), 1.0)

    def log_ratify(self, U: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(n, M) the log-chance that every voting public ratifies (the kernel's ``ratification``)."""
        return Stacked(self).log_ratify(U, rows)

    def log_chance(self, U: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(n, M) the log-chance that both governments accept and every voting public ratifies."""
        return Stacked(self).log_chance(U, rows)


class Stacked:
    """:class:`Chances` with each parameter of the two sides in one array, so that an objective reads both publics'
    ratification (and both governments' acceptance) in one set of array operations, not one per side: a search
    calls its objective a dozen times and more, mostly over a few runs, where the count of operations is the cost.
    Every operation is elementwise, so the numbers are those of :meth:`Chances.ratify` and :meth:`Chances.accept`
    of each side, added in the same order. Built once per objective (the rows differ from call to call)."""

    def __init__(self, chances: Chances):
        self.chances = chances
        names = ("u_nd", "cost", "weariness", "threshold", "weariness_effect", "legitimacy", "spread")
        public = np.stack(np.broadcast_arrays(*(getattr(chances, name) for name in names)))  # (7, 2, R)
        votes = np.asarray(chances.votes)
        # A public that votes in none of the runs adds log 1 = 0.0 to every package's log-chance: left out (x +
        # 0.0 is x, and no term here is -0.0), its ratification is not worked out.
        self.voting = [g for g in (0, 1) if votes[g].any()]
        self.public, self.votes = public[:, self.voting], votes[self.voting]
        self.voter = [chances.voter[g] for g in self.voting]

    def log_ratify(self, U: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(n, M) :meth:`Chances.log_ratify`: each voting public's log-chance, added in public order from 0.0."""
        if not self.voting:
            return np.zeros(U.shape[1:])
        u_nd, cost, weariness, threshold, effect, legitimacy, spread = self.public[:, :, rows, None]
        votes = self.votes[:, rows, None]
        margin = rules.ratify_margin(U[self.voter], u_nd, cost, weariness, threshold, effect, legitimacy)
        log = rules.log_vote_chance(np.where(votes, rules.ratify_probability(margin, spread), 1.0), votes)
        total = 0.0 + log[0]
        for more in log[1:]:
            total = total + more
        return total

    def log_accept(self, U: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(2, n, M) each government's log-chance of accepting (:meth:`Chances.accept`, at least ``rules.TINY``)."""
        c = self.chances
        p = rules.expected_acceptance(U[:2], c.need_types[:, rows], c.belief[:, rows], c.temperature[rows])
        return np.log(np.maximum(p, rules.TINY))

    def log_chance(self, U: np.ndarray, rows: np.ndarray) -> np.ndarray:
        """(n, M) :meth:`Chances.log_chance`: the log-chance of ratification, plus each acceptance's in order."""
        accept = self.log_accept(U, rows)
        return self.log_ratify(U, rows) + accept[0] + accept[1]


def mediator_objective(chances: Chances, need: np.ndarray, weights: np.ndarray) -> Objective:
    """``rules.mediator_proposal`` as an objective: in the zone (tier 1) the asymmetric Nash product with
    ``weights`` (2, R) over the expected ``need`` (2, R), plus the log-chance of acceptance and ratification;
    outside it (tier 0) that log-chance alone."""
    stacked = Stacked(chances)

    def objective(U: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        s_a, s_b = U[0] - need[0][rows, None], U[1] - need[1][rows, None]
        zone = (s_a >= 0.0) & (s_b >= 0.0)
        chance = stacked.log_chance(U, rows)
        nash = (weights[0][rows, None] * np.log(np.maximum(s_a, rules.TINY))
                + weights[1][rows, None] * np.log(np.maximum(s_b, rules.TINY)) + chance)
        return zone.astype(np.int64), np.where(zone, nash, chance)

    return Increasing(objective)


def government_objective(chances: Chances, g: int, need: np.ndarray) -> Objective:
    """``rules.government_proposal`` of government g as an objective: where it gains over its ``need`` (R,)
    (tier 1), log P(the other accepts) + log P(ratified) + log(gain); else (tier 0) its own utility (the
    package it states for the record)."""
    h = 1 - g
    stacked = Stacked(chances)

    def objective(U: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        gain = U[g] - need[rows, None]
        ok = gain > 0.0
        score = (np.log(np.maximum(chances.accept(U[h], rows, h), rules.TINY)) + stacked.log_ratify(U, rows)
                 + np.log(np.maximum(gain, rules.TINY)))
        return ok.astype(np.int64), np.where(ok, score, U[g])

    return Increasing(objective)


def offer_objective(g: int, need_other: np.ndarray, floor: np.ndarray) -> Objective:
    """The continuation offer of ``rules.demands`` (its ``_best_offer``): government g's best package that the
    other accepts (U_h >= ``need_other``) and g prefers to war (U_g >= ``floor``): tier 1 where both hold."""
    h = 1 - g

    def objective(U: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        ok = (U[h] >= need_other[rows, None]) & (U[g] >= floor[rows, None])
        return ok.astype(np.int64), U[g]

    return Increasing(objective)


def deal_objective(chances: Chances) -> Objective:
    """The draft builder's chance of a ratified deal: P(0 accepts) P(1 accepts) P(0 ratifies) P(1 ratifies)."""
    def objective(U: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        p = chances.accept(U[0], rows, 0) * chances.accept(U[1], rows, 1)
        p = p * chances.ratify(U, rows, 0) * chances.ratify(U, rows, 1)
        return np.zeros(p.shape, np.int64), p

    return Increasing(objective)
