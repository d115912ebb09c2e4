"""The package space issue by issue, for scenarios too large to enumerate (the proposal search, issue 18).

A package is one option per issue. Above :func:`sim.scenario.registry.max_packages` packages the engine
does not list them: it keeps each issue's options (their positions and, on the land issue, shares) and
searches over them (:mod:`sim.engine.search`). A package is then an option vector, and its number is the
mixed-radix index of that vector (the last issue varying fastest, as ``itertools.product`` lists packages),
which fits int64 for every space the schema admits.

Utilities are additive over issues, but two things join issues: a link (``issues.<name>.links``: a guarantee
that counts only with forces) and an exclusion (``exclude:``). Issues so joined form a *group*, searched as one
compound issue whose options are the group's option combinations: the link adjusts a combination's position
(:func:`sim.scenario.registry.linked_positions`, per combination) and an exclusion removes combinations, so
both are exact. A group has at most :data:`MAX_GROUP` combinations (a refusal, at its key, beyond).
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from sim.scenario.registry import matching

MAX_GROUP = 4096  # option combinations of one group of linked or excluded issues
MAX_INDEX = 2**62  # a package number must fit int64


@dataclass(frozen=True)
class OptionSpace:
    """The issues' options as arrays, and the groups the search treats as one issue each.

    ``positions`` (K, O): each option's position (padded with 0; the land issue's column is recomputed each
    month from the line); ``counts`` (K,); ``land_share`` (O,) the land issue's shares; ``radix`` (K,) the
    place value of each issue in a package number. Per group j: ``groups[j]`` its issues (in issue order),
    ``combos[j]`` (n_j, len) its option combinations that no exclusion removes, and ``effective[j]`` (n_j, len)
    the option whose position each issue takes there (its own, or a failed link's ``otherwise``).
    """

    counts: np.ndarray
    positions: np.ndarray
    land_share: np.ndarray
    radix: np.ndarray
    groups: list[tuple[int, ...]]
    combos: list[np.ndarray]
    effective: list[np.ndarray]

    @property
    def width(self) -> int:
        """The most options (combinations) of a group: the search's option axis."""
        return max(len(c) for c in self.combos)

    def encode(self, x: np.ndarray) -> np.ndarray:
        """Package numbers of option vectors ``x`` (..., K)."""
        return np.asarray(x, np.int64) @ self.radix

    def decode(self, package: Any) -> np.ndarray:
        """Option vectors (..., K) of package numbers."""
        p = np.asarray(package, np.int64)
        return (p[..., None] // self.radix) % self.counts

    def ungroup(self, g: np.ndarray) -> np.ndarray:
        """Option vectors (..., K) of group-option vectors ``g`` (..., G)."""
        g = np.asarray(g, np.int64)
        out = np.zeros((*g.shape[:-1], len(self.counts)), np.int64)
        for j, issues in enumerate(self.groups):
            out[..., list(issues)] = self.combos[j][g[..., j]]
        return out


def groups_of(m: Any, issues: list[str]) -> list[tuple[int, ...]]:
    """Issues joined by links and exclusions, as sorted index tuples in the order of their first issue."""
    parent = list(range(len(issues)))

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    joins = [[issues.index(link.requires), k] for k, name in enumerate(issues) for link in m.issues[name].links]
    joins += [[issues.index(name) for name in ex.match] for ex in m.exclude]
    for members in joins:
        for other in members[1:]:
            parent[root(other)] = root(members[0])
    found: dict[int, list[int]] = {}
    for k in range(len(issues)):
        found.setdefault(root(k), []).append(k)
    return [tuple(v) for v in found.values()]


def option_space(m: Any) -> OptionSpace:
    """The scenario model's package space issue by issue (no package is listed)."""
    issues = list(m.issues)
    options = [list(m.issues[k].options) for k in issues]
    counts = np.array([len(o) for o in options], np.int64)
    width = int(counts.max())
    positions = np.zeros((len(issues), width))
    land_share = np.zeros(width)
    for k, name in enumerate(issues):
        values = list(m.issues[name].options.values())
        if m.issues[name].kind == "land":
            land_share[:len(values)] = values
        else:
            positions[k, :len(values)] = values
    radix = np.array([math.prod(int(n) for n in counts[k + 1:]) for k in range(len(issues))], np.int64)
    groups = groups_of(m, issues)
    combos, effective = [], []
    for group in groups:
        names = [issues[k] for k in group]
        rows = np.array(list(itertools.product(*[range(int(counts[k])) for k in group])), np.int64)
        keep = np.ones(len(rows), bool)
        for ex in m.exclude:
            if set(ex.match) <= set(names):
                keep &= ~matching(rows, names, [options[k] for k in group], ex.match)
        rows = rows[keep]
        combos.append(rows)
        effective.append(_effective(m, names, rows, [options[k] for k in group]))
    return OptionSpace(counts, positions, land_share, radix, groups, combos, effective)


def _effective(m: Any, names: list[str], rows: np.ndarray, options: list[list[str]]) -> np.ndarray:
    """(n, len) the option whose position each issue of a group takes in each combination (links applied)."""
    out = rows.copy()
    for i, name in enumerate(names):  # the rule of registry.linked_positions, on option indices
        for link in m.issues[name].links:
            r = names.index(link.requires)
            values = np.array(list(m.issues[link.requires].options.values()), float)
            fails = values[rows[:, r]] < m.issues[link.requires].options[link.at_least]
            cap = m.issues[name].options[link.otherwise]
            own = np.array(list(m.issues[name].options.values()), float)[rows[:, i]]
            out[fails & (own > cap), i] = options[i].index(link.otherwise)
    return out


def search_refusal(m: Any) -> list[tuple[tuple[Any, ...], str]]:
    """Why a space too large to enumerate cannot be searched either: (key, why) pairs; empty if it can."""
    out: list[tuple[tuple[Any, ...], str]] = []
    issues = list(m.issues)
    count = math.prod(len(i.options) for i in m.issues.values())
    if count >= MAX_INDEX:
        out.append((("issues",), f"the issues' options make {count:,} packages, more than the {MAX_INDEX:,} a "
                                 f"package number can count (int64): give fewer issues or options"))
    for group in groups_of(m, issues):
        size = math.prod(len(m.issues[issues[k]].options) for k in group)
        if size > MAX_GROUP:  # checked before any combination is listed
            names = ", ".join(issues[k] for k in group)
            key = ("exclude",) if m.exclude else ("issues", issues[group[0]], "links")
            out.append((key, f"links and exclusions join the issues {names} into one group of {size:,} option "
                             f"combinations, more than the {MAX_GROUP:,} the proposal search takes as one issue "
                             f"(it searches a joined group whole, to keep links and exclusions exact): join fewer "
                             f"issues"))
    return out
