"""Validity (e): Schelling (1960), the power to bind oneself.

A more hawkish ratifying public (a higher ratification threshold of the
Ukrainian public) must move the agreed terms toward Kyiv's side: among runs
that agree under both settings (paired: same seed, same replicates), the land
that changes hands (land_km2: positive to the ukraine side) rises, and the
share of agreements that return land to Ukraine rises. (Model v3: Kyiv's
minimum term on land forbids any cession, so the share of agreements ceding
land, which this test compared before, is 0 under both settings.)
"""

from __future__ import annotations

import numpy as np
from validity_helpers import BASELINE, agreed, paired, runs

N = 3000
PATH = "actors.ukraine_public.ratification.threshold"
SOFT, HAWKISH = 0.0, 0.12


def test_a_hawkish_public_moves_the_terms_toward_its_side():
    soft = runs(BASELINE, N, seed=7, overrides={PATH: SOFT})
    hawk = runs(BASELINE, N, seed=7, overrides={PATH: HAWKISH})
    both = agreed(soft) & agreed(hawk)
    assert both.sum() >= 300, "too few paired agreements to compare terms"
    land_soft, land_hawk = soft["land_km2"].to_numpy()[both], hawk["land_km2"].to_numpy()[both]
    diff, half = paired(land_soft, land_hawk)
    ret_soft = float((soft.loc[agreed(soft), "land_km2"] > 0).mean())
    ret_hawk = float((hawk.loc[agreed(hawk), "land_km2"] > 0).mean())
    print(f"\n[schelling] threshold {SOFT} -> {HAWKISH}: P(agreement) {agreed(soft).mean():.3f} -> "
          f"{agreed(hawk).mean():.3f}; mean land_km2 of agreements {land_soft.mean():,.0f} -> {land_hawk.mean():,.0f} "
          f"(paired over {both.sum()} runs: {diff:+,.0f} +- {half:,.0f} km2); share of agreements returning land "
          f"{ret_soft:.3f} -> {ret_hawk:.3f}; runs whose terms move against Kyiv: "
          f"{int((land_hawk < land_soft - 1e-6).sum())}")
    assert diff - half > 0.0, "a more hawkish public did not move the terms toward its side"
    assert ret_hawk > ret_soft
    assert np.mean(land_hawk >= land_soft - 1e-6) >= 0.9  # run by run, terms rarely move the other way
