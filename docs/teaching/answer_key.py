"""Write docs/teaching/answer_key.md: the answers to the worksheet, from actual runs.

    .venv/bin/python docs/teaching/answer_key.py          # a few seconds

Runs every batch and paired comparison the worksheet asks about with the
seed and number of runs the worksheet gives (so a student's `negsim run` and
`negsim compare` print the same numbers), and the classroom scenario the class
plays. Nothing in answer_key.md is typed by hand: tests/test_teaching.py
regenerates it and fails when the file is out of date (for example after the
baseline is recalibrated; then run this script again and commit the result).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

import sim  # noqa: E402
from sim.runs.summary import wilson  # noqa: E402

sys.path.insert(0, str(Path(__file__).parent))
import choose_run  # noqa: E402

SEED, RUNS = 1, 2000
OUT = Path(__file__).with_name("answer_key.md")
FIGURE = Path(__file__).with_name("answer_key.png")
BASELINE = "scenarios/baseline.yaml"
# The worksheet's variants: (file, the question it puts, the mechanism it is about).
VARIANTS = [
    ("scenarios/eu_uk_mediation.yaml", "EU/UK-led mediation instead of US-led", "mediator bias and credibility"),
    ("scenarios/hawkish_public.yaml", "A Ukrainian public that asks more at ratification", "two-level game"),
    ("scenarios/high_war_weariness.yaml", "Both publics wearier of the war", "costs of war"),
    ("scenarios/us_push_month6.yaml", "The US raises its leverage in month 6", "mediator leverage"),
]
CLASSROOM = "scenarios/classroom.yaml"
OUTCOMES = ("no_talks", "talks_failed", "agreement")
# The stages of a peace process in order (sim.engine.records.STAGE_NAMES): a run's stage_reached is the furthest.
STAGES = ("war", "talks", "partial", "ceasefire", "settlement", "relapse")
# Each stage and the results column that says a run reached it (a run may skip one: a settlement with no partial
# deal or ceasefire before it).
STAGE_COLUMNS = {"talks": "talks_month", "partial": "first_partial_month", "ceasefire": "ceasefire_month",
                 "settlement": "settlement_month", "relapse": "relapse_month"}
STAGE_WORDS = {"war": "war only", "talks": "talks", "partial": "a partial deal", "ceasefire": "a ceasefire",
               "settlement": "a settlement", "relapse": "relapse: war again after the settlement"}


def pct(p: float) -> str:
    return f"{100 * p:.1f}%"


def interval(k: int, n: int) -> str:
    p, lo, hi = wilson(k, n)
    return f"{pct(p)} ({pct(lo)} - {pct(hi)})"


def month(values: pd.Series, q: float) -> str:
    return "-" if values.empty else f"{values.quantile(q, interpolation='lower'):.0f}"


def outcome_rows(runs: pd.DataFrame) -> list[str]:
    n = len(runs)
    return [f"| {o} | {interval(int((runs['outcome'] == o).sum()), n)} |" for o in OUTCOMES]


def class_rows(runs: pd.DataFrame, classes: list[str]) -> list[str]:
    agreed = runs[runs["outcome"] == "agreement"]
    rows = []
    for c in classes:
        k = int((agreed["outcome_class"] == c).sum())
        if k:
            rows.append(f"| {c} | {k} | {interval(k, len(agreed))} |")
    return rows


def stage_rows(runs: pd.DataFrame) -> list[str]:
    """Per stage: the runs that reached it (its results column is set), and those whose furthest stage it is."""
    n = len(runs)
    rows = []
    for stage in STAGES:
        reached = (f"{interval(int(runs[STAGE_COLUMNS[stage]].notna().sum()), n)}" if stage in STAGE_COLUMNS
                   else "-")
        rows.append(f"| {STAGE_WORDS[stage]} | {reached} | {interval(int((runs['stage_reached'] == stage).sum()), n)} |")
    cf, broke = int(runs["ceasefire_month"].notna().sum()), int(runs["ceasefire_broken_month"].notna().sum())
    settled, relapsed = int((runs["outcome"] == "agreement").sum()), int(runs["relapse_month"].notna().sum())
    rows += [f"| a ceasefire that broke down, among runs with one | {interval(broke, cf) if cf else '-'} | |",
             f"| relapse, among settlements | {interval(relapsed, settled) if settled else '-'} | |"]
    return rows


def timing_rows(runs: pd.DataFrame) -> list[str]:
    agreed = runs.loc[runs["outcome"] == "agreement", "agreement_month"].dropna()
    talks = runs["talks_month"].dropna()
    land = runs.loc[runs["outcome"] == "agreement", "land_km2"]
    n = len(runs)
    more = [(name, runs[col].dropna()) for name, col in (("first partial deal (month)", "first_partial_month"),
                                                        ("ceasefire (month)", "ceasefire_month"),
                                                        ("relapse (month)", "relapse_month"))]
    return [
        f"| talks opened (month) | {pct(len(talks) / n)} of runs | {month(talks, .1)} | {month(talks, .5)} | {month(talks, .9)} |",
        *[f"| {name} | {pct(len(v) / n)} of runs | {month(v, .1)} | {month(v, .5)} | {month(v, .9)} |"
          for name, v in more],
        f"| agreement (month) | {pct(len(agreed) / n)} of runs | {month(agreed, .1)} | {month(agreed, .5)} | {month(agreed, .9)} |",
        f"| km2 changing hands (< 0: ceded to Russia) | {len(land)} deals | {land.quantile(.1):,.0f} | {land.median():,.0f} | {land.quantile(.9):,.0f} |",
    ]


def batch_section(path: str, title: str) -> tuple[list[str], pd.DataFrame, list[str]]:
    result = sim.run_batch(ROOT / path, runs=RUNS, seed=SEED, out=None)
    runs = result.runs
    classes = [c for c in result.classes() if c not in (*OUTCOMES, "agreement")]
    agreed = runs[runs["outcome"] == "agreement"]
    lines = [f"### {title}", "", f"`negsim run {path} --runs {RUNS} --seed {SEED}`", "",
             "| outcome | share of runs (95% interval) |", "|---|---|", *outcome_rows(runs), "",
             f"Terms of the {len(agreed)} agreements (named classes):", "",
             "| class | deals | share of agreements (95% interval) |", "|---|---|---|",
             *class_rows(runs, classes), "",
             "| stage of the peace process | runs that reached it (95% interval) | runs whose furthest stage "
             "it was |", "|---|---|---|", *stage_rows(runs), "",
             "| timing and land | runs | 10th pct | median | 90th pct |", "|---|---|---|---|---|",
             *timing_rows(runs), ""]
    return lines, runs, classes


def headline(name: str, base: pd.DataFrame, other: pd.DataFrame) -> str:
    """One generated sentence per variant: agreement, the commonest class, the median deal and timing."""
    def parts(runs: pd.DataFrame) -> tuple[float, str, float, float]:
        agreed = runs[runs["outcome"] == "agreement"]
        return ((runs["outcome"] == "agreement").mean(), agreed["outcome_class"].mode().iloc[0],
                agreed["land_km2"].median(), agreed["agreement_month"].median())
    (pa, ca, la, ma), (pb, cb, lb, mb) = parts(base), parts(other)
    change = pb - pa
    word = "rises" if change > 0 else "falls" if change < 0 else "stays"
    return (f"- **{name}**: P(agreement) {word} from {pct(pa)} to {pct(pb)}; the commonest class of deal is "
            f"{cb} (baseline: {ca}); the median deal moves {lb:,.0f} km2 (baseline: {la:,.0f}; < 0 ceded to "
            f"Russia); the median agreement month is {mb:.0f} (baseline: {ma:.0f}).")


def comparison_section(figure: Path | None) -> list[str]:
    others = [v[0] for v in VARIANTS]
    result = sim.compare_many(ROOT / BASELINE, [ROOT / o for o in others], runs=RUNS, seed=SEED, out=None)
    if figure is not None:
        sim.draw_comparison(result, figure)
    tables = [sim.run_batch(ROOT / p, runs=RUNS, seed=SEED, out=None).runs for p in (BASELINE, *others)]
    lines = ["## The variants against the baseline (paired)", "",
             f"`negsim compare {BASELINE} {' '.join(others)} --runs {RUNS} --seed {SEED}`", "",
             "Same seed, same replicates: each run of a variant met the same front and the same dice as the "
             "baseline's run of that number, so the differences below are the variant's own effect. "
             "95% interval of the paired difference (Newcombe) and McNemar's p-value.", "",
             f"![Paired differences from the baseline, with 95% intervals]({FIGURE.name})", "",
             "Classes here are shares of all runs (a run without a deal is in no class), not of agreements.", "",
             *[headline(Path(path).stem, r_base, r_other) for path, r_base, r_other in
               ((v[0], tables[0], tables[i + 1]) for i, v in enumerate(VARIANTS))], "",
             "| variant | mechanism | outcome or class | baseline | variant | change (95% interval) | p-value |",
             "|---|---|---|---|---|---|---|"]
    for (path, _, mechanism), r in zip(VARIANTS, result.results, strict=True):
        table = r.comparison.outcomes
        for _, row in table.iterrows():
            if row["p_a"] == 0 and row["p_b"] == 0:
                continue
            lines.append(f"| {Path(path).stem} | {mechanism} | {row['outcome']} | {pct(row['p_a'])} | {pct(row['p_b'])} | "
                         f"{100 * row['diff']:+.1f} ({100 * row['lo']:+.1f} to {100 * row['hi']:+.1f}) points | "
                         f"{'< 0.001' if row['p_value'] < 0.001 else f'{row['p_value']:.3f}'} |")
    lines.append("")
    return lines


def classroom_section() -> list[str]:
    lines, runs, classes = batch_section(CLASSROOM, "The classroom scenario (`scenarios/classroom.yaml`)")
    agreed = runs[runs["outcome"] == "agreement"]
    shares = agreed["outcome_class"].value_counts(normalize=True)
    varied = [c for c in classes if shares.get(c, 0) > 0.05]
    months = agreed["agreement_month"]
    lines += [f"Classes above 5% of agreements: {len(varied)} ({', '.join(varied)}). "
              f"Deals by month 12: {pct((months <= 12).mean())} of agreements; by month 18: "
              f"{pct((months <= 18).mean())}. Lead mediator of the last proposal, among runs with a proposal: "
              + ", ".join(f"{k} {pct(v)}" for k, v in runs["lead_mediator"].value_counts(normalize=True).items())
              + ".", "",
              "Runs to tell in class (`negsim explain scenarios/classroom.yaml --seed 1 --replicate R`) or to "
              "play (`negsim play scenarios/classroom.yaml --as ROLE --seed 1 --replicate R`): the first replicates "
              "of each outcome and class, with the month talks opened, the month of the deal and the mediator who "
              "led the last proposal (a mediator has a move only in the rounds it leads).", "",
              "| outcome or class | replicate | talks open (month) | deal (month) | lead mediator | proposals "
              "| furthest stage | relapse (month) |",
              "|---|---|---|---|---|---|---|---|"]
    for name in (*OUTCOMES[:2], *classes):
        for _, row in runs[runs["outcome_class"] == name].head(3).iterrows():
            cells = [row["talks_month"], row["agreement_month"], row["lead_mediator"]]
            shown = ["-" if pd.isna(v) else str(v) for v in cells]
            relapse = "-" if pd.isna(row["relapse_month"]) else str(row["relapse_month"])
            lines.append(f"| {name} | {row['replicate']} | {' | '.join(shown)} | {row['proposals']} | "
                         f"{row['stage_reached']} | {relapse} |")
    lines += ["", *terms_rows(runs), *class_run_section()]
    lines += ["", "Runs that show each stage of the peace process (first replicates whose furthest stage it is):", "",
              "| furthest stage | replicates |", "|---|---|"]
    for stage in STAGES:
        reps = runs.loc[runs["stage_reached"] == stage, "replicate"].head(5).tolist()
        if reps:
            lines.append(f"| {stage} | {', '.join(str(r) for r in reps)} |")
    lines.append("")
    return lines


def terms_rows(runs: pd.DataFrame) -> list[str]:
    """The agreed terms issue by issue: each option's share of the agreements."""
    agreed = runs[runs["outcome"] == "agreement"]
    lines = [f"Terms of the {len(agreed)} agreements, issue by issue (share of agreements):", "",
             "| issue | terms agreed |", "|---|---|"]
    for col in [c for c in runs.columns if c.startswith("term_")]:
        shares = agreed[col].value_counts(normalize=True)
        lines.append(f"| {col.removeprefix('term_')} | " + ", ".join(f"{k} {pct(v)}" for k, v in shares.items()) + " |")
    return [*lines, ""]


