"""Calibration: a scenario's uncertain parameters fitted to a record with ABC-SMC (pyabc).

The record is one history: one binary outcome per target. The posterior is
``p(theta | record) ∝ prior(theta) × P(record | theta)``, where
``P(record | theta)`` is the probability that a run follows the whole record
(every target at once). Each particle ``theta`` runs a batch of ``R`` runs
(through the same executors as ``negsim run``) and estimates that probability
by the joint share ``k / R`` of its runs consistent with every target.

ABC accepts a particle with probability ``(k / R)^(1 / T)`` (pyabc's
:class:`StochasticAcceptor` with a log-likelihood kernel ``ln(k / R)`` and a
temperature ``T`` lowered generation by generation to 1; Wilkinson 2013). At
``T = 1`` this is exact: ``k / R`` is an unbiased estimate of the record's
probability, so accepting with that probability samples the posterior itself,
not an approximation shrunk toward the most likely ``theta`` (which a distance
between the shares and 1 would give). The run stops once a generation at
``T = 1`` is done, or when ``--budget`` runs are spent (the last generation
is then tempered, wider than the posterior, and the result says so).

Parameters are sampled in their prior's quantile space (``u`` uniform on
(0, 1), ``theta = ppf(u)``), so any of the scenario's ``dist:`` forms is a
prior. A record's prior entries (``priors:``, figures from before the
scenario's start) truncate a parameter's prior to their interval: ``u`` maps
to the quantiles ``F(low)`` to ``F(high)`` (:class:`Truncated`). The history is pyabc's SQLite database in the run directory: an
interrupted calibration resumes from its last finished generation. Each
generation starts numpy's global generator (which pyabc draws from) at
``(seed, generation)`` and each particle's batch takes its seed from it, so a
calibration is a function of its seed, whatever the workers.
"""

from __future__ import annotations

import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.analysis.hindcast import consistent
from sim.defaults import (
    CALIBRATE_BUDGET,
    CALIBRATE_POPULATION,
    CALIBRATE_PPC_RUNS,
    CALIBRATE_RUNS_PER_PARTICLE,
)
from sim.errors import UsageError
from sim.scenario.models import Scenario
from sim.scenario.registry import parameter_slots
from sim.scenario.targets import Bound, Targets, prior_bounds

RUNS_PER_PARTICLE = CALIBRATE_RUNS_PER_PARTICLE
POPULATION = CALIBRATE_POPULATION
BUDGET = CALIBRATE_BUDGET
MAX_GENERATIONS = 12
Progress = Callable[[int, int], None]


def uncertain_params(sc: Scenario) -> list[str]:
    """The scenario's uncertain parameters (those with a ``dist:``), by key path, one path per number."""
    slots = parameter_slots(sc)
    seen: set[tuple[str, tuple[int, ...]]] = set()
    out = []
    for path, s in slots.items():
        if s.param is not None and s.param.uncertain and (s.name, s.index) not in seen:
            seen.add((s.name, s.index))
            out.append(path)
    return out


def check_params(sc: Scenario, params: list[str] | None) -> list[str]:
    """``--params``: known paths of uncertain parameters (their ``dist:`` is the prior); default all of them."""
    if not params:
        found = uncertain_params(sc)
        if not found:
            raise UsageError(f"{sc.path}: the scenario has no uncertain parameter (dist: ...) to calibrate; "
                             "give --params paths of parameters with a distribution")
        return found
    slots = parameter_slots(sc)
    for p in params:
        if p not in slots:
            raise UsageError(f"--params {p}: unknown parameter path; `negsim sweep FILE --list-params` lists them")
        if slots[p].param is None or not slots[p].param.uncertain:
            raise UsageError(f"--params {p}: fixed in the scenario; calibration needs a prior: give it a "
                             "distribution (dist: ...) in the scenario")
    return list(dict.fromkeys(params))


class Truncated:
    """A prior restricted to ``[low, high]``: the base distribution conditioned on lying there (``ppf`` maps a
    quantile ``q`` to the base's ``F(low) + q (F(high) - F(low))``)."""

    def __init__(self, base: Any, low: float, high: float):
        self.base, self.low, self.high = base, low, high
        self.a, self.b = float(base.cdf(low)), float(base.cdf(high))
        base_pdf = getattr(base, "pdf", None)
        self.pdf: Callable[[Any], Any] | None = None if base_pdf is None else (
            lambda x: np.where((np.asarray(x) >= low) & (np.asarray(x) <= high), base_pdf(x) / (self.b - self.a), 0.0))

    @property
    def binds(self) -> bool:
        """Whether the interval cuts off any of the base prior."""
        return self.a > 0.0 or self.b < 1.0

    def ppf(self, q: Any) -> Any:
        return np.clip(self.base.ppf(self.a + np.asarray(q, float) * (self.b - self.a)), self.low, self.high)

    def cdf(self, x: Any) -> Any:
        return np.clip((np.asarray(self.base.cdf(x), float) - self.a) / (self.b - self.a), 0.0, 1.0)


