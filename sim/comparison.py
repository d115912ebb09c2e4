"""Comparing two batches: run directories or scenario files, paired by replicate.

Two scenario files are run with the same seed and replicates, so replicate r
of A and of B drew the same battlefield and the same dice (common random
numbers) and the comparison is paired: much tighter than comparing two
independent samples. Run directories are paired only when their seeds and
replicates match; otherwise use ``paired=False``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from sim import store
from sim.batch import BatchResult, outcome_names, run_batch
from sim.errors import UsageError
from sim.paired import Comparison, check_pairable, compare_tables
from sim.scenario import load_scenario


@dataclass
class ComparisonResult:
    """A comparison and where its two batches are."""

    comparison: Comparison
    label_a: str
    label_b: str
    dir_a: Path | None
    dir_b: Path | None

    def figure(self, path: Path) -> Path:
        from sim.plots import compare_figure

        return compare_figure(self.comparison.outcomes, path, self.label_a, self.label_b)

    def to_dict(self) -> dict[str, Any]:
        c = self.comparison
        return {"a": {"label": self.label_a, "run_dir": str(self.dir_a)},
                "b": {"label": self.label_b, "run_dir": str(self.dir_b)},
                "paired": c.paired, "runs": c.n,
                "outcomes": c.outcomes.to_dict(orient="records"),
                "timing": c.timing.to_dict(orient="records"),
                "terms": c.terms.to_dict(orient="records")}


def _side(source: str | Path, runs: int, seed: int, workers: int, out: str | Path | None,
          executor: Any = None) -> tuple[pd.DataFrame, int, str, Path | None, list[str]]:
    path = Path(source)
    if path.is_dir():
        manifest = store.read_manifest(path)
        if manifest.get("kind") != "batch" or manifest.get("status") != "complete":
            raise UsageError(f"{path}: not a complete batch (kind {manifest.get('kind')}, status {manifest.get('status')})")
        table = store.read_results(path)
        from sim.scenario import scenario_from_data

        sc = scenario_from_data(manifest["scenario"]["data"], manifest["scenario"]["path"], manifest["scenario"]["text"])
        return table, int(manifest["seed"]), manifest["scenario"]["name"], path, outcome_names(sc)
    sc = load_scenario(path)
    result: BatchResult = run_batch(sc, runs=runs, seed=seed, workers=workers, out=out,
                                    command=f"negsim compare (side {path})", executor=executor)
    return result.runs, seed, sc.name, result.run_dir, result.classes()


def compare(a: str | Path, b: str | Path, *, runs: int = 2000, seed: int = 0, workers: int = 1,
            out: str | Path | None = "runs", paired: bool = True, executor: Any = None) -> ComparisonResult:
    """Compare A and B (each a run directory or a scenario file); see the module docstring."""
    ta, seed_a, label_a, dir_a, classes_a = _side(a, runs, seed, workers, out, executor)
    tb, seed_b, label_b, dir_b, classes_b = _side(b, runs, seed, workers, out, executor)
    if paired:
        why = check_pairable(ta, tb, seed_a, seed_b)
        if why is not None:
            raise UsageError(f"cannot pair {a} with {b}: {why}; compare them with --unpaired (paired=False)")
    classes = [c for c in classes_a if c in classes_b]
    comparison = compare_tables(ta, tb, paired=paired, classes=classes)
    return ComparisonResult(comparison, label_a, label_b, dir_a, dir_b)
