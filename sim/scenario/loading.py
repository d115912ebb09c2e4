"""Load a scenario: read and validate it (sim.scenario.models), then check its quotes (sim.scenario.evidence).

The two stages meet here, above both, so neither imports the other back.
"""

from __future__ import annotations

from pathlib import Path

from sim.errors import ScenarioError
from sim.scenario.evidence import check_quotes
from sim.scenario.models import Scenario, read_scenario


def load_scenario(path: str | Path, *, check_evidence: bool = True,
                  seeds: list[str | Path] | None = None) -> Scenario:
    """Load, merge (`extends:`), validate and evidence-check a scenario file.

    Evidence documents are looked for as :func:`sim.scenario.evidence.seed_folders`
    says; ``seeds`` adds folders to look in.

    Raises ScenarioError listing every problem found, each with file:line:col.
    """
    scenario, problems = read_scenario(path)
    if check_evidence:
        problems += check_quotes(scenario, seeds)
    if problems or not isinstance(scenario, Scenario):  # a file that fails validation has problems
        raise ScenarioError(problems)
    return scenario