def priors(sc: Scenario, params: list[str], bounds: dict[str, Bound]) -> dict[str, Any]:
    """The prior of each calibrated parameter: its ``dist:``, truncated to its bound if a record gives one."""
    slots = parameter_slots(sc)
    out = {}
    for p in params:
        d = slots[p].param.frozen()
        out[p] = Truncated(d, bounds[p].low, bounds[p].high) if p in bounds else d
    return out


@dataclass
class Settings:
    """What a calibration runs: written to calibration.json, read back on resume."""

    scenario: str
    targets: list[str]
    params: list[str]
    seed: int
    budget: int = BUDGET
    runs_per_particle: int = RUNS_PER_PARTICLE
    population: int = POPULATION
    max_generations: int = MAX_GENERATIONS
    ppc_runs: int = CALIBRATE_PPC_RUNS  # runs of the predictive check (a resumed calibration keeps its own)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass
class Posterior:
    """The result: weighted particles (theta and u), the last generation's temperature, the runs spent."""

    samples: pd.DataFrame  # one row per particle: the parameters, then "weight"
    params: list[str]
    temperature: float
    generations: int
    runs: int
    seconds: float
    exact: bool = field(init=False)

    def __post_init__(self) -> None:
        self.exact = self.temperature <= 1.0

    def resample(self, n: int, seed: int) -> pd.DataFrame:
        """``n`` equally weighted draws of the parameters (jointly: whole rows), reproducible from ``seed``."""
        w = self.samples["weight"].to_numpy(float)
        rows = np.random.default_rng(seed).choice(len(w), size=n, p=w / w.sum())
        return self.samples[self.params].iloc[rows].reset_index(drop=True)

    def interval(self, path: str, level: float = 0.9) -> tuple[float, float, float]:
        """(low, median, high) of a weighted marginal: the central ``level`` interval."""
        x = self.samples[path].to_numpy(float)
        w = self.samples["weight"].to_numpy(float)
        order = np.argsort(x)
        cw = np.cumsum(w[order]) / w.sum()
        q = [(1 - level) / 2, 0.5, (1 + level) / 2]
        low, mid, high = (float(x[order][min(np.searchsorted(cw, p), len(x) - 1)]) for p in q)
        return low, mid, high


def joint_share(runs: pd.DataFrame, targets: list[Targets], start: str) -> tuple[float, dict[str, float]]:
    """The share of runs consistent with every target (of every record), and each target's share."""
    every = np.ones(len(runs), bool)
    each = {}
    for name, t in (item for tg in targets for item in tg.items()):
        ok = consistent(runs, t, start)
        each[name] = float(ok.mean())
        every &= ok
    return float(every.mean()), each


class _Model:
    """pyabc's model: one particle, a batch of runs at ``theta`` through negsim's executors."""

    def __init__(self, sc: Scenario, targets: list[Targets], s: Settings, workers: int, executor: Any,
                 count: Callable[[int], None]):
        self.sc, self.targets, self.s = sc, targets, s
        self.workers, self.executor, self.count = workers, executor, count
        self.frozen = priors(sc, s.params, prior_bounds(targets, sc))

    def theta(self, u: dict[str, float]) -> dict[str, float]:
        return {p: float(self.frozen[p].ppf(min(max(u[_key(i)], 1e-9), 1 - 1e-9)))
                for i, p in enumerate(self.s.params)}

    def __call__(self, pars: Any) -> dict[str, float]:
        from sim.runs.batch import run_batch

        seed = int(np.random.randint(0, 2**62))  # numpy's global generator: seeded per generation
        R = self.s.runs_per_particle
        result = run_batch(self.sc, runs=R, seed=seed, out=None, workers=self.workers, executor=self.executor,
                           overrides=self.theta(dict(pars)), block_size=max(1, math.ceil(R / self.workers)))
        self.count(R)
        joint, _ = joint_share(result.runs, self.targets, self.sc.model.start)
        return {"joint": joint}


def _key(i: int) -> str:
    return f"u{i}"  # pyabc's parameter names (the key paths hold dots, which it reads as nesting)


