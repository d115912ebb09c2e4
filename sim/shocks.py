"""All randomness of a run, drawn up front from that run's own generator.

Replicate ``r`` of a batch with root seed ``s`` uses the generator
``np.random.default_rng(np.random.SeedSequence(s, spawn_key=(r,)))`` (built
bit-identically, and faster, by :mod:`sim.seeding`) and draws, in this order:

1. ``normal``: standard normals, shape (horizon, 6), one row a month, columns
   NORMAL (battlefield change, Kursk recapture, casualties of each side,
   war-weariness noise of each side's public);
2. ``uniform``: uniforms on [0, 1), shape (horizon, 6), columns UNIFORM
   (talks opening, acceptance by each government, ratification by each
   public, breakdown).

Each uncertain parameter gets its own uniform from
``SeedSequence(s + (k + 1) * 2**128, spawn_key=(r,))``, where ``k`` is the
CRC-32 of its key path, mapped through the parameter's distribution (inverse
CDF). So the value drawn for a parameter in replicate ``r`` depends on the
seed, the replicate and the parameter's path only, not on which other
parameters are uncertain.

The layout depends only on the horizon, so replicate ``r`` sees the same
battlefield, the same dice and the same parameter draws in every sweep point
and scenario variant of the same horizon (common random numbers). Nothing else
in negsim draws random numbers.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np

from sim import seeding
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
                      {k: v[i] if len(v) > 1 else v[0] for k, v in self.params.items()})


MAX_SEED = 2**128


def run_generator(seed: int, replicate: int) -> np.random.Generator:
    """The generator of one replicate (reference form; :func:`draw` builds the same, faster)."""
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(int(replicate),)))


def draw(c: Compiled, seed: int, replicates: np.ndarray | range | list[int]) -> Shocks:
    """Draw the shocks of the given replicates (any order, any subset)."""
    reps = np.asarray(replicates, dtype=np.int64)
    R, T = len(reps), c.horizon
    normal = np.empty((R, T, len(NORMAL)))
    uniform = np.empty((R, T, len(UNIFORM)))
    for i, g in enumerate(seeding.generators(seed, reps)):
        normal[i] = g.standard_normal((T, len(NORMAL)))
        uniform[i] = g.random((T, len(UNIFORM)))
    unc = np.stack([parameter_uniforms(seed, reps, path) for path in c.uncertain], axis=1) if c.uncertain else np.empty((R, 0))
    return Shocks(reps, normal, uniform, draw_params(c, unc))


def parameter_uniforms(seed: int, replicates: np.ndarray, path: str) -> np.ndarray:
    """The uniform of an uncertain parameter in each replicate: a function of (seed, replicate, path)."""
    key = zlib.crc32(path.encode())
    words = seeding.seed_words(seed + (key + 1) * MAX_SEED, replicates)
    return (words[:, 0] >> np.uint64(11)).astype(np.float64) * 2.0**-53


def draw_params(c: Compiled, u: np.ndarray) -> dict[str, np.ndarray]:
    """Parameter arrays with uncertain slots set to ppf(u); saliences normalised.

    An array holding an uncertain slot has one row per run, (R, ...); the
    others have a single row, (1, ...), that broadcasts against the runs.
    """
    R = u.shape[0]
    varying = {c.slots[path].name for path in c.uncertain}
    out = {k: np.repeat(v[None], R, axis=0) if k in varying else v[None].copy() for k, v in c.base.items()}
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
                if slot.name == "salience":
                    params["salience"] /= params["salience"].sum(axis=-1, keepdims=True)
            fired = True
    return fired
