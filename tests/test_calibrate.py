"""`negsim calibrate` (ABC-SMC with pyabc) and the `dist: posterior` form of a calibrated scenario."""

from __future__ import annotations

import contextlib
import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.errors import ScenarioError, UsageError
from sim.scenario.compile import compile_scenario

pytest.importorskip("pyabc")

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "scenarios" / "targets" / "2025h1.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"
KURSK = "battlefield.kursk_recapture_km2.mean"


def _variant(tmp_path: Path, body: str) -> Path:
    """A variant of the baseline inside a copy of the project layout (extends: needs the same project)."""
    (tmp_path / "scenarios").mkdir(exist_ok=True)
    (tmp_path / "scenarios" / "baseline.yaml").write_text(BASELINE.read_text())
    (tmp_path / "seeds").mkdir(exist_ok=True)
    for f in (ROOT / "seeds").iterdir():
        (tmp_path / "seeds" / f.name).write_text(f.read_text())
    path = tmp_path / "scenarios" / "post.yaml"
    path.write_text("extends: baseline.yaml\nname: post\n" + body)
    return path


def test_posterior_form_draws_rows_jointly(tmp_path: Path) -> None:
    from sim.runs.batch import draw_shocks

    path = _variant(tmp_path, """\
battlefield:
  kursk_recapture_km2:
    mean: {dist: posterior, values: [100, 200, 150, 120], assumption: "test"}
actors:
  kyiv:
    resolve: {dist: posterior, values: [0.1, 0.2, 0.3, 0.4], assumption: "test"}
""")
    sc = sim.load_scenario(path)
    c = compile_scenario(sc)
    shocks = draw_shocks(c, 1, range(400))
    slots = c.slots
    k, r = slots[KURSK], slots["actors.kyiv.resolve"]
    kursk = shocks.params[k.name][(slice(None), *k.index)]
    resolve = shocks.params[r.name][(slice(None), *r.index)]
    rows = {(100.0, 0.1), (200.0, 0.2), (150.0, 0.3), (120.0, 0.4)}
    assert set(zip(kursk.tolist(), np.round(resolve, 6).tolist(), strict=True)) == rows  # every row, never mixed
    assert sc.model.battlefield.kursk_recapture_km2.mean.central() in (120.0, 150.0)
    assert sim.run_batch(sc, runs=50, seed=1, out=None).runs.shape[0] == 50  # a batch runs with it


def test_posterior_form_errors(tmp_path: Path) -> None:
    path = _variant(tmp_path, """\
actors:
  kyiv:
    resolve: {dist: posterior, values: [0.1, 1.5], assumption: "test"}
""")
    with pytest.raises(ScenarioError) as err:
        sim.load_scenario(path)
    assert "post.yaml:5" in str(err.value) and "values[1]" in str(err.value)
    path.write_text(path.read_text().replace("[0.1, 1.5]", "[0.1, 0.2]") + """\
battlefield:
  kursk_recapture_km2:
    mean: {dist: posterior, values: [100, 200, 300], assumption: "test"}
""")
    with pytest.raises(UsageError, match="same number of values"):
        sim.run_batch(sim.load_scenario(path), runs=5, seed=1, out=None)


CALIBRATE = ["calibrate", str(BASELINE), "--targets", str(RECORD), "--params", KURSK, "--population", "8",
             "--runs-per-particle", "20", "--budget", "400", "--ppc-runs", "150", "--seed", "5", "--json"]


def _calibrate(out: Path) -> dict:
    with contextlib.redirect_stdout(io.StringIO()) as printed:
        assert main([*CALIBRATE, "--out", str(out)]) == 0
    return json.loads(printed.getvalue())


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory) -> dict:
    """One calibration (CALIBRATE), run once for the module: its files, a second run of it and an interrupted
    and resumed one are compared with it."""
    return _calibrate(tmp_path_factory.mktemp("calibrated"))


def test_calibrate_writes_its_run_directory_and_is_reproducible(tmp_path: Path, calibrated) -> None:
    a = calibrated
    b = _calibrate(tmp_path / "b")
    run = Path(a["run_dir"])
    for f in ("abc.db", "calibration.json", "posterior.parquet", "calibrated.yaml", "posterior.png", "ppc.json"):
        assert (run / f).is_file(), f
    pa, pb = pd.read_parquet(run / "posterior.parquet"), pd.read_parquet(Path(b["run_dir"]) / "posterior.parquet")
    pd.testing.assert_frame_equal(pa, pb)  # the same seed, the same posterior
    assert list(pa.columns[:1]) == [KURSK] and "weight" in pa
    assert {t["name"] for t in a["ppc"]["targets"]} >= {"kursk_retaken", "talks_by_february"}
    assert all(isinstance(t["hit"], bool) for t in a["ppc"]["targets"])
    assert json.loads((run / "calibration.json").read_text())["status"] == "done"


