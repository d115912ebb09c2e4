"""Parameter sweeps and sensitivity analysis.

Three things kept apart (as AgentPy separates Sample, Experiment, DataDict):

* which points to run: :func:`design_matrix` puts points in the unit cube
  (a grid, scipy.stats.qmc Latin hypercube, SALib's Saltelli scheme over a
  scipy Sobol sequence, or SALib's Morris trajectories) and :func:`to_values`
  maps each column onto its parameter's range; one mechanism for all designs;
* how they run: a :class:`~sim.runs.batch.Job` with one point per design row, every
  point running the same replicates with the same shocks (common random
  numbers), so differences between points are paired;
* what comes back: :class:`SweepResult` with ``points`` (one row per point),
  ``runs`` (point x replicate), ``summary`` (per point) and ``sensitivity``.

Parameters are addressed by their scenario key path (``actors.moscow.resolve``,
``battlefield.monthly_change_km2.mean``, ``actors.moscow.preconditions.kursk_withdrawal.value``).
"""

from __future__ import annotations

import concurrent.futures as cf
import difflib
import itertools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.defaults import DESIGNS, ENGINES, OUT, SEED, SWEEP_RUNS, WORKERS
from sim.engine.records import OUTCOMES
from sim.engine.shocks import MAX_SEED
from sim.errors import UsageError
from sim.runs import store
from sim.runs.batch import Job, Progress, check_limit, model_of, outcome_names, run_job
from sim.runs.summary import distribution, levels_of, shares, wilson
from sim.scenario.loading import load_scenario
from sim.scenario.models import Scenario
from sim.scenario.registry import out_of_range, parameter_slots


@dataclass(frozen=True)
class ParamSpec:
    """One swept parameter: explicit values, or bounds for a sampled design."""

    path: str
    values: tuple[float, ...] | None = None
    bounds: tuple[float, float] | None = None
    switch: bool = False

    @property
    def given(self) -> tuple[float, ...]:
        """The values, or the bounds, as given."""
        return self.values if self.values is not None else (self.bounds or ())

    @property
    def low(self) -> float:
        return self.bounds[0] if self.bounds else min(self.given)

    @property
    def high(self) -> float:
        return self.bounds[1] if self.bounds else max(self.given)


def parse_spec(path: str, spec: Any) -> ParamSpec:
    """``0.2,0.5,0.8`` (list), ``0.2:0.8:7`` (7 values from 0.2 to 0.8), ``0.2..0.8`` (bounds); or a YAML list."""
    if isinstance(spec, list | tuple):
        if not spec:
            raise UsageError(f"{path}: an empty list of values")
        check_limit("levels", len(spec), f"values of {path}")
        if all(isinstance(v, bool) for v in spec):
            return ParamSpec(path, tuple(float(v) for v in spec), switch=True)
        return ParamSpec(path, tuple(_number(path, v) for v in spec))
    text = str(spec).strip()
    try:
        if ".." in text:
            lo, hi = (float(x) for x in text.split(".."))
            if not lo < hi:
                raise ValueError
            return ParamSpec(path, bounds=(lo, hi))
        if ":" in text:
            first, last, n = text.split(":")
            count = int(n)
            if count < 2:
                raise ValueError
            check_limit("levels", count, f"values of {path}")
            return ParamSpec(path, tuple(float(f"{x:.12g}") for x in np.linspace(float(first), float(last), count)))
        items = [x.strip() for x in text.split(",")]
        if not all(items):
            raise ValueError
        check_limit("levels", len(items), f"values of {path}")
        if all(x.lower() in ("true", "false") for x in items):
            return ParamSpec(path, tuple(float(x.lower() == "true") for x in items), switch=True)
        return ParamSpec(path, tuple(float(x) for x in items))
    except UsageError:  # a limit of check_limit: a ValueError too, but not a spec that cannot be read
        raise
    except (ValueError, OverflowError):
        raise UsageError(f"{path}: cannot read {text!r}: expected a list (0.2,0.5,0.8), a range "
                         f"(0.2:0.8:7, at least 2 values) or bounds (0.2..0.8, low < high)") from None


def _number(path: str, v: Any) -> float:
    if isinstance(v, int | float) and not isinstance(v, bool):
        try:
            return float(v)
        except OverflowError:
            pass
    raise UsageError(f"{path}: sweep values must be numbers (got {v!r})")


