"""Figures of sweeps and comparisons (sim.present.plots), drawn from small real sweeps."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.errors import UsageError
from sim.present import plots
from sim.runs.summary import wilson

BASELINE = "scenarios/baseline.yaml"
NEVER_RIPE = "tests/data/never_ripe_precondition.yaml"
RESOLVE = "actors.moscow.resolve"
BREAKDOWN = "negotiation.breakdown"
PARAMS = [RESOLVE, BREAKDOWN]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def sweep(scenario: str, design: list[dict[str, float]], runs: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run a sweep the plain way: one batch per point, replicates shared across points."""
    frames = []
    sc = sim.load_scenario(scenario)  # loaded once: validation costs more than a small batch
    for point, values in enumerate(design):
        r = sim.run_batch(sc, runs=runs, seed=1, out=None, overrides=values).runs
        frames.append(r.assign(point=point))
    points = pd.DataFrame([{"point": i, **v} for i, v in enumerate(design)])
    return points, pd.concat(frames, ignore_index=True)


def png_size(path: Path) -> tuple[int, int]:
    data = path.read_bytes()
    assert data[:8] == PNG_MAGIC, f"{path.name} is not a PNG"
    return struct.unpack(">II", data[16:24])


def check_pngs(paths: list[Path], out_dir: Path, expected: list[str]) -> None:
    assert [p.name for p in paths] == expected
    assert all(p.parent == out_dir for p in paths)
    assert sorted(f.name for f in out_dir.iterdir()) == sorted(expected)  # no temporary files left
    for p in paths:
        width, height = png_size(p)
        assert width >= 600 and height >= 300, (p.name, width, height)
        assert p.stat().st_size > 8_000, p.name


@pytest.fixture(scope="module")
def grid() -> tuple[pd.DataFrame, pd.DataFrame]:
    design = [{RESOLVE: a, BREAKDOWN: b} for a in (0.5, 0.75, 0.95) for b in (0.05, 0.15, 0.4)]
    return sweep(BASELINE, design, runs=150)


def test_grid_sweep_figures(grid, tmp_path, capsys):
    points, runs = grid
    out = tmp_path / "figures" / "nested"  # created on demand
    paths = plots.sweep_figures(points, runs, PARAMS, out, title="baseline 3x3")
    check_pngs(paths, out, [
        "outcome_vs_actors.moscow.resolve.png",
        "outcome_vs_negotiation.breakdown.png",
        "heatmap_actors.moscow.resolve__negotiation.breakdown.png",
        "agreement_month.png",
        "terms.png",
    ])
    assert capsys.readouterr() == ("", "")  # the library never prints


def test_one_parameter_gives_no_heatmap_and_safe_names(grid, tmp_path):
    points, runs = grid
    odd = "negotiation/breakdown (x)"
    paths = plots.sweep_figures(points[["point", BREAKDOWN]].rename(columns={BREAKDOWN: odd}), runs, [odd], tmp_path)
    check_pngs(paths, tmp_path, ["outcome_vs_negotiation_breakdown__x_.png", "agreement_month.png", "terms.png"])
    assert plots.safe_name("a-b_c.d e/f:g") == "a-b_c.d_e_f_g"


def test_no_agreement_still_draws_every_figure(tmp_path):
    design = [{RESOLVE: a, BREAKDOWN: b} for a in (0.5, 0.9) for b in (0.1, 0.3)]
    points, runs = sweep(NEVER_RIPE, design, runs=40)
    # the precondition never holds: talks may open, but no terms are ever put, so no run agrees
    assert (runs["outcome"] != "agreement").all() and runs["agreement_month"].isna().all()
    paths = plots.sweep_figures(points, runs, PARAMS, tmp_path)
    check_pngs(paths, tmp_path, [
        "outcome_vs_actors.moscow.resolve.png",
        "outcome_vs_negotiation.breakdown.png",
        "heatmap_actors.moscow.resolve__negotiation.breakdown.png",
        "agreement_month.png",
        "terms.png",
    ])


