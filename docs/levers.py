"""Write docs/levers.md, tests/data/levers.json and sim/shipped/sensitivity.json: what each parameter moves.

    .venv/bin/python docs/levers.py   # about 11 minutes on 2 idle cores (53 beside four other jobs on 2 cores)

Every parameter the baseline sets (sim.analysis.levers.default_levers: actors,
negotiation, battlefield, issues and any other block with registry slots) at
the ends of its plausible range (sim.scenario.plausible, each with its reason):

1. one lever at a time, 5,000 paired runs (seed 7) at the low and the high
   setting measure the change in P(agreement), P(no_talks), the mix of results
   (total variation) and the mean month of agreement, each with its 95%
   interval; the live ones go to tests/data/levers.json, which
   tests/test_levers.py checks stay live;
2. a Morris screen of every number over the same ranges, with each mu*'s 95%
   interval and the noise floor (sim.analysis.sensitivity.morris_screen);
3. Sobol indices (S1, ST with intervals) of the ten parameters first by mu*;
4. the top of the Morris ranking to sim/shipped/sensitivity.json, which
   `negsim evidence` prints as the assumptions the headline rests on.

Budgets are arguments (--help); tests/test_levers.py runs the whole pipeline on a tiny one.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
from sim.analysis.levers import THRESHOLDS, Lever, default_levers, lever_effect  # noqa: E402
from sim.analysis.sensitivity import headline, morris_screen, sobol_indices  # noqa: E402
from sim.scenario import registry  # noqa: E402
from sim.scenario.evidence import data_digest  # noqa: E402
from sim.scenario.plausible import plausible_range  # noqa: E402

RUNS, SEED = 5000, 7
# Morris: (parameters + 1) x TRAJECTORIES points of MORRIS_RUNS replicates; Sobol: 12 x SOBOL_N
# points of SOBOL_RUNS. Chosen so the whole run takes about 12 minutes on 2 cores (docs/levers.md states the time).
MORRIS_TRAJECTORIES, MORRIS_RUNS = 50, 1000
SOBOL_TOP, SOBOL_N, SOBOL_RUNS = 10, 256, 1000
HEADLINE = 5  # parameters `negsim evidence` names
WORKERS = 2

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

# Levers whose mechanism the baseline leaves idle: the settings under which each is measured again (held at
# both ends), and why the baseline cannot show it. A lever dead at the baseline but live here is reported as
# live where its mechanism acts, with these settings.
GUARANTEE_ON = {"negotiation.guarantee.active": True}
WHERE_IT_ACTS: dict[str, tuple[dict, str]] = {
    "actors.moscow.red_lines[0].active": (
        {"actors.kyiv.minimum.land_returned": -1.0},
        "redundant at the baseline: the one trade that could tempt Moscow to give Crimea back is more land, and "
        "Kyiv's minimum (no cession) already rules it out; measured with Kyiv's land minimum lifted"),
    "actors.moscow.red_lines[1].active": (
        {"actors.kyiv.red_lines[0].active": False},
        "redundant at the baseline: Moscow would return more than a quarter of the land only for Crimea's "
        "recognition, which Kyiv's first red line rules out; measured with that red line off"),
    "negotiation.guarantee.relapse_cut": (GUARANTEE_ON, "the baseline offers no guarantee (scenarios/guarantee.yaml "
                                                         "does); measured with one offered"),
    "negotiation.guarantee.ceasefire_cut": (GUARANTEE_ON, "the baseline offers no guarantee; measured with one offered"),
    "negotiation.guarantee.value.kyiv": (GUARANTEE_ON, "the baseline offers no guarantee; measured with one offered"),
    "negotiation.guarantee.value.moscow": (GUARANTEE_ON, "the baseline offers no guarantee; measured with one offered"),
    "instruments.us_aid.front_km2": (
        {"instruments.us_aid.level": 0.0},
        "what US aid does to the front shows only when it is cut, which the baseline never does "
        "(scenarios/aid_pause.yaml does); measured with the aid cut from the start"),
    "instruments.us_aid.casualties": ({"instruments.us_aid.level": 0.0}, "as for its effect on the front: measured "
                                                                           "with the aid cut"),
    "instruments.eu_aid.front_km2": ({"instruments.eu_aid.level": 0.0}, "as for US aid: measured with the European "
                                                                          "aid cut"),
    "instruments.eu_aid.casualties": ({"instruments.eu_aid.level": 0.0}, "as for US aid: measured with the European "
                                                                           "aid cut"),
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


def main(argv: list[str] | None = None) -> int:
    a = parse_args(argv)
    sc = sim.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    started = time.perf_counter()
    rows = []
    acting = {}  # path -> the effect measured where the lever's mechanism acts
    chosen = [lv for lv in default_levers(sc) if not a.only or lv.path in a.only.split(",")]
    for lever in chosen[:a.max_levers]:
        e = lever_effect(sc, lever, a.lever_runs, SEED)
        rows.append(e)
        if not e.live and lever.path in WHERE_IT_ACTS:
            given = tuple(WHERE_IT_ACTS[lever.path][0].items())
            acting[lever.path] = lever_effect(sc, Lever(lever.path, lever.low, lever.high, given), a.lever_runs, SEED)
        print(f"{'live' if e.live else 'DEAD'} {lever.path}"
              + (f" ({'live' if acting[lever.path].live else 'DEAD'} where it acts)" if lever.path in acting else ""),
              flush=True)
    t_levers = time.perf_counter() - started
    levers = [e.lever for e in rows]
    morris = morris_screen(sc, levers, a.trajectories, a.morris_runs, SEED, a.workers)
    print(f"Morris: {morris['points']} points x {a.morris_runs} runs, {time.perf_counter() - started:.0f} s", flush=True)
    by_path = {lv.path: lv for lv in levers}
    top = [by_path[r["path"]] for r in morris["rows"][:a.sobol_top]]
    sobol = sobol_indices(sc, top, a.sobol_n, a.sobol_runs, SEED, a.workers)
    elapsed = time.perf_counter() - started
    print(f"Sobol: {sobol['points']} points x {a.sobol_runs} runs; {elapsed:.0f} s in all", flush=True)
    live = [e for e in rows if e.live] + [e for e in acting.values() if e.live]
    dead = [e for e in rows if not e.live and not (e.lever.path in acting and acting[e.lever.path].live)]
    data = {"runs": a.lever_runs, "seed": SEED, "thresholds": THRESHOLDS,
            "live": [{"path": e.lever.path, "low": e.lever.low, "high": e.lever.high, "moves": e.moved()}
                     | ({"given": dict(e.lever.given)} if e.lever.given else {}) for e in live],
            "dead": {e.lever.path: dead_reason(e) for e in dead},
            "positions": POSITIONS, "removed": REMOVED,
            "morris": {k: v for k, v in morris.items() if k != "rows"} | {"ranking": morris["rows"]},
            "sobol": sobol}
    times = {"levers": t_levers, "all": elapsed}
    Path(a.json).write_text(json.dumps(data, indent=1) + "\n")
    Path(a.md).write_text(render(sc, rows, acting, morris, sobol, times, a))
    Path(a.headline).write_text(json.dumps(headline_data(sc, morris, a), indent=1) + "\n")
    print(f"{sum(e.live for e in rows)} of {len(rows)} levers live at the baseline, "
          f"{sum(e.live for e in acting.values())} more where their mechanism acts; {elapsed:.0f} s")
    return 0


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lever-runs", type=int, default=RUNS, help="paired runs per lever (%(default)s)")
    p.add_argument("--trajectories", type=int, default=MORRIS_TRAJECTORIES, help="Morris trajectories (%(default)s)")
    p.add_argument("--morris-runs", type=int, default=MORRIS_RUNS, help="runs per Morris point (%(default)s)")
    p.add_argument("--sobol-top", type=int, default=SOBOL_TOP, help="parameters for Sobol (%(default)s)")
    p.add_argument("--sobol-n", type=int, default=SOBOL_N, help="Sobol base sample, a power of 2 (%(default)s)")
    p.add_argument("--sobol-runs", type=int, default=SOBOL_RUNS, help="runs per Sobol point (%(default)s)")
    p.add_argument("--workers", type=int, default=WORKERS, help="worker processes (%(default)s)")
    p.add_argument("--max-levers", type=int, default=None, help="only the first N levers (a quick check)")
    p.add_argument("--only", default="", help="only these levers, comma-separated paths (a quick check)")
    p.add_argument("--md", default=str(ROOT / "docs" / "levers.md"))
    p.add_argument("--json", default=str(ROOT / "tests" / "data" / "levers.json"))
    p.add_argument("--headline", default=str(ROOT / "sim" / "shipped" / "sensitivity.json"))
    return p.parse_args(argv)


def dead_reason(e) -> str:
    """Why a lever moves no outcome: the stated reason, or what was measured over its plausible range."""
    if e.lever.path in REASONS:
        return REASONS[e.lever.path][1]
    lv = e.lever
    held = f", with {_held(lv)}" if lv.given else ""
    return (f"weak over its plausible range ({lv.low} -> {lv.high}{held}): P(agreement) {_ci(e.agreement)} pts, "
            f"P(no_talks) {_ci(e.no_talks)} pts, results TV {e.terms[0]:.3f}, month {_m(e.month)}"
            f"{'; ' + _stages(e) if _stages(e) != '-' else ''}: none clears the bar beyond its interval")


def _held(lv) -> str:
    return ", ".join(f"`{k}` = {v}" for k, v in lv.given)


STAGE_LABELS = {"talks_month": ("month talks open", "months"), "partial": ("P(partial deal)", "pts"),
                "partial_month": ("month of the first partial deal", "months"), "ceasefire": ("P(ceasefire)", "pts"),
                "ceasefire_broken": ("P(ceasefire breaks down)", "pts"), "relapse": ("P(relapse)", "pts")}


def _stages(e) -> str:
    """The stage outcomes a lever moves by at least half their bar (value and 95% interval), or '-'."""
    out = []
    for name, (label, unit) in STAGE_LABELS.items():
        d = getattr(e, name)
        if abs(d[0]) >= THRESHOLDS[name] / 2:
            out.append(f"{label} {_ci(d) if unit == 'pts' else _m(d)}" + (" pts" if unit == "pts" else ""))
    return "; ".join(out) or "-"


def headline_data(sc, morris: dict, a: argparse.Namespace) -> dict:
    """What `negsim evidence` prints: the parameters the headline P(agreement) rests on most."""
    return {"scenario": sc.name, "scenario_digest": data_digest(sc), "written_by": "docs/levers.py",
            "output": "P(agreement)",
            "method": (f"Morris screen over plausible ranges: {morris['trajectories']} trajectories of "
                       f"{morris['runs']} runs per point, seed {SEED}; mu* is the mean absolute change in "
                       f"P(agreement) across a parameter's plausible range, with its 95% interval"),
            "noise_floor": morris["noise_floor"], "top": headline(morris, HEADLINE)}


def _ci(t) -> str:
    d, lo, hi = t
    return f"{d * 100:+.1f} [{lo * 100:+.1f}, {hi * 100:+.1f}]"


def _m(t) -> str:
    d, lo, hi = t
    return f"{d:+.2f} [{lo:+.2f}, {hi:+.2f}]"


def render(sc, rows, acting: dict, morris, sobol, times: dict, a: argparse.Namespace) -> str:
    live = sum(e.live for e in rows)
    where = sum(e.live for e in acting.values())
    out = [
        "# Levers: what each baseline parameter moves, and what the headline rests on",
        "",
        "Written by `docs/levers.py` (do not edit by hand); `tests/test_levers.py` fails if a lever",
        "listed here as live goes dead. Every parameter `scenarios/baseline.yaml` sets (actors,",
        "negotiation, battlefield, issues) is varied over its **plausible range**",
        "(`sim/scenario/plausible.py`: a rule per parameter with its reason, inside the registry's",
        "allowed range; a parameter the scenario draws per run takes the middle half, 25th to 75th",
        "percentile, of its own distribution). The ranges are listed with their reasons at the end.",
        "",
        f"**{live} of {len(rows)} levers are live at the baseline, and {where} more where the mechanism they belong "
        f"to acts** (a guarantee's parameters with a guarantee offered, an aid's effects with the aid cut, a red line "
        f"with the other side's overlapping constraint relaxed). {times['all']:.0f} s in all on {a.workers} workers "
        f"({times['levers']:.0f} s for the levers, one core).",
        "",
    ]
    out += _rests_on(morris, sobol)
    out += _lever_tables(rows, acting, a)
    out += _morris_table(morris)
    out += _sobol_table(sobol)
    out += _ranges_table(sc, rows)
    return "\n".join(out) + "\n"


def _rests_on(morris: dict, sobol: dict) -> list[str]:
    ranked = morris["rows"]
    dist = [r for r in ranked if r["distinguishable"]]
    top = [r for r in sobol["rows"] if r["ST"] - r["ST_conf"] > 0.05]
    names = ", ".join(f"`{r['path']}` (mu* {r['mu_star']:.3f})" for r in ranked[:HEADLINE])
    out = ["## What the headline rests on", "",
           f"P(agreement) rests most on {names}: the top of the Morris ranking below. "
           f"{len(dist)} of {len(ranked)} numbers move it distinguishably from run-to-run noise over their "
           f"plausible ranges; the others are below the noise floor or their interval reaches it."]
    if top:
        st = ", ".join(f"`{r['path']}` (ST {r['ST']:.2f})" for r in top)
        out.append(f"Of the {len(sobol['rows'])} first by mu*, the Sobol indices put most of the variance of "
                   f"P(agreement) on {st}; where ST is well above S1, the parameter acts through interactions.")
    out += ["These are the assumptions to check first before reading the headline numbers as more than an "
            "exploration of them.", ""]
    return out


def _lever_tables(rows, acting: dict, a: argparse.Namespace) -> list[str]:
    out = ["## One lever at a time", "",
           f"{a.lever_runs:,} paired runs (seed {SEED}, common random numbers) at the low and the high end of",
           "each plausible range. Columns: the change in P(agreement) and in P(no_talks), in points, with",
           "Newcombe's paired 95% interval; the total variation distance between the two",
           "distributions of results (no deal, or the agreed terms on every issue); the change in the",
           "month of agreement, paired over the runs that agree at both settings (mean difference, t",
           "interval); and the stages before and after a settlement: the month talks open, P(a partial",
           "deal) and the month of the first, P(a ceasefire), P(it breaks down) and P(a settlement relapses)",
           "(the stages column lists those that move by at least half their bar). A lever is **live** when one",
           f"of them moves by at least {THRESHOLDS['agreement'] * 100:.0f} point (a share), "
           f"{THRESHOLDS['terms']} (total variation) or {THRESHOLDS['month']} months (a month)",
           "and its interval excludes 0. Switches: off and on.", ""]
    out += _positions_table(rows, acting)
    out += ["", "### Every parameter", "",
            "| lever | low -> high | P(agreement), pts | P(no_talks), pts | results TV | month of agreement | stages | live |",
            "|---|---|---|---|---|---|---|---|"]
    for e in rows:
        lv = e.lever
        out.append(f"| `{lv.path}` | {lv.low} -> {lv.high} | {_ci(e.agreement)} | {_ci(e.no_talks)} | "
                   f"{e.terms[0]:.3f} | {_m(e.month)} | {_stages(e)} | "
                   f"{'yes: ' + ', '.join(e.moved()) if e.live else '**no**'} |")
    out += _acting_table(acting)
    dead = [e for e in rows if not e.live and not (e.lever.path in acting and acting[e.lever.path].live)]
    out += ["", "### Levers that move nothing, or too little, and why", "",
            "*Structural*: the model cannot respond to it in the baseline as built. *Weak*: it moves outcomes,",
            "but by less than the bar over its plausible range (where its mechanism acts, for those of the",
            "table above).", ""]
    if not dead:
        out.append("None.")
    for e in dead:
        kind = REASONS.get(e.lever.path, (WEAK, ""))[0]
        out.append(f"- `{e.lever.path}` ({kind}): {dead_reason(acting.get(e.lever.path, e))}.")
    out += ["", "### Parameters the baseline leaves out, and why", "",
            "The baseline does not set them and the schema's default applies (docs/scenarios.md); they are",
            "neither levers nor screened. Variants that need one set it.", ""]
    for path, why in REMOVED.items():
        out.append(f"- `{path}`: {why}.")
    return out + [""]


def _positions_table(rows, acting: dict) -> list[str]:
    by_path = {e.lever.path: e for e in rows}
    out = ["### Positions of the source document", "",
           "| position | lever | live at the baseline | what it moves |", "|---|---|---|---|"]
    for text, path in POSITIONS.items():
        e = by_path.get(path)
        if e is None:
            out.append(f"| {text} | `{path}` | - | - |")
            continue
        moved = ", ".join(e.moved()) or "-"
        if not e.live and path in acting:
            w = acting[path]
            moved = (f"where it binds ({_held(w.lever)}): " + (", ".join(w.moved()) if w.live else "nothing")
                     + f"; {WHERE_IT_ACTS[path][1].split(';')[0]}")
        out.append(f"| {text} | `{path}` | {'yes' if e.live else '**no**'} | {moved} |")
    return out


def _acting_table(acting: dict) -> list[str]:
    if not acting:
        return []
    out = ["", "### Mechanisms the baseline leaves idle, measured where they act", "",
           "A lever dead at the baseline because the mechanism it belongs to never acts there is measured",
           "again, the same way, with the settings in the second column held at both ends.", "",
           "| lever | held | P(agreement), pts | results TV | month of agreement | stages | live | why |",
           "|---|---|---|---|---|---|---|---|"]
    for path, e in acting.items():
        out.append(f"| `{path}` | {_held(e.lever)} | {_ci(e.agreement)} | {e.terms[0]:.3f} | {_m(e.month)} | "
                   f"{_stages(e)} | {'yes: ' + ', '.join(e.moved()) if e.live else '**no**'} | "
                   f"{WHERE_IT_ACTS[path][1]} |")
    return out


def _morris_table(morris: dict) -> list[str]:
    rows = morris["rows"]
    dist = sum(r["distinguishable"] for r in rows)
    out = ["## Morris screening", "",
           f"Elementary effects of every number above on P(agreement) over its plausible range: "
           f"{morris['trajectories']} Morris trajectories ({morris['points']:,} points, 4 levels) of "
           f"{morris['runs']:,} runs each, seed {morris['seed']}, common random numbers "
           "(`sim.analysis.sensitivity.morris_screen`). mu* is the mean absolute elementary effect (the change in",
           "P(agreement) across the whole range), with SALib's 95% interval over trajectories; sigma is its spread",
           "(interactions, non-linearity); the month column is mu* of the mean month of agreement (months).",
           f"The **noise floor**, {morris['noise_floor']:.4f}, is the mu* that run-to-run sampling alone scores (the",
           "same analysis of the change under resampled replicates, 95th percentile); a parameter is",
           "**distinguishable** when the low end of its interval is above it. "
           f"{dist} of {len(rows)} are. Run-to-run noise is {(morris['noise_share'] or 0) * 100:.2f}% of the variance",
           f"of P(agreement) across points; {morris['share_at_bounds'] * 100:.0f}% of points sit at P(agreement)",
           "below 1% or above 99%.", "",
           "| rank | parameter | range | mu* [95%] | sigma | month mu* [95%] | distinguishable |",
           "|---|---|---|---|---|---|---|"]
    for i, r in enumerate(rows, 1):
        out.append(f"| {i} | `{r['path']}` | {r['low']}..{r['high']} | {r['mu_star']:.4f} ± {r['mu_star_conf']:.4f} | "
                   f"{r['sigma']:.4f} | {r['month_mu_star']:.2f} ± {r['month_mu_star_conf']:.2f} | "
                   f"{'yes' if r['distinguishable'] else 'no'} |")
    return out + [""]


def _sobol_table(sobol: dict) -> list[str]:
    out = ["## Sobol indices of the ten first by mu*", "",
           f"Saltelli's scheme (SALib, first and total order, no second order): N = {sobol['n']}, "
           f"{sobol['points']:,} points of {sobol['runs']:,} runs, seed {sobol['seed']}, over the same ranges",
           "(the other parameters at their baseline values). S1 is the share of the variance of P(agreement)",
           "a parameter explains alone, ST with all its interactions; ± is SALib's 95% interval over the",
           "design, and the replicates interval is the 95% range over resampled replicates.",
           f"{sobol['verdict']}", "",
           "| parameter | S1 | ST | ST, replicates interval |", "|---|---|---|---|"]
    for r in sobol["rows"]:
        out.append(f"| `{r['path']}` | {r['S1']:.3f} ± {r['S1_conf']:.3f} | {r['ST']:.3f} ± {r['ST_conf']:.3f} | "
                   f"[{r['ST_noise_lo']:.3f}, {r['ST_noise_hi']:.3f}] |")
    s1 = sum(r["S1"] for r in sobol["rows"])
    out += ["", f"The first-order indices sum to {s1:.2f}: "
            + ("most of the variance is in single parameters' own effects." if s1 >= 0.7 else
               "a large part of the variance is in interactions (P(agreement) is bounded by 0 and 1, and the "
               "thresholds of hurt and cost interact)."), ""]
    return out


def _ranges_table(sc, rows) -> list[str]:
    slots = registry.parameter_slots(sc)
    out = ["## Plausible ranges and their reasons", "",
           "From `sim/scenario/plausible.py` (`plausible_range`), around the baseline's value.", "",
           "| parameter | baseline | range | reason |", "|---|---|---|---|"]
    for e in rows:
        if isinstance(e.lever.low, bool):
            continue
        low, high, why = plausible_range(slots, e.lever.path)
        out.append(f"| `{e.lever.path}` | {slots[e.lever.path].param.describe()} | {low}..{high} | {why} |")
    return out


if __name__ == "__main__":
    raise SystemExit(main())
