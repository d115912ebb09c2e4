"""Validity (d) and (f): red lines.

(d) Putnam (1988) / the issue's point 4: the mediator maximises the Nash
product times the chance of ratification, so relaxing a red line only adds
packages and can never lower P(agreement). Paired runs (same seed, same
replicates) on the baseline, with Kyiv's red lines in force and switched off.
Since commit 2dc61ee a continuation offer in the alternating-offers demands
must be one the voting publics are expected to ratify; that change is what
stopped a relaxed Kyiv red line from lowering P(agreement) under Model v2.

(f) Zartman (2000): ripeness needs a way out. With disjoint red lines no
package is allowed by both governments, so talks never open (>= 90%
no_talks) and nothing is ever agreed.
"""

from __future__ import annotations

import pytest
from validity_helpers import BASELINE, DATA, agreed, paired, runs

N = 3000
RELAXED = {
    "kyiv crimea": {"actors.kyiv.red_lines[0].active": False},
    "kyiv recognition": {"actors.kyiv.red_lines[1].active": False},
    "kyiv both": {"actors.kyiv.red_lines[0].active": False, "actors.kyiv.red_lines[1].active": False},
    "moscow both": {"actors.moscow.red_lines[0].active": False, "actors.moscow.red_lines[1].active": False},
}


@pytest.fixture(scope="module")
def in_force():
    return runs(BASELINE, N, seed=7)


@pytest.mark.parametrize("name", list(RELAXED))
def test_relaxing_red_lines_never_lowers_p_agreement(in_force, name):
    relaxed = runs(BASELINE, N, seed=7, overrides=RELAXED[name])
    before, after = agreed(in_force), agreed(relaxed)
    diff, half = paired(before, after)
    lost = int((before & ~after).sum())
    print(f"\n[red lines] {name} off: P(agreement) {before.mean():.3f} -> {after.mean():.3f}, "
          f"paired diff {100 * diff:+.2f} +- {100 * half:.2f} points; runs that lose their agreement: {lost}")
    assert diff + half >= 0.0, "relaxing a red line lowered P(agreement) beyond the paired 95% interval"


def test_disjoint_red_lines_give_no_talks_and_no_agreement():
    for engine, n in (("vector", 2000), ("agents", 100)):
        df = runs(DATA / "disjoint_red_lines.yaml", n, seed=4, engine=engine)
        share = (df["outcome"] == "no_talks").mean()
        print(f"\n[disjoint] {engine}: {df['outcome'].value_counts().to_dict()}")
        assert share >= 0.9
        assert agreed(df).sum() == 0
