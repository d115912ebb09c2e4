"""Run records: the one table both engines produce, one row per run.

An engine returns a dict of raw arrays (leading run axis); :func:`to_frame`
turns it into the results table written to ``results.parquet``. Columns:

==========================  ================================================
``replicate``               replicate number (the run's seed key)
``outcome``                 ``no_talks``, ``talks_failed`` or ``agreement``
``outcome_class``           named class of an agreement's terms (the first
                            matching ``outcome_classes`` rule, else
                            ``agreement``); the outcome otherwise
``talks_month``             month talks first opened (null: never)
``talks_rounds``            times talks opened (they can break down and reopen)
``agreement_month``         month of the ratified agreement (null: none)
``term_<issue>``            agreed option of each issue (null: no agreement)
``utility_<government>``    each government's utility of the deal
``utility_<public>``        each public's utility of the deal (its government's preferences)
``land_km2``                km2 that change hands under the deal's land term, at
                            the line of the day: > 0 returned to the ukraine side,
                            < 0 ceded to the russia side, 0 a freeze (and no deal)
``lead_mediator``           lead mediator of the last proposal (null: none)
``proposals``               proposals made
``offers_<government>``     proposals made by each government
``offers_mediator``         proposals made by the lead mediator
``territory_end_km2``       territory held by Russia at the end
``kursk_end_km2``           Ukraine-held Kursk area at the end
``kursk_retaken_month``     month the Kursk area reached 0 (null: never)
``casualties_<government>`` cumulative casualties of each side
``hurt_end_<government>``   hurt at the end
``drift_belief_<government>`` believed monthly drift of the front at the end (km2 to Russia)
``weariness_end_<public>``  war-weariness at the end
``param:<path>``            the value drawn for each uncertain parameter
==========================  ================================================

The run ends at the agreement: the battlefield stops there.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sim.scenario.compile import Compiled

OUTCOMES = ("no_talks", "talks_failed", "agreement")
RAW_FIELDS = ("talks_month", "talks_rounds", "agreement_month", "deal", "u_deal", "land_km2", "lead",
              "proposals", "offers", "territory", "kursk", "kursk_month", "casualties", "hurt", "drift", "weariness")


def _nullable(months: np.ndarray) -> pd.Series:
    return pd.Series(pd.array(np.where(months >= 0, months, 0), dtype="Int64")).mask(months < 0)


def _names(values: np.ndarray, names: list[str]) -> pd.Series:
    lookup = np.array([*names, None], dtype=object)
    return pd.Series(lookup[np.where(values >= 0, values, len(names))], dtype="string")


def to_frame(c: Compiled, raw: dict[str, np.ndarray], replicates: np.ndarray,
             params: dict[str, np.ndarray]) -> pd.DataFrame:
    """Build the results table of a block of runs from an engine's raw arrays."""
    deal = raw["deal"]
    agreed = deal >= 0
    outcome = np.where(agreed, 2, np.where(raw["talks_month"] >= 0, 1, 0))
    cls = np.array(OUTCOMES, dtype=object)[outcome]
    for name, mask in reversed(c.outcome_classes):  # first matching rule wins
        cls = np.where(agreed & mask[np.where(agreed, deal, 0)], name, cls)
    out: dict[str, object] = {
        "replicate": np.asarray(replicates, dtype=np.int64),
        "outcome": pd.Series(np.array(OUTCOMES, dtype=object)[outcome], dtype="string"),
        "outcome_class": pd.Series(cls, dtype="string"),
        "talks_month": _nullable(raw["talks_month"]),
        "talks_rounds": raw["talks_rounds"].astype(np.int64),
        "agreement_month": _nullable(raw["agreement_month"]),
    }
    for k, issue in enumerate(c.issues):
        opts = c.package_options[np.where(agreed, deal, 0), k]
        out[f"term_{issue}"] = _names(np.where(agreed, opts, -1), c.options[k])
    for g, gov in enumerate(c.governments):
        out[f"utility_{gov}"] = np.where(agreed, raw["u_deal"][:, g], np.nan)
    for g, pub in enumerate(c.publics):
        if pub is not None:
            out[f"utility_{pub}"] = np.where(agreed, raw["u_deal"][:, g], np.nan)
    out["land_km2"] = np.where(agreed, raw["land_km2"], 0.0)
    out["lead_mediator"] = _names(raw["lead"], c.mediators)
    out["proposals"] = raw["proposals"].astype(np.int64)
    for g, gov in enumerate(c.governments):
        out[f"offers_{gov}"] = raw["offers"][:, g].astype(np.int64)
    out["offers_mediator"] = raw["offers"][:, 2].astype(np.int64)
    out["territory_end_km2"] = raw["territory"]
    out["kursk_end_km2"] = raw["kursk"]
    out["kursk_retaken_month"] = _nullable(raw["kursk_month"])
    for g, gov in enumerate(c.governments):
        out[f"casualties_{gov}"] = raw["casualties"][:, g]
    for g, gov in enumerate(c.governments):
        out[f"hurt_end_{gov}"] = raw["hurt"][:, g]
    for g, gov in enumerate(c.governments):
        out[f"drift_belief_{gov}"] = raw["drift"][:, g]
    for g, pub in enumerate(c.publics):
        if pub is not None:
            out[f"weariness_end_{pub}"] = raw["weariness"][:, g]
    for path in c.uncertain:
        s = c.slots[path]
        out[f"param:{path}"] = params[s.name][(slice(None), *s.index)]
    frame = pd.DataFrame({k: (v.reset_index(drop=True) if isinstance(v, pd.Series) else v) for k, v in out.items()})
    return frame


def stack_runs(runs: list[dict[str, object]]) -> dict[str, np.ndarray]:
    """Stack per-run raw records (scalars, small arrays) into arrays with a run axis."""
    return {k: np.array([r[k] for r in runs]) for k in RAW_FIELDS}