def parse_param_args(items: list[str]) -> dict[str, str]:
    """``["PATH=SPEC", ...]`` from the command line."""
    out = {}
    for item in items:
        path, sep, spec = item.partition("=")
        if not sep or not path.strip() or not spec.strip():
            raise UsageError(f"--param takes PATH=SPEC, e.g. actors.moscow.resolve=0.5,0.7,0.9 (got {item!r})")
        out[path.strip()] = spec.strip()
    return out


def check_specs(sc: Scenario, specs: list[ParamSpec]) -> None:
    """Every path names a parameter; every value is in that parameter's range."""
    slots = parameter_slots(sc)
    for s in specs:
        if s.path not in slots:
            near = difflib.get_close_matches(s.path, list(slots), n=3, cutoff=0.5)
            hint = f"; nearest valid paths: {', '.join(near)}" if near else "; `negsim sweep FILE --list-params` lists them"
            raise UsageError(f"unknown parameter path {s.path!r}{hint}")
        slot = slots[s.path]
        if (slot.kind == "switch") != s.switch:
            raise UsageError(f"{s.path}: expected {'true,false' if slot.kind == 'switch' else 'numbers'}")
        for v in s.given:
            if slot.kind == "number" and (why := out_of_range(slot.name, v)):
                raise UsageError(f"{s.path}: {why}")


# --------------------------------------------------------------------------- designs


