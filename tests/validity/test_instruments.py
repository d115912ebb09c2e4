"""Validity: instruments move the terms (aid and sanctions change each side's value of war; Fearon 1995).

A side's value of war is its utility of the expected line less (1 - resolve)
x its costs; the deals both accept lie around it. Aid held back speeds the
Russian advance and adds Ukrainian casualties, so the expected line and the
cost of war both move against Kyiv: the terms should move toward Russia.
Sanctions add to Moscow's cost of war (their relief is in any settlement),
so the terms should move toward Ukraine, or agreement become likelier with
terms no worse for Ukraine.

Paired runs of the baseline (same seed and replicates): among runs that agree
under both settings, the mean change of land_km2 (> 0: toward Ukraine) with
its 95% interval.
"""

from __future__ import annotations

from validity_helpers import BASELINE, agreed, paired, runs

N = 3000


def compare(name, overrides):
    base = runs(BASELINE, N, seed=7)
    other = runs(BASELINE, N, seed=7, overrides=overrides)
    both = agreed(base) & agreed(other)
    dl, hl = paired(base["land_km2"].to_numpy()[both], other["land_km2"].to_numpy()[both])
    dp, hp = paired(agreed(base), agreed(other))
    print(f"\n[instruments] {name} (n = {N}): P(agreement) {agreed(base).mean():.3f} -> {agreed(other).mean():.3f} "
          f"({100 * dp:+.1f} +- {100 * hp:.1f} points); land_km2 of deals, paired over {both.sum()} runs: "
          f"{dl:+,.0f} +- {hl:,.0f} km2")
    assert both.sum() >= 300
    return (dl, hl), (dp, hp)


def test_an_aid_cut_moves_the_terms_toward_russia():
    (dl, hl), _ = compare("US aid level 1 -> 0", {"instruments.us_aid.level": 0.0})
    assert dl + hl < 0.0


def test_tighter_sanctions_move_the_terms_toward_ukraine():
    (dl, hl), (dp, hp) = compare("sanctions level 1 -> 2", {"instruments.sanctions.level": 2.0})
    assert dl - hl > 0.0 or (dp - hp > 0.0 and dl + hl >= 0.0)
    assert dl - hl > 0.0  # as measured: the terms themselves move toward Ukraine