def test_calibrate_errors_exit_2(tmp_path: Path, capsys) -> None:
    assert main(["calibrate", str(BASELINE), "--out", str(tmp_path)]) == 2
    assert "--targets" in capsys.readouterr().err
    assert main(["calibrate", str(BASELINE), "--targets", str(RECORD), "--params", "negotiation.temperature",
                 "--out", str(tmp_path)]) == 2
    assert "fixed in the scenario" in capsys.readouterr().err
    # a budget spent before any particle is accepted (seed 7 accepts none of its first 10) is said, not a traceback
    assert main(["calibrate", str(BASELINE), "--targets", str(RECORD), "--params", KURSK, "--population", "4",
                 "--runs-per-particle", "10", "--budget", "100", "--seed", "7", "--quiet", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "--budget 100: the runs were spent before any particle" in err and "Traceback" not in err
    assert "RuntimeWarning" not in err


def _synthetic_record(tmp_path: Path, month: float, start: str, i: int) -> Path:
    """A record of one history: the month Kursk was retaken in one run of the model at the true parameter."""
    y, m = (int(x) for x in start.split("-"))
    k = m - 1 + int(month)
    cal = f"{y + k // 12}-{k % 12 + 1:02d}"
    path = tmp_path / f"truth{i}.yaml"
    path.write_text(f"""\
name: truth{i}
targets:
  kursk:
    label: Kursk retaken
    event: kursk_retaken
    between: [{cal}, {cal}]
    source: {{public: "synthetic", date: "2025-01-01", reason: "generated by the model at a known value"}}
""")
    return path


@pytest.mark.slow
def test_recovers_known_parameters(tmp_path: Path) -> None:
    """Simulation-based calibration (Talts et al. 2018): the truth, drawn from the prior, lies in the 90% posterior
    interval in at least 16 of 20 trials (expected 18)."""
    from sim.analysis.calibrate import Settings, calibrate
    from sim.scenario.targets import read_targets

    sc = sim.load_scenario(BASELINE)
    prior = sc.model.battlefield.kursk_recapture_km2.mean.frozen()
    rng = np.random.default_rng(2018)
    hits = 0
    for i in range(20):
        truth = float(prior.ppf(rng.uniform()))
        run = sim.run_batch(sc, runs=1, seed=1000 + i, out=None, overrides={KURSK: truth}).runs
        month = run["kursk_retaken_month"].iloc[0]
        if not np.isfinite(month):
            month = sc.model.horizon_months  # never retaken: recorded at the horizon (rare)
        record = read_targets(_synthetic_record(tmp_path, month, sc.model.start, i))
        s = Settings(str(BASELINE), [str(record.path)], [KURSK], seed=i, budget=40_000, runs_per_particle=100,
                     population=60)
        (tmp_path / f"c{i}").mkdir()
        post = calibrate(sc, [record], s, tmp_path / f"c{i}")
        low, _, high = post.interval(KURSK, 0.9)
        hits += low <= truth <= high
    assert hits >= 16, f"the truth lay in the 90% interval in {hits} of 20 trials"


def test_an_interrupted_calibration_resumes_to_the_same_result(tmp_path: Path, capsys, monkeypatch,
                                                               calibrated) -> None:
    """Stopped mid-way (Ctrl-C in a particle's batch), `--resume RUN_DIR` finishes it with the settings it was
    started with (the predictive check's runs too), and gives what an uninterrupted calibration gives."""
    import sim.runs.batch as batch

    args, full = CALIBRATE, calibrated
    real, calls = batch.run_batch, []

    def stop_on_the_fifth(*a, **k):
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return real(*a, **k)

    monkeypatch.setattr(batch, "run_batch", stop_on_the_fifth)
    assert main(args + ["--out", str(tmp_path / "cut")]) == 130
    capsys.readouterr()
    monkeypatch.setattr(batch, "run_batch", real)
    run = next((tmp_path / "cut").iterdir())
    assert json.loads((run / "calibration.json").read_text())["status"] != "done"
    assert main(["calibrate", "--resume", str(run), "--json"]) == 0
    resumed = json.loads(capsys.readouterr().out)
    pd.testing.assert_frame_equal(pd.read_parquet(run / "posterior.parquet"),
                                  pd.read_parquet(Path(full["run_dir"]) / "posterior.parquet"))
    assert resumed["ppc"] == full["ppc"] and resumed["ppc"]["runs"] == 150


def test_a_calibration_through_dask_gives_the_process_pools_posterior(tmp_path: Path, capsys) -> None:
    """Each particle's batch goes through the executors of `negsim run`: on a local Dask cluster (--backend dask,
    2 workers) the posterior and the predictive check are those of the local process pool, for one seed."""
    pytest.importorskip("distributed")
    args = ["calibrate", str(BASELINE), "--targets", str(RECORD), "--params", KURSK, "--population", "6",
            "--runs-per-particle", "20", "--budget", "300", "--ppc-runs", "60", "--seed", "7", "--workers", "2",
            "--quiet", "--json"]
    out = {}
    for backend in ("local", "dask"):
        assert main(args + ["--backend", backend, "--out", str(tmp_path / backend)]) == 0
        out[backend] = json.loads(capsys.readouterr().out)
    local, dask = (pd.read_parquet(Path(out[b]["run_dir"]) / "posterior.parquet") for b in ("local", "dask"))
    assert len(local) == 6 and local[KURSK].nunique() > 1
    pd.testing.assert_frame_equal(local, dask)
    assert out["local"]["ppc"] == out["dask"]["ppc"] and out["local"]["runs"] == out["dask"]["runs"]
    db = sqlite3.connect(Path(out["dask"]["run_dir"]) / "abc.db")
    assert db.execute("select count(*) from populations").fetchone()[0] >= 1
