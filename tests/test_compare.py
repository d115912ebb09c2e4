"""Comparisons of two batches: paired (common random numbers) and unpaired statistics."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import sim
from sim.analysis.paired import (
    check_pairable,
    compare_tables,
    mcnemar,
    newcombe_paired,
    newcombe_unpaired,
)
from sim.errors import UsageError


@pytest.fixture(scope="module")
def batches() -> tuple[pd.DataFrame, pd.DataFrame]:
    a = sim.run_batch("scenarios/baseline.yaml", runs=1500, seed=1, out=None)
    b = sim.run_batch("scenarios/eu_uk_mediation.yaml", runs=1500, seed=1, out=None)
    return a.runs, b.runs


def table(agree: np.ndarray, months: np.ndarray | None = None,
          replicates: np.ndarray | None = None, terms: list[str] | None = None) -> pd.DataFrame:
    """A minimal results table: agreement where ``agree``, else no_talks."""
    n = len(agree)
    outcome = np.where(agree, "agreement", "no_talks")
    month = pd.array([None] * n, dtype="Int64") if months is None else pd.array(months, dtype="Int64")
    return pd.DataFrame({
        "replicate": np.arange(n) if replicates is None else replicates,
        "outcome": pd.Series(outcome, dtype="string"),
        "outcome_class": pd.Series(np.where(agree, "deal", "no_talks"), dtype="string"),
        "talks_month": month,
        "agreement_month": month,
        "term_land": pd.Series(terms if terms is not None else np.where(agree, "some", None), dtype="string"),
    })


def paired_sample(rng: np.random.Generator, n: int, joint: tuple[float, float, float, float]):
    """(A, B) indicators from joint probabilities (both, only A, only B, neither)."""
    cell = rng.choice(4, size=n, p=joint)
    return np.isin(cell, (0, 1)), np.isin(cell, (0, 2))


# --- identical inputs ----------------------------------------------------------

@pytest.mark.parametrize("paired", [True, False])
def test_identical_tables_give_zero_differences_and_p_one(batches, paired):
    a, _ = batches
    c = compare_tables(a, a.copy(), paired=paired)
    assert c.n == len(a) and c.paired is paired
    assert (c.outcomes["diff"] == 0.0).all()
    assert (c.outcomes["p_value"] == 1.0).all()
    assert ((c.outcomes["lo"] <= 0) & (c.outcomes["hi"] >= 0)).all()
    if paired:
        assert (c.outcomes[["lo", "hi"]] == 0.0).all().all()
        assert (c.outcomes["discordant_ab"] == 0).all() and (c.outcomes["discordant_ba"] == 0).all()
    assert (c.timing["diff"] == 0.0).all()
    assert (c.timing["p_value"] == 1.0).all()
    assert ((c.timing["lo"] <= 0) & (c.timing["hi"] >= 0)).all()
    assert (c.terms["diff"] == 0.0).all()


def test_row_order_does_not_matter_when_paired(batches):
    a, b = batches
    shuffled = b.sample(frac=1.0, random_state=3)
    c1, c2 = compare_tables(a, b, bootstrap=300), compare_tables(a, shuffled, bootstrap=300)
    pd.testing.assert_frame_equal(c1.outcomes, c2.outcomes)
    pd.testing.assert_frame_equal(c1.timing, c2.timing)


# --- known values --------------------------------------------------------------

def test_mcnemar_exact_matches_binomtest():
    # 3 replicates agree only in A, 9 only in B, 20 in both, 28 in neither
    agree_a = np.array([1] * 20 + [1] * 3 + [0] * 9 + [0] * 28, dtype=bool)
    agree_b = np.array([1] * 20 + [0] * 3 + [1] * 9 + [0] * 28, dtype=bool)
    c = compare_tables(table(agree_a), table(agree_b))
    row = c.outcomes.set_index("outcome").loc["agreement"]
    assert row["discordant_ab"] == 3 and row["discordant_ba"] == 9
    assert row["test"] == "mcnemar_exact"
    assert row["p_value"] == pytest.approx(stats.binomtest(9, 12, 0.5).pvalue, rel=1e-12)
    assert row["diff"] == pytest.approx(6 / 60)


def test_mcnemar_switches_to_continuity_corrected_chi_square():
    p, test = mcnemar(10, 30)
    assert test == "mcnemar_chi2_cc"
    assert p == pytest.approx(stats.chi2.sf((20 - 1) ** 2 / 40, 1))
    assert mcnemar(13, 13) == (1.0, "mcnemar_chi2_cc")
    assert mcnemar(0, 0)[0] == 1.0


def test_newcombe_intervals_match_published_examples():
    # Newcombe (1998b), Table II: 56/70 vs 48/80, method 10: 0.0524 to 0.3339
    d, lo, hi = newcombe_unpaired(48, 80, 56, 70)
    assert (round(d, 4), round(lo, 4), round(hi, 4)) == (0.2, 0.0524, 0.3339)
    # 9/10 vs 3/10: 0.1705 to 0.8090
    d, lo, hi = newcombe_unpaired(3, 10, 9, 10)
    assert (round(lo, 4), round(hi, 4)) == (0.1705, 0.8090)
    # Fagerland, Lydersen & Laake (2017), ch. 8, Cavo et al. (2012) paired table
    # [[59, 6], [16, 80]]: Newcombe square-and-add -0.0621 (-0.1186 to -0.0046)
    d, lo, hi = newcombe_paired(59, 6, 16, 80)
    assert (round(d, 4), round(lo, 4), round(hi, 4)) == (-0.0621, -0.1186, -0.0046)


def test_unpaired_timing_is_welch():
    rng = np.random.default_rng(5)
    agree = np.ones(80, dtype=bool)
    ma, mb = rng.integers(3, 15, 80), rng.integers(5, 18, 80)
    c = compare_tables(table(agree, ma), table(agree, mb), paired=False)
    row = c.timing.set_index("measure").loc["agreement_month"]
    res = stats.ttest_ind(mb, ma, equal_var=False)
    assert row["p_value"] == pytest.approx(res.pvalue)
    assert row["lo"] == pytest.approx(res.confidence_interval().low)
    assert row["diff"] == pytest.approx(mb.mean() - ma.mean())
    assert pd.isna(row["n_pairs"])


def test_paired_timing_bootstrap_is_reproducible_and_detects_a_shift():
    rng = np.random.default_rng(6)
    agree = np.ones(200, dtype=bool)
    ma = rng.integers(3, 20, 200)
    mb = ma + rng.choice([0, 0, 1, 2], size=200)  # B later by 0.75 months on average
    c1 = compare_tables(table(agree, ma), table(agree, mb), bootstrap=1000, seed=4)
    c2 = compare_tables(table(agree, ma), table(agree, mb), bootstrap=1000, seed=4)
    pd.testing.assert_frame_equal(c1.timing, c2.timing)
    row = c1.timing.set_index("measure").loc["agreement_month"]
    assert row["n_pairs"] == 200 and row["test"] == "paired_bootstrap"
    assert row["lo"] < 0.75 < row["hi"] and row["lo"] > 0
    assert row["p_value"] == pytest.approx(2 / 1001)


def test_terms_show_what_changes():
    agree = np.ones(4, dtype=bool)
    a = table(agree, terms=["x", "x", "x", "y"])
    b = table(agree, terms=["x", "y", "y", "y"])
    t = compare_tables(a, b).terms
    assert list(t["option"]) == ["x", "y"]
    assert list(t["diff"]) == [-0.5, 0.5]


# --- common random numbers: pairing helps ---------------------------------------

def test_paired_interval_is_narrower_under_common_random_numbers(batches):
    a, b = batches
    paired = compare_tables(a, b, paired=True, bootstrap=500).outcomes.set_index("outcome")
    unpaired = compare_tables(a, b, paired=False).outcomes.set_index("outcome")
    pa, ua = paired.loc["agreement"], unpaired.loc["agreement"]
    assert pa["diff"] == pytest.approx(ua["diff"])
    assert pa["lo"] <= pa["diff"] <= pa["hi"]
    assert pa["hi"] - pa["lo"] < ua["hi"] - ua["lo"]


# --- coverage --------------------------------------------------------------------

def test_paired_and_unpaired_intervals_cover_the_true_difference():
    rng = np.random.default_rng(2024)
    joint = (0.45, 0.05, 0.10, 0.40)  # p_a = 0.50, p_b = 0.55
    truth = 0.05
    hits_paired = hits_unpaired = 0
    for _ in range(200):
        xa, xb = paired_sample(rng, 300, joint)
        _, lo, hi = newcombe_paired(int((xa & xb).sum()), int((xb & ~xa).sum()),
                                    int((xa & ~xb).sum()), int((~xa & ~xb).sum()))
        hits_paired += lo <= truth <= hi
        ya, yb = rng.random(300) < 0.50, rng.random(300) < 0.55
        _, lo, hi = newcombe_unpaired(int(ya.sum()), 300, int(yb.sum()), 300)
        hits_unpaired += lo <= truth <= hi
    assert 0.90 <= hits_paired / 200 <= 0.99
    assert 0.90 <= hits_unpaired / 200 <= 0.99


def test_compare_tables_covers_the_true_difference():
    rng = np.random.default_rng(7)
    joint = (0.20, 0.02, 0.06, 0.72)  # p_a = 0.22, p_b = 0.26
    hits = 0
    for _ in range(100):  # end to end, through the results tables (the fast check is above)
        xa, xb = paired_sample(rng, 250, joint)
        row = compare_tables(table(xa), table(xb)).outcomes.set_index("outcome").loc["agreement"]
        hits += row["lo"] <= 0.04 <= row["hi"]
    assert 0.90 <= hits / 100 <= 0.99


# --- pairing checks ------------------------------------------------------------------

def test_mismatched_replicates_raise_usage_error():
    agree = np.zeros(10, dtype=bool)
    a = table(agree)
    b = table(agree, replicates=np.r_[np.arange(9), 20])
    with pytest.raises(UsageError, match="replicate sets differ: 1 only in A \\(9\\), 1 only in B \\(20\\)"):
        compare_tables(a, b)
    with pytest.raises(UsageError, match="replicate counts differ: 10 vs 5"):
        compare_tables(a, table(agree[:5]))
    c = compare_tables(a, b, paired=False)  # unpaired needs no pairing
    assert c.outcomes["p_value"].eq(1.0).all()


def test_check_pairable_messages():
    a = table(np.zeros(2000, dtype=bool))
    b = table(np.zeros(1000, dtype=bool))
    assert check_pairable(a, a, 1, 1) is None
    assert check_pairable(a, a, None, 1) is None
    assert check_pairable(a, a, 1, 2) == "seeds differ: 1 vs 2"
    assert check_pairable(a, b, 1, 1) == "replicate counts differ: 2000 vs 1000"
    assert check_pairable(a, b, 1, 2) == "seeds differ: 1 vs 2; replicate counts differ: 2000 vs 1000"
    shifted = table(np.zeros(2000, dtype=bool), replicates=np.arange(2000) + 5)
    assert check_pairable(a, shifted, 1, 1) == (
        "replicate sets differ: 5 only in A (0, 1, 2, ...), 5 only in B (2000, 2001, 2002, ...)")
    twice = table(np.zeros(4, dtype=bool), replicates=np.array([0, 1, 1, 2]))
    assert check_pairable(twice, table(np.zeros(4, dtype=bool)), 0, 0) == (
        "replicates repeat in A: 1 (1); replicate sets differ: 1 only in B (3)")


# --------------------------------------------------------------------------- the compare command


def _strict(text: str):
    import json

    def refuse(name):
        raise AssertionError(f"not JSON: {name}")

    return json.loads(text, parse_constant=refuse)


def test_compare_adopts_a_run_directorys_seed_and_compares_many(tmp_path, capsys):
    from pathlib import Path

    from sim.cli import main

    root = Path(__file__).resolve().parents[1] / "scenarios"
    base = sim.run_batch(root / "baseline.yaml", runs=300, seed=7, out=tmp_path).run_dir
    code = main(["compare", str(base), str(root / "eu_uk_mediation.yaml"), str(root / "high_war_weariness.yaml"),
                 "--out", str(tmp_path), "--json"])
    assert code == 0
    got = _strict(capsys.readouterr().out)
    assert (got["seed"], got["runs"], got["paired"]) == (7, 300, True)
    assert [c["b"]["label"] for c in got["comparisons"]] == ["eu_uk_mediation", "high_war_weariness"]
    saved = Path(got["run_dir"])
    assert {p.name for p in saved.iterdir()} >= {"manifest.json", "comparison.json", "outcomes.csv", "timing.csv",
                                                "comparison.png"}
    assert _strict((saved / "comparison.json").read_text())["base"] == "baseline"
    # Each side's own figures, as `negsim run` of that batch gives them (the worksheet reads them off --table).
    own = {s["scenario"]: s for s in got["scenarios"]}
    assert list(own) == ["baseline", "eu_uk_mediation", "high_war_weariness"]
    alone = sim.run_batch(root / "eu_uk_mediation.yaml", runs=300, seed=7, out=None).summary()
    assert own["eu_uk_mediation"]["p_agreement"] == alone["outcomes"]["agreement"]["p"]
    assert own["eu_uk_mediation"]["settlement_month_median"] == alone["agreement_month"]["median"]
    assert own["eu_uk_mediation"]["ceasefire"] == alone["ceasefire_month"]["share"]
    assert (saved / "scenarios.csv").read_text().startswith("scenario,source,runs,p_agreement")
    timing = got["comparisons"][0]["timing"][0]
    assert timing["covers"] == f"{timing['n_pairs']} replicates with a value in A and in B"
    assert abs(timing["diff"] - (timing["pair_mean_b"] - timing["pair_mean_a"])) < 1e-9
    # An explicit seed that cannot pair is refused before anything runs, and the advice is the right one.
    before = len(list(tmp_path.iterdir()))
    assert main(["compare", str(base), str(root / "eu_uk_mediation.yaml"), "--seed", "1", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "leave out --seed and --runs" in err and len(list(tmp_path.iterdir())) == before


def test_every_json_output_is_strict_json(tmp_path, capsys):
    from pathlib import Path

    from sim.cli import main

    root = Path(__file__).resolve().parents[1] / "scenarios"
    baseline = str(root / "baseline.yaml")
    # a batch without any agreement makes NaN means and shares: they must come out as null
    never = ["--runs", "40", "--out", str(tmp_path), "--json"]
    commands = [
        ["validate", baseline, "--json"], ["evidence", baseline, "--json"],
        ["run", baseline, *never], ["sweep", baseline, "--param", "actors.moscow.resolve=0.5,1.0", "--no-figures", *never],
        ["explain", baseline, "--json"], ["runs", "--out", str(tmp_path), "--json"],
        ["sweep", baseline, "--list-params", "--json"], ["schema"],
        ["compare", baseline, str(root / "no_kursk_precondition.yaml"), *never],
        ["compare", baseline, str(root / "no_kursk_precondition.yaml"), "--unpaired", *never],
    ]
    for argv in commands:
        assert main(argv) == 0, argv
        _strict(capsys.readouterr().out)
    # and so is every JSON file the commands wrote (one encoder: sim.jsonsafe)
    written = list(tmp_path.glob("*/*.json"))
    assert len(written) >= 10
    for path in written:
        _strict(path.read_text())


def test_unpaired_batches_of_different_sizes_print(tmp_path, capsys):
    """`compare --unpaired` of batches with different run counts: a table titled with both counts, no error."""
    from pathlib import Path

    from sim.cli import main

    root = Path(__file__).resolve().parents[1] / "scenarios"
    a = sim.run_batch(root / "baseline.yaml", runs=200, seed=7, out=tmp_path).run_dir
    b = sim.run_batch(root / "eu_uk_mediation.yaml", runs=150, seed=8, out=tmp_path).run_dir
    assert main(["compare", str(a), str(b), "--unpaired", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "200 and 150 runs, unpaired" in out


def test_compare_takes_a_scenario_as_run_batch_does_and_options_by_keyword(batches):
    base = sim.load_scenario("scenarios/baseline.yaml")
    got = sim.compare(base, "scenarios/eu_uk_mediation.yaml", runs=1500, seed=1, out=None)
    assert (got.label_a, got.label_b) == ("baseline", "eu_uk_mediation")
    want = compare_tables(*batches, paired=True, classes=sim.run_batch(base, runs=10, out=None).classes())
    pd.testing.assert_frame_equal(got.comparison.outcomes, want.outcomes)
    with pytest.raises(UsageError, match="a run directory, a scenario file or a Scenario"):
        sim.compare(base, 3, out=None)
    for call in (lambda: sim.compare(base, base, 100), lambda: sim.run_batch(base, 100),
                 lambda: sim.run_sweep(base, {"actors.moscow.resolve": "0.5,0.9"}, "grid")):
        with pytest.raises(TypeError, match="positional argument"):
            call()


def test_wilson_is_scipys_wilson_interval():
    from sim.runs.summary import wilson

    for n in (1, 2, 7, 30, 1000, 2000):
        for k in sorted({0, 1, n // 3, n // 2, n - 1, n}):
            ci = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
            p, lo, hi = wilson(k, n)
            assert p == k / n and abs(lo - ci.low) < 1e-15 and abs(hi - ci.high) < 1e-15, (k, n)


def test_paired_bootstrap_is_scipys_paired_bootstrap():
    from sim.analysis.paired import bootstrap_mean

    rng = np.random.default_rng(3)
    a = rng.integers(1, 30, 700).astype(float)
    b = a + rng.integers(-3, 5, 700)
    res = stats.bootstrap((a, b), lambda x, y, axis=-1: np.mean(y - x, axis=axis), paired=True, vectorized=True,
                          n_resamples=999, method="percentile", random_state=np.random.default_rng(8))
    lo, hi, p = bootstrap_mean(b - a, 999, 8)
    assert abs(lo - res.confidence_interval.low) < 1e-12 and abs(hi - res.confidence_interval.high) < 1e-12
    assert p == min(1.0, 2 * (int((res.bootstrap_distribution <= 0).sum()) + 1) / 1000)


def test_the_run_store_writes_json_with_the_one_strict_encoder(tmp_path):
    import json

    from sim.runs import store

    store.write_json(tmp_path / "x.json", {"p": float("nan"), "n": np.int64(3), "v": [np.float64("inf"), 0.5]})
    assert _strict((tmp_path / "x.json").read_text()) == {"p": None, "n": 3, "v": [None, 0.5]}
    core = {"seed": 1, "points": [{"a": 0.1, "b": True}], "keys": {"2": "two", "x": None}, "n": 2 ** 70}
    assert store.dumps(core, indent=None, sort_keys=True) == json.dumps(core, sort_keys=True)  # fingerprints unchanged
    assert store.dumps({1: 0.5, None: True}, indent=None) == json.dumps({1: 0.5, None: True})
