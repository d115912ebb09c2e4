"""Validity: a side that expects to grow stronger settles later or on better terms (Powell 2004, 2006).

Powell (2004, 2006): when the balance of power shifts, the side growing
stronger has less reason to settle now (it can expect more later), so
bargaining ends later, on terms better for it, or fails. In the kernel the
value of war counts the land the expected line brings after the look-ahead
(the believed pace, learnt from fighting). Paired runs of the baseline (same
seed and replicates) with the front's true pace at 240 and at 960 km2 a month
(battlefield.monthly_change_km2.mean): with Russia gaining faster, P(agreement)
must be lower and the terms of runs that agree under both must move toward
Russia (land_km2 falls), each 95% interval excluding 0; and those runs must
not settle sooner (the interval of the change in month may not lie below 0).
Settling later is not required: Ukraine's public tires faster when the front
moves faster, and its vote passes a deal sooner, which offsets the delay.
"""

from __future__ import annotations

from validity_helpers import BASELINE, agreed, paired, runs

N = 3000
PACE = "battlefield.monthly_change_km2.mean"


def test_a_side_growing_stronger_settles_later_or_on_better_terms():
    slow = runs(BASELINE, N, seed=7, overrides={PACE: 240})
    fast = runs(BASELINE, N, seed=7, overrides={PACE: 960})
    a_slow, a_fast = agreed(slow), agreed(fast)
    dp, hp = paired(a_slow, a_fast)
    both = a_slow & a_fast
    dl, hl = paired(slow["land_km2"].to_numpy()[both], fast["land_km2"].to_numpy()[both])
    dm, hm = paired(slow["agreement_month"].to_numpy(float)[both], fast["agreement_month"].to_numpy(float)[both])
    print(f"\n[powell] pace 240 -> 960 km2 a month (n = {N}): P(agreement) {a_slow.mean():.3f} -> {a_fast.mean():.3f} "
          f"({100 * dp:+.1f} +- {100 * hp:.1f} points); paired over {both.sum()} runs agreeing under both: "
          f"land_km2 {dl:+,.0f} +- {hl:,.0f} km2, settlement month {dm:+.2f} +- {hm:.2f}")
    assert dp + hp < 0.0, "a Russia growing stronger did not make agreement less likely"
    assert both.sum() >= 300
    assert dl + hl < 0.0, "a Russia growing stronger did not get better terms"
    assert dm + hm > 0.0, "a Russia growing stronger settled sooner"
