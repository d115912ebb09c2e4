"""Comparing batches: a base and one or more others (run directories or scenarios), paired by replicate.

Scenarios (files, or :class:`~sim.scenario.models.Scenario` objects as
:func:`sim.run_batch` takes) are run with the same seed and replicates, so replicate r of
every side drew the same battlefield and the same dice (common random
numbers) and each comparison with the base is paired: much tighter than
comparing independent samples. A run directory brings its own seed and
number of runs; scenario files compared with it adopt them, so a stored
batch can be compared with a new variant without repeating its settings.
Run directories of different seeds or replicates cannot be paired; rerun
one with the other's seed, or compare unpaired (``paired=False``, wider
intervals).

With ``out`` a folder, the comparison is saved in its own run directory
(``kind: comparison``): ``manifest.json``, ``comparison.json`` (strict
JSON), ``outcomes.csv`` and ``timing.csv``. This wing draws no figures:
:func:`sim.compare_many` (:func:`sim.present.figures.compare_many`) adds
``comparison.png`` and lists it with :func:`record_figures`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.analysis.paired import Comparison, check_pairable, compare_tables
from sim.defaults import COMPARE_RUNS, SEED
from sim.errors import StoreError, UsageError
from sim.jsonsafe import dumps, strict
from sim.runs import store
from sim.runs.batch import BatchResult, new_run_dir, outcome_names, run_batch
from sim.runs.summary import packages, summarize
from sim.scenario.loading import load_scenario
from sim.scenario.models import Scenario, scenario_from_data

DEFAULT_RUNS, DEFAULT_SEED = COMPARE_RUNS, SEED  # for scenario files; a run directory brings its own


@dataclass
class Side:
    """One batch of a comparison: its table, seed, label and where it is stored."""

    table: pd.DataFrame
    seed: int
    label: str
    run_dir: Path | None
    classes: list[str]
    source: str
    scenario: Scenario | None = None


@dataclass
class ComparisonResult:
    """The comparison of one batch (B) with the base (A)."""

    comparison: Comparison
    label_a: str
    label_b: str
    dir_a: Path | None
    dir_b: Path | None

    def to_dict(self) -> dict[str, Any]:
        """Strict-JSON-ready: NaN becomes None."""
        c = self.comparison
        return strict({"a": {"label": self.label_a, "run_dir": self.dir_a and str(self.dir_a)},
                       "b": {"label": self.label_b, "run_dir": self.dir_b and str(self.dir_b)},
                       "paired": c.paired, "runs": c.n,
                       "outcomes": c.outcomes.to_dict(orient="records"),
                       "timing": c.timing.to_dict(orient="records"),
                       "terms": c.terms.to_dict(orient="records")})


@dataclass
class ComparisonSet:
    """Every other batch compared with the base, and where the comparison was saved."""

    base: str
    results: list[ComparisonResult]
    seed: int
    runs: int
    paired: bool
    run_dir: Path | None = None
    figures: list[Path] = field(default_factory=list)
    sides: pd.DataFrame = field(default_factory=pd.DataFrame)
    # each side's most common packages (sim.runs.summary.packages): {label, packages}; and its scenario (words)
    packages: list[dict[str, Any]] = field(default_factory=list)
    scenarios: list[Scenario | None] = field(default_factory=list)

    def table(self) -> pd.DataFrame:
        """One row per compared batch and outcome (or class): ``label_b`` then the comparison's columns."""
        return pd.concat([r.comparison.outcomes.assign(label_b=r.label_b) for r in self.results],
                         ignore_index=True)[["label_b", *self.results[0].comparison.outcomes.columns]]

    def timing(self) -> pd.DataFrame:
        return pd.concat([r.comparison.timing.assign(label_b=r.label_b) for r in self.results],
                         ignore_index=True)[["label_b", *self.results[0].comparison.timing.columns]]

    def to_dict(self) -> dict[str, Any]:
        return strict({"base": self.base, "seed": self.seed, "runs": self.runs, "paired": self.paired,
                       "run_dir": self.run_dir and str(self.run_dir),
                       "scenarios": self.sides.to_dict(orient="records"),
                       "comparisons": [r.to_dict() for r in self.results], "packages": self.packages})


