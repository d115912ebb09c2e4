"""The disk figure the run limit's message and docs/cli.md give (issue 21, point 13: "about 60" was about 150)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sim.errors import UsageError
from sim.runs.batch import check_limit, limit, run_batch

ROOT = Path(__file__).resolve().parents[1]
RUNS = 5000


def test_the_bytes_per_run_figure_is_measured(tmp_path: Path):
    result = run_batch(ROOT / "scenarios" / "baseline.yaml", runs=RUNS, seed=1, workers=1, out=tmp_path)
    run_dir = Path(result.run_dir)
    measured = (run_dir / "results.parquet").stat().st_size / RUNS
    with pytest.raises(UsageError) as e:
        check_limit("runs", limit("runs") + 1, "runs in all (points x runs)")
    said = int(re.search(r"about (\d+) bytes per run", str(e.value)).group(1))
    assert 0.75 * measured <= said <= 1.25 * measured, (said, measured)
    doc = (ROOT / "docs" / "cli.md").read_text()
    assert f"about {said} bytes per run" in doc
