"""Validity: a guarantee makes a settlement more durable (Fortna 2004).

Fortna (2004): peacekeepers, third-party guarantees and demilitarised zones
make peace markedly more durable. In the kernel an active guarantee
(negotiation.guarantee.active) cuts the base monthly hazard of relapse by its
relapse_cut (0.5 in the baseline). Baseline runs (same seed and replicates)
without and with a guarantee: P(relapse | settlement) must fall, by the
two-sample 95% interval (the settled runs differ between the two settings:
Moscow counts a guarantee against a deal), and also over the runs that
settle under both settings (paired).
"""

from __future__ import annotations

import numpy as np
from validity_helpers import BASELINE, Z95, agreed, paired, runs

N = 3000


def test_a_guarantee_lowers_the_chance_of_relapse():
    off = runs(BASELINE, N, seed=7)
    on = runs(BASELINE, N, seed=7, overrides={"negotiation.guarantee.active": True})
    rates, ns = [], []
    for df in (off, on):
        settled = agreed(df)
        relapsed = df["relapse_month"].notna().to_numpy()
        assert not (relapsed & ~settled).any()  # only a settlement relapses
        rates.append(relapsed[settled].mean())
        ns.append(int(settled.sum()))
    diff = rates[1] - rates[0]
    half = Z95 * np.sqrt(sum(r * (1 - r) / n for r, n in zip(rates, ns, strict=True)))
    both = agreed(off) & agreed(on)
    dp, hp = paired(off["relapse_month"].notna().to_numpy()[both], on["relapse_month"].notna().to_numpy()[both])
    print(f"\n[guarantee] off -> on (n = {N}): settlements {ns[0]} -> {ns[1]}; P(relapse | settlement) "
          f"{rates[0]:.3f} -> {rates[1]:.3f} ({100 * diff:+.1f} +- {100 * half:.1f} points); paired over {both.sum()} "
          f"runs settled under both: {100 * dp:+.1f} +- {100 * hp:.1f} points")
    assert diff + half < 0.0
    assert dp + hp < 0.0
