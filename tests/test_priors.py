"""Prior entries of a record (`priors:`): figures from before a scenario's start as bounds on its parameters,
read with FILE:LINE errors, used by `negsim calibrate` (truncated or checked) and not scored by `negsim hindcast`."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import sim
from sim.cli import main
from sim.errors import ScenarioError
from sim.scenario.targets import prior_bounds, read_targets

ROOT = Path(__file__).resolve().parents[1]
SEEDS = [ROOT / "seeds"]
BASELINE = ROOT / "scenarios" / "baseline.yaml"
RECORD = ROOT / "scenarios" / "targets" / "2025h1.yaml"
RECORD_2024 = ROOT / "scenarios" / "targets" / "2024.yaml"
KURSK = "battlefield.kursk_recapture_km2.mean"
PACE_QUOTE = "with over 1,000 square kilometres taken between September 1 and November 3 alone"

PRIORS = f"""\
name: tiny
priors:
  pace:
    label: the recent pace
    param: battlefield.monthly_change_km2.mean
    between: [450, 650]
    evidence: {{doc: 000_73fce2beaa62e326.txt, quote: "{PACE_QUOTE}"}}
    reason: over 1,000 km2 in 64 days
"""
EVENTS = """\
targets:
  talks_early:
    label: talks by 2025-02
    event: talks
    by: 2025-02
    observed: true
    source: {public: "a meeting", date: "2025-02-18", reason: "contacts are talks"}
