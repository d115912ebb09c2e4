"""Summaries of a results table: outcome probabilities with intervals, distributions.

Intervals on probabilities are 95% Wilson score intervals (Wilson 1927),
which stay inside [0, 1] and behave at 0 and 1 where the normal
approximation does not.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from sim.engine.records import OUTCOMES, STAGE_NAMES

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float, float, float]:
    """(p, lo, hi): proportion and its Wilson score interval.

    The same interval as ``scipy.stats.binomtest(successes, n).proportion_ci(method="wilson")``
    (tests/test_compare.py checks them equal within 1e-15 over many k and n), kept
    written out because scipy computes the exact test with it: on the 2-core
    development machine 3 ms a call against 3 microseconds here, and a
    50,000-point sweep summarises about 500,000 shares.
    """
    if n == 0:
        return float("nan"), 0.0, 1.0
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # at 0 or n successes the interval's end is the share itself; rounding can leave it a hair past (8.7e-19 at 0)
    return p, min(p, max(0.0, centre - half)), max(p, min(1.0, centre + half))


def shares(values: pd.Series, names: list[str] | None = None) -> dict[str, dict[str, float]]:
    """{name: {p, lo, hi, n}} for each value of a categorical column (NA excluded)."""
    values = values.dropna()
    n = len(values)
    counts = values.value_counts()
    names = names if names is not None else sorted(counts.index)
    out = {}
    for name in names:
        k = int(counts.get(name, 0))
        p, lo, hi = wilson(k, n)
        out[str(name)] = {"p": p, "lo": lo, "hi": hi, "n": k}
    return out


def distribution(values: pd.Series, total: int) -> dict[str, Any]:
    """Share of runs with a value, quantiles, mean and a histogram of integer months."""
    v = values.dropna().astype(float).to_numpy()
    out: dict[str, Any] = {"runs_with_value": int(len(v)), "share": len(v) / total if total else float("nan")}
    if len(v):
        q = np.quantile(v, [0.1, 0.25, 0.5, 0.75, 0.9])
        out |= {"mean": float(v.mean()), "p10": q[0], "p25": q[1], "median": q[2], "p75": q[3], "p90": q[4],
                "min": float(v.min()), "max": float(v.max())}
        months, counts = np.unique(v.astype(int), return_counts=True)
        out["histogram"] = {int(m): int(c) for m, c in zip(months, counts, strict=True)}
    return out


def numeric(values: pd.Series) -> dict[str, float]:
    v = values.dropna().astype(float).to_numpy()
    if not len(v):
        return {}
    q = np.quantile(v, [0.05, 0.5, 0.95])
    return {"mean": float(v.mean()), "p5": float(q[0]), "median": float(q[1]), "p95": float(q[2])}


def summary_columns(columns: list[str]) -> list[str]:
    """The columns :func:`summarize` reads (so a large table can be read without the rest)."""
    fixed = {"outcome", "outcome_class", "talks_month", "agreement_month", "lead_mediator", "kursk_retaken_month",
             "territory_end_km2", "land_km2", "stage_reached", "first_partial_month", "ceasefire_month",
             "relapse_month", "partial_deals"}
    fixed |= {"issues_settled"}
    return [c for c in columns if c in fixed or c.startswith(("term_", "casualties_", "satisfaction_"))]


def summarize(runs: pd.DataFrame, classes: list[str] | None = None) -> dict[str, Any]:
    """The summary written to summary.json and printed by `negsim run`."""
    n = len(runs)
    agreed = runs[runs["outcome"] == "agreement"]
    term_cols = [c for c in runs.columns if c.startswith("term_")]
    out: dict[str, Any] = {
        "runs": n,
        "outcomes": shares(runs["outcome"], list(OUTCOMES)),
        "outcome_classes": shares(runs["outcome_class"], classes),
        "talks_month": distribution(runs["talks_month"], n),
        "agreement_month": distribution(runs["agreement_month"], n),
        "terms": {c.removeprefix("term_"): {k: v["p"] for k, v in shares(agreed[c]).items()} for c in term_cols},
        "lead_mediator": {k: v["p"] for k, v in shares(runs["lead_mediator"]).items()},
        "kursk_retaken_month": distribution(runs["kursk_retaken_month"], n),
        "territory_end_km2": numeric(runs["territory_end_km2"]),
    }
    if "stage_reached" in runs.columns:  # the stages of the peace process (Model v3)
        out["stages"] = shares(runs["stage_reached"], list(STAGE_NAMES))
        out["first_partial_month"] = distribution(runs["first_partial_month"], n)
        out["ceasefire_month"] = distribution(runs["ceasefire_month"], n)
        out["relapse_of_settlements"] = wilson(int(agreed["relapse_month"].notna().sum()), len(agreed))
        out["partial_deals_mean"] = float(runs["partial_deals"].mean()) if n else float("nan")
    if "land_km2" in runs.columns:  # km2 changing hands under agreed terms (> 0 returned to the ukraine side)
        out["land_km2"] = numeric(agreed["land_km2"])
    out["casualties"] = {c.removeprefix("casualties_"): numeric(runs[c]) for c in runs.columns if c.startswith("casualties_")}
    out["packages"] = packages(runs)
    return out


# --------------------------------------------------------------------------- the most common packages

TOP_PACKAGES = 5  # packages a terms table shows


def _mean(values: pd.Series) -> float | None:
    v = values.dropna().astype(float)
    return float(v.mean()) if len(v) else None


def _package_row(rows: pd.DataFrame, terms: dict[str, str], n: int, actors: list[str]) -> dict[str, Any]:
    k = len(rows)
    p, lo, hi = wilson(k, n)
    row: dict[str, Any] = {"terms": terms, "n": k, "p": p, "lo": lo, "hi": hi}
    if "land_km2" in rows.columns:
        row["land_km2"] = float(rows["land_km2"].astype(float).median())
    if "issues_settled" in rows.columns:
        row["issues_settled"] = _mean(rows["issues_settled"])
    row["satisfaction"] = {a: _mean(rows[f"satisfaction_{a}"]) for a in actors}
    return row


def packages(runs: pd.DataFrame, top: int = TOP_PACKAGES) -> dict[str, Any]:
    """The agreements' most common packages, read from the ``term_<issue>`` columns (no package index needed).

    ``issues``: every issue; ``fixed``: the issues settled on the same option in every agreement (issue ->
    option); ``varying``: the others. ``packages``: the ``top`` commonest packages (ties in the order of their
    terms), each with its terms (issue -> option, every issue), its count ``n`` and share ``p`` of the
    agreements with a 95% Wilson interval (``lo``, ``hi``), the median km2 its land term moved (``land_km2``,
    where recorded), the mean number of issues it settles and each stakeholder's mean satisfaction (None where
    not recorded). ``distinct``: how many packages the agreements used; ``other``: the agreements on the rest.
    ``settled``: issues settled (mean, min, max) and ``satisfaction`` (each actor's mean) over all agreements.
    """
    agreed = runs[runs["outcome"] == "agreement"]
    cols = [c for c in runs.columns if c.startswith("term_")]
    issues = [c.removeprefix("term_") for c in cols]
    actors = [c.removeprefix("satisfaction_") for c in runs.columns if c.startswith("satisfaction_")]
    n = len(agreed)
    out: dict[str, Any] = {"agreements": n, "issues": issues, "fixed": {}, "varying": [], "packages": [],
                           "distinct": 0, "other": {"n": 0, "p": 0.0}}
    if not n or not cols:
        return out
    terms = agreed[cols].astype(object).where(agreed[cols].notna(), "")
    out["fixed"] = {i: str(terms[c].iloc[0]) for i, c in zip(issues, cols, strict=True) if terms[c].nunique() == 1}
    out["varying"] = [i for i in issues if i not in out["fixed"]]
    groups = terms.groupby(cols, sort=True).indices  # terms -> row positions, in the order of the terms
    order = sorted(groups, key=lambda key: -len(groups[key]))  # stable: ties keep the terms' order
    for key in order[:top]:
        named = dict(zip(issues, (key if isinstance(key, tuple) else (key,)), strict=True))
        out["packages"].append(_package_row(agreed.iloc[groups[key]], {i: str(o) for i, o in named.items()}, n,
                                            actors))
    rest = n - sum(r["n"] for r in out["packages"])
    out["distinct"], out["other"] = len(groups), {"n": rest, "p": rest / n}
    if "issues_settled" in agreed.columns:
        v = agreed["issues_settled"].dropna().astype(float)
        out["settled"] = {"mean": float(v.mean()), "min": int(v.min()), "max": int(v.max())} if len(v) else {}
    out["satisfaction"] = {a: _mean(agreed[f"satisfaction_{a}"]) for a in actors}
    return out


# --------------------------------------------------------------------------- levels of a swept parameter

MAX_LEVELS = 12  # more distinct values than this: quantile bins
BINS = 8


@dataclass
class Levels:
    """The values of one parameter as plotting levels.

    ``code`` gives each run its level (-1: no value); level ``i`` sits at
    ``x[i]`` on a numeric axis and is called ``labels[i]`` on a categorical
    one.
    """

    code: np.ndarray
    x: np.ndarray
    labels: list[str]
    binned: bool
    numeric: bool

    def __len__(self) -> int:
        return len(self.labels)


def levels_of(values: pd.Series, max_levels: int = MAX_LEVELS, bins: int = BINS) -> Levels:
    """Levels of a parameter: its distinct values, or quantile bins when there are many."""
    numeric = pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)
    if not numeric:
        cat = pd.Categorical(values.astype("string"))
        return Levels(np.asarray(cat.codes, dtype=int), np.arange(len(cat.categories), dtype=float),
                      [str(c) for c in cat.categories], False, False)
    v = values.astype(float).to_numpy()
    distinct = np.unique(v[~np.isnan(v)])
    if len(distinct) <= max_levels:
        code = np.searchsorted(distinct, v)
        code[np.isnan(v)] = -1
        return Levels(code, distinct, _short_numbers(distinct), False, True)
    # quantile bins over the distinct design values, so every point weighs the same
    edges = np.unique(np.quantile(distinct, np.linspace(0, 1, bins + 1)))
    code = np.clip(np.searchsorted(edges, v, side="right") - 1, 0, len(edges) - 2)
    code[np.isnan(v)] = -1
    centres = (edges[:-1] + edges[1:]) / 2
    text = _short_numbers(edges)
    labels = [f"{lo}–{hi}" for lo, hi in zip(text[:-1], text[1:], strict=True)]
    return Levels(code, centres, labels, True, True)


def _short_numbers(values: np.ndarray) -> list[str]:
    """Plain decimals with the fewest places that keep the values apart and close (within 0.5%)."""
    v = np.asarray(values, dtype=float)
    if not len(v):
        return []
    scale = max(float(np.ptp(v)), float(np.max(np.abs(v))))
    for d in range(7):
        r = np.round(v, d)
        if len(np.unique(r)) == len(np.unique(v)) and np.max(np.abs(r - v)) <= 0.005 * scale:
            return [np.format_float_positional(x, precision=d, trim="-") for x in r]
    return [f"{x:.3g}" for x in v]
