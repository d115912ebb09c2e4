"""Shared helpers of the validity suite: scenarios, batches and paired differences."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd

import sim
from sim.runs.batch import simulate_block
from sim.scenario.compile import Compiled, compile_scenario

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
