"""negsim: scenario simulation of negotiation outcomes.

Public API::

    import sim
    scenario = sim.load_scenario("scenarios/baseline.yaml")
    result = sim.run_batch(scenario, runs=2000, seed=1, workers=2)
    result.runs        # pandas DataFrame, one row per run
    result.summary()   # outcome probabilities with 95% intervals, distributions
"""

from sim.batch import BatchResult, run_batch
from sim.compile import compile_scenario
from sim.errors import NegsimError, Problem, ScenarioError, StoreError, UsageError
from sim.scenario import Scenario, load_scenario

__all__ = [
    "BatchResult",
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
