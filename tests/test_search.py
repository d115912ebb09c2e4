"""The proposal search (sim/engine/search.py) against the rules' brute force over every package.

Random spaces of 2-8 issues with 2-8 options each and at most 10^5 packages, random saliences, ideals,
side-payments, minimum terms, single-issue red lines, needs, types, beliefs and publics
(tests/search_cases.py). A call is one run of one space. The search passes a call when it finds the brute
force's package, or one whose objective is within 1e-6 of it (same tier). Issue 18 asks for 99% of 10,000
calls; the measured rates are in docs/model.md ("The proposal search").
"""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest
import search_cases as sc

from sim.engine import search

TOL = 1e-6


def passes(found: search.Found, x: np.ndarray, tier: np.ndarray, value: np.ndarray) -> np.ndarray:
    """(R,) the search found the brute force's package or one as good (within TOL, same tier)."""
    return (found.x == x).all(axis=-1) | ((found.tier == tier) & (found.value >= value - TOL))


def brute(c: sc.Case, objective: search.Objective) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The best package of ``objective`` over every package: (package, tier, value, any allowed) per run."""
    combos, u, ok = sc.enumerate_space(c.space, c.counts)
    rows = np.arange(u.shape[1])
    t, v = objective(u, rows)
    t, v = np.where(ok, t, search.BLOCKED), np.where(ok, v, -np.inf)
    j = search.lex_best(t, v)
    return combos[j], t[rows, j], v[rows, j], ok.any(axis=-1)


def check_proposals(spaces: int, seed: int) -> dict[str, tuple[int, int]]:
    """Mediator and government proposals on ``spaces`` random spaces of 50 runs each (half each): per proposer,
    (calls passed, calls). A call with no allowed package passes when the search says so (-1)."""
    rng = np.random.default_rng(seed)
    out = {"mediator": (0, 0), "government": (0, 0)}
    for i in range(spaces):
        c = sc.case(rng, sc.shape(rng), 50)
        if i % 2 == 0:
            kind, objective = "mediator", search.mediator_objective(c.chances, c.need, c.weights)
            x, tier, feasible = sc.brute_mediator(c)
        else:
            g = i // 2 % 2
            kind, objective = "government", search.government_objective(c.chances, g, c.own_need[g])
            x, tier, feasible = sc.brute_government(c, g)
        found = search.search(c.space, objective)
        t, v = sc.objective_at(c.space, objective, x)
        assert (t[feasible] == tier[feasible]).all()  # the objective's tier is the rules' zone / gain
        assert ((found.x == -1).all(axis=-1) == ~feasible).all()
        ok = passes(found, x, t, v) | ~feasible
        out[kind] = (out[kind][0] + int(ok.sum()), out[kind][1] + len(ok))
    print("proposal search vs brute force:", {k: f"{h}/{n} = {h / n:.4f}" for k, (h, n) in out.items()})
    return out


def test_the_search_finds_the_rules_proposals_in_99_percent_of_2000_calls():
    rates = check_proposals(40, 19)
    assert all(h >= 0.99 * n for h, n in rates.values())
    assert sum(n for _, n in rates.values()) == 2_000


@pytest.mark.slow
def test_the_search_finds_the_rules_proposals_in_99_percent_of_10000_calls():
    """Issue 18's test: 10,000 calls (5,000 of each proposer)."""
    rates = check_proposals(200, 18)
    assert all(h >= 0.99 * n for h, n in rates.values())
    assert sum(n for _, n in rates.values()) == 10_000


@pytest.mark.parametrize("kind", ["offer", "public"])
def test_other_objectives_match_brute_force_in_99_percent_of_calls(kind):
    """The continuation offer of the demands (a constrained maximum: the search starts from 8 frontier
    points, as with 3 it passes 98.9% of these calls) and a mediator whose public has its own utility
    (three actors on the simplex)."""
    rng = np.random.default_rng(7)
    hits = calls = 0
    for _ in range(40):
        counts = sc.shape(rng)
        c = sc.case(rng, counts, 50)
        if kind == "offer":
            objective = search.offer_objective(0, c.need[1], c.need[0] - 0.1)
        else:
            public = sc.case(rng, counts, 50).space.values[:1]
            c.space = search.Space(np.concatenate([c.space.values, public]), c.space.allowed,
                                   np.concatenate([c.space.offset, np.zeros((1, 50))]))
            c.chances.voter = (0, 2)
            objective = search.mediator_objective(c.chances, c.need, c.weights)
        found = search.search(c.space, objective, starts=8 if kind == "offer" else 3)
        x, t, v, feasible = brute(c, objective)
        assert ((found.x == -1).all(axis=-1) == ~feasible).all()
        hits += int((passes(found, x, t, v) | ~feasible).sum())
        calls += len(feasible)
    print(f"{kind}: {hits}/{calls} = {hits / calls:.4f}")
    assert calls == 2_000 and hits / calls >= 0.99


