"""A searched package space in the kernel: each run's pool of packages, read issue by issue (issue 18).

A scenario whose package space is too large to enumerate (:attr:`sim.scenario.compile.Compiled.searched`) is
read by the kernel per run over a small *pool* of packages instead of every package: the supported Pareto
frontier of the two governments over a grid of 33 weights (:func:`sim.engine.search.frontier`), packages allowed
to both. Everything the kernel reads over packages (each side's way out, the publics' margins, the
alternating-offers demands) it reads over the pool, with the rules of the enumeration; the proposal itself is
searched over the whole space (:func:`sim.engine.search.search`, frontier, tangent steps and local search) and
added to the pool as its last column. Arrays are (runs, groups, options): memory does not grow with the
package count. docs/model.md, "The proposal search", says how, and what the pool can miss.

Issues joined by a link or an exclusion are one *group* here (:mod:`sim.scenario.options`): the search sees
each group as one issue whose options are the group's combinations, so links and exclusions are exact.
"""

from __future__ import annotations

import weakref
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.engine import rules, search
from sim.scenario.compile import Compiled
from sim.scenario.registry import NO_MINIMUM

DIVISIONS = 32  # the pool's weight grid: multiples of 1/32 on the two governments' simplex (33 packages)
GRID = search.simplex_grid(2, DIVISIONS)  # its weight vectors (W, 2), worked out once
GRID.flags.writeable = False


@dataclass
class Pool:
    """Runs' packages as group-option vectors: ``x`` (n, C, G) the pool's columns; ``values`` (2, n, G, W) each
    government's salience-weighted term of each group option at today's line; ``allowed`` (2, n, G, W) the
    group options each government's active red lines and minimum terms let pass."""

    values: np.ndarray
    allowed: np.ndarray
    x: np.ndarray

    def space(self, rows: np.ndarray | slice = slice(None), offset: np.ndarray | None = None) -> search.Space:
        """The search's space of runs ``rows``: options both governments let pass, their side-payments added."""
        values = self.values[:, rows]
        return search.Space(values, self.allowed[0, rows] & self.allowed[1, rows],
                            np.zeros((2, values.shape[1])) if offset is None else offset)

    def utilities(self, x: np.ndarray) -> list[np.ndarray]:
        """Each government's utility (n, M) of group-option vectors ``x`` (n, M, G), terms added in group order."""
        return list(search.add_issues(search.cells(self.values, x, np.arange(x.shape[0]))))

    def allows(self, x: np.ndarray) -> list[np.ndarray]:
        """Per government, (n, M) every group option of ``x`` passes its filters."""
        return list(np.logical_and.reduce(search.cells(self.allowed, x, np.arange(x.shape[0])), axis=1))

    def feasible(self) -> np.ndarray:
        """(n,) some package passes both governments' filters (every group has an option allowed to both)."""
        return (self.allowed[0] & self.allowed[1]).any(axis=-1).all(axis=-1)

    def column(self, col: int) -> np.ndarray:
        """(n, G) the packages of column ``col``."""
        return np.array(self.x[:, col], np.int64)

    def frontier(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), W, G) the frontier's columns of runs ``rows``."""
        return self.x[rows, :DIVISIONS + 1]

    def add(self, x: np.ndarray) -> None:
        """Add packages ``x`` (n, 1, G) as the pool's last column."""
        self.x = np.concatenate([self.x, x], axis=1)

    def width(self) -> int:
        """The number of columns."""
        return int(self.x.shape[1])

    def at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """(len(rows), G) the package of column ``cols[i]`` of run ``rows[i]``."""
        return np.asarray(self.x[rows, cols], np.int64)