"""


def _write(tmp_path: Path, text: str, name: str = "p.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_the_shipped_2024_record_bounds_the_baseline_numbers_its_figures_inform():
    rec = read_targets(RECORD_2024, seeds=SEEDS)
    assert rec.name == "2024" and rec.items() == [] and len(rec.priors()) == 6
    assert rec.last_month("2024-11") == 0
    bounds = prior_bounds([rec, read_targets(RECORD)], sim.load_scenario(BASELINE))
    pace = bounds["battlefield.monthly_change_km2.mean"]
    assert (pace.low, pace.high, pace.fixed) == (450.0, 650.0, 480.0)  # the two entries' intersection
    assert [e for _, e, _ in pace.entries] == ["front_pace_recent", "front_pace_year"]
    assert {p: b.fixed for p, b in bounds.items()} == {
        "battlefield.monthly_change_km2.mean": 480.0, KURSK: None, "battlefield.kursk_held_km2": 578.0,
        "actors.moscow.casualties.mean": 3500.0, "actors.ukraine_public.weariness": 0.5}
    assert bounds[KURSK].kept == 1.0  # the Kursk pace's prior (60 to 250) lies within 0 to 400


@pytest.mark.parametrize("old, new, key, words", [
    ("between: [450, 650]", "between: [650, 450]", "priors.pace.between", "LOW must be below HIGH"),
    ("between: [450, 650]", "between: many", "priors.pace.between", "two numbers [LOW, HIGH]"),
    ("    reason: over 1,000 km2 in 64 days\n", "", "priors.pace.reason", "Field required"),
    ("    label: the recent pace\n", "    label: the recent pace\n    colour: red\n", "priors.pace.colour",
     "unknown key"),
    (PACE_QUOTE, "the front stood still", "priors.pace.evidence.quote", "quote not found"),
])
def test_bad_prior_entries_name_file_line_and_key(tmp_path, old, new, key, words):
    path = _write(tmp_path, PRIORS.replace(old, new, 1))
    with pytest.raises(ScenarioError) as err:
        read_targets(path, seeds=SEEDS)
    p = err.value.problems[0]
    assert (p.file, p.path) == (str(path), key) and words in p.message, str(err.value)
    assert 3 <= p.line <= 9


def test_a_record_needs_an_event_or_a_prior(tmp_path):
    with pytest.raises(ScenarioError, match="at least one entry"):
        read_targets(_write(tmp_path, "name: empty\n"))


@pytest.mark.parametrize("old, new, key, words", [
    ("param: battlefield.monthly_change_km2.mean", "param: battlefield.monthly_change.mean", "priors.pace.param",
     "not a parameter of scenario baseline"),
    ("between: [450, 650]", "between: [500, 650]", "priors.pace.between", "fixed at 480"),
    ("param: battlefield.monthly_change_km2.mean", f"param: {KURSK}", "priors.pace.between", "no probability"),
])
def test_prior_entries_are_checked_against_the_scenario(tmp_path, old, new, key, words):
    path = _write(tmp_path, PRIORS.replace(old, new, 1))
    with pytest.raises(ScenarioError) as err:
        prior_bounds([read_targets(path, seeds=SEEDS)], sim.load_scenario(BASELINE))
    p = err.value.problems[0]
    assert (p.file, p.path) == (str(path), key) and words in p.message, str(err.value)
    assert p.line == (5 if key.endswith("param") else 6)


def test_two_entries_of_one_parameter_must_overlap(tmp_path):
    second = PRIORS.split("priors:\n")[1].replace("  pace:", "  pace_low:").replace("[450, 650]", "[300, 400]")
    path = _write(tmp_path, PRIORS + second)
    with pytest.raises(ScenarioError) as err:
        prior_bounds([read_targets(path, seeds=SEEDS)], sim.load_scenario(BASELINE))
    p = err.value.problems[0]
    assert p.path == "priors.pace_low.between" and "does not overlap" in p.message and "tiny:pace" in p.message


def test_a_truncated_prior_is_the_prior_conditioned_on_the_interval():
    from sim.analysis.calibrate import Truncated

    base = sim.load_scenario(BASELINE).model.battlefield.kursk_recapture_km2.mean.frozen()  # uniform 60 to 250
    t = Truncated(base, 100, 150)
    assert t.binds and float(t.ppf(0.0)) == 100 and float(t.ppf(1.0)) == 150
    assert float(t.ppf(0.5)) == pytest.approx(125) and float(t.cdf(125)) == pytest.approx(0.5)
    assert t.pdf is not None and t.pdf(np.array([90.0, 120.0])).tolist() == pytest.approx([0.0, 1 / 50])
    wide = Truncated(base, 0, 400)
    u = np.linspace(0.01, 0.99, 7)
    assert not wide.binds and wide.ppf(u).tolist() == base.ppf(u).tolist()  # no cut: the same draws


def _calibrate(tmp_path: Path, capsys, *records: Path, json_out: bool = True) -> tuple[int, str, str]:
    args = ["calibrate", str(BASELINE), "--targets", *map(str, records), "--params", KURSK, "--population", "8",
            "--runs-per-particle", "30", "--budget", "600", "--ppc-runs", "100", "--seed", "4",
            "--out", str(tmp_path / "runs"), "--quiet"] + (["--json"] if json_out else [])
    code = main(args)
    out = capsys.readouterr()
    return code, out.out, out.err


def test_calibrate_truncates_an_uncertain_prior_to_a_prior_entry(tmp_path, capsys):
    pytest.importorskip("pyabc")
    text = PRIORS.replace("param: battlefield.monthly_change_km2.mean", f"param: {KURSK}").replace(
        "[450, 650]", "[100, 150]")
    code, out, err = _calibrate(tmp_path, capsys, RECORD, _write(tmp_path, text))
    assert code == 0, err
    r = json.loads(out)
    post = pd.read_parquet(Path(r["run_dir"]) / "posterior.parquet")
    assert post[KURSK].between(100, 150).all() and post[KURSK].nunique() > 1
    (p,) = r["params"]
    assert 100 <= p["prior_90"][0] < p["prior_90"][2] <= 150  # the prior reported is the truncated one
    ppc = json.loads((Path(r["run_dir"]) / "ppc.json").read_text())
    assert ppc == r["ppc"] and ppc["prior_truncated"] is True
    (entry,) = ppc["priors"]
    assert entry["kind"] == "prior" and entry["entries"] == ["tiny:pace"] and entry["use"] == "truncated the prior"
    assert entry["prior_kept"] == pytest.approx(50 / 190)
    assert {t["name"] for t in ppc["targets"]} == {n for n, _ in read_targets(RECORD).items()}  # events only


def test_calibrate_on_both_shipped_records_lists_the_prior_entries_as_such(tmp_path, capsys):
    """The 2024 record's entries cut no prior of the baseline (they check four fixed numbers and hold the Kursk
    pace's whole prior), so the calibration on both records is the one on 2025h1 alone, draw for draw. The printed
    calibration on both is compared through its run directory (ppc.json is the `--json` output's ppc)."""
    pytest.importorskip("pyabc")
    code, out, err = _calibrate(tmp_path / "both", capsys, RECORD_2024, RECORD, json_out=False)
    assert code == 0, err
    assert "Calibrated baseline to 2024, 2025h1" in out and "Prior entries" in out and "not scored" in out
    assert out.count("checked: the scenario fixes it") == 4 and "no cut: the prior lies within" in out
    (both_dir,) = (tmp_path / "both" / "runs").iterdir()
    both = {"run_dir": str(both_dir), "ppc": json.loads((both_dir / "ppc.json").read_text())}
    alone = json.loads(_calibrate(tmp_path / "alone", capsys, RECORD)[1])
    pd.testing.assert_frame_equal(pd.read_parquet(Path(both["run_dir"]) / "posterior.parquet"),
                                  pd.read_parquet(Path(alone["run_dir"]) / "posterior.parquet"))
    assert both["ppc"]["targets"] == alone["ppc"]["targets"] and both["ppc"]["prior_truncated"] is False
    assert len(both["ppc"]["priors"]) == 5 and alone["ppc"]["priors"] == []


def test_calibrate_prior_errors_exit_2(tmp_path, capsys):
    outside = _write(tmp_path, PRIORS.replace("[450, 650]", "[500, 650]"))
    code, _, err = _calibrate(tmp_path, capsys, RECORD, outside)
    assert code == 2 and f"{outside}:6:" in err and "fixed at 480" in err and "Traceback" not in err
    code, _, err = _calibrate(tmp_path, capsys, RECORD_2024)
    assert code == 2 and "no event targets" in err
    assert not (tmp_path / "runs").exists()  # nothing ran


def test_hindcast_scores_the_events_and_names_the_priors_it_does_not_score(tmp_path, capsys):
    both = _write(tmp_path, PRIORS + EVENTS)
    args = ["hindcast", str(BASELINE), "--record", str(both), "--runs", "200", "--seed", "2"]
    assert main(args + ["--json"]) == 0
    h = json.loads(capsys.readouterr().out)
    assert [t["name"] for t in h["targets"]] == ["talks_early"] and h["priors_not_scored"] == ["pace"]
    assert main(args) == 0
    assert "Not scored here: 1 prior entry (pace)" in capsys.readouterr().out
    assert main(["hindcast", str(BASELINE), "--record", str(RECORD_2024), "--runs", "10"]) == 2
    err = capsys.readouterr().err
    assert "no event targets to score" in err and "6 entries are priors" in err
    assert main(["run", str(BASELINE), "--runs", "10", "--out", str(tmp_path / "r"), "--given", str(RECORD_2024)]) == 2
    assert "no event targets to condition on" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()  # refused before any run
