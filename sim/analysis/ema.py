"""EMA Workbench adapter and scenario discovery (the optional extra ``[ema]``).

``model(scenario, uncertainties=..., outcomes=...)`` returns an EMA
Workbench ``Model``: EMA's experiment designs (``perform_experiments``),
PRIM and CART then run on negsim without wrapper code. Each experiment is a
batch of ``runs`` replicates with the experiment's values as overrides and
the same seed, so experiments share their random numbers (common random
numbers) and differ only by the parameters. Outcomes are the share of runs
in each outcome (``p_agreement``, ``p_no_talks``, ``p_talks_failed``), in
each outcome class (``p_<class>``) and the mean agreement month of the runs
with one (``mean_agreement_month``, NaN without any).

``discover(sweep_dir, outcome="agreement", above=0.7)`` runs PRIM on a
finished sweep: which boxes of parameter values hold the points whose
P(outcome) is above (or below) a level. ``negsim discover`` prints and
plots them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sim.engine.records import OUTCOMES
from sim.errors import UsageError
from sim.runs import store
from sim.runs.batch import outcome_names, run_batch
from sim.runs.sweep import check_specs, parse_spec
from sim.scenario.loading import load_scenario
from sim.scenario.models import Scenario

DEFAULT_OUTCOMES = ("p_agreement", "p_no_talks", "p_talks_failed", "mean_agreement_month")


def _ema() -> Any:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # EMA warns at import about optional parallel back ends
            import ema_workbench
            from ema_workbench.analysis import prim
    except ImportError:
        raise UsageError("this needs EMA Workbench: pip install 'negsim[ema]'") from None
    return ema_workbench, prim


def outcome_values(runs: pd.DataFrame, names: list[str]) -> dict[str, float]:
    """Outcomes of one batch's table, by name (see the module docstring)."""
    out = {}
    for name in names:
        if name == "mean_agreement_month":
            months = runs["agreement_month"].astype("Float64").dropna()
            out[name] = float(months.mean()) if len(months) else float("nan")
        elif name.startswith("p_") and name[2:] in OUTCOMES:
            out[name] = float((runs["outcome"].astype(str) == name[2:]).mean())
        elif name.startswith("p_"):
            out[name] = float((runs["outcome_class"].astype(str) == name[2:]).mean())
        else:
            raise UsageError(f"unknown outcome {name!r}: expected p_<outcome>, p_<class> or mean_agreement_month")
    return out


@dataclass
class NegsimFunction:
    """The model function EMA calls: a batch with the experiment's values as overrides (picklable)."""

    scenario: Scenario
    outcomes: list[str]
    runs: int = 200
    seed: int = 0
    engine: str = "vector"

    def __call__(self, **values: float) -> dict[str, float]:
        overrides = {k: float(v) for k, v in values.items()}
        result = run_batch(self.scenario, runs=self.runs, seed=self.seed, engine=self.engine, out=None,
                           overrides=overrides)
        return outcome_values(result.runs, self.outcomes)


def model(scenario: Scenario | str | Path, uncertainties: dict[str, Any], outcomes: list[str] | tuple[str, ...] =
          DEFAULT_OUTCOMES, *, runs: int = 200, seed: int = 0, engine: str = "vector", name: str | None = None) -> Any:
    """An EMA Workbench ``Model`` of a scenario.

    ``uncertainties`` maps key paths to ranges: ``(low, high)`` or
    ``"low..high"``; they are checked like a sweep's (known path, inside the
    parameter's range). ``outcomes``: names as in :func:`outcome_values`.
    """
    ema, _prim = _ema()
    sc = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if not uncertainties:
        raise UsageError("an EMA model needs at least one uncertainty {key path: (low, high)}")
    specs = [parse_spec(p, f"{r[0]}..{r[1]}" if isinstance(r, list | tuple) else r) for p, r in uncertainties.items()]
    if any(s.bounds is None for s in specs):
        raise UsageError("uncertainties are ranges: (low, high) or 'low..high'")
    check_specs(sc, specs)
    known = [f"p_{o}" for o in outcome_names(sc)] + ["mean_agreement_month"]
    for o in outcomes:
        if o not in known:
            raise UsageError(f"unknown outcome {o!r}; known: {', '.join(dict.fromkeys(known))}")
    m = ema.Model(name or _identifier(sc.name), function=NegsimFunction(sc, list(outcomes), runs, seed, engine))
    m.uncertainties = [ema.RealParameter(s.path, s.low, s.high) for s in specs]
    m.outcomes = [ema.ScalarOutcome(o) for o in outcomes]
    return m