def class_run_section() -> list[str]:
    """The run the class plays: scenarios/classroom.yaml's `play:` block, chosen by choose_run.py."""
    from sim.scenario.compile import compile_scenario

    sc = sim.load_scenario(ROOT / CLASSROOM)
    run = sc.model.play
    assert run is not None, "scenarios/classroom.yaml has no play: block (docs/teaching/choose_run.py writes it)"
    facts = choose_run.examine(compile_scenario(sc), run.seed, run.replicate)
    end = (f"a deal in month {facts.agreement_month}" if facts.agreement_month is not None
           else f"{facts.outcome} at month {facts.horizon}")
    return ["### The run the class plays", "",
            f"`negsim play {CLASSROOM} --as ROLE` plays seed {run.seed}, replicate {run.replicate}: the run "
            "`play:` in the scenario names, chosen by `docs/teaching/choose_run.py` (every role has at least "
            f"{choose_run.MIN_DECISIONS} decisions, the talks last {choose_run.MIN_TALK_MONTHS} months or more, the "
            "offers differ on at least two issues). The classroom server and `negsim explain` take the same run.", "",
            f"The model's own play of it: talks open in month {facts.talks_month} and end in {end}; "
            f"{facts.offers} offers, differing on {len(facts.varying)} issues ({', '.join(facts.varying)}).", "",
            "| role | decisions (moves on the ground included) | of them in the talks |", "|---|---|---|",
            *[f"| {role} | {facts.decisions[role]} | {facts.talks[role]} |" for role in choose_run.roles(
                compile_scenario(sc))], "",
            "The run's uncertain numbers, as drawn (the resolves are each side's private information, the rest "
            "both sides know within the run; `negsim evidence` gives their ranges): " + "; ".join(f"`{k}` {v:.3g}" for k, v in facts.drawn.items()) + "."]