def test_one_issue_is_exact():
    """With one issue the local search's first step looks at every option: always the brute force's best."""
    rng = np.random.default_rng(3)
    for n in (2, 5, 8, 40):
        c = sc.case(rng, [n], 400)
        for objective in (search.mediator_objective(c.chances, c.need, c.weights),
                          search.government_objective(c.chances, 1, c.own_need[1])):
            found = search.search(c.space, objective)
            x, t, v, feasible = brute(c, objective)
            assert (found.tier[feasible] == t[feasible]).all()
            np.testing.assert_allclose(found.value[feasible], v[feasible], rtol=0, atol=1e-12)


@pytest.mark.parametrize("weight", [0.25, 0.3])
def test_an_objective_increasing_in_a_weighted_sum_is_exact(weight):
    """An objective increasing in one weighted sum of the utilities is maximised by the package that maximises
    the sum, issue by issue: with weights on the grid (0.25 = 8/32) the frontier alone finds it; off the grid
    (0.3) the first tangent step does (the objective's slope is proportional to the weights)."""
    rng = np.random.default_rng(4)

    def objective(U, rows):
        return np.zeros(U.shape[1:], np.int64), np.log(np.maximum(weight * U[0] + (1 - weight) * U[1], 1e-12))

    on_grid = weight * 32 == int(weight * 32)
    for _ in range(10):
        c = sc.case(rng, sc.shape(rng), 100)
        found = search.search(c.space, objective, tangents=0 if on_grid else 1, starts=1, max_steps=0)
        x, t, v, feasible = brute(c, objective)
        np.testing.assert_allclose(found.value[feasible], v[feasible], rtol=0, atol=1e-12 if on_grid else 1e-9)
    if not on_grid:  # and the frontier alone does not
        found = search.search(c.space, objective, tangents=0, starts=1, max_steps=0)
        assert (found.value[feasible] < v[feasible] - 1e-9).any()


def test_no_package_meets_the_filters():
    """A run where some issue has no allowed option: the search says so with -1 (as ``rules.demands``)."""
    rng = np.random.default_rng(5)
    c = sc.case(rng, [3, 4, 2], 20, filters=False)
    allowed = c.space.allowed.copy()
    allowed[::2, 1, :] = False  # even runs: no option of issue 1 passes
    c.space = search.Space(c.space.values, allowed, c.space.offset)
    objective = search.mediator_objective(c.chances, c.need, c.weights)
    found = search.search(c.space, objective)
    _, _, ok = sc.enumerate_space(c.space, c.counts)
    assert (~ok.any(axis=-1) == (np.arange(20) % 2 == 0)).all()
    assert (found.x[::2] == -1).all() and (found.tier[::2] == search.BLOCKED).all()
    assert np.isneginf(found.value[::2]).all()
    assert (found.x[1::2] >= 0).all() and np.isfinite(found.value[1::2]).all()
    assert np.isnan(found.utilities[:, ::2]).all() and np.isfinite(found.utilities[:, 1::2]).all()


