"""Write docs/levers.md and tests/data/levers.json: which baseline parameters move which outcomes.

    .venv/bin/python docs/levers.py            # about 5 minutes on one core

For every parameter the baseline sets for an actor (sim.analysis.levers.default_levers),
5,000 paired runs at a low and a high setting (seed 7) measure the change in
P(agreement), P(no_talks), the mix of results (total variation) and the mean
month of agreement, each with its 95% interval. Then a Morris screening of
every numeric actor parameter over the same ranges (SALib's trajectories
through negsim's sweep machinery) ranks them, with the noise floor that
run-to-run sampling alone would give. The published list of live levers goes
to tests/data/levers.json, which tests/test_levers.py checks stays live.
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
from sim.analysis.levers import THRESHOLDS, default_levers, lever_effect  # noqa: E402

RUNS, SEED = 5000, 7
MORRIS_TRAJECTORIES, MORRIS_RUNS = 10, 400

# The positions of the source document and the lever that encodes each.
POSITIONS = {
    "Kyiv will not recognise Crimea as Russian": "actors.kyiv.red_lines[0].active",
    "Kyiv will not recognise any occupied territory as Russian": "actors.kyiv.red_lines[1].active",
    "Moscow will not negotiate Crimea's status": "actors.moscow.red_lines[0].active",
    "Moscow offers only \u201climited\u201d concessions": "actors.moscow.red_lines[1].active",
    "Moscow's precondition: Ukraine out of Kursk before talks": "actors.moscow.preconditions[0].active",
    "Half of Ukrainians want the war to end (Gallup)": "actors.ukraine_public.weariness",
    "Ukrainians prefer European or UK mediation over US": "actors.ukraine_public.mediator_preference.eu_uk",
}

# Why a lever moves nothing (or too little to clear the thresholds) in the baseline.
INERT = "structural"
WEAK = "weak"
REASONS: dict[str, tuple[str, str]] = {}  # path -> (INERT or WEAK, why); no lever of this calibration is dead

# Parameters the baseline leaves out (schema defaults apply), and why: each moved no outcome in the
# baseline when it was set (docs/levers.md of the previous calibration), and the baseline has no use for it.
REMOVED = {
    "actors.kyiv.ideal.crimea_status": "pinned: Kyiv's and Moscow's red lines leave only `status_deferred`, also "
                                       "the no-deal point; the default (the ukraine side's end, 1) is the stated "
                                       "position",
    "actors.kyiv.ideal.legal_recognition": "pinned: Kyiv's red line leaves only `not_recognised`, also the no-deal "
                                           "point; the default (1) is the stated position",
    "actors.moscow.ideal.crimea_status": "pinned by the two red lines, as for Kyiv; the default (the russia side's "
                                         "end, 0) is the stated position",
    "actors.moscow.ideal.legal_recognition": "pinned by Kyiv's red line; the default (0) is Moscow's position",
    "actors.kyiv.casualties.sd": "a spread the source does not give; Kyiv's hurt does not hold talks back, so the "
                                 "noise averaged out (default 0)",
    "actors.ukraine_public.weariness_noise": "poll noise the source does not give (default 0); set to 0.1 it moves "
                                             "the mix of terms by a total variation of 0.05, the bar, and no other "
                                             "outcome",
    "actors.russia_public.weariness_noise": "poll noise the source does not give; set to 0.1 it moved no outcome "
                                            "(default 0)",
    "actors.russia_public.ratification.threshold": "no vote in Russia (`ratifies: false`); a variant that turns the "
                                                   "vote on sets its own bar",
    "actors.russia_public.ratification.spread": "no vote in Russia, as above",
    "actors.russia_public.ratification.weariness_effect": "no vote in Russia, as above",
    "actors.russia_public.ratification.legitimacy": "no vote in Russia, as above",
    "actors.russia_public.mediator_preference.us": "no poll of Russians in the source; without a weight it changes "
                                                   "nothing (Moscow chooses mediators by its own trust)",
    "actors.russia_public.mediator_preference.eu_uk": "no poll of Russians in the source; with its weight it moved "
                                                      "terms by a total variation of 0.04 only",
    "actors.russia_public.preference_weight": "nothing to weigh without a preference (default 0: Moscow chooses by "
                                              "its own trust)",
    "actors.ukraine_public.preference_weight": "the source says nothing of how Kyiv weighs its public's choice of "
                                               "mediator, and no weight from 0.1 to 0.9 moved an outcome (the "
                                               "public's 65-35 split is close to Kyiv's own trust, 0.7 and 0.5; TV "
                                               "0.009); default 0: Kyiv chooses by its own trust, and the public's "
                                               "preference for European mediation counts at the vote "
                                               "(`ratification.legitimacy`), where it is live",
}


def main() -> int:
    sc = sim.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    started = time.perf_counter()
    rows = []
    for lever in default_levers(sc):
        e = lever_effect(sc, lever, RUNS, SEED)
        rows.append(e)
        print(f"{'live' if e.live else 'DEAD'} {lever.path}", flush=True)
    morris = morris_screening(sc, [e.lever for e in rows if not isinstance(e.lever.low, bool)])
    elapsed = time.perf_counter() - started
    live = [e for e in rows if e.live]
    data = {"runs": RUNS, "seed": SEED, "thresholds": THRESHOLDS,
            "live": [{"path": e.lever.path, "low": e.lever.low, "high": e.lever.high, "moves": e.moved()}
                     for e in live],
            "dead": {e.lever.path: REASONS.get(e.lever.path, ("", ""))[1] for e in rows if not e.live},
            "positions": POSITIONS, "removed": REMOVED}
    (ROOT / "tests" / "data" / "levers.json").write_text(json.dumps(data, indent=1) + "\n")
    (ROOT / "docs" / "levers.md").write_text(render(rows, morris, elapsed))
    print(f"{len(live)} of {len(rows)} levers live; {elapsed:.0f} s")
    return 0


def morris_screening(sc, levers) -> dict:
    params = {lv.path: f"{lv.low}..{lv.high}" for lv in levers}
    res = sim.run_sweep(sc, params, design="morris", points=MORRIS_TRAJECTORIES, runs=MORRIS_RUNS, seed=SEED,
                        out=None, figures=False)
    sens = res.sensitivity["p_agreement"]
    idx = sens["indices"]
    p = np.array([s["outcomes"]["agreement"]["p"] for s in res.summary()["points"]]) \
        if "points" in res.summary() else None
    # Noise floor: the mu* that run-to-run sampling alone gives. An elementary effect is a
    # difference of two point estimates over a step of 2/3 of the range (4 levels), each with
    # binomial variance p(1-p)/n; |N(0, 2v)| has mean sqrt(2v) * sqrt(2/pi). Common random
    # numbers make the true floor lower: this one is an upper bound.
    pbar = float(np.mean(p)) if p is not None else 0.5
    v = pbar * (1 - pbar) / MORRIS_RUNS
    floor = math.sqrt(2 * v) * math.sqrt(2 / math.pi) / (2 / 3)
    return {"indices": idx, "noise_floor": floor, "noise_share": sens["noise_share"],
            "points": len(res.points), "runs": MORRIS_RUNS}


def _ci(t) -> str:
    d, lo, hi = t
    return f"{d * 100:+.1f} [{lo * 100:+.1f}, {hi * 100:+.1f}]"


def _m(t) -> str:
    d, lo, hi = t
    return f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]"


def render(rows, morris, elapsed: float) -> str:
    live = sum(e.live for e in rows)
    by_path = {e.lever.path: e for e in rows}
    out = [
        "# Levers: what each baseline parameter moves",
        "",
        "Written by `docs/levers.py` (do not edit by hand); `tests/test_levers.py` fails if a lever",
        "listed here as live goes dead. For every parameter `scenarios/baseline.yaml` sets for an",
        f"actor, {RUNS:,} paired runs (seed {SEED}, common random numbers) at a low and a high",
        "setting. Columns: the change in P(agreement) and in P(no_talks), in points, with",
        "Newcombe's paired 95% interval; the total variation distance between the two",
        "distributions of results (no deal, or the agreed terms on every issue); the change in the",
        "month of agreement, paired over the runs that agree at both settings (mean difference, t",
        "interval). A lever is **live** when one of them moves",
        f"by at least {THRESHOLDS['agreement'] * 100:.0f} point, {THRESHOLDS['no_talks'] * 100:.0f} point,",
        f"{THRESHOLDS['terms']} or {THRESHOLDS['month']} months and its interval excludes 0.",
        "Settings: unit-range parameters 0.1 and 0.9; other numbers a quarter and twice their value;",
        "ideals across half their scale; discount 0.95 and 0.995; uncertain parameters their 10th",
        "and 90th percentiles; switches off and on.",
        "",
        f"**{live} of {len(rows)} levers are live** ({elapsed:.0f} s to measure on one core).",
        "",
        "## Positions of the source document",
        "",
        "| position | lever | live | what it moves |",
        "|---|---|---|---|",
    ]
    for text, path in POSITIONS.items():
        e = by_path.get(path)
        moved = ", ".join(e.moved()) if e else "-"
        out.append(f"| {text} | `{path}` | {'yes' if e and e.live else '**no**'} | {moved or '-'} |")
    out += ["", "## Every actor parameter", "",
            "| lever | low -> high | P(agreement), pts | P(no_talks), pts | results TV | month of agreement | live |",
            "|---|---|---|---|---|---|---|"]
    for e in rows:
        lv = e.lever
        out.append(f"| `{lv.path}` | {lv.low} -> {lv.high} | {_ci(e.agreement)} | {_ci(e.no_talks)} | "
                   f"{e.terms[0]:.3f} | {_m(e.month)} | {'yes: ' + ', '.join(e.moved()) if e.live else '**no**'} |")
    dead = [e for e in rows if not e.live]
    out += ["", "## Levers that move nothing, or too little, and why", "",
            "*Structural*: the model cannot respond to it in the baseline as built (a spread, a switch that",
            "is off, an option pinned by red lines, a red line that never binds). *Weak*: it moves outcomes,",
            "but by less than the thresholds above over its range.", ""]
    if not dead:
        out.append("None.")
    for e in dead:
        kind, why = REASONS.get(e.lever.path, ("unexplained", "not yet explained: a defect of the model to look into"))
        out.append(f"- `{e.lever.path}` ({kind}): {why}.")
    out += ["", "## Parameters the baseline leaves out, and why", "",
            "Each moved no outcome when the baseline set it; the baseline now leaves it out and the",
            "schema's default applies (docs/scenarios.md). Variants that need one set it.", ""]
    for path, why in REMOVED.items():
        out.append(f"- `{path}`: {why}.")
    idx = morris["indices"] or {}
    out += ["", "## Morris screening", "",
            "Elementary effects of every numeric actor parameter on P(agreement) over the ranges above:",
            f"{MORRIS_TRAJECTORIES} Morris trajectories ({morris['points']} points) of {morris['runs']} runs each, seed {SEED}",
            "(`sim.run_sweep(..., design=\"morris\")`). mu* is the mean absolute elementary effect (change",
            "in P(agreement) over the whole range), sigma its spread (interactions, non-linearity). The",
            f"noise floor, {morris['noise_floor']:.3f}, is the mu* that sampling noise alone would give",
            "without common random numbers (an upper bound: paired points share their replicates); a",
            "parameter below it is not distinguishable from noise by this screening. Run-to-run noise is",
            f"{(morris['noise_share'] or 0) * 100:.1f}% of the variance of P(agreement) across points.",
            "", "| parameter | mu* | sigma | above the noise floor |", "|---|---|---|---|"]
    for name, r in sorted(idx.items(), key=lambda kv: -kv[1]["mu_star"]):
        out.append(f"| `{name}` | {r['mu_star']:.3f} | {r['sigma']:.3f} | "
                   f"{'yes' if r['mu_star'] > morris['noise_floor'] else 'no'} |")
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
