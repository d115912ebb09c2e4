"""Barren runs (kernel.Kernel.barren: no package passes both governments' filters) across events that change the
filters: a batch kernel (lazy reader, barren runs' pools not read again and their rounds cut down) gives the runs of
the full kernel (no barren skip) to the bit, and the event does turn barren runs feasible (so a skip that outlived
the event would change them)."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import yaml

import sim
from sim.engine.kernel import Kernel
from sim.engine.shocks import draw
from sim.scenario.compile import compile_scenario

ROOT = Path(__file__).resolve().parents[1]
TIMED = {"month": 6, "set": {"actors.moscow.minimum.land_returned": -0.25,
                             "actors.moscow.minimum.third_party_recognition": 0.0},
         "assumption": "a test: Moscow's land and recognition minimums drop at month 6"}
HAZARD = {"hazard": 0.01, "set": {"actors.moscow.minimum.land_returned": -0.25,
                                  "actors.moscow.minimum.third_party_recognition": 0.0},
          "assumption": "a test: a new leader in Moscow drops its land and recognition minimums"}


def agenda_with(tmp: Path, event: dict) -> sim.Scenario:
    data = yaml.safe_load((ROOT / "scenarios" / "agenda_2025.yaml").read_text(encoding="utf-8"))
    base = yaml.safe_load((ROOT / "scenarios" / "baseline.yaml").read_text(encoding="utf-8"))
    data["events"] = [*base.get("events", []), event]
    (tmp / "agenda.yaml").write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    shutil.copy(ROOT / "scenarios" / "baseline.yaml", tmp / "baseline.yaml")
    shutil.copytree(ROOT / "seeds", tmp / "seeds", dirs_exist_ok=True)
    return sim.load_scenario(tmp / "agenda.yaml")


@pytest.mark.parametrize("event", [TIMED, HAZARD], ids=["timed", "hazard"])
def test_barren_runs_are_read_again_after_an_event_that_changes_their_filters(tmp_path, event):
    c = compile_scenario(agenda_with(tmp_path, event))
    runs = 200
    k = Kernel(c, draw(c, 7, range(runs)))
    assert k.barren is not None
    revived = np.zeros(runs, bool)  # runs barren (flagged) when an event made their filters pass
    while k.month < c.horizon:
        was = k.barren.copy()
        infeasible = ~k.pools.feasible.copy()
        k.step()
        revived |= was & infeasible & k.pools.feasible
    lazy = k.raw()
    full = Kernel(c, draw(c, 7, range(runs)), full=True).run().raw()
    for name in lazy:
        assert np.array_equal(lazy[name], full[name], equal_nan=lazy[name].dtype.kind == "f"), name
    assert revived.sum() >= 5 and (lazy["deal"][revived] >= 0).any()  # the skip would have mattered
