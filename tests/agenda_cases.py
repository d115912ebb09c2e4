"""Mid-size scenarios for the wiring of the proposal search (tests/test_agenda_search.py): small enough to
enumerate, large enough to search (a few hundred to a few thousand packages).

``mid_scenario`` is the baseline with three security issues of scenarios/agenda_2025.yaml (NATO, foreign forces,
a guarantee linked to the forces), their options, ideals and no-deal points as there, and saliences taken from
the baseline's issues: 48 x 27 = 1,296 packages, with a link and a minimum term on the linked issue.
"""

from __future__ import annotations

import copy
import shutil
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
BASE = yaml.safe_load((ROOT / "scenarios" / "baseline.yaml").read_text(encoding="utf-8"))
AGENDA = yaml.safe_load((ROOT / "scenarios" / "agenda_2025.yaml").read_text(encoding="utf-8"))
SECURITY = ("nato_membership", "foreign_forces", "security_guarantee")


def mid_scenario(tmp_path: Path, issues: tuple[str, ...] = SECURITY, share: float = 0.3,
                 minimum: bool = True) -> Path:
    """The baseline with ``issues`` of the agenda added, weighing ``share`` of each government's salience."""
    data = copy.deepcopy(BASE)
    data["name"] = "mid_" + "_".join(i[:4] for i in issues)
    for name in issues:
        data["issues"][name] = copy.deepcopy(AGENDA["issues"][name])
    for gov, actor in data["actors"].items():
        if actor.get("role") != "government":
            continue
        sal = actor["salience"]
        for k in [k for k in sal if k != "assumption" and not isinstance(sal[k], dict)]:
            sal[k] = float(sal[k]) * (1.0 - share)  # an uncertain salience is renormalised with the others
        for name in issues:
            sal[name] = share / len(issues)
            actor.setdefault("ideal", {})[name] = copy.deepcopy(AGENDA["actors"][gov]["ideal"][name])
        if minimum and gov == "kyiv" and "security_guarantee" in issues:
            actor.setdefault("minimum", {})["security_guarantee"] = copy.deepcopy(
                AGENDA["actors"]["kyiv"]["minimum"]["security_guarantee"])
    path = tmp_path / f"{data['name']}.yaml"
    path.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    shutil.copytree(ROOT / "seeds", tmp_path / "seeds", dirs_exist_ok=True)
    return path
