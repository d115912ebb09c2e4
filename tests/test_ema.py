"""EMA Workbench adapter and `negsim discover` (the [ema] extra)."""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import numpy as np
import pytest

import sim
from sim.cli import main
from sim.errors import UsageError

pytest.importorskip("ema_workbench")
ROOT = Path(__file__).resolve().parents[1]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
RESOLVE = "actors.moscow.resolve"


def test_ema_runs_experiments_and_prim_on_a_negsim_model():
    from sim.analysis.ema import model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from ema_workbench import perform_experiments
        from ema_workbench.analysis import prim

        m = model(BASELINE, {RESOLVE: (0.3, 1.0), "negotiation.breakdown": "0.05..0.35"},
                  ["p_agreement", "p_frozen_conflict", "mean_agreement_month"], runs=60, seed=2)
        experiments, outcomes = perform_experiments(m, scenarios=24)
    assert len(experiments) == 24 and set(outcomes) == {"p_agreement", "p_frozen_conflict", "mean_agreement_month"}
    # each experiment is a negsim batch with its values as overrides, same seed: check one by hand
    row = experiments.iloc[5]
    direct = sim.run_batch(BASELINE, runs=60, seed=2, out=None,
                           overrides={RESOLVE: row[RESOLVE], "negotiation.breakdown": row["negotiation.breakdown"]})
    assert outcomes["p_agreement"][5] == pytest.approx((direct.runs["outcome"] == "agreement").mean())
    assert np.corrcoef(experiments[RESOLVE], outcomes["p_agreement"])[0, 1] < -0.5  # resolute Moscow, fewer deals
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        box = prim.Prim(experiments[[RESOLVE, "negotiation.breakdown"]], outcomes["p_agreement"] > 0.6).find_box()
    assert box.coverage > 0.5


def test_ema_model_refuses_bad_uncertainties_and_outcomes():
    from sim.analysis.ema import model

    with pytest.raises(UsageError, match="nearest valid paths"):
        model(BASELINE, {"actors.moscow.resolv": (0, 1)})
    with pytest.raises(UsageError, match="must be"):
        model(BASELINE, {RESOLVE: (0.5, 1.5)})
    with pytest.raises(UsageError, match="unknown outcome 'p_peace'"):
        model(BASELINE, {RESOLVE: (0.5, 1.0)}, ["p_peace"])


def test_discover_on_a_sweep(tmp_path, capsys):
    sweep = sim.run_sweep(BASELINE, {RESOLVE: "0.3..1.0", "negotiation.breakdown": "0.05..0.35"}, design="lhs",
                          points=40, runs=80, seed=1, out=tmp_path, figures=False)
    assert main(["discover", str(sweep.run_dir), "--outcome", "agreement", "--above", "0.6", "--json"]) == 0
    found = json.loads(capsys.readouterr().out)
    assert found["rule"] == "P(agreement) > 0.6" and 0 < found["points_of_interest"] < 40
    assert RESOLVE in found["limits"]  # the box is about Moscow's resolve, low
    assert found["limits"][RESOLVE]["max"] < 0.95
    assert found["box"]["coverage"] > 0.5 and found["box"]["density"] > 0.7
    assert all(Path(f).is_file() for f in found["figures"]) and len(found["figures"]) == 2
    assert main(["discover", str(sweep.run_dir), "--above", "1.0"]) == 2  # no point above: nothing to set apart
    assert "PRIM needs some points on each side" in capsys.readouterr().err