def design_matrix(design: str, specs: list[ParamSpec], points: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(unit-cube points, parameter values), both (n_points, n_params)."""
    d = len(specs)
    if design == "grid":
        if any(s.values is None for s in specs) and not points:
            raise UsageError("a grid over bounds (LOW..HIGH) needs --points, the number of values per parameter")
        if points is not None:
            check_limit("levels", points, "values per parameter (--points)")
        per = int(points or 0)
        sizes = [len(s.values) if s.values is not None else per for s in specs]
        check_limit("points", math.prod(sizes), f"points in the grid ({' x '.join(map(str, sizes))})")
        axes = [np.array(s.values) if s.values is not None else np.linspace(s.low, s.high, per) for s in specs]
        values = np.array(list(itertools.product(*axes)), dtype=float).reshape(-1, d)
        unit = np.array([[(v - s.low) / (s.high - s.low) if s.high > s.low else 0.0 for v, s in zip(row, specs, strict=True)]
                         for row in values]).reshape(-1, d)
        return unit, values
    if any(s.switch for s in specs):
        raise UsageError(f"the {design} design samples ranges: switches (true/false) need --design grid")
    if not points or points < 2:
        raise UsageError(f"--design {design} needs --points N (N >= 2)")
    per = {"lhs": 1, "sobol": d + 2, "morris": d + 1}.get(design, 1)
    check_limit("points", points * per, f"points in the {design} design (--points {points}"
                + (f" x {per})" if per > 1 else ")"))
    unit = _unit_points(design, d, points, seed)
    return unit, to_values(unit, specs)


def _unit_points(design: str, d: int, n: int, seed: int) -> np.ndarray:
    from scipy.stats import qmc

    if design == "lhs":
        return qmc.LatinHypercube(d=d, seed=np.random.default_rng(seed)).random(n)
    problem = unit_problem(d)
    if design == "sobol":
        if n & (n - 1):
            raise UsageError(f"--design sobol needs --points a power of 2 (got {n}; try {2 ** round(math.log2(n))})")
        from SALib.sample import sobol

        return sobol.sample(problem, n, calc_second_order=False, scramble=True, seed=seed)
    if design == "morris":
        from SALib.sample import morris

        return morris.sample(problem, n, num_levels=4, seed=seed)
    raise UsageError(f"design must be one of {', '.join(DESIGNS)} (got {design!r})")


def unit_problem(d: int) -> dict[str, Any]:
    return {"num_vars": d, "names": [f"x{i}" for i in range(d)], "bounds": [[0.0, 1.0]] * d}


def to_values(unit: np.ndarray, specs: list[ParamSpec]) -> np.ndarray:
    """Map unit-cube points onto each parameter's [low, high]."""
    lo = np.array([s.low for s in specs])
    hi = np.array([s.high for s in specs])
    return lo + unit * (hi - lo)


def analyze(design: str, unit: np.ndarray, y: np.ndarray, names: list[str], seed: int = 0,
            resamples: int = 100) -> dict[str, Any] | None:
    """Sobol indices (first order, total, 95% intervals) or Morris mu*, sigma of outputs ``y`` per point."""
    problem = unit_problem(unit.shape[1]) | {"names": names}
    if design == "sobol":
        from SALib.analyze import sobol

        r = sobol.analyze(problem, y, calc_second_order=False, conf_level=0.95, seed=seed,
                          num_resamples=resamples)
        return {n: {"S1": r["S1"][i], "S1_conf": r["S1_conf"][i], "ST": r["ST"][i], "ST_conf": r["ST_conf"][i]}
                for i, n in enumerate(names)}
    if design == "morris":
        from SALib.analyze import morris

        r = morris.analyze(problem, unit, y, conf_level=0.95, num_levels=4, seed=seed, num_resamples=resamples)
        return {n: {"mu_star": r["mu_star"][i], "mu_star_conf": r["mu_star_conf"][i], "sigma": r["sigma"][i]}
                for i, n in enumerate(names)}
    return None


# --------------------------------------------------------------------------- running


@dataclass
class SweepResult(store.StoredRuns):
    """A finished sweep: points, runs (point x replicate), per-point summary, sensitivity, figures."""

    scenario: Scenario
    seed: int
    engine: str
    design: str
    params: list[str]
    points: pd.DataFrame
    run_dir: Path | None = None
    manifest: dict[str, Any] = field(default_factory=dict)
    point_summaries: list[dict[str, Any]] = field(default_factory=list)
    sensitivity: dict[str, Any] = field(default_factory=dict)
    figures: list[Path] = field(default_factory=list)
    _runs: pd.DataFrame | None = field(default=None, repr=False)

    @property
    def wants_figures(self) -> bool:
        """Written to a run directory and run with figures (``figures=True``, not ``--no-figures``)."""
        return self.run_dir is not None and bool(self.manifest.get("sweep", {}).get("figures", True))

    kind = "sweep"

    def summary(self) -> dict[str, Any]:
        return {"design": self.design, "params": self.params, "points": self.point_summaries,
                "sensitivity": self.sensitivity}

    def marginal(self, param: str) -> pd.DataFrame:
        """Outcome probabilities (95% Wilson intervals) at each value of one parameter, pooled over the others.

        Values are grouped as in the figures: each distinct value, or quantile bins when there are many.
        """
        runs = self._runs if self._runs is not None else store.read_results(self._stored(), columns=["point", "outcome"])
        values = self.points.set_index("point")[param]
        levels = levels_of(values.loc[runs["point"].to_numpy()].reset_index(drop=True))
        outcome = runs["outcome"].to_numpy()
        rows = []
        for code, label in enumerate(levels.labels):
            group = outcome[levels.code == code]
            row = {"value": label, "runs": len(group)}
            for k in OUTCOMES:
                p, lo, hi = wilson(int((group == k).sum()), len(group))
                row |= {f"p_{k}": p, f"lo_{k}": lo, f"hi_{k}": hi}
            rows.append(row)
        return pd.DataFrame(rows)

    def table(self) -> pd.DataFrame:
        """One row per point: parameter values, outcome probabilities with intervals, median agreement month."""
        rows = []
        for s in self.point_summaries:
            row = {"point": s["point"], **s["params"]}
            for k in OUTCOMES:
                o = s["outcomes"][k]
                row |= {f"p_{k}": o["p"], f"lo_{k}": o["lo"], f"hi_{k}": o["hi"]}
            row["agreement_month_median"] = s["agreement_month"].get("median")
            rows.append(row)
        return pd.DataFrame(rows)


def run_sweep(scenario: Scenario | str | Path, params: dict[str, Any], *, design: str = DESIGNS[0],
              points: int | None = None, runs: int = SWEEP_RUNS, seed: int = SEED, workers: int = WORKERS,
              engine: str = ENGINES[0], out: str | Path | None = OUT, block_size: int | None = None,
              progress: Progress | None = None, command: str | None = None, figures: bool = True,
              executor: cf.Executor | None = None) -> SweepResult:
    """Run a sweep: ``params`` maps key paths to specs (see :func:`parse_spec`).

    ``executor`` runs the units on any :class:`concurrent.futures.Executor` (see :func:`sim.run_batch`).
    This draws no figures: ``figures`` is recorded in the manifest, and
    :func:`sim.run_sweep` (:func:`sim.present.figures.run_sweep`) draws them
    after the run directory is unlocked.
    """
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if design not in DESIGNS:
        raise UsageError(f"design must be one of {', '.join(DESIGNS)} (got {design!r})")
    if not params:
        raise UsageError("a sweep needs at least one --param PATH=SPEC (or a `sweep:` block in the scenario)")
    if not isinstance(seed, int) or isinstance(seed, bool) or not 0 <= seed < MAX_SEED:
        raise UsageError(f"seed must be a whole number from 0 to 2**128 - 1 (got {seed!r})")
    if points is not None and (not isinstance(points, int) or isinstance(points, bool) or points < 1):
        raise UsageError(f"--points must be a whole number >= 1 (got {points!r})")
    specs = [parse_spec(p, s) for p, s in params.items()]
    check_specs(sc, specs)
    unit, values = design_matrix(design, specs, points, seed)
    names = [s.path for s in specs]
    point_overrides = [{n: (bool(v) if s.switch else float(v)) for n, v, s in zip(names, row, specs, strict=True)}
                       for row in values]
    job = Job(sc, seed, runs, engine, block_size, point_overrides, "sweep")
    extra = {"sweep": {"design": design, "params": names, "specs": {s.path: str(params[s.path]) for s in specs},
                       "design_points": points, "unit": unit.tolist()}}
    extra["sweep"]["figures"] = figures
    run_dir, result, manifest = run_job(job, out, workers, progress, command, extra, executor=executor,
                                        finish=finish_sweep)
    if run_dir is None:
        return _result(job, manifest, result, None)
    return result


def finish_sweep(job: Job, run_dir: Path, manifest: dict) -> SweepResult:
    """Write points.parquet and summary.json of a merged sweep (the caller writes the manifest).

    Figures are not drawn here: this runs while the run directory is locked,
    and drawing belongs to the presentation wing, which draws them once the
    lock is released (:func:`sim.present.figures.draw_sweep`) and lists them
    with :func:`record_figures`.
    """
    table = store.read_results(run_dir, compact=True)
    result = _result(job, manifest, table, run_dir)
    result._runs = None  # the compact table served the summary; users get the full one on demand
    store.write_atomic(run_dir / "points.parquet", store.frame_bytes(result.points))
    store.write_json(run_dir / "summary.json", result.summary())
    manifest.setdefault("figures", [])
    return result


def record_figures(result: SweepResult, paths: list[Path]) -> None:
    """List a finished sweep's figures (drawn in its run directory) in its manifest, under the run lock."""
    if result.run_dir is None:
        raise UsageError("a sweep kept in memory (out=None) has no run directory to record figures in")
    result.figures = list(paths)
    with store.RunLock(result.run_dir, "negsim sweep (listing its figures)"):
        manifest = store.read_manifest(result.run_dir)
        manifest["figures"] = [p.name for p in paths]
        store.write_json(result.run_dir / "manifest.json", manifest)
    result.manifest["figures"] = manifest["figures"]


def _result(job: Job, manifest: dict, table: pd.DataFrame, run_dir: Path | None) -> SweepResult:
    sw = manifest["sweep"]
    names = sw["params"]
    points = pd.DataFrame([{"point": i, **p} for i, p in enumerate(job.points)])
    classes = outcome_names(job.scenario)
    summaries = []
    for i, group in table.groupby("point", sort=True):
        s = {"point": int(i), "params": job.points[int(i)], "runs": len(group),
             "outcomes": shares(group["outcome"], list(OUTCOMES)),
             "outcome_classes": shares(group["outcome_class"], classes),
             "talks_month": _short(distribution(group["talks_month"], len(group))),
             "agreement_month": _short(distribution(group["agreement_month"], len(group)))}
        summaries.append(s)
    unit = np.array(sw["unit"])
    sensitivity = sensitivity_report(sw["design"], unit, table, names, job.runs,
                                     model_of(job.scenario).horizon_months, job.seed)
    return SweepResult(job.scenario, job.seed, job.engine, sw["design"], names, points, run_dir, manifest,
                       summaries, sensitivity, [], _runs=table)


def _short(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if k != "histogram"}


REPLICATE_RESAMPLES = 100  # bootstrap resamples of the replicates for the noise share and index intervals
SWAMPED = 0.5  # noise share at and above which the indices are said to mostly measure noise


def replicate_matrices(table: pd.DataFrame, horizon: int) -> dict[str, np.ndarray]:
    """Per output, a (points, replicates) matrix: 1/0 for an agreement, the agreement month (NaN: none)."""
    t = table.sort_values(["point", "replicate"], kind="stable")
    n_points = t["point"].nunique()
    agreed = (t["outcome"].astype(str) == "agreement").to_numpy(dtype=float).reshape(n_points, -1)
    months = t["agreement_month"].astype("Float64").to_numpy(dtype=float, na_value=np.nan).reshape(n_points, -1)
    return {"p_agreement": agreed, "mean_agreement_month": months}


def _outputs(key: str, m: np.ndarray, horizon: int) -> np.ndarray:
    if key == "p_agreement":
        return m.mean(axis=1)
    counts = np.sum(~np.isnan(m), axis=1)
    sums = np.nansum(m, axis=1)
    return np.where(counts > 0, sums / np.maximum(counts, 1), horizon + 1.0)


def sensitivity_report(design: str, unit: np.ndarray, table: pd.DataFrame, names: list[str], runs: int,
                       horizon: int, seed: int, resamples: int = REPLICATE_RESAMPLES) -> dict[str, Any]:
    """Sobol or Morris indices for P(agreement) and mean agreement month, honest about run-to-run noise.

    Every point runs the same replicates (common random numbers), so the
    noise of the points' outputs is correlated, and a per-point sampling
    variance overstates the noise in the differences between points that
    the indices measure. Instead the replicates are resampled with
    replacement, the *same* resample at every point (a bootstrap that keeps
    the correlation), ``resamples`` times:

    * ``noise_share``: the mean, over resamples, of the variance across
      points of the change in the outputs, over the variance of the outputs
      across points: the share of the spread that replicates alone move;
    * per index, ``*_noise_lo`` and ``*_noise_hi``: the 95% percentile
      interval of the index over the resamples, the uncertainty from the
      finite replicates (SALib's ``*_conf`` is that of the finite design);
    * ``swamped``: True when the noise share is at least 0.5, with a
      ``verdict`` in words for the report.
    """
    if design not in ("sobol", "morris"):
        return {}
    rng = np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(0x5E45,)))
    matrices = replicate_matrices(table, horizon)
    n_rep = next(iter(matrices.values())).shape[1]
    picks = rng.integers(0, n_rep, size=(resamples, n_rep))
    out: dict[str, Any] = {}
    for key, m in matrices.items():
        y = _outputs(key, m, horizon)
        total = float(np.var(y, ddof=1)) if len(y) > 1 else 0.0
        if total == 0:  # nothing varies: no index to compute
            out[key] = {"indices": {}, "noise_share": None, "variance_across_points": 0.0, "noise_variance": 0.0,
                        "resamples": resamples, "swamped": False, "verdict": _verdict(key, None, runs)}
            continue
        indices = analyze(design, unit, y, names, seed)
        assert indices is not None  # sobol and morris have indices
        boot = [_outputs(key, m[:, idx], horizon) for idx in picks]
        noise = float(np.mean([np.var(b - y, ddof=1) for b in boot]))
        share = noise / total
        _noise_intervals(design, unit, names, seed, boot, indices)
        swamped = share >= SWAMPED
        out[key] = {"indices": indices, "noise_share": share, "variance_across_points": total,
                    "noise_variance": noise, "resamples": resamples, "swamped": swamped,
                    "verdict": _verdict(key, share, runs)}
    return out


