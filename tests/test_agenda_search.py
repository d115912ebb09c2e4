"""The proposal search wired into the kernel (issue 18): a searched space against its enumeration.

Mid-size scenarios (tests/agenda_cases.py: 1,296 packages) run both ways: NEGSIM_MAX_PACKAGES above the count
enumerates them, below it searches them. The proposals are compared on the same state (the enumerated
kernel's, copied): the searched package's objective is the brute force's best, or within 1e-6 of it in the
same tier. The outcome classes of whole batches agree within sampling error. And scenarios/agenda_2025.yaml
(1.8 billion packages) runs, with the same results whatever the workers and blocks.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from agenda_cases import mid_scenario

import sim
from sim.engine import kernel, pool, search
from sim.engine.kernel import MEDIATOR, Kernel
from sim.engine.shocks import draw
from sim.runs.batch import simulate_block
from sim.scenario.compile import compile_scenario

ROOT = Path(__file__).resolve().parents[1]
AGENDA = ROOT / "scenarios" / "agenda_2025.yaml"
TOL = 1e-6


@pytest.fixture(scope="module")
def mid(tmp_path_factory):
    return sim.load_scenario(mid_scenario(tmp_path_factory.mktemp("mid")))


def both_ways(sc, monkeypatch):
    """(enumerated, searched) compilations of a scenario."""
    monkeypatch.setenv("NEGSIM_MAX_PACKAGES", "100000")
    enumerated = compile_scenario(sc)
    monkeypatch.setenv("NEGSIM_MAX_PACKAGES", "1")
    searched = compile_scenario(sc)
    assert not enumerated.searched and searched.searched and enumerated.n_packages == searched.n_packages
    return enumerated, searched


def objective_of(k: Kernel, talks: kernel.Talks, sub: np.ndarray, proposer: int) -> search.Objective:
    """The proposer's objective of runs ``sub`` of the talks, as the kernel's search is given it."""
    a = talks.a
    chances = kernel._chances(k, talks, sub)
    if proposer == MEDIATOR:
        q = kernel.rows_of(talks.q, sub)
        w = np.stack(np.broadcast_arrays(*__import__("sim.engine.rules", fromlist=["x"]).nash_weights(
            a.bias[sub], q["discount"][:, 0], q["discount"][:, 1])))
        n_bar = np.stack([(chances.belief[g] * chances.need_types[g]).sum(axis=-1) for g in (0, 1)])
        return search.mediator_objective(chances, n_bar, w)
    return search.government_objective(chances, proposer, talks.need[proposer][sub])


def compare_month(enumerated, searched, months: int, runs: int, seed: int) -> dict[str, tuple[int, int]]:
    """Advance the enumerated kernel ``months`` months; then propose in its talking runs both ways, the searched
    kernel on a copy of the same state and with the same needs: per proposer, (calls passed, calls)."""
    shocks = draw(enumerated, seed, range(runs))
    ke = Kernel(enumerated, shocks)
    for _ in range(months):
        ke.step()
    ks = Kernel(searched, draw(searched, seed, range(runs)))
    ks.s = dataclasses.replace(ke.s, **{f.name: np.copy(getattr(ke.s, f.name)) for f in dataclasses.fields(ke.s)})
    ks.p = {name: v.copy() for name, v in ke.p.items()}
    j = np.flatnonzero((ke.s.deal < 0) & ke.s.open)
    te = kernel.table(ke, j)
    ts = kernel.table(ks, j)
    ts.need, ts.need_types = [x.copy() for x in te.need], [x.copy() for x in te.need_types]  # the same needs
    kernel.propose(ke, te)
    kernel.propose(ks, ts)
    out = {}
    for proposer, name in ((MEDIATOR, "mediator"), (0, "ukraine side"), (1, "russia side")):
        sub = np.flatnonzero(te.who == proposer)
        if not len(sub):
            continue
        ob_e, ob_s = objective_of(ke, te, sub, proposer), objective_of(ks, ts, sub, proposer)
        ue = np.stack([te.a.ub[g][sub] for g in (0, 1)])
        t, v = search._clean(*ob_e(ue, np.arange(len(sub))), te.a.both[sub])  # every package allowed to both
        best = search.lex_best(t, v)
        bt, bv = t[np.arange(len(sub)), best], v[np.arange(len(sub)), best]
        us = np.stack([ts.a.ub[g][sub, ts.x[sub]] for g in (0, 1)])[:, :, None]
        st, sv = ob_s(us, np.arange(len(sub)))
        ok_s = ts.a.both[sub, ts.x[sub]]
        feasible = te.a.both[sub].any(axis=1)
        assert (ok_s == feasible).all()  # the search finds a package allowed to both where one exists
        good = ~feasible | ((st[:, 0] == bt) & (sv[:, 0] >= bv - TOL))
        # and never better than the best of every package (the search's package is one of them)
        assert (~feasible | (st[:, 0] < bt) | ((st[:, 0] == bt) & (sv[:, 0] <= bv + TOL))).all()
        out[name] = (int(good.sum()), len(sub))
    return out


def test_searched_proposals_match_the_enumeration_on_the_same_state(mid, monkeypatch):
    enumerated, searched = both_ways(mid, monkeypatch)
    lines = np.ones(len(enumerated.red_line_owner), bool)
    assert searched.packages_left(lines) == enumerated.packages_left(lines) > 0  # counted group by group
    total: dict[str, list[int]] = {}
    for months, seed in ((3, 1), (6, 2), (12, 3)):
        for name, (good, n) in compare_month(enumerated, searched, months, 400, seed).items():
            total.setdefault(name, [0, 0])
            total[name][0] += good
            total[name][1] += n
    print("searched proposals as good as the enumeration's best:", total)
    assert sum(n for _, n in total.values()) >= 300
    for name, (good, n) in total.items():
        assert good >= 0.97 * n, (name, good, n)  # measured: 240 of 243 mediator calls, every government call


def test_searched_and_enumerated_batches_agree_on_the_outcome_classes(mid, monkeypatch):
    enumerated, searched = both_ways(mid, monkeypatch)
    runs = 2000
    a = simulate_block(enumerated, 1, 0, runs)
    b = simulate_block(searched, 1, 0, runs)
    pa = a.outcome_class.value_counts(normalize=True)
    pb = b.outcome_class.value_counts(normalize=True)
    print("outcome classes, enumerated / searched:", dict(pa.round(4)), dict(pb.round(4)))
    for name in set(pa.index) | set(pb.index):
        p, q = float(pa.get(name, 0.0)), float(pb.get(name, 0.0))
        se = np.sqrt(max(p * (1 - p), q * (1 - q), 1.0 / runs) * 2 / runs)
        assert abs(p - q) <= 4 * se, (name, p, q)  # within sampling error (4 standard errors of a difference)


def test_the_agenda_runs_the_same_whatever_the_workers_and_blocks(tmp_path):
    sc = sim.load_scenario(AGENDA)
    one = sim.run_batch(sc, runs=300, seed=1, workers=1, out=None).runs
    two = sim.run_batch(sc, runs=300, seed=1, workers=2, block_size=70, out=None).runs
    pd.testing.assert_frame_equal(one.reset_index(drop=True), two.reset_index(drop=True), check_exact=True)
    assert len(one) == 300 and (one.outcome == "agreement").mean() > 0.5
    assert set(f"term_{k}" for k in sc.model.issues) <= set(one.columns)
    deals = one[one.outcome == "agreement"]
    assert deals["term_crimea_status"].notna().all() and (deals["proposals"] >= 1).all()


def test_a_searched_deal_is_a_package_of_the_space_that_both_sides_allow(tmp_path):
    sc = sim.load_scenario(AGENDA)
    c = compile_scenario(sc)
    assert c.searched and c.n_packages == 1_836_660_096
    raw = kernel.simulate(c, draw(c, 1, range(200)))
    deal = raw["deal"][raw["deal"] >= 0]
    assert len(deal) > 100 and (deal < c.n_packages).all()
    x = c.options_of(deal)
    assert (c.space.encode(x) == deal).all() and (x < c.space.counts).all()
    kyiv, moscow = sc.governments()["kyiv"], sc.governments()["moscow"]
    for gov in (kyiv, moscow):  # no deal crosses an active red line
        for r in gov.red_lines:
            k = c.issues.index(r.issue)
            forbidden = [c.options[k].index(o) for o in r.forbid]
            assert not np.isin(x[:, k], forbidden).any(), r.issue
    # minimum terms: Moscow takes only the constitutional ban on NATO, Kyiv at least assurances (the link's cap)
    nato, guarantee = c.issues.index("nato_membership"), c.issues.index("security_guarantee")
    assert (x[:, nato] == c.options[nato].index("constitutional_ban")).all()
    assert (x[:, guarantee] != c.options[guarantee].index("none")).all()


def test_the_agenda_one_run_at_a_time_is_the_block_to_the_bit():
    """The Mesa model (R = 1, as explain runs it) and a block of runs read the same pools and find the same
    proposals: the search's arithmetic is row by row."""
    c = compile_scenario(sim.load_scenario(AGENDA))
    agents = simulate_block(c, 11, 0, 40, "agents")
    vector = simulate_block(c, 11, 0, 40, "vector")
    pd.testing.assert_frame_equal(agents, vector, check_exact=True)


