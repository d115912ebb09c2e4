"""Terms of many issues in results and on screen (issue 18, part 3), as a user meets them.

``term_<issue>`` for every issue, ``issues_settled`` and ``satisfaction_<actor>`` in the results; the terms
table of the most common packages in ``negsim run``, ``compare``, ``report`` and ``explain``. The many-issue
case runs on tests/data/agenda_six_issues.yaml (six issues of scenarios/agenda_2025.yaml, 1,728 packages);
the 19 issues of agenda_2025.yaml are worded from a table of their terms (it does not run yet).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from sim.engine.model import run_one
from sim.play.terms import deal_satisfaction
from sim.present.terms_table import WIDTH, rich_terms, terms_table, text_lines
from sim.runs.batch import draw_shocks, simulate_block
from sim.runs.summary import packages
from sim.scenario.compile import compile_scenario
from sim.scenario.loading import load_scenario

ROOT = Path(__file__).resolve().parents[1]
SIX = ROOT / "tests" / "data" / "agenda_six_issues.yaml"
BASELINE = ROOT / "scenarios" / "baseline.yaml"
AGENDA = ROOT / "scenarios" / "agenda_2025.yaml"
ACTORS = ("kyiv", "moscow", "ukraine_public", "russia_public")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sim.cli", *args], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)


@pytest.fixture(scope="module")
def six():
    return compile_scenario(load_scenario(SIX))


@pytest.fixture(scope="module")
def six_rows(six):
    return simulate_block(six, 1, 0, 300)


# --------------------------------------------------------------------------- results


def test_every_issue_has_a_term_column_null_without_a_deal(six, six_rows):
    assert len(six.issues) == 6
    agreed = six_rows["outcome"] == "agreement"
    assert 0 < agreed.sum() < len(six_rows)
    for issue in six.issues:
        col = six_rows[f"term_{issue}"]
        assert col[agreed].notna().all() and col[~agreed].isna().all()
        assert set(col[agreed]) <= set(six.scenario.model.issues[issue].options)
    assert six_rows.loc[~agreed, "issues_settled"].isna().all()
    for actor in ACTORS:
        assert six_rows.loc[~agreed, f"satisfaction_{actor}"].isna().all()
        assert six_rows.loc[agreed, f"satisfaction_{actor}"].notna().all()


def _settled_by_hand(sc, row) -> int:
    """The definition of docs/model.md, section 19, counted from the terms and the scenario's no-deal points."""
    n = 0
    for name, issue in sc.model.issues.items():
        if issue.kind == "land":
            n += 1
        elif abs(issue.options[row[f"term_{name}"]] - issue.no_deal.position.value) > 1e-9:
            n += 1
    return n


def test_issues_settled_counts_the_issues_a_deal_moves_from_no_deal(six, six_rows):
    deals = six_rows[six_rows["outcome"] == "agreement"]
    want = [_settled_by_hand(six.scenario, r) for _, r in deals.iterrows()]
    assert deals["issues_settled"].astype(int).tolist() == want
    assert len(set(want)) > 1  # the fixture's deals differ in how much they settle
    base = simulate_block(compile_scenario(load_scenario(BASELINE)), 1, 0, 300)
    # every baseline deal defers Crimea and recognises nothing (both where no deal leaves them): the line only
    assert set(base.loc[base["outcome"] == "agreement", "issues_settled"].astype(int)) == {1}


def test_satisfaction_is_what_the_month_log_says_of_the_deal(six):
    """The results' satisfaction is the one the classroom and the draft builder show (sim.play.terms.at_talks),
    computed from the month log of the same runs: each government's worth less what it asked, each public's
    margin."""
    shocks = draw_shocks(six, 1, range(40))
    rows = simulate_block(six, 1, 0, 40, "agents")
    checked = 0
    for i, row in rows.iterrows():
        said = deal_satisfaction(six, run_one(six, shocks.run(i)).log)
        if row["outcome"] != "agreement":
            assert said is None
            continue
        for s in said:  # every government, and each public that votes
            assert row[f"satisfaction_{s['actor']}"] == pytest.approx(s["score"], abs=1e-12)
            checked += 1
    assert checked >= 20