def test_sampled_design_is_binned(tmp_path):
    rng = np.random.default_rng(7)
    design = [{RESOLVE: float(a), BREAKDOWN: float(b)}
              for a, b in zip(rng.uniform(0.4, 1.0, 14), rng.uniform(0.02, 0.5, 14), strict=True)]
    points, runs = sweep(BASELINE, design, runs=40)
    lv = plots.levels_of(runs["point"].map(points.set_index("point")[RESOLVE]))
    assert lv.binned and 2 <= len(lv) <= plots.BINS
    assert (lv.code >= 0).all() and len(np.unique(lv.code)) == len(lv)  # every run in a bin, no empty bin
    assert np.all(np.diff(lv.x) > 0) and lv.x[0] >= 0.4 and lv.x[-1] <= 1.0  # bin centres, in order
    paths = plots.sweep_figures(points, runs, PARAMS, tmp_path / "sampled", title="14 sampled points")
    check_pngs(paths, tmp_path / "sampled", [
        "outcome_vs_actors.moscow.resolve.png",
        "outcome_vs_negotiation.breakdown.png",
        "heatmap_actors.moscow.resolve__negotiation.breakdown.png",
        "agreement_month.png",
        "terms.png",
    ])


def test_levels_of_grid_and_categories():
    lv = plots.levels_of(pd.Series([0.15, 0.05, 0.4, 0.05, np.nan]))
    assert not lv.binned and lv.labels == ["0.05", "0.15", "0.4"]
    assert lv.code.tolist() == [1, 0, 2, 0, -1]
    lv = plots.levels_of(pd.Series(np.arange(12.0)))
    assert not lv.binned and len(lv) == 12
    lv = plots.levels_of(pd.Series(np.arange(13.0)))
    assert lv.binned
    lv = plots.levels_of(pd.Series(["us", "eu_uk", "us"]))
    assert not lv.numeric and lv.labels == ["eu_uk", "us"] and lv.code.tolist() == [1, 0, 1]


def test_bad_input_is_a_usage_error(grid, tmp_path):
    points, runs = grid
    with pytest.raises(UsageError, match="at least one"):
        plots.sweep_figures(points, runs, [], tmp_path)
    with pytest.raises(UsageError, match="no.such"):
        plots.sweep_figures(points, runs, ["no.such"], tmp_path)
    with pytest.raises(UsageError, match="outcome"):
        plots.sweep_figures(points, runs.drop(columns="outcome"), PARAMS, tmp_path)
    with pytest.raises(UsageError, match="p_b"):
        plots.compare_figure(pd.DataFrame({"outcome": ["agreement"]}), tmp_path / "c.png", "a", "b")


def test_compare_figure(tmp_path):
    sc = sim.load_scenario(BASELINE)
    a = sim.run_batch(sc, runs=300, seed=3, out=None).runs
    b = sim.run_batch(sc, runs=300, seed=3, out=None, overrides={RESOLVE: 0.95}).runs
    rows = []
    for outcome in ("no_talks", "talks_failed", "agreement"):
        xa, xb = (a["outcome"] == outcome).to_numpy(int), (b["outcome"] == outcome).to_numpy(int)
        d = xb - xa  # paired: same replicates, same shocks
        half = 1.96 * d.std(ddof=1) / np.sqrt(len(d)) if d.any() else 0.0
        rows.append({"outcome": outcome, "p_a": wilson(xa.sum(), len(xa))[0], "p_b": wilson(xb.sum(), len(xb))[0],
                     "diff": d.mean(), "lo": d.mean() - half, "hi": d.mean() + half})
    out = tmp_path / "cmp" / "compare.png"
    assert plots.compare_figure(pd.DataFrame(rows), out, "baseline", "resolute Moscow") == out
    check_pngs([out], out.parent, ["compare.png"])