class Kept(Pool):
    """The pool of runs ``runs`` of a :class:`Reader`, read from the reader's arrays where and when asked (a reading
    of the month reads few of its rows): the same numbers as a :class:`Pool` of copies of those rows."""

    def __init__(self, reader: Reader, runs: np.ndarray):
        self.reader, self.runs = reader, runs
        self.added: list[np.ndarray] = []  # columns added past the frontier's, (n, 1, G) each

    @property
    def values(self) -> np.ndarray:  # type: ignore[override]
        return self.reader.values[:, self.runs]

    @property
    def allowed(self) -> np.ndarray:  # type: ignore[override]
        return self.reader.allowed[:, self.runs]

    @property
    def x(self) -> np.ndarray:  # type: ignore[override]
        return np.concatenate([self.reader.columns(self.runs).astype(np.int64), *self.added], axis=1)

    def space(self, rows: np.ndarray | slice = slice(None), offset: np.ndarray | None = None) -> search.Space:
        runs = self.runs[rows]
        values = self.reader.values[:, runs]
        return search.Space(values, self.reader.allowed[0, runs] & self.reader.allowed[1, runs],
                            np.zeros((2, values.shape[1])) if offset is None else offset)

    def utilities(self, x: np.ndarray) -> list[np.ndarray]:
        return list(search.add_issues(search.cells(self.reader.values, x, self.runs)))

    def allows(self, x: np.ndarray) -> list[np.ndarray]:
        return list(np.logical_and.reduce(search.cells(self.reader.allowed, x, self.runs), axis=1))

    def feasible(self) -> np.ndarray:
        return self.reader.feasible[self.runs]

    def column(self, col: int) -> np.ndarray:
        W = self.reader.x.shape[1]
        if col == 0:
            return self.reader.x[self.runs, 0].astype(np.int64)
        return self.at(np.arange(len(self.runs)), np.full(len(self.runs), col)) if col < W \
            else self.added[col - W][:, 0].copy()

    def frontier(self, rows: np.ndarray) -> np.ndarray:
        return self.reader.columns(self.runs[rows])

    def add(self, x: np.ndarray) -> None:
        self.added.append(np.asarray(x, np.int64))

    def width(self) -> int:
        return int(self.reader.x.shape[1]) + len(self.added)

    def at(self, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        W, runs = self.reader.x.shape[1], self.runs[rows]
        first = ~self.reader.feasible[runs] if self.reader.lazy else np.zeros(len(runs), bool)
        out = self.reader.x[runs, np.where(first, 0, np.minimum(cols, W - 1))].astype(np.int64)
        for i, extra in enumerate(self.added):
            here = cols == W + i
            out[here] = extra[rows[here], 0]
        return out


def option_terms(c: Compiled, q: dict[str, np.ndarray], territory: np.ndarray, g: int) -> np.ndarray:
    """(n, K, O) government g's salience-weighted term ``s_gk v_gk(o)`` of each option at today's line."""
    assert c.space is not None
    n = len(territory)
    pos = np.broadcast_to(c.space.positions, (n, *c.space.positions.shape)).copy()
    if c.land_issue >= 0:
        t = territory[:, None]
        moved = rules.land_moved(c.space.land_share[None, :], t, q["pre2022"][:, None], q["claimed"][:, None])
        pos[:, c.land_issue] = rules.land_position(t - moved, q["pre2022"][:, None], q["claimed"][:, None])
    ideal, sal = q["ideal"][:, g, :, None], q["salience"][:, g, :, None]
    terms = sal * (1.0 - np.abs(pos - ideal))
    if c.land_issue >= 0:
        k = c.land_issue
        terms[:, k] = sal[:, k] * rules.term_value(pos[:, k], ideal[:, k], True)
    return terms


def option_allowed(c: Compiled, q: dict[str, np.ndarray], n: int, g: int) -> tuple[np.ndarray, np.ndarray]:
    """((n, K, O) options g's active red lines let pass, (n, K, O) options that meet its minimum terms)."""
    assert c.space is not None
    K, W = c.space.positions.shape
    mine = c.red_line_owner == g
    active = np.broadcast_to(q["rl_active"][:, mine] > 0.0, (n, int(mine.sum())))
    crossed = (active[:, :, None, None] & c.red_line_options[mine][None]).any(axis=1)
    floor = np.broadcast_to(q["minimum"][:, g], (n, K))
    level = 1.0 - np.abs(c.space.positions[None] - np.broadcast_to(q["ideal"][:, g], (n, K))[:, :, None])
    if c.land_issue >= 0:  # the land share from g's view: returned land for the ukraine side, ceded for russia
        level[:, c.land_issue] = c.space.land_share * (1.0 if g == 0 else -1.0)
    meets = (floor[:, :, None] <= NO_MINIMUM) | (level >= floor[:, :, None])
    return ~crossed, meets


def group(c: Compiled, per_issue: np.ndarray, use: str, fill: Any, only: list[int] | None = None) -> np.ndarray:
    """(n, G, W) a per-option array (n, K, O) read per group option: added (``use='sum'``, the options'
    positions as links adjust them) or all passing (``'all'``, each option itself; ``'effective'``, the adjusted
    one). Padding options take ``fill``. ``only``: these groups alone, (n, len(only), W).

    Every group's first issue is read in one ``take`` (:func:`_layout`); the other issues of a group of several
    are then added (or passed) into it, in their order."""
    assert c.space is not None
    sp = c.space
    if only is None:
        first, pad, several = _layout(sp, use)
        n, G = per_issue.shape[0], len(sp.groups)
        out = per_issue.reshape(n, -1).take(first, axis=1).reshape(n, G, sp.width)
        out[:, pad] = fill
        which: Any = several
    else:
        out = np.full((per_issue.shape[0], len(only), sp.width), fill, per_issue.dtype)
        which = list(enumerate(only))
    for i, j in which:
        issues = sp.groups[j]
        rows = sp.combos[j] if use == "all" else sp.effective[j]
        cell = per_issue[:, issues[0], rows[:, 0]]
        for m in range(1, len(issues)):
            part = per_issue[:, issues[m], rows[:, m]]
            cell = cell + part if use == "sum" else cell & part
        out[:, i, :len(rows)] = cell
    return out


# (id of an option space, use) -> its layout; an entry goes with its space (weakref.finalize), so a process that
# compiles many scenarios (a sweep's worker, the classroom server) keeps only the layouts of the spaces alive
_LAYOUTS: dict[tuple[int, str], tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]] = {}