def test_block_and_one_at_a_time_agree_on_the_new_columns(six):
    cols = ["issues_settled", *[f"satisfaction_{a}" for a in ACTORS]]
    block = simulate_block(six, 2, 0, 30)[cols]
    single = simulate_block(six, 2, 0, 30, "agents")[cols]
    pd.testing.assert_frame_equal(block, single, check_exact=False, rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- the packages' summary


def test_packages_summary_shares_and_means_come_from_the_rows(six_rows):
    pk = packages(six_rows)
    deals = six_rows[six_rows["outcome"] == "agreement"]
    assert pk["agreements"] == len(deals)
    assert sum(p["n"] for p in pk["packages"]) + pk["other"]["n"] == len(deals)
    assert [p["n"] for p in pk["packages"]] == sorted((p["n"] for p in pk["packages"]), reverse=True)
    cols = [f"term_{i}" for i in pk["issues"]]
    assert pk["distinct"] == len(deals[cols].drop_duplicates())
    for p in pk["packages"]:
        rows = deals[(deals[cols] == pd.Series({f"term_{k}": v for k, v in p["terms"].items()})).all(axis=1)]
        assert len(rows) == p["n"] and p["lo"] <= p["p"] == p["n"] / len(deals) <= p["hi"]
        for actor in ACTORS:
            assert p["satisfaction"][actor] == pytest.approx(rows[f"satisfaction_{actor}"].mean())
        assert p["land_km2"] == pytest.approx(rows["land_km2"].median())
    assert set(pk["fixed"]) | set(pk["varying"]) == set(pk["issues"]) and pk["varying"]
    for issue, option in pk["fixed"].items():
        assert (deals[f"term_{issue}"] == option).all()
    json.dumps(pk, allow_nan=False)  # summary.json is strict JSON


def test_no_agreement_no_packages():
    rows = pd.DataFrame({"outcome": ["talks_failed"] * 3, "term_a": pd.array([None] * 3, dtype="string")})
    pk = packages(rows)
    assert pk["agreements"] == 0 and pk["packages"] == [] and terms_table(pk) is None


def _nineteen_issue_rows(sc, n=400, seed=3) -> pd.DataFrame:
    """Agreements over agenda_2025's 19 issues: five issues vary, the rest always take their first option."""
    rng = np.random.default_rng(seed)
    out = {"outcome": ["agreement"] * n}
    for k, (name, issue) in enumerate(sc.model.issues.items()):
        opts = list(issue.options)
        out[f"term_{name}"] = [opts[i] for i in rng.integers(0, 2, n)] if k < 5 else [opts[0]] * n
    out["land_km2"] = rng.normal(0, 5000, n)
    out["issues_settled"] = rng.integers(1, 19, n)
    for actor in ACTORS:
        out[f"satisfaction_{actor}"] = rng.normal(0.05, 0.1, n)
    return pd.DataFrame(out)


def test_nineteen_issues_fit_80_columns_in_plain_words():
    sc = load_scenario(AGENDA)
    assert len(sc.model.issues) == 19
    pk = packages(_nineteen_issue_rows(sc))
    assert len(pk["varying"]) == 5 and len(pk["fixed"]) == 14
    t = terms_table(pk, sc)
    lines = text_lines(t)
    assert max(len(line) for line in lines) <= WIDTH
    text = "\n".join(lines)
    assert "The same in every agreement (14 of 19 issues; the table shows the 5 that vary):" in text
    assert "_" not in text  # identifiers are worded
    assert "NATO membership: constitutional ban" in text  # a fixed issue, in words
    assert sum(kind == "issue" for kind in t.kinds) == 5
    assert len(rich_terms(t)) == 1 + 1 + 1 + 14 + 2  # table, other packages, heading, 14 fixed, two notes


# --------------------------------------------------------------------------- the commands


def _table_block(out: str) -> list[str]:
    lines = out.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("Most common packages"))
    end = next(i for i in range(start, len(lines)) if lines[i].startswith(("Land changing", "Lead mediator")))
    return lines[start:end]  # the table, its fixed issues and its notes


def _cells(block: list[str], label: str) -> list[str]:
    line = next(line for line in block if line.strip().startswith(label))
    return line.strip()[len(label):].split()