def _kernel(x: dict, x_0: dict, t: Any = None, par: Any = None) -> float:
    """Log-likelihood of the record given a particle's batch: ln(joint share); -inf when no run follows it."""
    share = float(x["joint"])
    return math.log(share) if share > 0 else -math.inf


def _quiet_pyabc() -> None:
    for name in ("ABC", "Sampler", "Epsilon", "Acceptor", "Distance", "Population", "History", "pyabc",
                 "ABC.History", "ABC.Sampler", "ABC.Distance", "ABC.Epsilon", "ABC.Acceptor", "ABC.Predictor"):
        logging.getLogger(name).setLevel(logging.ERROR)


def _abc(model: _Model, s: Settings) -> Any:
    import pyabc

    _quiet_pyabc()
    prior = pyabc.Distribution(**{_key(i): pyabc.RV("uniform", 0, 1) for i in range(len(s.params))})
    kernel = pyabc.distance.FunctionKernel(_kernel, ret_scale=pyabc.distance.SCALE_LOG, pdf_max=0.0)
    return pyabc.ABCSMC(model, prior, kernel, population_size=s.population,
                        sampler=pyabc.sampler.SingleCoreSampler(), eps=pyabc.Temperature(),
                        acceptor=pyabc.StochasticAcceptor())


def generation_seed(seed: int, t: int) -> int:
    """numpy's legacy seed (< 2**32) of generation ``t`` of a calibration with root ``seed``."""
    return int(np.random.SeedSequence([seed, t]).generate_state(1)[0])


def calibrate(sc: Scenario, targets: list[Targets], s: Settings, run_dir: Path, workers: int = 1, executor: Any = None,
              progress: Progress | None = None, resume: bool = False) -> Posterior:
    """Run (or resume) a calibration whose history is ``run_dir/abc.db``; return the posterior."""
    db = f"sqlite:///{(run_dir / 'abc.db').resolve()}"
    spent = [0]
    started = time.monotonic()

    def count(n: int) -> None:
        spent[0] += n
        if progress is not None:
            progress(min(spent[0], s.budget), s.budget)

    model = _Model(sc, targets, s, workers, executor, count)
    abc = _abc(model, s)
    if resume:
        history = abc.load(db, 1)
        spent[0] = int(history.total_nr_simulations) * s.runs_per_particle
    else:
        history = abc.new(db, {"joint": 1.0})
    while True:
        t = history.max_t + 1
        if t > 0 and (_temperature(abc, history) <= 1.0 or t >= s.max_generations):
            break
        if spent[0] >= s.budget:
            break
        np.random.seed(generation_seed(s.seed, t))
        left = (s.budget - spent[0]) // s.runs_per_particle + int(history.total_nr_simulations)
        history = _run_generation(abc, max(left, 1), s)
    if history.max_t < 0:
        raise UsageError(f"--budget {s.budget}: no generation finished; give more runs")
    return _posterior(history, abc, s, model, time.monotonic() - started)


def _run_generation(abc: Any, left: int, s: Settings) -> Any:
    """One generation of at most ``left`` particles' batches; a budget spent before any particle was accepted is
    a usage error (pyabc then fails to normalise the empty population's weights)."""
    try:
        with np.errstate(invalid="ignore"):  # pyabc's 0 / 0 before its own check
            return abc.run(max_nr_populations=1, max_total_nr_simulations=left)
    except AssertionError as exc:
        if "normalized" not in str(exc):
            raise
        raise UsageError(f"--budget {s.budget}: the runs were spent before any particle of the generation was "
                         f"accepted (population {s.population}, {s.runs_per_particle} runs each); give more runs "
                         "(--budget) or more runs per particle (--runs-per-particle)") from None


def _temperature(abc: Any, history: Any) -> float:
    try:
        return float(abc.eps(history.max_t))
    except (KeyError, IndexError, TypeError):
        return math.inf


def _posterior(history: Any, abc: Any, s: Settings, model: _Model, seconds: float) -> Posterior:
    frame, w = history.get_distribution(t=history.max_t)
    u = {p: frame[_key(i)].to_numpy(float) for i, p in enumerate(s.params)}
    theta = {p: model.frozen[p].ppf(np.clip(u[p], 1e-9, 1 - 1e-9)) for p in s.params}
    samples = pd.DataFrame(theta | {f"u:{p}": u[p] for p in s.params} | {"weight": np.asarray(w, float)})
    return Posterior(samples.reset_index(drop=True), s.params, _temperature(abc, history), history.max_t + 1,
                     int(history.total_nr_simulations) * s.runs_per_particle, seconds)