Source = str | Path | Scenario  # a run directory, a scenario file or a loaded scenario


def _run_dir(source: Source) -> Path | None:
    """The run directory a side names, or None for a scenario (file or loaded)."""
    if isinstance(source, Scenario):
        return None
    if not isinstance(source, str | Path):
        raise UsageError(f"a side of a comparison is a run directory, a scenario file or a Scenario "
                         f"(got {type(source).__name__})")
    path = Path(source)
    return path if path.is_dir() else None


def _adopted(sources: list[Source], runs: int | None, seed: int | None) -> tuple[int, int]:
    """Runs and seed for the scenario sides: given, else the first run directory's, else the defaults."""
    for source in sources:
        if (path := _run_dir(source)) is not None:
            m = store.read_manifest(path)
            runs = int(m.get("runs", DEFAULT_RUNS)) if runs is None else runs
            seed = int(m.get("seed", DEFAULT_SEED)) if seed is None else seed
            break
    return (DEFAULT_RUNS if runs is None else runs), (DEFAULT_SEED if seed is None else seed)


def _check_run_dirs(sources: list[Source], runs: int, seed: int) -> None:
    """Before running anything: every run directory must have the seed and runs the others will use."""
    for source in sources:
        if (path := _run_dir(source)) is not None:
            m = store.read_manifest(path)
            if (m.get("seed"), m.get("runs")) != (seed, runs):
                raise UsageError(f"cannot pair {source} (seed {m.get('seed')}, {m.get('runs')} runs) with seed {seed} "
                                 f"and {runs} runs: leave out --seed and --runs to adopt the run directory's, "
                                 "or use --unpaired to compare independent samples (wider intervals)")


def _side(source: Source, runs: int, seed: int, workers: int, out: str | Path | None,
          executor: Any = None) -> Side:
    path = _run_dir(source)
    if path is not None:
        manifest = store.read_manifest(path)
        if manifest.get("kind") != "batch" or manifest.get("status") != "complete":
            raise UsageError(f"{path}: not a complete batch (kind {manifest.get('kind')}, status {manifest.get('status')})")
        store.check_manifest(path, manifest)
        if not store.results_intact(path, manifest):
            raise StoreError(f"{path}/results.parquet: missing or damaged (it does not match the checksum in manifest.json)")
        table = store.read_results(path)
        sc = scenario_from_data(manifest["scenario"]["data"], manifest["scenario"]["path"], manifest["scenario"]["text"])
        return Side(table, int(manifest["seed"]), manifest["scenario"]["name"], path, outcome_names(sc), str(source),
                    sc)
    sc = source if isinstance(source, Scenario) else load_scenario(source)
    label = str(sc.path) if isinstance(source, Scenario) else str(source)
    result: BatchResult = run_batch(sc, runs=runs, seed=seed, workers=workers, out=out,
                                    command=f"negsim compare (side {label})", executor=executor)
    return Side(result.runs, seed, sc.name, result.run_dir, result.classes(), label, sc)


def side_row(side: Side) -> dict[str, Any]:
    """One batch's own figures, as `negsim run` prints them: P(agreement) with its 95% interval, the commonest
    class of deal, the settlement's median month and how far the runs went through the stages of the process."""
    s = summarize(side.table, side.classes)
    agreement = s["outcomes"]["agreement"]
    classes = {k: v for k, v in s["outcome_classes"].items() if v["n"] > 0 and k not in s["outcomes"]}
    commonest = max(classes, key=lambda k: classes[k]["n"]) if classes else None
    month = s["agreement_month"]
    row: dict[str, Any] = {
        "scenario": side.label, "source": side.source, "runs": s["runs"],
        "p_agreement": agreement["p"], "lo": agreement["lo"], "hi": agreement["hi"],
        "commonest_class": commonest, "commonest_class_share": classes[commonest]["p"] if commonest else 0.0,
        "settlement_month_median": month.get("median"), "settlement_month_p10": month.get("p10"),
        "settlement_month_p90": month.get("p90")}
    if "stages" in s:  # Model v3: the share of runs that reached each stage (not only the furthest)
        row |= {"partial_deal": s["first_partial_month"]["share"], "ceasefire": s["ceasefire_month"]["share"],
                "settlement": agreement["p"], "relapse_of_settlements": s["relapse_of_settlements"][0]}
    return row