def test_runs_where_no_package_meets_the_filters_are_not_searched():
    """The objective is never read for a run where no package passes the filters (half the agenda's runs when
    the sides' minimum terms do not meet), and the other runs get the bits they get searched alone."""
    rng = np.random.default_rng(6)
    c = sc.case(rng, [3, 4, 2, 5], 20, filters=False)
    allowed = c.space.allowed.copy()
    allowed[::2, 2, :] = False
    every = search.search(c.space, search.mediator_objective(c.chances, c.need, c.weights))
    c.space = search.Space(c.space.values, allowed, c.space.offset)
    read: set[int] = set()
    objective = search.mediator_objective(c.chances, c.need, c.weights)

    def watched(U: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        read.update(int(r) for r in rows)
        return objective(U, rows)

    found = search.search(c.space, watched)
    assert read == set(range(1, 20, 2))
    assert (found.x[::2] == -1).all() and np.isneginf(found.value[::2]).all()
    odd = np.arange(1, 20, 2)
    assert np.array_equal(found.x[odd], every.x[odd]) and np.array_equal(found.value[odd], every.value[odd])
    assert np.array_equal(found.utilities[:, odd], every.utilities[:, odd])


def test_best_single_change_is_the_brute_force_best_neighbour():
    rng = np.random.default_rng(6)
    counts = [3, 5, 2, 4]
    c = sc.case(rng, counts, 300, filters=False)
    objective = search.deal_objective(c.chances)
    x = np.stack([rng.integers(0, n, 300) for n in counts], axis=1)
    issue, option, _, value = search.best_single_change(c.space, objective, x)
    _, now = sc.objective_at(c.space, objective, x)
    best = now.copy()
    for k, n in enumerate(counts):
        for o in range(n):
            y = x.copy()
            y[:, k] = o
            best = np.maximum(best, sc.objective_at(c.space, objective, y)[1])
    improved = best > now * (1 + 1e-12) + 1e-300
    assert improved.any() and (~improved).any()
    assert ((issue >= 0) == improved).all()
    np.testing.assert_allclose(value, best, rtol=1e-12, atol=0)
    moved = x.copy()
    moved[improved, issue[improved]] = option[improved]
    np.testing.assert_allclose(sc.objective_at(c.space, objective, moved)[1], best, rtol=1e-12, atol=0)


def _peak_bytes(issues: int, runs: int = 200) -> int:
    rng = np.random.default_rng(8)
    c = sc.case(rng, [8] * issues, runs)
    objective = search.mediator_objective(c.chances, c.need, c.weights)
    tracemalloc.start()
    search.search(c.space, objective)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def test_memory_grows_with_the_issues_not_the_packages():
    """4 issues of 8 options are 4,096 packages, 16 are 2.8e14: the search's peak memory grows about 4x."""
    small, large = _peak_bytes(4), _peak_bytes(16)
    print(f"peak bytes: 4 issues {small:,}, 16 issues {large:,}")
    assert large < 6 * small
    assert large < 2 * 200 * 16 * 8 * 33 * 8  # two float arrays of runs x issues x options x weights at most


def test_a_run_alone_gets_the_same_bits_as_in_a_block():
    """The kernel runs blocks of runs and one run at a time (the Mesa model): the search must agree to the bit."""
    rng = np.random.default_rng(9)
    c = sc.case(rng, [4, 3, 6, 2, 5], 30)
    objective = search.mediator_objective(c.chances, c.need, c.weights)
    block = search.search(c.space, objective)
    for r in range(30):
        space = search.Space(c.space.values[:, r:r + 1], c.space.allowed[r:r + 1], c.space.offset[:, r:r + 1])
        fields = {k: v[..., r:r + 1, :] if np.ndim(v) == 3 else v[..., r:r + 1]
                  for k, v in vars(c.chances).items() if k != "voter"}
        chances = search.Chances(**fields)
        alone = search.search(space, search.mediator_objective(chances, c.need[:, r:r + 1],
                                                                   c.weights[:, r:r + 1]))
        assert (alone.x[0] == block.x[r]).all()
        assert alone.value[0] == block.value[r] and alone.tier[0] == block.tier[r]


# ----------------------------------------------------------------- the same numbers with less work (issue 18, part 4)


def _argmax_reference(space: search.Space, weights: np.ndarray) -> np.ndarray:
    """(n, K) the allowed option of each issue with the largest weighted term: ``np.argmax`` over the padded
    (runs, issues, options) array, forbidden options at -inf (the definition the frontier keeps)."""
    score = weights[0][:, None, None] * space.values[0]
    for a in range(1, space.shape[0]):
        score = score + weights[a][:, None, None] * space.values[a]
    return np.where(space.allowed, score, -np.inf).argmax(axis=-1)


def _random_space(rng: np.random.Generator, i: int) -> search.Space:
    """A random space of 1-12 issues; every third with a third actor, every fifth with values on a grid of 1/4
    (ties), every seventh with an issue no run allows."""
    counts = sc.shape(rng, max_packages=10**12, issues=(1, 12))
    c = sc.case(rng, counts, int(rng.integers(1, 40)))
    values, allowed = c.space.values, c.space.allowed.copy()
    if i % 3 == 0:
        values = np.concatenate([values, sc.case(rng, counts, values.shape[1]).space.values[:1]])
    if i % 5 == 0:
        values = np.round(values * 4) / 4
    if i % 7 == 0:
        allowed[:, rng.integers(len(counts))] = False
    return search.Space(values, allowed)


def test_the_frontier_is_the_argmax_of_each_weighted_sum():
    """The frontier read over the options some run allows, option by option, is ``np.argmax`` of every weighted
    sum over the padded arrays, to the index (ties to the first option, 0 where none is allowed); so is
    ``weighted_best`` with a weight vector per run."""
    rng = np.random.default_rng(12)
    for i in range(150):
        space = _random_space(rng, i)
        A, R = space.shape[:2]
        for divisions in (1, 4, 32):
            grid = search.simplex_grid(A, divisions)
            got = search.frontier(space, np.arange(R), divisions)
            want = np.stack([_argmax_reference(space, np.broadcast_to(w[:, None], (A, R))) for w in grid], axis=1)
            assert (got == want).all(), (i, divisions)
        w = rng.random((A, R))
        w[:, ::4] = 0.0
        w[0, ::4] = 1.0
        rows = np.sort(rng.choice(R, max(1, R // 2), replace=False))
        sub = search.Space(space.values[:, rows], space.allowed[rows])
        assert (search.weighted_best(space, w[:, rows], rows) == _argmax_reference(sub, w[:, rows])).all(), i


def _objectives(c: sc.Case, i: int) -> search.Increasing:
    kinds = (lambda: search.mediator_objective(c.chances, c.need, c.weights),
             lambda: search.government_objective(c.chances, i % 2, c.own_need[i % 2]),
             lambda: search.offer_objective(0, c.need[1], c.need[0] - 0.1),
             lambda: search.deal_objective(c.chances))
    objective = kinds[i % 4]()
    assert isinstance(objective, search.Increasing)
    return objective


def test_increasing_objectives_skip_changes_that_raise_no_utility_with_the_same_result():
    """The local search of an increasing objective evaluates fewer changes and finds the same packages, tiers,
    values and utilities (to the bit) as evaluating every change, on 6,000 calls of the four objectives."""
    rng = np.random.default_rng(13)
    cells = {"skipping": 0, "every": 0}

    def counted(objective: search.Objective, key: str) -> search.Objective:
        def f(U, rows):
            cells[key] += U[0].size
            return objective(U, rows)
        return f

    for i in range(100):
        c = sc.case(rng, sc.shape(rng, max_packages=10**9, issues=(1, 15)), 60)
        if i % 5 == 0:
            c.space = search.Space(np.round(c.space.values * 8) / 8, c.space.allowed, c.space.offset)
        objective = _objectives(c, i)
        starts = 8 if i % 4 == 2 else 3
        skip = search.search(c.space, search.Increasing(counted(objective.objective, "skipping")), starts=starts)
        every = search.search(c.space, counted(objective.objective, "every"), starts=starts)
        assert (skip.x == every.x).all() and (skip.tier == every.tier).all(), i
        assert np.array_equal(skip.value, every.value) and np.array_equal(skip.utilities, every.utilities, equal_nan=True), i
    print("objective cells evaluated:", cells)
    assert cells["skipping"] < 0.8 * cells["every"]


def test_starts_that_meet_end_where_they_would_have_ended():
    """A start that reaches an earlier start's package and utilities stops and takes its end: the local search's
    end points are those of every start searched on its own."""
    rng = np.random.default_rng(14)
    for i in range(60):
        c = sc.case(rng, sc.shape(rng, max_packages=10**9, issues=(2, 12)), 40)
        objective = _objectives(c, i)
        x0 = np.stack([rng.integers(0, n, (40, 3)) for n in c.counts], axis=-1)
        x0[::3, 1] = x0[::3, 0]  # some runs start twice from one package
        rows = np.repeat(np.arange(40), 3)
        together, _ = search.local_search(c.space, objective, x0.reshape(120, -1), rows, 30, starts=3)
        alone, _ = search.local_search(c.space, objective, x0.reshape(120, -1), rows, 30)
        assert (together == alone).all(), i


def test_a_known_frontier_gives_the_same_search():
    """The frontier and its utilities handed to the search (as the kernel's pool hands them) give what the search
    finds building them itself, in runs where no package passes the filters too."""
    rng = np.random.default_rng(15)
    for i in range(40):
        c = sc.case(rng, sc.shape(rng), 50)
        if i % 2:
            allowed = c.space.allowed.copy()
            allowed[::3, 0] = False
            c.space = search.Space(c.space.values, allowed, c.space.offset)
        objective = _objectives(c, i)
        frontier = search.frontier(c.space, np.arange(50), 32)
        known = c.space.utilities(frontier.astype(np.int64))
        known[:, ~c.space.feasible()] = np.nan  # read again where no package passes
        got = search.search(c.space, objective, supported=frontier, known=known)
        want = search.search(c.space, objective)
        assert (got.x == want.x).all() and np.array_equal(got.value, want.value), i
        assert np.array_equal(got.utilities, want.utilities, equal_nan=True), i
