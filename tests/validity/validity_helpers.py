"""Shared helpers of the validity suite: scenarios, batches and paired differences."""

from __future__ import annotations

import copy
import dataclasses
import functools
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim.runs.batch import simulate_block
from sim.scenario.compile import Compiled, compile_scenario
from sim.scenario.models import scenario_from_data

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
BASELINE = ROOT / "scenarios" / "baseline.yaml"
Z95 = 1.959963984540054


_BATCHES: dict[tuple, pd.DataFrame] = {}  # batches of scenario files, by their arguments, for the test session


def runs(path_or_scenario, n: int, seed: int = 7, overrides: dict | None = None, engine: str = "vector",
         horizon: int | None = None) -> pd.DataFrame:
    """``n`` runs (replicates 0..n-1) of a scenario with optional overrides and horizon.

    A scenario file's batch is run once per test session and each caller gets its own copy: several suites
    compare against the same baseline batch (the runs are a function of these arguments and the file alone)."""
    key = None
    if isinstance(path_or_scenario, str | Path):
        key = (str(path_or_scenario), Path(path_or_scenario).stat().st_mtime_ns, n, seed,
               repr(sorted((overrides or {}).items())), engine, horizon)
        if key in _BATCHES:
            return _BATCHES[key].copy()
    sc = path_or_scenario if key is None else sim.load_scenario(path_or_scenario)
    c: Compiled = compile_scenario(sc, overrides=overrides or {})
    if horizon is not None:
        c = dataclasses.replace(c, horizon=horizon)
    df = simulate_block(c, seed, 0, n, engine)
    if key is not None:
        _BATCHES[key] = df.copy()
    return df


def paired(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Mean of b - a over paired runs and the half-width of its 95% interval."""
    d = np.asarray(b, float) - np.asarray(a, float)
    return float(d.mean()), float(Z95 * d.std(ddof=1) / np.sqrt(len(d))) if len(d) > 1 else 0.0


def agreed(df: pd.DataFrame) -> np.ndarray:
    return (df["outcome"] == "agreement").to_numpy()


AGENDA = ROOT / "scenarios" / "agenda_2025.yaml"


@functools.cache
def _data(path: Path) -> dict:
    """A shipped scenario's merged data (read once; callers copy before changing it)."""
    return sim.load_scenario(path).data


def with_agenda_issues(name: str, issues: list[str], salience: dict[str, dict], *, ideal: dict[str, dict] | None = None,
                       minimum: dict[str, dict] | None = None, red_lines: dict[str, list[dict]] | None = None
                       ) -> sim.Scenario:
    """The baseline with ``issues`` of scenarios/agenda_2025.yaml added: their options and no-deal points, and each
    government's ideal on them, as the agenda states them (its links are left out: the engine does not apply
    them yet). ``salience`` replaces entries of each government's saliences (Kyiv's must then sum to 1; Moscow's
    are normalised per run, its land weight being drawn); ``ideal`` replaces the agenda's ideals,
    ``minimum`` adds minimum terms, ``red_lines`` adds to a government's."""
    base = copy.deepcopy(_data(BASELINE))
    agenda = _data(AGENDA)
    for issue in issues:
        base["issues"][issue] = {k: copy.deepcopy(v) for k, v in agenda["issues"][issue].items() if k != "links"}
        for gov in ("kyiv", "moscow"):
            base["actors"][gov].setdefault("ideal", {})[issue] = copy.deepcopy(agenda["actors"][gov]["ideal"][issue])
    for gov, values in (ideal or {}).items():
        base["actors"][gov].setdefault("ideal", {}).update(values)
    for gov, values in salience.items():
        base["actors"][gov]["salience"].update(values)
    for gov, values in (minimum or {}).items():
        base["actors"][gov].setdefault("minimum", {}).update(values)
    for gov, lines in (red_lines or {}).items():
        base["actors"][gov].setdefault("red_lines", []).extend(copy.deepcopy(lines))
    base["name"] = name
    return scenario_from_data(base, ROOT / "tests" / "data" / f"{name}.yaml", "")


def levels(df: pd.DataFrame, sc: sim.Scenario, gov: str, issue: str) -> np.ndarray:
    """Per agreed run of ``df``, government ``gov``'s level on a position issue: 1 - |agreed option - its ideal|."""
    ideal = sc.governments()[gov].ideal[issue].value
    options = sc.model.issues[issue].options
    x = df.loc[agreed(df), f"term_{issue}"].map(options).to_numpy(float)
    return 1.0 - np.abs(x - ideal)