def test_an_exclusion_holds_in_a_searched_space(tmp_path, monkeypatch):
    """`exclude:` joins its issues into one group of the search whose excluded combinations are gone: no searched
    deal matches it, and the searched and enumerated spaces hold the same packages."""
    import yaml

    path = mid_scenario(tmp_path)
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data["exclude"] = [{"match": {"nato_membership": "membership_path", "land_returned": ["return_10", "return_25"]},
                        "assumption": "a test of an exclusion in a searched space"}]
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    sc = sim.load_scenario(path)
    enumerated, searched = both_ways(sc, monkeypatch)
    issues = searched.issues
    nato, land = issues.index("nato_membership"), issues.index("land_returned")
    assert any({nato, land} <= set(g) for g in searched.space.groups)
    assert enumerated.n_packages == 1296 - 2 * 54  # the exclusion removes 2 (land) x 54 (the other issues)
    for row in enumerated.package_options[:200]:  # every listed package has a number in the searched space
        assert searched.package_index(list(row)) is not None
    banned = [searched.options[nato].index("membership_path"), searched.options[land].index("return_10")]
    row = [0] * len(issues)
    row[nato], row[land] = banned
    assert searched.package_index(row) is None and enumerated.package_index(row) is None
    frame = simulate_block(searched, 1, 0, 600)
    deals = frame[frame.outcome == "agreement"]
    assert len(deals) > 300
    hit = (deals.term_nato_membership == "membership_path") & deals.term_land_returned.isin(["return_10", "return_25"])
    assert not hit.any()


