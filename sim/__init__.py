"""negsim: scenario simulation of negotiation outcomes.

Public API::

    import sim
    scenario = sim.load_scenario("scenarios/baseline.yaml")
    result = sim.run_batch(scenario, runs=2000, seed=1, workers=2)
    result.runs        # pandas DataFrame, one row per run
    result.summary()   # outcome probabilities with 95% intervals, distributions
    sweep = sim.run_sweep(scenario, {"actors.moscow.resolve": "0.5,0.7,0.9"}, runs=200)
    diff = sim.compare("scenarios/baseline.yaml", "scenarios/eu_uk_mediation.yaml", runs=2000)
    sim.draw_comparison(diff, "comparison.png")

Options after the scenario (and a sweep's parameters) are keyword-only.
"""

from importlib import import_module
from typing import TYPE_CHECKING, Any

# Names are imported on first use (PEP 562), so `negsim --version` and `--help`
# start without loading the model, numpy or pandas.
_EXPORTS = {
    "BatchResult": "sim.runs.batch", "run_batch": "sim.runs.batch", "run_unit": "sim.runs.batch",
    "Job": "sim.runs.batch",
    "ComparisonResult": "sim.analysis.comparison", "compare": "sim.analysis.comparison",
    # these three run the job in their wing, then draw its figures once its run directory is unlocked
    "compare_many": "sim.present.figures", "run_sweep": "sim.present.figures", "resume": "sim.present.figures",
    "draw_comparison": "sim.present.figures",
    "compile_scenario": "sim.scenario.compile",
    "NegsimError": "sim.errors", "Problem": "sim.errors", "ScenarioError": "sim.errors",
    "StoreError": "sim.errors", "UsageError": "sim.errors",
    "Scenario": "sim.scenario.models", "load_scenario": "sim.scenario.loading",
    "SweepResult": "sim.runs.sweep",
}
__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:  # pragma: no cover
    from sim.analysis.comparison import ComparisonResult, compare  # noqa: F401
    from sim.errors import NegsimError, Problem, ScenarioError, StoreError, UsageError  # noqa: F401
    from sim.present.figures import compare_many, draw_comparison, resume, run_sweep  # noqa: F401
    from sim.runs.batch import BatchResult, Job, run_batch, run_unit  # noqa: F401
    from sim.runs.sweep import SweepResult  # noqa: F401
    from sim.scenario.compile import compile_scenario  # noqa: F401
    from sim.scenario.loading import load_scenario  # noqa: F401
    from sim.scenario.models import Scenario  # noqa: F401


def __getattr__(name: str) -> Any:
    if name == "__version__":  # pyproject.toml's, from the installed metadata (sim.version)
        from sim.version import version

        return version()
    if name in _EXPORTS:
        value = getattr(import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'sim' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS) | {"__version__"})