def _noise_intervals(design: str, unit: np.ndarray, names: list[str], seed: int, boot: list[np.ndarray],
                     indices: dict[str, Any]) -> None:
    """Add to each index its 95% interval over the replicate resamples."""
    keys = ("S1", "ST") if design == "sobol" else ("mu_star",)
    draws = [d for b in boot if np.var(b) > 0 if (d := analyze(design, unit, b, names, seed, resamples=10))]
    for name in names:
        for k in keys:
            values = np.array([d[name][k] for d in draws], dtype=np.float64)
            lo, hi = (np.nanpercentile(values, [2.5, 97.5]) if len(values) and np.isfinite(values).any()
                      else (np.nan, np.nan))
            indices[name][f"{k}_noise_lo"], indices[name][f"{k}_noise_hi"] = float(lo), float(hi)


def _verdict(output: str, share: float | None, runs: int) -> str:
    if share is None:
        return f"{output} does not vary across points: there is nothing for the indices to attribute."
    if share >= SWAMPED:
        return (f"Noise swamps the indices of {output}: replicates alone move {share:.0%} of its variance across "
                f"points, so the indices mostly measure the dice, not the parameters. Raise --runs "
                f"(now {runs}) until this share is small.")
    if share >= 0.2:
        return (f"Noise is a large part of the variance of {output} across points ({share:.0%}, common random "
                f"numbers accounted for): read each index with its replicates interval, or raise --runs (now {runs}).")
    return (f"Replicates alone move {share:.1%} of the variance of {output} across points "
            f"(common random numbers accounted for); the replicates intervals show what is left.")