def prior_interval(d: Any, level: float = 0.9) -> tuple[float, float, float]:
    """(low, median, high) of a prior's central ``level`` interval."""
    return float(d.ppf((1 - level) / 2)), float(d.ppf(0.5)), float(d.ppf((1 + level) / 2))


def write_settings(run_dir: Path, s: Settings, extra: dict[str, Any] | None = None) -> None:
    (run_dir / "calibration.json").write_text(json.dumps(s.to_dict() | (extra or {}), indent=2) + "\n")


def read_settings(run_dir: Path) -> tuple[Settings, dict[str, Any]]:
    path = run_dir / "calibration.json"
    if not path.is_file():
        raise UsageError(f"{run_dir}: not a calibration run directory (no calibration.json)")
    data = json.loads(path.read_text())
    keys = set(Settings.__dataclass_fields__)
    return Settings(**{k: v for k, v in data.items() if k in keys}), data


def calibrated_data(sc: Scenario, post: Posterior, draws: pd.DataFrame, records: list[str],
                    extends: str | None = None) -> dict[str, Any]:
    """A scenario whose calibrated numbers are ``dist: posterior`` with the rows of ``draws`` (equally weighted
    joint draws of the posterior), so that a run draws them together: the whole merged scenario, or with
    ``extends`` a variant of that file holding only the calibrated numbers."""
    import copy

    from sim.scenario.models import deep_merge

    why = (f"Calibrated to {', '.join(records)} by negsim calibrate (ABC-SMC, seed {post.samples.attrs.get('seed', '')})"
           "; drawn jointly with the other posterior numbers of this scenario.")
    tree = _posterior_tree(draws, post.params, why)
    head = {"name": f"{sc.name}_calibrated",
            "description": f"{sc.name} with {', '.join(post.params)} drawn from their posterior given "
                           f"{', '.join(records)}."}
    if extends is not None:
        return {"extends": extends} | head | tree
    data = {k: v for k, v in copy.deepcopy(sc.data).items() if k != "extends"}
    return deep_merge(data, head | tree)


def _posterior_tree(draws: pd.DataFrame, params: list[str], why: str) -> dict[str, Any]:
    """Nested scenario keys setting each of ``params`` to ``dist: posterior`` with its column of ``draws``."""
    tree: dict[str, Any] = {}
    for p in params:
        node = tree
        *parents, last = p.split(".")
        for k in parents:
            node = node.setdefault(k, {})
        node[last] = {"dist": "posterior", "values": [round(float(v), 6) for v in draws[p]], "assumption": why}
    return tree


def truncated_prior_data(sc: Scenario, prior: dict[str, Any], seed: int, n: int = 1000) -> dict[str, Any] | None:
    """The scenario with the priors that a record's prior entries cut drawn from the truncated prior (``n``
    independent draws each, as ``dist: posterior``): the prior the calibration started from. None when no
    prior entry cuts a prior (the scenario itself is that prior)."""
    import copy

    from sim.scenario.models import deep_merge

    cut = [p for p, d in prior.items() if isinstance(d, Truncated) and d.binds]
    if not cut:
        return None
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    draws = pd.DataFrame({p: prior[p].ppf(rng.uniform(size=n)) for p in cut})
    tree = _posterior_tree(draws, cut, "The scenario's prior truncated to the interval of a record's prior entries "
                                       "(independent draws).")
    data = {k: v for k, v in copy.deepcopy(sc.data).items() if k != "extends"}
    return deep_merge(data, {"name": f"{sc.name}_prior"} | tree)


@dataclass
class Check:
    """A posterior predictive check of one target: P(observed) under the calibrated scenario."""

    name: str
    label: str
    prior: float
    p: float
    low: float
    high: float
    hit: bool  # the observation lies in the 90% predictive interval: P(observed) >= 5%


def predictive(prior_runs: pd.DataFrame, post_runs: pd.DataFrame, targets: list[Targets], start: str
               ) -> tuple[list[Check], float, float]:
    """Each target's share under the prior and posterior predictive; and the joint shares (prior, posterior)."""
    from sim.runs.summary import wilson

    out = []
    for name, t in (item for tg in targets for item in tg.items()):
        ok = consistent(post_runs, t, start)
        _, low, high = wilson(int(ok.sum()), len(ok))
        p = float(ok.mean())
        out.append(Check(name, t.label, float(consistent(prior_runs, t, start).mean()), p, low, high, p >= 0.05))
    return out, joint_share(prior_runs, targets, start)[0], joint_share(post_runs, targets, start)[0]