def _layout(sp: Any, use: str) -> tuple[np.ndarray, np.ndarray, list[tuple[int, int]]]:
    """For :func:`group` over every group of the option space ``sp``: ((G x W,) each group option's entry of its
    first issue in a flattened (K x O) per-option row, (G, W) the padding, the groups of several issues as
    (place in the output, group) pairs), worked out once per space."""
    key = (id(sp), use)
    found = _LAYOUTS.get(key)
    if found is None:
        options = sp.positions.shape[1]
        first = np.zeros((len(sp.groups), sp.width), np.int64)
        pad = np.ones(first.shape, bool)
        for j, issues in enumerate(sp.groups):
            rows = sp.combos[j] if use == "all" else sp.effective[j]
            first[j, :len(rows)] = issues[0] * options + rows[:, 0]
            pad[j, :len(rows)] = False
        several = [(j, j) for j, issues in enumerate(sp.groups) if len(issues) > 1]
        found = _LAYOUTS[key] = (first.reshape(-1), pad, several)
        weakref.finalize(sp, _LAYOUTS.pop, key, None)  # before the id can be another space's
    return found


def read(c: Compiled, q: dict[str, np.ndarray], territory: np.ndarray, lazy: bool = False) -> Pool:
    """The runs' pool at today's line: group values and filters, and the frontier of the two governments
    (``lazy``: :func:`frontier`'s first column alone where no package passes both governments' filters)."""
    n = len(territory)
    values = np.stack([group(c, option_terms(c, q, territory, g), "sum", 0.0) for g in (0, 1)])
    allowed = []
    for g in (0, 1):
        lines, minimum = option_allowed(c, q, n, g)
        allowed.append(group(c, lines, "all", False) & group(c, minimum, "effective", False))
    pool = Pool(values, np.stack(allowed), np.zeros((n, 0, values.shape[2]), np.int64))
    pool.x = frontier(pool.space(), ~pool.feasible() if lazy else np.zeros(n, bool)).astype(np.int64)
    return pool


