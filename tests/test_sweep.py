"""Sweeps: specs, designs, common random numbers, outputs, sensitivity (Ishigami)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.errors import UsageError
from sim.runs.sweep import ParamSpec, analyze, design_matrix, parse_spec, run_sweep

ROOT = Path(__file__).resolve().parents[1]
BASELINE = str(ROOT / "scenarios" / "baseline.yaml")


def test_spec_forms():
    assert parse_spec("x", "0.2,0.5,0.8").values == (0.2, 0.5, 0.8)
    assert parse_spec("x", "0.2:0.8:4").values == pytest.approx((0.2, 0.4, 0.6, 0.8))
    assert parse_spec("x", "0.2..0.8").bounds == (0.2, 0.8)
    assert parse_spec("x", [0.1, 0.3]).values == (0.1, 0.3)
    assert parse_spec("x", "true,false").switch
    for bad in ("0.8..0.2", "1:2:1", "a,b", "0.2:0.8"):
        with pytest.raises(UsageError, match="x: cannot read"):
            parse_spec("x", bad)


def test_unknown_path_names_the_nearest_valid_paths():
    with pytest.raises(UsageError, match=r"unknown parameter path 'actors.moscow.resolv'.*actors\.moscow\.resolve"):
        run_sweep(BASELINE, {"actors.moscow.resolv": "0.5,0.9"}, out=None)


def test_out_of_range_value_is_refused():
    with pytest.raises(UsageError, match=r"actors.moscow.resolve: must be between 0 and 1 \(got 1.5\)"):
        run_sweep(BASELINE, {"actors.moscow.resolve": "0.5,1.5"}, out=None)


def test_sobol_needs_power_of_two():
    with pytest.raises(UsageError, match="power of 2"):
        design_matrix("sobol", [ParamSpec("a", bounds=(0, 1))], 100, 0)


def test_grid_sweep_common_random_numbers_and_files(tmp_path, monkeypatch):
    import sim.present.figures as figures
    from sim.runs import store

    drawn = []

    def unlocked_sweep_figures(points, runs, params, out_dir, **kw):
        with store.RunLock(out_dir, "test"):  # fails (StoreError) if the sweep still held its lock
            drawn.append(out_dir)
        return real(points, runs, params, out_dir, **kw)

    real = figures.sweep_figures
    monkeypatch.setattr(figures, "sweep_figures", unlocked_sweep_figures)
    result = sim.run_sweep(BASELINE, {"actors.moscow.resolve": "0.5,0.7,0.9", "negotiation.breakdown": "0.05,0.3"},
                           runs=150, seed=4, out=tmp_path)
    d = result.run_dir
    assert drawn == [d]
    names = {p.name for p in d.iterdir()}
    assert {"manifest.json", "points.parquet", "results.parquet", "summary.json"} <= names
    pngs = sorted(n for n in names if n.endswith(".png"))
    assert pngs and sorted(p.name for p in result.figures) == pngs
    assert sorted(json.loads((d / "manifest.json").read_text())["figures"]) == pngs
    points = pd.read_parquet(d / "points.parquet")
    assert len(points) == 6 and list(points.columns) == ["point", "actors.moscow.resolve", "negotiation.breakdown"]
    runs = pd.read_parquet(d / "results.parquet")
    assert len(runs) == 6 * 150 and list(runs.columns[:2]) == ["point", "replicate"]
    # the battlefield before talks is the same at every point: replicate r drew the same shocks
    kursk = runs.pivot(index="replicate", columns="point", values="kursk_retaken_month")
    assert (kursk.nunique(axis=1, dropna=False) == 1).all()
    summary = json.loads((d / "summary.json").read_text())
    assert len(summary["points"]) == 6
    p = [s["outcomes"]["agreement"]["p"] for s in summary["points"]]
    assert p[0] > p[-1]  # more resolve in Moscow, fewer agreements
    manifest = json.loads((d / "manifest.json").read_text())
    assert manifest["kind"] == "sweep" and manifest["status"] == "complete"
    assert manifest["sweep"]["design"] == "grid" and manifest["seed"] == 4


def test_sweep_point_equals_a_batch_with_the_same_override():
    sweep = run_sweep(BASELINE, {"actors.moscow.resolve": "0.6,0.8"}, runs=200, seed=2, out=None)
    batch = sim.run_batch(BASELINE, runs=200, seed=2, out=None, overrides={"actors.moscow.resolve": 0.8}).runs
    point = sweep.runs[sweep.runs["point"] == 1].drop(columns="point").reset_index(drop=True)
    pd.testing.assert_frame_equal(point, batch)


def ishigami(x: np.ndarray, a: float = 7.0, b: float = 0.1) -> np.ndarray:
    return np.sin(x[:, 0]) + a * np.sin(x[:, 1]) ** 2 + b * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_indices_of_ishigami_match_the_analytic_values():
    """Ishigami & Homma (1990) with a=7, b=0.1 on [-pi, pi]^3: S1 = (0.3139, 0.4424, 0),
    ST = (0.5576, 0.4424, 0.2437) (Saltelli et al. 2008, Global Sensitivity Analysis)."""
    specs = [ParamSpec(f"x{i}", bounds=(-np.pi, np.pi)) for i in range(3)]
    unit, values = design_matrix("sobol", specs, 4096, seed=1)
    idx = analyze("sobol", unit, ishigami(values), [s.path for s in specs], seed=1)
    s1, st = (0.3139, 0.4424, 0.0), (0.5576, 0.4424, 0.2437)
    for i, name in enumerate(idx):
        r = idx[name]
        assert abs(r["S1"] - s1[i]) <= max(r["S1_conf"], 0.01), (name, r)
        assert abs(r["ST"] - st[i]) <= max(r["ST_conf"], 0.01), (name, r)


def test_morris_ranks_ishigami_inputs():
    specs = [ParamSpec(f"x{i}", bounds=(-np.pi, np.pi)) for i in range(3)]
    unit, values = design_matrix("morris", specs, 200, seed=1)
    idx = analyze("morris", unit, ishigami(values), [s.path for s in specs], seed=1)
    mu = [idx[f"x{i}"]["mu_star"] for i in range(3)]
    assert mu[1] > mu[2] and mu[0] > mu[2]


def test_sobol_sweep_reports_indices_and_noise(tmp_path):
    result = run_sweep(BASELINE, {"actors.moscow.resolve": "0.5..1.0", "negotiation.breakdown": "0.05..0.3"},
                       design="sobol", points=16, runs=100, seed=1, out=None)
    rep = result.sensitivity["p_agreement"]
    assert set(rep["indices"]) == {"actors.moscow.resolve", "negotiation.breakdown"}
    assert rep["indices"]["actors.moscow.resolve"]["ST"] > rep["indices"]["negotiation.breakdown"]["ST"]
    assert 0 < rep["noise_share"] < 1
    assert "mean_agreement_month" in result.sensitivity


def test_cli_sweep_three_params_and_yaml_block(tmp_path, capsys):
    code = main(["sweep", BASELINE, "--param", "actors.moscow.resolve=0.5,0.75,1.0", "--param",
                 "negotiation.breakdown=0.05:0.3:2", "--param", "actors.us.leverage.moscow=0.0,0.05",
                 "--runs", "60", "--out", str(tmp_path), "--no-figures"])
    out = capsys.readouterr().out
    assert code == 0 and "grid sweep, 12 points" in out and "P(agreement)" in out
    block = tmp_path / "with_sweep.yaml"
    shutil.copy(BASELINE, tmp_path / "baseline.yaml")  # extends: reaches files of its own project only
    shutil.copytree(Path(BASELINE).parents[1] / "seeds", tmp_path / "seeds")
    block.write_text("extends: baseline.yaml\nname: with_sweep\nsweep:\n  design: lhs\n  points: 5\n  runs: 40\n"
                     "  params:\n    actors.moscow.resolve: '0.5..1.0'\n    negotiation.temperature: '0.005..0.02'\n")
    assert main(["sweep", str(block), "--out", str(tmp_path), "--json", "--no-figures"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["design"] == "lhs" and len(data["points"]) == 5


def test_cli_sweep_list_params(capsys):
    assert main(["sweep", BASELINE, "--list-params"]) == 0
    out = capsys.readouterr().out
    assert "actors.moscow.preconditions.kursk_withdrawal.value  (number)" in out
    assert "actors.us.active  (switch)" in out


def test_sweep_bad_input_exit_2(capsys):
    assert main(["sweep", BASELINE, "--param", "nope=1,2"]) == 2
    assert main(["sweep", BASELINE, "--param", "actors.moscow.resolve"]) == 2
    assert main(["sweep", BASELINE, "--param", "actors.moscow.resolve=0.5..0.9", "--design", "lhs"]) == 2
    err = capsys.readouterr().err
    assert err.count("negsim:") == 3 and "Traceback" not in err


def _synthetic(effect: float, shared: bool, runs: int = 60, seed: int = 3):
    """A Sobol design whose P(agreement) is 0.3 + effect * x0, with common or independent dice."""
    import pandas as pd

    from sim.runs.sweep import ParamSpec, design_matrix

    specs = [ParamSpec("x0", bounds=(0.0, 1.0)), ParamSpec("x1", bounds=(0.0, 1.0))]
    unit, values = design_matrix("sobol", specs, 16, seed=1)
    rng = np.random.default_rng(seed)
    dice = rng.random(runs)
    rows = []
    for point, (x0, _x1) in enumerate(values):
        u = dice if shared else rng.random(runs)
        agreed = u < 0.3 + effect * x0
        for r in range(runs):
            rows.append({"point": point, "replicate": r, "outcome": "agreement" if agreed[r] else "no_talks",
                         "agreement_month": 5 if agreed[r] else None})
    return unit, pd.DataFrame(rows)


def test_noise_share_accounts_for_common_random_numbers():
    from sim.runs.sweep import sensitivity_report

    unit, crn = _synthetic(0.4, shared=True)
    rep = sensitivity_report("sobol", unit, crn, ["x0", "x1"], 60, 12, seed=1)["p_agreement"]
    naive = np.mean([p * (1 - p) / 60 for p in crn.groupby("point")["outcome"].apply(lambda s: (s == "agreement").mean())])
    assert rep["noise_share"] < 0.25 * naive / rep["variance_across_points"]  # CRN: far below the binomial figure
    x0 = rep["indices"]["x0"]
    assert x0["S1_noise_lo"] <= x0["S1"] <= x0["S1_noise_hi"] and x0["S1_noise_lo"] > 0.5
    assert not rep["swamped"]


def test_noise_that_swamps_the_indices_is_said_plainly():
    from sim.runs.sweep import sensitivity_report

    unit, independent = _synthetic(0.02, shared=False, runs=30)
    rep = sensitivity_report("sobol", unit, independent, ["x0", "x1"], 30, 12, seed=1)["p_agreement"]
    assert rep["swamped"] and rep["noise_share"] >= 0.5
    assert rep["verdict"].startswith("Noise swamps the indices of p_agreement")
    x1 = rep["indices"]["x1"]
    assert x1["S1_noise_hi"] - x1["S1_noise_lo"] > 0.2  # wide: the dice decide


def test_the_runs_wing_draws_no_figures(tmp_path):
    """sim.runs.sweep stores results only; figures are the presentation wing's (sim.run_sweep draws them)."""
    result = run_sweep(BASELINE, {"actors.moscow.resolve": "0.5,0.9"}, runs=40, seed=1, out=tmp_path)
    assert result.wants_figures and not list(result.run_dir.glob("*.png")) and result.figures == []
    assert json.loads((result.run_dir / "manifest.json").read_text())["figures"] == []