def build(figure: Path | None = None) -> str:
    """The answer key's markdown; with ``figure``, also draw the comparison there (a PNG)."""
    lines = ["# Answer key", "",
             "<!-- Generated by docs/teaching/answer_key.py from actual runs; do not edit by hand. -->", "",
             "Regenerate with one command (after any change to a scenario or the model):", "",
             "    .venv/bin/python docs/teaching/answer_key.py", "",
             f"Every figure below comes from {RUNS:,} runs with seed {SEED} (the settings the worksheet gives), "
             "so the numbers a student's commands print are these. Intervals are 95% intervals from the finite "
             "number of runs only, not the uncertainty of the assumptions: results are explorations of the "
             "scenarios' assumptions, not forecasts.", "",
             "## Part 1: the baseline and four variants", ""]
    lines += batch_section(BASELINE, "Baseline (`scenarios/baseline.yaml`)")[0]
    for path, question, mechanism in VARIANTS:
        lines += batch_section(path, f"{question} (`{path}`; {mechanism})")[0]
    lines += comparison_section(figure)
    lines += ["## Part 2: the scenario the class plays", ""]
    lines += classroom_section()
    return "\n".join(lines).rstrip() + "\n"


def main() -> None:
    OUT.write_text(build(FIGURE), encoding="utf-8")
    print(f"wrote {OUT.relative_to(ROOT)} and {FIGURE.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
