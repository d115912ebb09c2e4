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

from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.engine import rules, search
from sim.scenario.compile import Compiled
from sim.scenario.registry import NO_MINIMUM

DIVISIONS = 32  # the pool's weight grid: multiples of 1/32 on the two governments' simplex (33 packages)


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
        n = np.arange(x.shape[0])[:, None]
        out = []
        for g in (0, 1):
            total = self.values[g, n, 0, x[..., 0]]
            for j in range(1, x.shape[-1]):
                total = total + self.values[g, n, j, x[..., j]]
            out.append(total)
        return out

    def allows(self, x: np.ndarray) -> list[np.ndarray]:
        """Per government, (n, M) every group option of ``x`` passes its filters."""
        n = np.arange(x.shape[0])[:, None]
        out = []
        for g in (0, 1):
            ok = self.allowed[g, n, 0, x[..., 0]]
            for j in range(1, x.shape[-1]):
                ok = ok & self.allowed[g, n, j, x[..., j]]
            out.append(ok)
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


def group(c: Compiled, per_issue: np.ndarray, use: str, fill: Any) -> np.ndarray:
    """(n, G, W) a per-option array (n, K, O) read per group option: added (``use='sum'``, the options'
    positions as links adjust them) or all passing (``'all'``, each option itself; ``'effective'``, the adjusted
    one). Padding options take ``fill``."""
    assert c.space is not None
    sp = c.space
    out = np.full((per_issue.shape[0], len(sp.groups), sp.width), fill, per_issue.dtype)
    for j, issues in enumerate(sp.groups):
        rows = sp.combos[j] if use == "all" else sp.effective[j]
        cell = per_issue[:, issues[0], rows[:, 0]]
        for i in range(1, len(issues)):
            part = per_issue[:, issues[i], rows[:, i]]
            cell = cell + part if use == "sum" else cell & part
        out[:, j, :len(rows)] = cell
    return out


def read(c: Compiled, q: dict[str, np.ndarray], territory: np.ndarray) -> Pool:
    """The runs' pool at today's line: group values and filters, and the frontier of the two governments."""
    n = len(territory)
    values = np.stack([group(c, option_terms(c, q, territory, g), "sum", 0.0) for g in (0, 1)])
    allowed = []
    for g in (0, 1):
        lines, minimum = option_allowed(c, q, n, g)
        allowed.append(group(c, lines, "all", False) & group(c, minimum, "effective", False))
    pool = Pool(values, np.stack(allowed), np.zeros((n, 0, values.shape[2]), np.int64))
    pool.x = search.frontier(pool.space(), np.arange(n), DIVISIONS).astype(np.int64)
    return pool


def packages(c: Compiled, x: np.ndarray) -> np.ndarray:
    """Package numbers of group-option vectors ``x`` (..., G)."""
    assert c.space is not None
    return c.space.encode(c.space.ungroup(x))
