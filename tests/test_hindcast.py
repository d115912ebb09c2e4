"""Targets files and `negsim hindcast`: a record read with FILE:LINE errors, scored as a user runs it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.analysis.hindcast import consistent, hindcast, keep_given
from sim.cli import main
from sim.errors import ScenarioError
from sim.scenario.targets import read_targets, window

ROOT = Path(__file__).resolve().parents[1]
RECORD = ROOT / "scenarios" / "targets" / "2025h1.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"

GOOD = """\
name: tiny
targets:
  talks_early:
    label: talks by month 2
    event: talks
    by: 2025-01
    observed: true
    source: {public: "a meeting", date: "2025-01-10", reason: "contacts are talks"}
  no_deal:
    label: no settlement by month 3
    event: settlement
    by: 2025-02
    observed: false
    source: {public: "no deal", date: "2025-02-28", reason: "none signed"}
  kursk:
    label: Kursk retaken in month 2 or 3
    event: kursk_retaken
    between: [2025-01, 2025-02]
    source: {public: "a claim", date: "2025-02-01", reason: "the claim's month"}
"""


def _write(tmp_path: Path, text: str, name: str = "t.yaml") -> Path:
    p = tmp_path / name
    p.write_text(text)
    return p


def test_the_shipped_record_reads_and_its_months_follow_the_scenario_start():
    t = read_targets(RECORD)
    assert t.name == "2025h1" and len(t.items()) == 6
    by_name = dict(t.items())
    # the baseline starts 2024-11 (month 0): February 2025 is month 3, May month 6
    assert window(by_name["talks_by_february"], "2024-11") == (0, 3)
    assert window(by_name["kursk_retaken"], "2024-11") == (4, 5)
    assert t.last_month("2024-11") == 6
    assert all((tg.source is None) != (tg.evidence is None) for _, tg in t.items())


@pytest.mark.parametrize("change, line, key, words", [
    ("    observed: true\n", 7, "targets.talks_early.colour", "unknown key"),
    ("    by: 2025-13\n", 6, "targets.talks_early.by", "calendar month YYYY-MM"),
    ("    event: armistice\n", 5, "targets.talks_early.event", "must be one of talks, partial"),
])
def test_bad_targets_name_file_line_and_key(tmp_path, change, line, key, words):
    text = GOOD
    if "colour" in key:
        text = text.replace(change, change + "    colour: red\n", 1)
    else:
        field = change.split(":")[0]
        old = next(x for x in GOOD.splitlines(keepends=True) if x.startswith(field + ":"))
        text = text.replace(old, change, 1)
    path = _write(tmp_path, text)
    with pytest.raises(ScenarioError) as err:
        read_targets(path)
    p = err.value.problems[0]
    assert (p.file, p.path) == (str(path), key) and words in p.message, str(err.value)
    assert abs(p.line - line) <= 1


def test_a_target_needs_one_window_and_one_source(tmp_path):
    text = GOOD.replace("    by: 2025-01\n", "    by: 2025-01\n    between: [2025-01, 2025-02]\n", 1)
    text = text.replace('    source: {public: "a meeting", date: "2025-01-10", reason: "contacts are talks"}\n', "", 1)
    with pytest.raises(ScenarioError) as err:
        read_targets(_write(tmp_path, text))
    assert "exactly one of `by" in str(err.value)
    text = GOOD.replace('    source: {public: "a meeting", date: "2025-01-10", reason: "contacts are talks"}\n', "", 1)
    with pytest.raises(ScenarioError) as err:
        read_targets(_write(tmp_path, text))
    assert "exactly one source" in str(err.value) and "targets.talks_early" in str(err.value)


def test_an_evidence_quote_must_be_in_the_seeds(tmp_path):
    text = GOOD.replace('    source: {public: "a meeting", date: "2025-01-10", reason: "contacts are talks"}\n',
                        '    evidence: {doc: 000_73fce2beaa62e326.txt, quote: "talks began in Geneva"}\n', 1)
    with pytest.raises(ScenarioError) as err:
        read_targets(_write(tmp_path, text), seeds=[ROOT / "seeds"])
    assert "quote not found" in str(err.value)


def _frame() -> pd.DataFrame:
    nan = np.nan
    return pd.DataFrame({"talks_month": [1, 2, 3, nan], "settlement_month": [2, 5, nan, nan],
                         "kursk_retaken_month": [2, 3, 4, 1], "first_partial_month": nan, "ceasefire_month": nan,
                         "ceasefire_broken_month": nan, "relapse_month": nan})


def test_consistency_and_scores_by_hand(tmp_path):
    t = read_targets(_write(tmp_path, GOOD))
    start = "2024-12"  # 2025-01 is month 1, 2025-02 month 2
    runs, by_name = _frame(), dict(t.items())
    assert consistent(runs, by_name["talks_early"], start).tolist() == [True, False, False, False]
    assert consistent(runs, by_name["no_deal"], start).tolist() == [False, True, True, True]
    assert consistent(runs, by_name["kursk"], start).tolist() == [True, False, False, True]
    h = hindcast(runs, t, start, "x")
    p = {s.name: s.p for s in h.scores}
    assert p == {"talks_early": 0.25, "no_deal": 0.75, "kursk": 0.5}
    s = h.scores[0]
    assert s.log_score == pytest.approx(math.log(0.25)) and s.brier == pytest.approx(0.75 ** 2)
    assert h.joint == 0.0 and h.kept == 4
    # conditioning on the record up to month 1 keeps the runs with talks by then and scores what follows
    c = hindcast(runs, t, start, "x", from_month=1)
    assert c.conditioned_on == ["talks_early"] and c.kept == 1 and [s.name for s in c.scores] == ["no_deal", "kursk"]
    assert keep_given(runs, t, start).tolist() == [False, False, False, False]
    assert c.scores[0].p == 0.0 and c.scores[0].floored and c.scores[0].log_score == pytest.approx(math.log(0.5))


def test_hindcast_command_end_to_end(tmp_path, capsys):
    png = tmp_path / "hindcast.png"
    args = ["hindcast", str(BASELINE), "--record", str(RECORD), "--runs", "600", "--seed", "3", "--json"]
    assert main(args + ["--figure", str(png)]) == 0
    first = json.loads(capsys.readouterr().out)
    assert first["runs"] == first["kept"] == 600 and len(first["targets"]) == 6
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    assert all(0.0 <= t["p"] <= 1.0 and t["log_score"] <= 0.0 for t in first["targets"])
    assert 0.0 <= first["joint"] <= min(t["p"] for t in first["targets"])
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out) == first  # same seed, same scores
    assert main(args + ["--from", "2025-02"]) == 0
    cond = json.loads(capsys.readouterr().out)
    assert cond["conditioned_on"] == ["talks_by_february", "no_talks_before_february"]
    assert 0 < cond["kept"] < 600 and len(cond["targets"]) == 4
    assert main(["hindcast", str(BASELINE), "--record", str(RECORD), "--runs", "300"]) == 0
    text = capsys.readouterr().out
    assert "The whole record as a path" in text and "No ceasefire by the end of May 2025" in text


def test_hindcast_bad_input_exits_2_without_a_traceback(tmp_path, capsys):
    late = _write(tmp_path, GOOD.replace("by: 2025-02", "by: 2031-02"))
    assert main(["hindcast", str(BASELINE), "--record", str(late), "--runs", "10"]) == 2
    err = capsys.readouterr().err
    assert f"{late}:" in err and "targets.no_deal.by" in err and "scenario's months" in err
    assert "Traceback" not in err
    assert main(["hindcast", str(BASELINE), "--record", str(RECORD), "--runs", "10", "--from", "May"]) == 2
    assert "--from" in capsys.readouterr().err
    assert main(["hindcast", str(BASELINE), "--record", str(tmp_path / "missing.yaml"), "--runs", "10"]) == 2


def test_run_given_a_record_summarises_only_the_runs_that_agree_with_it(tmp_path, capsys):
    args = ["run", str(BASELINE), "--runs", "800", "--seed", "2", "--out", str(tmp_path), "--json", "--quiet"]
    assert main(args) == 0
    full = json.loads(capsys.readouterr().out)
    assert main(args + ["--given", str(RECORD)]) == 0
    given = json.loads(capsys.readouterr().out)
    g = given["given"]
    assert g["record"] == "2025h1" and g["upto"] == "2025-05" and g["runs"] == 800 and 0 < g["kept"] < 800
    runs = pd.read_parquet(Path(given["run_dir"]) / "results.parquet")
    assert len(runs) == 800  # the run directory keeps every run
    keep = keep_given(runs, read_targets(RECORD), "2024-11")
    assert int(keep.sum()) == g["kept"]
    share = (runs[keep]["outcome"] == "agreement").mean()
    assert given["summary"]["outcomes"]["agreement"]["p"] == pytest.approx(share)
    assert full["summary"]["outcomes"]["agreement"]["p"] != pytest.approx(share)
