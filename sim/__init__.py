"""negsim: scenario simulation of negotiation outcomes.

Public API::

    import sim
    scenario = sim.load_scenario("scenarios/baseline.yaml")
    result = sim.run_batch(scenario, runs=2000, seed=1, workers=2)
    result.runs        # pandas DataFrame, one row per run
    result.summary()   # outcome probabilities with 95% intervals, distributions
    sweep = sim.run_sweep(scenario, {"actors.moscow.resolve": "0.5,0.7,0.9"}, runs=200)
    diff = sim.compare("scenarios/baseline.yaml", "scenarios/eu_uk_mediation.yaml", runs=2000)
"""

from sim.batch import BatchResult, resume, run_batch
from sim.comparison import ComparisonResult, compare
from sim.compile import compile_scenario
from sim.errors import NegsimError, Problem, ScenarioError, StoreError, UsageError
from sim.scenario import Scenario, load_scenario
from sim.sweep import SweepResult, run_sweep

__all__ = [
    "BatchResult",
    "ComparisonResult",
    "SweepResult",
    "compare",
    "resume",
    "run_sweep",
    "NegsimError",
    "Problem",
    "Scenario",
    "ScenarioError",
    "StoreError",
    "UsageError",
    "compile_scenario",
    "load_scenario",
    "run_batch",
]
__version__ = "0.1.0"