def frontier(space: search.Space, first: np.ndarray) -> np.ndarray:
    """(n, W, G) :func:`sim.engine.search.frontier` over the pool's weight grid; in the runs ``first`` (n,) its
    first weight's packages alone, in every column (the same numbers there: each run and weight is read apart).
    A lazy :class:`Reader` reads no other column of a run where no package passes both governments' filters."""
    n, G = space.shape[1], space.shape[2]
    if not first.any():
        return search.weighted_argmax(search.by_width(space, np.arange(n)), GRID[:, :, None], G)
    one, rest = np.flatnonzero(first), np.flatnonzero(~first)
    head = search.weighted_argmax(search.by_width(space, one), GRID[:1, :, None], G)
    tail = search.weighted_argmax(search.by_width(space, rest), GRID[:, :, None], G) if len(rest) else head[:0]
    out = np.empty((n, len(GRID), G), np.result_type(head, tail))
    out[one] = head
    out[rest] = tail
    return out


KEYS = ("pre2022", "claimed", "ideal", "salience", "rl_active", "minimum")  # the parameters a pool is read from
LINE_KEYS = KEYS[:4]  # ... and those its values at the line are read from


class Reader:
    """The pools of a kernel's R runs, kept from one reading to the next (a run's pool is read in most months).

    A pool is a function of the run's parameters :data:`KEYS` and of today's line, which moves only the group of
    the land issue: a run read again with the same parameters (compared to the bit) takes its kept pool, with
    that group's values and frontier read again where the line moved (the frontier is issue by issue, so the
    other groups' part stands); a run whose parameters changed (an event) is read afresh. The numbers are
    those of :func:`read`. Memory: O(R x groups x options), kept for the kernel's life.

    ``lazy`` (a batch's kernel, not the Mesa model's): in a run where no package passes both governments' filters
    (so while its parameters stand), the columns' utilities and filters are not read (0 and False) and of the
    frontier only its first column, the only one kept where the line moves (it stands in every column:
    :meth:`columns`). A batch reads the pool's columns there only through ``both`` (False in every column of such
    a run, whatever the columns) and the first column (the package that stands as the offer, whose numbers
    :func:`sim.engine.kernel._add_column` reads from ``values`` and ``allowed``); the Mesa model shows every
    column, so it reads them all.
    """

    def __init__(self, c: Compiled, R: int, lazy: bool = False):
        assert c.space is not None
        self.c, self.R, self.lazy = c, R, lazy
        G, W = len(c.space.groups), c.space.width
        self.land = next((j for j, issues in enumerate(c.space.groups) if c.land_issue in issues), -1)
        self.keys: dict[str, np.ndarray] = {}
        self.territory = np.full(R, np.nan)  # the line each run's pool was read at (NaN: never read)
        self.values = np.zeros((2, R, G, W))
        self.allowed = np.zeros((2, R, G, W), bool)
        self.x = np.zeros((R, DIVISIONS + 1, G), np.int16 if W < 2**15 else np.int64)
        self.u = np.zeros((2, R, DIVISIONS + 1))
        self.ok = np.zeros((2, R, DIVISIONS + 1), bool)
        self.feasible = np.zeros(R, bool)  # some package passes both governments' filters (fixed by the parameters)
        self.land_ok = np.zeros((R, W), bool)  # the land group's options both governments let pass (as feasible)

    def read(self, q: dict[str, np.ndarray], territory: np.ndarray, runs: np.ndarray
             ) -> tuple[Pool, list[np.ndarray], list[np.ndarray]]:
        """Runs ``runs``' pools at today's line ``territory`` with their parameters ``q`` (rows of ``runs``, or
        one row shared): (the pool, each government's (n, C) utilities of its columns, whether it allows each)."""
        n, given = len(runs), q
        q = {k: np.broadcast_to(q[k], (n, *q[k].shape[1:])) for k in KEYS}
        same = self._same(q, runs)
        fresh = np.flatnonzero(~same)
        if len(fresh):
            sub = {k: v[fresh] for k, v in q.items()}
            self._keep(runs[fresh], read(self.c, sub, territory[fresh], self.lazy))
            for k in KEYS:
                self.keys[k][runs[fresh]] = sub[k]
            self.territory[runs[fresh]] = territory[fresh]
        moved = np.flatnonzero(same & (self.territory[runs] != territory))
        if len(moved):  # the land group's values read from the parameters of LINE_KEYS, shared rows as they are
            line = {k: given[k] if len(given[k]) == 1 else q[k][moved] for k in LINE_KEYS}
            self._move(runs[moved], line, territory[moved])
        return Kept(self, runs), *self._handed(runs)

    def _handed(self, runs: np.ndarray) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Each government's (n, C) utilities of the columns of runs ``runs`` and whether it allows each (copies).
        ``lazy``: a run's filters pass every column where some package passes both governments' filters, none
        elsewhere (where the utilities are 0): only the other runs' utilities are taken from the kept array."""
        if not self.lazy:
            return list(self.u.take(runs, axis=1)), list(self.ok.take(runs, axis=1))
        feasible = self.feasible[runs]
        some = np.flatnonzero(feasible)
        u = np.zeros((2, len(runs), self.u.shape[2]))
        u[:, some] = self.u.take(runs[some], axis=1)
        return list(u), list(np.repeat(feasible[None, :, None], self.ok.shape[2], axis=2).repeat(2, axis=0))

    def columns(self, runs: np.ndarray) -> np.ndarray:
        """(n, W, G) the frontier's columns of runs ``runs`` (``lazy``: the first one in every column of a run where
        no package passes both governments' filters)."""
        x = self.x[runs]
        if self.lazy:
            one = ~self.feasible[runs]
            x[one] = x[one, :1]
        return x

    def _same(self, q: dict[str, np.ndarray], runs: np.ndarray) -> np.ndarray:
        """(n,) the runs whose parameters are those their kept pools were read with, compared to the bit (a run
        never read has NaN kept: it differs). The kept rows are taken once, all keys side by side; most runs'
        parameters stand: the runs that differ are found from the entries that differ, not row by row."""
        same = np.ones(len(runs), bool)
        for k in KEYS:
            if k not in self.keys:
                self.keys[k] = np.full((self.R, *q[k].shape[1:]), np.nan)
            differ = self.keys[k].take(runs, axis=0) != q[k]
            if differ.any():
                same[np.flatnonzero(differ) // differ[0].size] = False
        return same

    def _keep(self, runs: np.ndarray, pool: Pool) -> None:
        """Keep the pools of runs ``runs`` (read afresh), with their columns' utilities and filters."""
        self.values[:, runs], self.allowed[:, runs], self.x[runs] = pool.values, pool.allowed, pool.x
        self.feasible[runs] = pool.feasible()
        if self.land >= 0:
            self.land_ok[runs] = pool.allowed[0, :, self.land] & pool.allowed[1, :, self.land]
        feasible = self.feasible[runs]
        self.ok[:, runs] = feasible[:, None]
        if self.lazy:
            self.u[:, runs[~feasible]] = 0.0
        self._columns(runs, feasible)

    def _columns(self, runs: np.ndarray, feasible: np.ndarray) -> None:
        """The utilities of the columns of runs ``runs`` (``feasible``: theirs), from the kept arrays, and their
        filters where no package passes both governments' filters (elsewhere a frontier package passes both: they
        are True, set when the pool is kept). ``lazy``: neither is read where none passes (0 and False, set when
        the pool is kept)."""
        read = runs[feasible] if self.lazy else runs
        if len(read):
            x = self.x[read]
            first, run = search.runs_of_equal(x)  # a frontier's neighbouring weights often take one package
            u = search.add_issues(search.cells(self.values, np.take_along_axis(x, first[:, :, None], 1), read))
            self.u[:, read] = np.take_along_axis(u, run[None], 2)
        bad = runs[~feasible] if not self.lazy else runs[:0]
        if len(bad):
            self.ok[:, bad] = np.logical_and.reduce(search.cells(self.allowed, self.x[bad], bad), axis=1)

    def _move(self, runs: np.ndarray, q: dict[str, np.ndarray], territory: np.ndarray) -> None:
        """The land group's values and frontier of runs ``runs`` at a new line, and their columns' utilities. The
        filters do not move with the line: of the frontier of a lazy run where no package passes both filters
        only its first column is read (every column holds it), its columns' utilities and filters not at all."""
        c, j = self.c, self.land
        assert c.space is not None
        self.territory[runs] = territory
        if j < 0:  # no land issue: nothing moves with the line
            return
        if len(c.space.groups[j]) == 1:  # the land issue alone: its terms alone (as group() reads them)
            values = land_values(c, q, territory)
        else:
            values = np.stack([group(c, option_terms(c, q, territory, g), "sum", 0.0, [j])[:, 0] for g in (0, 1)])
        for g in (0, 1):
            self.values[g, runs, j] = values[g]
        feasible = self.feasible[runs]
        both = self.land_ok[runs]
        one = np.flatnonzero(~feasible) if self.lazy else runs[:0]
        every = np.flatnonzero(feasible) if self.lazy else np.arange(len(runs))
        if len(one):
            self.x[runs[one], 0, j] = best_options(values[:, one], both[one], GRID[:1])[:, 0]
        if len(every):
            self.x[runs[every], :, j] = best_options(values[:, every], both[every], GRID)
        self._columns(runs, feasible)


def best_options(values: np.ndarray, allowed: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """(n, len(weights)) per weight vector, the allowed option of one group with the largest weighted sum of
    ``values`` (2, n, W), the first among equals (0 where none is allowed): the numbers of
    :func:`sim.engine.search.weighted_argmax` over that group alone (the same sums; a sum that is not a number,
    of an option not allowed, never the best; ``argmax`` takes the first of equal largest sums, as that one
    keeps the first)."""
    v = np.where(allowed[None], values, np.nan)
    s = weights[:, 0, None, None] * v[0]
    s = s + weights[:, 1, None, None] * v[1]  # (len(weights), n, W)
    s[np.isnan(s)] = -np.inf
    return s.argmax(axis=2).T.astype(np.int16)


def land_values(c: Compiled, q: dict[str, np.ndarray], territory: np.ndarray) -> np.ndarray:
    """(2, n, W) each government's value of each option of the land group at the line ``territory``, where the
    land issue is a group alone: the land issue's terms of :func:`option_terms` (the same numbers) per group
    option, padding 0, as :func:`group` reads them (the options' positions at the line worked out once for both)."""
    assert c.space is not None
    k, j = c.land_issue, next(j for j, issues in enumerate(c.space.groups) if c.land_issue in issues)
    rows = c.space.effective[j][:, 0]
    t = territory[:, None]
    moved = rules.land_moved(c.space.land_share[None, :], t, q["pre2022"][:, None], q["claimed"][:, None])
    pos = rules.land_position(t - moved, q["pre2022"][:, None], q["claimed"][:, None])[:, rows]
    values = np.zeros((2, len(territory), c.space.width))
    for g in (0, 1):
        term = rules.term_value(pos, q["ideal"][:, g, k, None], True)
        values[g, :, :len(rows)] = q["salience"][:, g, k, None] * term
    return values


def packages(c: Compiled, x: np.ndarray) -> np.ndarray:
    """Package numbers of group-option vectors ``x`` (..., G)."""
    assert c.space is not None
    return c.space.encode(c.space.ungroup(x))
