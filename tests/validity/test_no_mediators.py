"""Validity (h): no mediators means direct talks, in both engines (issue 7, points 5 and 12).

Two ways to have no mediator: the baseline with both mediators switched off
(tests/data/validity_mediators_inactive.yaml, `active: false` through
`extends:`), and a scenario with no mediator at all
(tests/data/validity_no_mediators.yaml: `extends:` merges mappings and cannot
delete an actor, so that file is a stand-alone copy of the baseline without
the mediators). Both engines must run each and agree run by run; the
governments alternate proposals (no mediator offers, no lead mediator), and
listing inactive mediators must change nothing at all.
"""

from __future__ import annotations

from rows import assert_same_runs
from validity_helpers import DATA, runs

import sim

INACTIVE = DATA / "validity_mediators_inactive.yaml"
REMOVED = DATA / "validity_no_mediators.yaml"
REMOVED_PLUS_INACTIVE = DATA / "validity_no_mediators_inactive.yaml"
N_AGENTS, N_VECTOR = 150, 2000


def check_direct_talks(df):
    talked = df["proposals"] > 0
    assert talked.any()
    assert (df["offers_mediator"] == 0).all()
    assert df["lead_mediator"].isna().all()
    # governments alternate within a round: in runs with one round their offers differ by at most one, and
    # both make one once two were made. Across rounds this need not hold under Model v3: the turn order counts
    # a round's months from its opening, also the months before the preconditions allow a proposal, so two
    # rounds that each end after one proposal may both have had the same government propose.
    one_round = df["talks_rounds"] == 1
    assert ((df.loc[one_round, "offers_kyiv"] - df.loc[one_round, "offers_moscow"]).abs() <= 1).all()
    assert (df.loc[one_round & (df["proposals"] >= 2), ["offers_kyiv", "offers_moscow"]] > 0).all().all()


def test_inactive_mediators_run_in_both_engines_with_identical_results():
    sc = sim.load_scenario(INACTIVE)
    agents = runs(sc, N_AGENTS, seed=11, engine="agents")
    vector = runs(sc, N_AGENTS, seed=11, engine="vector")
    assert_same_runs(agents, vector)
    many = runs(sc, N_VECTOR, seed=11)
    check_direct_talks(many)
    print(f"\n[no mediators] inactive: {many['outcome'].value_counts(normalize=True).round(3).to_dict()}; "
          f"engines agree on {N_AGENTS} runs")


def test_removed_mediators_run_in_the_agent_engine_as_inactive_ones():
    removed = runs(REMOVED, N_AGENTS, seed=11, engine="agents")
    listed = runs(REMOVED_PLUS_INACTIVE, N_AGENTS, seed=11, engine="agents")
    assert_same_runs(removed, listed)
    check_direct_talks(removed)


def test_removed_mediators_run_in_both_engines_with_identical_results():
    agents = runs(REMOVED, N_AGENTS, seed=11, engine="agents")  # the batch of the test above (run once)
    vector = runs(REMOVED, N_AGENTS, seed=11, engine="vector")
    assert_same_runs(agents, vector)
    assert_same_runs(vector, runs(REMOVED_PLUS_INACTIVE, N_AGENTS, seed=11, engine="vector"))
    many = runs(REMOVED, N_VECTOR, seed=11)
    check_direct_talks(many)
    print(f"\n[no mediators] removed: {many['outcome'].value_counts(normalize=True).round(3).to_dict()}; "
          f"engines agree on {N_AGENTS} runs")
