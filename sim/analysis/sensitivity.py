"""Honest sensitivity: a Morris screen of every lever, then Sobol indices of the ones that matter most.

Both run over the *plausible* ranges (:mod:`sim.scenario.plausible`), not the
registry's allowed ones, so that most points are not at P(agreement) 0 or 1,
and both state their intervals:

* :func:`morris_screen`: SALib's Morris trajectories through
  :func:`sim.runs.sweep.run_sweep` (common random numbers at every point). Per
  parameter, mu* (the mean absolute change in P(agreement) over the whole
  range) with SALib's 95% interval over trajectories, sigma, and mu* of the
  mean month of agreement. The *noise floor* is the mu* that run-to-run
  sampling alone gives: the same analysis of the change in the outputs under
  resampled replicates (the same resample at every point, as the common
  random numbers are), its 95th percentile over resamples and parameters. A
  parameter is *distinguishable* from noise when the low end of its mu*
  interval is above the floor.
* :func:`sobol_indices`: first-order and total Sobol indices (S1, ST, with
  SALib's 95% intervals and those over resampled replicates) of the
  parameters given, over the same ranges.

:func:`headline` lists the top of the Morris ranking: the assumptions the
headline numbers rest on most.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from sim.analysis.levers import Lever
from sim.runs.sweep import analyze, replicate_matrices, run_sweep
from sim.scenario.models import Scenario

NOISE_RESAMPLES = 20  # replicate resamples for the noise floor of mu*


def morris_screen(sc: Scenario, levers: list[Lever], trajectories: int, runs: int, seed: int = 7,
                  workers: int = 1) -> dict[str, Any]:
    """Morris elementary effects of every numeric lever on P(agreement) and the mean month of agreement."""
    numeric = [lv for lv in levers if not isinstance(lv.low, bool)]
    params = {lv.path: f"{lv.low}..{lv.high}" for lv in numeric}
    res = run_sweep(sc, params, design="morris", points=trajectories, runs=runs, seed=seed, workers=workers,
                    out=None, figures=False)
    p = res.sensitivity["p_agreement"]
    month = res.sensitivity.get("mean_agreement_month", {}).get("indices") or {}
    unit = np.array(res.manifest["sweep"]["unit"])
    names = [lv.path for lv in numeric]
    floor = noise_floor(unit, replicate_matrices(res.runs, 0)["p_agreement"], names, seed)
    shares = np.array([s["outcomes"]["agreement"]["p"] for s in res.point_summaries])
    rows = []
    for lv in numeric:
        r = (p["indices"] or {}).get(lv.path, {"mu_star": 0.0, "mu_star_conf": 0.0, "sigma": 0.0})
        m = month.get(lv.path, {})
        rows.append({"path": lv.path, "low": lv.low, "high": lv.high, "mu_star": float(r["mu_star"]),
                     "mu_star_conf": _finite(r["mu_star_conf"]), "sigma": _finite(r["sigma"]),
                     "month_mu_star": _finite(m.get("mu_star", 0.0)),
                     "month_mu_star_conf": _finite(m.get("mu_star_conf", 0.0))})
    for r in rows:
        r["distinguishable"] = r["mu_star"] - r["mu_star_conf"] > floor
    rows.sort(key=lambda r: -r["mu_star"])
    return {"rows": rows, "noise_floor": floor, "noise_share": p.get("noise_share"),
            "trajectories": trajectories, "points": len(res.points), "runs": runs, "seed": seed,
            "share_at_bounds": float(np.mean((shares < 0.01) | (shares > 0.99))) if len(shares) else 0.0}


def noise_floor(unit: np.ndarray, agreed: np.ndarray, names: list[str], seed: int,
                resamples: int = NOISE_RESAMPLES) -> float:
    """The mu* that replicate sampling alone gives (95th percentile over resamples and parameters).

    ``agreed`` is (points, replicates) of 1/0. Each resample draws replicates
    with replacement, the same draw at every point; the change it makes in
    each point's P(agreement) is pure sampling noise, correlated across points
    as the common random numbers make it, and its Morris mu* is what noise
    alone would score.
    """
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0xF100,)))
    y = agreed.mean(axis=1)
    scores: list[float] = []
    for _ in range(resamples):
        pick = rng.integers(0, agreed.shape[1], agreed.shape[1])
        e = agreed[:, pick].mean(axis=1) - y
        if np.var(e) == 0:
            scores += [0.0] * len(names)
            continue
        r = analyze("morris", unit, e, names, seed, resamples=2)
        scores += [float(v["mu_star"]) for v in (r or {}).values()]
    return float(np.percentile(scores, 95)) if scores else 0.0


def sobol_indices(sc: Scenario, levers: list[Lever], n: int, runs: int, seed: int = 7,
                  workers: int = 1) -> dict[str, Any]:
    """First-order and total Sobol indices of P(agreement) for ``levers`` (``n`` a power of 2)."""
    params = {lv.path: f"{lv.low}..{lv.high}" for lv in levers}
    res = run_sweep(sc, params, design="sobol", points=n, runs=runs, seed=seed, workers=workers, out=None,
                    figures=False)
    p = res.sensitivity["p_agreement"]
    rows = []
    for lv in levers:
        r = (p["indices"] or {}).get(lv.path, {})
        rows.append({"path": lv.path, "low": lv.low, "high": lv.high,
                     **{k: _finite(r.get(k, 0.0)) for k in ("S1", "S1_conf", "ST", "ST_conf", "S1_noise_lo",
                                                            "S1_noise_hi", "ST_noise_lo", "ST_noise_hi")}})
    rows.sort(key=lambda r: -r["ST"])
    return {"rows": rows, "n": n, "points": len(res.points), "runs": runs, "seed": seed,
            "noise_share": p.get("noise_share"), "verdict": p.get("verdict", "")}


def headline(morris: dict[str, Any], k: int = 5) -> list[dict[str, Any]]:
    """The ``k`` parameters the headline P(agreement) rests on most: the top of the Morris ranking."""
    return [{key: r[key] for key in ("path", "low", "high", "mu_star", "mu_star_conf", "distinguishable")}
            for r in morris["rows"][:k]]


def _finite(x: Any) -> float:
    x = float(x)
    return x if math.isfinite(x) else 0.0
