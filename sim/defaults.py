"""The defaults a user of negsim meets, each written once.

The library's functions, the scenario schema and the command's options (and
their help texts) read them from here; tests/test_facts.py checks that the
signatures of the library's entry points agree. This module imports nothing,
so ``negsim --help`` shows them without loading the model.
"""

from __future__ import annotations

ENGINES = ("vector", "agents")  # the first is the default
BLOCK = {"vector": 20000, "agents": 25}  # runs per block (a unit of work) of each engine; the vector engine's most
BLOCK_SPREAD = 1000  # the vector engine's default block is cut to give every worker a unit, not below this many runs
BLOCK_CELLS = 50_000_000  # at most this many runs x packages in a block of the kernel (fewer runs for many packages)
RUNS = 1000  # runs of a batch: negsim run, sim.run_batch
SEED = 0  # the root seed
WORKERS = 1  # worker processes
OUT = "runs"  # the folder in which run directories are made
BACKENDS = ("local", "dask")  # where units run; the first is the default
DESIGNS = ("grid", "lhs", "sobol", "morris")  # sweep designs; the first is the default
SWEEP_RUNS = 200  # replicates at every point of a sweep
HINDCAST_RUNS = 10000  # runs of negsim hindcast (in memory): a 1% event's share to within about 0.2 points
COMPARE_RUNS = 2000  # runs of a scenario file compared without a run directory of its own
REFERENCE_RUNS = 2000  # the model's runs that a played game (play, classroom) is set against
HOST = "127.0.0.1"  # the address the classroom and the dashboard listen on
CLASSROOM_PORT = 8000
DASHBOARD_PORT = 8001
CLASSROOM_STATE = "runs/classroom"  # where the classroom saves finished games
REPORT = "report.html"  # the page negsim report writes
PROGRESS_STEP = 10  # percent of the work between two progress lines (stderr not a terminal)
MAX_PACKAGES = 1000  # packages (the product of the issues' option counts) the engine enumerates; above, it searches
# (the proposal search of issue 18); NEGSIM_MAX_PACKAGES sets it
OUTCOME = "agreement"  # the outcome negsim discover looks for by default

# negsim calibrate (sim.analysis.calibrate): runs of each particle's batch, particles per generation, the most runs
# a calibration spends, and the runs of its posterior predictive check.
CALIBRATE_RUNS_PER_PARTICLE = 500
CALIBRATE_POPULATION = 200
CALIBRATE_BUDGET = 1_000_000
CALIBRATE_PPC_RUNS = 4000