def test_links_and_exclusions_joining_too_many_issues_are_refused(tmp_path, capsys):
    import yaml

    from sim.cli import main

    data = yaml.safe_load(AGENDA.read_text(encoding="utf-8"))
    joined = ["third_party_recognition", "language_church", "nato_membership", "army_cap", "frozen_assets",
              "eu_accession", "zaporizhzhia_npp", "amnesty"]  # 3**8 = 6,561 combinations
    data["exclude"] = [{"match": {k: list(AGENDA_OPTIONS[k])[0] for k in joined},
                        "assumption": "a test: one exclusion over eight issues"}]
    path = tmp_path / "joined.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    __import__("shutil").copy(ROOT / "scenarios" / "baseline.yaml", tmp_path / "baseline.yaml")
    __import__("shutil").copytree(ROOT / "seeds", tmp_path / "seeds", dirs_exist_ok=True)
    assert main(["run", str(path), "--runs", "10", "--out", str(tmp_path / "runs")]) == 2
    err = capsys.readouterr().err
    first = err.splitlines()[0]
    assert first.startswith(f"{path}:") and ": exclude: " in first and "Traceback" not in err
    assert "6,561 option combinations" in first and "more than the 4,096" in first
    assert not (tmp_path / "runs").exists() or not any((tmp_path / "runs").iterdir())


