"""Random package spaces and the rules' brute force over them, for tests/test_search.py and
benchmarks/bench_search.py.

A case is one space shape (issues and their option counts, shared by its runs) and, per run, random
saliences, ideals, side-payments, minimum terms, single-issue red lines, needs, types, beliefs and publics.
The brute force enumerates every package and calls the rules (``rules.mediator_proposal``,
``rules.government_proposal``) as the kernel does, so the search is checked against the model's own
equations, not against a second copy of them.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.engine import rules, search

N_TYPES = 3


@dataclass
class Case:
    """A random space with R runs, and the parameters of the rules' objectives."""

    space: search.Space
    counts: list[int]        # options of each issue
    chances: search.Chances
    need: np.ndarray         # (2, R) the mediator's expected needs
    weights: np.ndarray      # (2, R) the Nash weights
    own_need: np.ndarray     # (2, R) each government's own need as a proposer

    @property
    def n_packages(self) -> int:
        return int(np.prod(self.counts))


def shape(rng: np.random.Generator, max_packages: int = 100_000, issues: tuple[int, int] = (2, 8),
          options: tuple[int, int] = (2, 8)) -> list[int]:
    """Option counts of a random space: ``issues`` and ``options`` ranges (inclusive), at most ``max_packages``."""
    while True:
        counts = list(rng.integers(options[0], options[1] + 1, rng.integers(issues[0], issues[1] + 1)))
        if np.prod(counts, dtype=float) <= max_packages:
            return [int(c) for c in counts]


def _terms(rng: np.random.Generator, counts: list[int], R: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(A=2, R, K, O) weighted terms, (2, R, K, O) unweighted terms and the option mask (K, O)."""
    K, Q = len(counts), max(counts)
    land = int(rng.integers(K)) if rng.random() < 0.3 else -1
    raw = np.zeros((2, R, K, Q))
    exists = np.arange(Q)[None, :] < np.array(counts)[:, None]
    for k, n in enumerate(counts):
        pos = np.sort(rng.random(n)) if k != land else np.linspace(-0.5, 1.0, n)
        for g in (0, 1):
            ideal = (np.full(R, 1.0 - g) if k == land else rng.random(R))[:, None]
            raw[g, :, k, :n] = rules.term_value(pos[None, :], ideal, k == land)
    salience = rng.dirichlet(np.ones(K), size=(2, R))
    return raw * salience[..., None], raw, exists


def case(rng: np.random.Generator, counts: list[int], R: int, filters: bool = True) -> Case:
    """A random case over a space with option counts ``counts`` and R runs."""
    values, raw, exists = _terms(rng, counts, R)
    K, Q = len(counts), max(counts)
    allowed = np.broadcast_to(exists, (R, K, Q)).copy()
    if filters:
        for g in (0, 1):  # minimum terms on some issues; a red line forbidding one option of some issues
            floor = np.where(rng.random((R, K)) < 0.2, rng.uniform(0.0, 0.8, (R, K)), -np.inf)
            allowed &= raw[g] >= floor[..., None]
            banned = (rng.random((R, K)) < 0.1)[..., None] & (np.arange(Q) == rng.integers(0, Q, (R, K, 1)))
            allowed &= ~banned
    space = search.Space(values, allowed, rng.uniform(0.0, 0.05, (2, R)))
    v = rng.uniform(0.2, 0.8, (2, R))
    spread = rng.uniform(0.0, 0.1, (2, R))
    need_types = v[..., None] + spread[..., None] * np.array([-1.0, 0.0, 1.0])
    belief = rng.dirichlet(np.ones(N_TYPES), size=(2, R))
    chances = search.Chances(
        need_types=need_types, belief=belief, temperature=rng.uniform(0.02, 0.2, R),
        u_nd=rng.uniform(0.2, 0.7, (2, R)), cost=rng.uniform(0.0, 0.3, (2, R)),
        weariness=rng.random((2, R)), threshold=rng.uniform(-0.1, 0.2, (2, R)),
        weariness_effect=rng.uniform(0.0, 0.2, (2, R)), legitimacy=rng.uniform(-0.05, 0.05, (2, R)),
        spread=rng.uniform(0.05, 0.3, (2, R)), votes=rng.random((2, R)) < 0.7)
    w0 = rng.uniform(0.2, 0.8, R)
    return Case(space, counts, chances, rules.expect(belief, need_types), np.stack([w0, 1.0 - w0]),
                v + rng.uniform(0.0, 0.1, (2, R)))


# ----------------------------------------------------------------- brute force


def packages(counts: list[int]) -> np.ndarray:
    """(P, K) every package's option indices, the last issue fastest."""
    return np.indices(counts).reshape(len(counts), -1).T


def enumerate_space(space: search.Space, counts: list[int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Every package (P, K), each actor's utility of it (A, R, P) and whether it passes the filters (R, P)."""
    combos = packages(counts)
    u = space.values[:, :, 0, combos[:, 0]]
    ok = space.allowed[:, 0, combos[:, 0]]
    for k in range(1, len(counts)):
        u = u + space.values[:, :, k, combos[:, k]]
        ok = ok & space.allowed[:, k, combos[:, k]]
    return combos, u + space.offset[..., None], ok


def log_chance(c: Case, ub: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The kernel's log-chance of ratification, and of acceptance and ratification (``kernel.ratification``,
    ``kernel.propose``), of utilities ``ub`` (2, R, P)."""
    ch = c.chances
    log_rat: np.ndarray | float = 0.0
    for g in (0, 1):
        margin = rules.ratify_margin(ub[g], ch.u_nd[g][:, None], ch.cost[g][:, None], ch.weariness[g][:, None],
                                     ch.threshold[g][:, None], ch.weariness_effect[g][:, None],
                                     ch.legitimacy[g][:, None])
        prob = rules.ratify_probability(margin, ch.spread[g][:, None])
        log_rat = log_rat + rules.log_vote_chance(prob, ch.votes[g][:, None])
    accept = sum(np.log(np.maximum(rules.expected_acceptance(ub[g], ch.need_types[g], ch.belief[g], ch.temperature),
                                   rules.TINY)) for g in (0, 1))
    return np.asarray(log_rat), log_rat + accept


def brute_mediator(c: Case) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rules' mediator proposal over every package: (package (R, K), zone (R,), any package allowed (R,))."""
    combos, ub, ok = enumerate_space(c.space, c.counts)
    _, chance = log_chance(c, ub)
    x, zone = rules.mediator_proposal(ub[0], ub[1], c.need[0], c.need[1], c.weights[0], c.weights[1], chance, ok)
    return combos[x], zone, ok.any(axis=-1)


def brute_government(c: Case, g: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The rules' proposal of government g over every package: (package (R, K), gains (R,), any allowed (R,))."""
    combos, ub, ok = enumerate_space(c.space, c.counts)
    log_rat, _ = log_chance(c, ub)
    h = 1 - g
    p_other = rules.expected_acceptance(ub[h], c.chances.need_types[h], c.chances.belief[h], c.chances.temperature)
    x, has = rules.government_proposal(ub[g], p_other, c.own_need[g], log_rat, ok)
    return combos[x], has, ok.any(axis=-1)


def objective_at(space: search.Space, objective: search.Objective, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(tier, value) of packages ``x`` (R, K) under ``objective``."""
    rows = np.arange(len(x))
    t, v = objective(space.utilities(x[:, None, :], rows), rows)
    return t[:, 0], v[:, 0]