def _pair(a: Side, b: Side, paired: bool) -> ComparisonResult:
    if paired:
        why = check_pairable(a.table, b.table, a.seed, b.seed)
        if why is not None:
            raise UsageError(f"cannot pair {a.source} with {b.source}: {why}. Give both the same seed and runs "
                             "(a scenario file compared with a run directory adopts its seed and runs; "
                             "or rerun one with --seed and --runs of the other); --unpaired compares them "
                             "as independent samples, with wider intervals")
    classes = [c for c in a.classes if c in b.classes]
    comparison = compare_tables(a.table, b.table, paired=paired, classes=classes)
    return ComparisonResult(comparison, a.label, b.label, a.run_dir, b.run_dir)


def compare(a: Source, b: Source, *, runs: int | None = None, seed: int | None = None,
            workers: int = 1, out: str | Path | None = "runs", paired: bool = True,
            executor: Any = None) -> ComparisonResult:
    """Compare A and B (each a run directory, a scenario file or a :class:`Scenario`); see the module docstring."""
    return compare_many(a, [b], runs=runs, seed=seed, workers=workers, out=out, paired=paired,
                        executor=executor, save=False).results[0]


def compare_many(base: Source, others: list[Source], *, runs: int | None = None,
                 seed: int | None = None, workers: int = 1, out: str | Path | None = "runs",
                 paired: bool = True, executor: Any = None, save: bool = True) -> ComparisonSet:
    """Compare each of ``others`` with ``base``; saved in a run directory under ``out`` when ``save``."""
    if not others:
        raise UsageError("compare needs a base and at least one other batch or scenario")
    runs, seed = _adopted([base, *others], runs, seed)
    if paired:
        _check_run_dirs([base, *others], runs, seed)
    started = time.strftime("%Y-%m-%dT%H:%M:%S")
    a = _side(base, runs, seed, workers, out, executor)
    sides = [a, *(_side(o, runs, seed, workers, out, executor) for o in others)]
    results = [_pair(a, b, paired) for b in sides[1:]]
    result = ComparisonSet(a.label, results, seed, runs, paired, sides=pd.DataFrame([side_row(s) for s in sides]),
                           packages=[{"label": s.label, "packages": packages(s.table)} for s in sides],
                           scenarios=[s.scenario for s in sides])
    if save and out is not None:
        _save(result, Path(out), started)
    return result


def _save(result: ComparisonSet, out: Path, started: str) -> None:
    run_dir = new_run_dir(out, f"compare-{result.base}")
    result.run_dir = run_dir
    result.table().to_csv(run_dir / "outcomes.csv", index=False)
    result.timing().to_csv(run_dir / "timing.csv", index=False)
    result.sides.to_csv(run_dir / "scenarios.csv", index=False)
    store.write_atomic(run_dir / "comparison.json", dumps(result.to_dict()) + "\n")
    manifest = {"format": store.FORMAT, "kind": "comparison", "status": "complete",
                "scenario": {"name": result.base}, "seed": result.seed, "runs": result.runs,
                "paired": result.paired, "points": [],
                "sides": [{"label": result.results[0].label_a, "run_dir": result.results[0].dir_a}]
                + [{"label": r.label_b, "run_dir": r.dir_b} for r in result.results],
                "files": ["comparison.json", "outcomes.csv", "timing.csv", "scenarios.csv"],
                "versions": store.versions(), "code_version": store.code_version(),
                "timing": {"started": started, "finished": time.strftime("%Y-%m-%dT%H:%M:%S")}}
    store.write_atomic(run_dir / "manifest.json", dumps(manifest) + "\n")


def record_figures(result: ComparisonSet, paths: list[Path]) -> None:
    """List the figures drawn in a saved comparison's run directory among its files."""
    if result.run_dir is None:
        raise UsageError("a comparison that was not saved (out=None) has no run directory to record figures in")
    result.figures = list(paths)
    manifest = store.read_manifest(result.run_dir)
    manifest["files"] = [*[f for f in manifest.get("files", []) if f not in {p.name for p in paths}],
                         *[p.name for p in paths]]
    store.write_atomic(result.run_dir / "manifest.json", dumps(manifest) + "\n")