def test_run_prints_the_terms_table_of_many_issues(tmp_path):
    proc = run_cli("run", str(SIX), "--runs", "300", "--seed", "1", "--out", str(tmp_path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    block = _table_block(proc.stdout)
    assert max(len(line) for line in block) <= WIDTH
    run_dir = Path(re.search(r"Results: (\S+)/ ", proc.stdout).group(1))
    rows = pd.read_parquet(run_dir / "results.parquet")
    deals = rows[rows["outcome"] == "agreement"]
    shares = [float(c.rstrip("%")) for c in _cells(block, "share of deals")]
    other = re.search(r"Other packages: ([\d.]+)% of agreements", proc.stdout)
    assert sum(shares) + (float(other.group(1)) if other else 0.0) == pytest.approx(100.0, abs=0.1 * len(shares))
    summary = json.loads((run_dir / "summary.json").read_text())
    assert shares == [round(100 * p["p"], 1) for p in summary["packages"]["packages"]]
    assert "Per issue" not in proc.stdout and "Terms of agreements (share" not in proc.stdout  # no table per issue
    text = "\n".join(block)
    assert "_" not in text and "Sanctions relief" in text and "return 25%" in text and "freeze the" in text
    for actor, label in zip(ACTORS, ("Kyiv", "Moscow", "Ukraine public", "Russia public"), strict=True):
        values = [float(v) for v in _cells(block, label)]
        col = deals[f"satisfaction_{actor}"]
        assert all(col.min() <= v + 0.005 and v - 0.005 <= col.max() for v in values), (actor, values)
    assert "The same in every agreement (3 of 6 issues" in text and "Army cap: no cap" in text
    settled = [int(v) for v in _cells(block, "issues settled (of 6)")]
    assert set(settled) <= set(deals["issues_settled"].astype(int))


def test_run_on_the_baseline_keeps_its_table_per_issue_and_adds_the_packages(tmp_path):
    proc = run_cli("run", str(BASELINE), "--runs", "300", "--seed", "1", "--out", str(tmp_path), "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert "Terms of agreements (share of agreements)" in proc.stdout
    block = _table_block(proc.stdout)
    assert "Land returned" in "\n".join(block) and "Crimea status: status deferred" in "\n".join(block)
    assert set(_cells(block, "issues settled (of 3)")) == {"1"}


def test_compare_prints_each_sides_packages(tmp_path):
    proc = run_cli("compare", str(BASELINE), str(SIX), "--runs", "200", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    assert "baseline: most common packages of" in proc.stdout
    assert "agenda_six_issues: most common packages of" in proc.stdout
    comparison = json.loads(next(tmp_path.glob("*compare-baseline/comparison.json")).read_text())
    assert [p["label"] for p in comparison["packages"]] == ["baseline", "agenda_six_issues"]
    assert len(comparison["packages"][1]["packages"]["issues"]) == 6


def test_explain_shows_a_deal_of_many_issues_as_a_table():
    proc = run_cli("explain", str(SIX), "--seed", "1", "--outcome", "agreement", "--brief")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    start = lines.index("Terms of the deal")
    block = lines[start:next(i for i in range(start, len(lines)) if lines[i].startswith("Why"))]
    assert max(len(line) for line in block) <= WIDTH
    text = "\n".join(block)
    assert "issues settled (of 6)" in text and "Left where no deal leaves them" in text
    assert re.search(r"Kyiv\s+[+-]\d\.\d\d", text) and "_" not in text


def test_explain_of_the_baseline_says_each_stakeholders_satisfaction():
    proc = run_cli("explain", str(BASELINE), "--seed", "1", "--outcome", "agreement", "--brief")
    assert proc.returncode == 0, proc.stderr
    line = next(x for x in proc.stdout.splitlines() if x.startswith("Satisfaction with the deal"))
    assert re.search(r"Kyiv [+-]\d\.\d\d, Moscow [+-]\d\.\d\d", line)


def test_report_replaces_the_bars_per_issue_with_the_packages_table(tmp_path):
    proc = run_cli("run", str(SIX), "--runs", "200", "--seed", "2", "--out", str(tmp_path / "runs"), "--quiet")
    assert proc.returncode == 0, proc.stderr
    run_dir = next((tmp_path / "runs").iterdir())
    page = tmp_path / "report.html"
    proc = run_cli("report", str(run_dir), "--out", str(page))
    assert proc.returncode == 0, proc.stderr
    html = page.read_text()
    assert 'class="packages"' in html or "packages" in re.findall(r'<table class="([^"]*)"', html)
    assert "Agreed terms: share of agreements on each option" not in html  # no bar per issue
    assert "Most common packages" in html and "satisfaction: Kyiv" in html
    summary = json.loads((run_dir / "summary.json").read_text())
    shares = [float(x) for x in re.findall(r'data-row="share"[^>]*>([\d.]+)%<', html)]
    if not shares:  # attribute order: the text follows the cell's data- attributes
        shares = [float(x) for x in re.findall(r'data-package="\d+" data-row="share">([\d.]+)%<', html)]
    assert shares == [round(100 * p["p"], 1) for p in summary["packages"]["packages"]]


def test_a_batch_summarised_before_the_packages_keeps_the_report_per_issue():
    from sim.present.report import Source, many_issues

    terms = {f"issue_{k}": {"a": 1.0} for k in range(6)}
    old = Source(Path("old"), "batch", {}, {"terms": terms})
    new = Source(Path("new"), "batch", {}, {"terms": terms, "packages": {"packages": []}})
    assert not many_issues([old]) and not many_issues([old, new]) and many_issues([new])
    assert not many_issues([Source(Path("few"), "batch", {}, {"terms": dict(list(terms.items())[:3]),
                                                              "packages": {"packages": []}})])
