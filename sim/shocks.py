"""All randomness of a run, drawn up front from that run's own generator.

Replicate ``r`` of a batch with root seed ``s`` uses
``np.random.default_rng(np.random.SeedSequence(s, spawn_key=(r,)))`` and
draws, in this order:

1. ``normal``: standard normals, shape (horizon, 6), one row a month, columns
   NORMAL (battlefield change, Kursk recapture, casualties of each side,
   war-weariness noise of each side's public);
2. ``uniform``: uniforms on [0, 1), shape (horizon, 6), columns UNIFORM
   (talks opening, acceptance by each government, ratification by each
   public, breakdown);
3. one uniform per uncertain parameter (in the order of ``Compiled.uncertain``),
   mapped through that parameter's distribution (inverse CDF).

The layout depends only on the horizon, so replicate ``r`` sees the same
battlefield and the same dice in every sweep point and scenario variant of
the same horizon (common random numbers). Nothing else in negsim draws
random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sim.compile import Compiled

NORMAL = ("territory", "kursk", "casualties_ukraine", "casualties_russia", "weariness_ukraine", "weariness_russia")
UNIFORM = ("talks", "accept_ukraine", "accept_russia", "ratify_ukraine", "ratify_russia", "breakdown")


@dataclass
class Shocks:
    """Pre-drawn randomness of R runs (leading axis) or of one run (no leading axis)."""

    replicates: np.ndarray
    normal: np.ndarray
    uniform: np.ndarray
    params: dict[str, np.ndarray]

    def run(self, i: int) -> Shocks:
        """The shocks of the i-th run of this block, without the run axis."""
        return Shocks(self.replicates[i], self.normal[i], self.uniform[i],
                      {k: v[i] for k, v in self.params.items()})


def run_generator(seed: int, replicate: int) -> np.random.Generator:
    """The generator of one replicate: the only source of randomness of that run."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(replicate),)))


def draw(c: Compiled, seed: int, replicates: np.ndarray | range | list[int]) -> Shocks:
    """Draw the shocks of the given replicates (any order, any subset)."""
    reps = np.asarray(replicates, dtype=np.int64)
    R, T, U = len(reps), c.horizon, len(c.uncertain)
    normal = np.empty((R, T, len(NORMAL)))
    uniform = np.empty((R, T, len(UNIFORM)))
    unc = np.empty((R, U))
    for i, r in enumerate(reps):
        g = run_generator(seed, r)
        normal[i] = g.standard_normal((T, len(NORMAL)))
        uniform[i] = g.random((T, len(UNIFORM)))
        unc[i] = g.random(U)
    return Shocks(reps, normal, uniform, draw_params(c, unc))


def draw_params(c: Compiled, u: np.ndarray) -> dict[str, np.ndarray]:
    """Parameter arrays (R, ...) with uncertain slots set to ppf(u); saliences normalised."""
    R = u.shape[0]
    out = {k: np.repeat(v[None], R, axis=0) for k, v in c.base.items()}
    for j, path in enumerate(c.uncertain):
        s = c.slots[path]
        out[s.name][(slice(None), *s.index)] = s.param.frozen().ppf(u[:, j])
    out["salience"] = out["salience"] / out["salience"].sum(axis=-1, keepdims=True)
    return out


def apply_events(c: Compiled, params: dict[str, np.ndarray], month: int) -> bool:
    """Set the parameters changed by events of ``month`` (in place); True if any fired."""
    fired = False
    for when, changes in c.events:
        if when == month:
            for slot, value in changes:
                params[slot.name][(Ellipsis, *slot.index)] = value
            fired = True
    return fired