def test_a_batch_kernel_and_the_full_kernel_give_the_same_runs():
    """A batch's kernel leaves unread the pool columns of runs where no package passes both governments' filters
    (pool.Reader's ``lazy``); the Mesa model's (``full``) reads them all. The runs are the same, to the bit."""
    c = compile_scenario(sim.load_scenario(AGENDA))
    lazy, full = (Kernel(c, draw(c, 7, range(200)), full=f).run().raw() for f in (False, True))
    assert (lazy["deal"] >= 0).any() and (lazy["deal"] < 0).any()
    for name in lazy:
        assert np.array_equal(lazy[name], full[name], equal_nan=lazy[name].dtype.kind == "f"), name


AGENDA_OPTIONS = {k: v["options"] for k, v in
                  __import__("yaml").safe_load(AGENDA.read_text(encoding="utf-8"))["issues"].items() if "options" in v}


@pytest.mark.parametrize("full", [True, False])
def test_kept_pools_are_the_pools_read_afresh(monkeypatch, full):
    """The kernel keeps each run's pool from month to month (pool.Reader): what it hands back is, to the bit, the
    pool read afresh at today's line (values, filters, frontier, its utilities and filters), month after month
    and for runs whose parameters changed (read afresh). A batch's kernel (not ``full``: the Mesa model's is)
    leaves the columns of a run where no package passes both governments' filters unread: none allowed, 0."""
    c = compile_scenario(sim.load_scenario(AGENDA))
    k = Kernel(c, draw(c, 4, range(300)), full=full)
    rng = np.random.default_rng(4)
    read, afresh = pool.read, []
    monkeypatch.setattr(pool, "read", lambda c, q, territory, lazy=False: afresh.append(len(territory))
                        or read(c, q, territory, lazy))
    for month in range(8):
        k.step()
        runs = np.sort(rng.choice(300, 120, replace=False))
        q = {name: np.broadcast_to(k.p[name], (300, *k.p[name].shape[1:]))[runs].copy() for name in pool.KEYS}
        if month % 3 == 2:  # parameters changed in some runs (as an event changes them)
            q["salience"][::4] = q["salience"][::4, :, ::-1]
        afresh.clear()
        kept, u, ok = k.pools.read(q, k.s.territory[runs], runs)
        if month % 3 == 2:
            assert sum(afresh) >= 30  # those runs' pools were read afresh
        fresh = read(c, q, k.s.territory[runs])
        feasible = fresh.feasible()
        assert np.array_equal(kept.feasible(), feasible) and 0 < feasible.sum() < len(runs)
        read_all = feasible | full  # the rows whose columns were read (elsewhere the frontier's first column)
        for name in ("values", "allowed"):
            assert np.array_equal(getattr(kept, name), getattr(fresh, name)), (month, name)
        assert np.array_equal(kept.x[read_all], fresh.x[read_all]) and np.array_equal(kept.x[:, 0], fresh.x[:, 0])
        assert np.array_equal(read(c, q, k.s.territory[runs], lazy=True).x[:, 0], fresh.x[:, 0])
        for g in (0, 1):
            assert np.array_equal(u[g][read_all], fresh.utilities(fresh.x)[g][read_all])
            assert np.array_equal(ok[g][read_all], fresh.allows(fresh.x)[g][read_all])
            assert full or (not ok[g][~feasible].any() and not u[g][~feasible].any())
        assert np.array_equal(kept.utilities(fresh.x[:, :3])[0], fresh.utilities(fresh.x[:, :3])[0])
        r = np.flatnonzero(read_all)
        assert np.array_equal(kept.at(r, np.full(len(r), 5)), fresh.x[r, 5])
    assert np.isfinite(k.pools.territory).sum() > 250  # most runs were read, and kept
    assert sum(afresh) < 60  # the last month read few afresh: the others' pools were kept


def test_a_process_that_compiles_many_scenarios_keeps_no_layout_of_the_spaces_it_dropped():
    """pool's per-space layouts go with their spaces: a sweep's worker compiles a point per unit, and a kept layout
    (about 10 KB with agenda_2025) per compile would grow its memory without bound."""
    import gc

    sc = sim.load_scenario(AGENDA)
    simulate_block(compile_scenario(sc), 1, 0, 3)
    gc.collect()
    before = len(pool._LAYOUTS)
    for start in range(5):
        simulate_block(compile_scenario(sc), 1, start, start + 3)
    gc.collect()
    assert len(pool._LAYOUTS) == before