def _identifier(name: str) -> str:
    text = "".join(c if c.isalnum() else "_" for c in name)
    return text if text[:1].isalpha() else f"negsim_{text}"


# --------------------------------------------------------------------------- discovery


@dataclass
class Discovery:
    """PRIM on a sweep: the box found, its statistics and limits, and the figures drawn."""

    outcome: str
    rule: str
    cases: int
    of_interest: int
    stats: dict[str, float]
    limits: pd.DataFrame  # one row per restricted parameter: min, max
    figures: list[Path] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {"outcome": self.outcome, "rule": self.rule, "points": self.cases, "points_of_interest": self.of_interest,
                "box": self.stats, "limits": {p: {"min": float(r["min"]), "max": float(r["max"])}
                                              for p, r in self.limits.iterrows()},
                "figures": [str(f) for f in self.figures]}


def discover(sweep_dir: str | Path, outcome: str = "agreement", above: float | None = None,
             below: float | None = None, figures: bool = True, mass_min: float = 0.05) -> Discovery:
    """PRIM boxes of the sweep's points where P(outcome) is above (or below) a level."""
    _ema_mod, prim = _ema()
    run_dir = Path(sweep_dir)
    manifest = store.read_manifest(run_dir)
    if manifest.get("kind") != "sweep" or manifest.get("status") != "complete":
        raise UsageError(f"{run_dir}: not a complete sweep (kind {manifest.get('kind')}, status {manifest.get('status')})")
    if (above is None) == (below is None):
        raise UsageError("give exactly one of --above LEVEL or --below LEVEL")
    params = manifest["sweep"]["params"]
    points = pd.read_parquet(run_dir / "points.parquet").sort_values("point")
    runs = store.read_results(run_dir, columns=["point", "outcome", "outcome_class"])
    column = "outcome" if outcome in OUTCOMES else "outcome_class"
    if outcome not in set(runs[column].astype(str)) and outcome not in OUTCOMES:
        raise UsageError(f"unknown outcome {outcome!r}: expected one of {', '.join(OUTCOMES)} or an outcome class")
    share = (runs[column].astype(str) == outcome).groupby(runs["point"]).mean().reindex(points["point"]).to_numpy()
    level = above if above is not None else below
    y = share > level if above is not None else share < level
    rule = f"P({outcome}) {'>' if above is not None else '<'} {level:g}"
    if not y.any() or y.all():
        raise UsageError(f"{rule} holds at {int(y.sum())} of {len(y)} points: PRIM needs some points on each side")
    x = points[params].reset_index(drop=True).astype(float)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        box = prim.Prim(x, y, mass_min=mass_min).find_box()
        stats, limits = box.inspect(style="data")[0]
    limits = limits.droplevel(0, axis=1)[["min", "max"]] if isinstance(limits.columns, pd.MultiIndex) else limits
    limits = limits.loc[:, ~limits.columns.duplicated()][["min", "max"]]
    found = Discovery(outcome, rule, len(y), int(y.sum()),
                      {k: float(stats[k]) for k in ("coverage", "density", "mass", "res_dim")}, limits)
    if figures:
        found.figures = _draw(box, run_dir, outcome)
    return found


def _draw(box: Any, run_dir: Path, outcome: str) -> list[Path]:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    paths = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tradeoff = box.show_tradeoff()
        paths.append(run_dir / f"discover_{outcome}_tradeoff.png")
        tradeoff.savefig(paths[-1], dpi=120, bbox_inches="tight")
        graph = box.inspect(style="graph")
        fig = graph[0][0] if isinstance(graph, list) and isinstance(graph[0], tuple) else (
            graph[0] if isinstance(graph, list) else graph)
        fig = fig if hasattr(fig, "savefig") else plt.gcf()
        paths.append(run_dir / f"discover_{outcome}_box.png")
        fig.savefig(paths[-1], dpi=120, bbox_inches="tight")
    plt.close("all")
    return paths
