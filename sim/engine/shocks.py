"""All randomness of a run, drawn up front, one keyed stream per mechanism.

Each mechanism of the model draws from its own stream (:data:`STREAMS`),
keyed by the mechanism's name and the replicate. For root seed ``s`` and
replicate ``r``, mechanism ``m`` has the key word

    k = SeedSequence(s + key(m) * 2**128, spawn_key=(r,)).generate_state(1, np.uint64)[0]

with ``key(m) = 2**33 + CRC-32(m)`` (:mod:`sim.engine.seeding` computes it
bit-identically to numpy, vectorised), and its draw for month ``t``
(1-based) and column ``j`` is SplitMix64's output function (Steele, Lea &
Flood 2014) of the counter ``k + (8 t + j) * 0x9E3779B97F4A7C15`` (mod 2**64),
read as a uniform ``((w >> 11) + 0.5) * 2**-53`` in (0, 1); normal draws
are its inverse normal CDF. Streams marked *once* are drawn for month 1
only (a side's judgement, a public's mood: drawn once a run).

So a draw depends only on (seed, replicate, mechanism, month, column):
adding a mechanism, dropping one, or changing the horizon shifts no other
number. Replicate ``r`` sees the same front, the same casualties and the
same dice in every sweep point, every scenario variant and every version of
the model that keeps the mechanism: common random numbers.

Each uncertain parameter gets its own uniform from
``SeedSequence(s + (CRC-32(path) + 1) * 2**128, spawn_key=(r,))`` (first
word), mapped through the parameter's distribution (inverse CDF). Nothing
else in negsim draws random numbers.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.special import ndtri

from sim.engine import seeding
from sim.errors import UsageError
from sim.scenario.compile import Compiled
from sim.scenario.registry import MAX_HAZARD_EVENTS, MAX_PARTIAL_DEALS, bounds

# mechanism -> (kind, column names, months drawn: "all" or "once"); at most 8 columns a stream.
STREAMS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "front": ("normal", ("territory", "kursk"), "all"),
    "casualties": ("normal", ("ukraine", "russia"), "all"),
    "opinion": ("normal", ("ukraine", "russia"), "all"),
    "talks": ("uniform", ("open",), "all"),
    "mediation": ("uniform", ("lead",), "all"),
    "judgement": ("normal", ("ukraine", "russia"), "once"),
    "mood": ("normal", ("ukraine", "russia"), "once"),
    "breakdown": ("uniform", ("breakdown",), "all"),
    "partial": ("uniform", tuple(f"agree{j}" for j in range(MAX_PARTIAL_DEALS)), "all"),
    "lapse": ("uniform", tuple(f"lapse{j}" for j in range(MAX_PARTIAL_DEALS)), "all"),
    "hold": ("uniform", ("ceasefire", "relapse"), "all"),
    "events": ("uniform", tuple(f"event{j}" for j in range(MAX_HAZARD_EVENTS)), "all"),
}
# Streams a month needs for only some runs (those at war, closed, talking, under a ceasefire, ...): their draws are
# made when read, for the runs read, from the same counters (so the same numbers as drawn up front).
SPARSE = ("front", "casualties", "opinion", "talks", "mediation", "breakdown", "partial", "lapse", "hold", "events")
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1, MIX2 = np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
MAX_SEED = 2**128
MAX_REPLICATE = 2**32


def stream_key(mechanism: str) -> int:
    """The key of a mechanism's stream (disjoint from parameter keys, which are below 2**32 + 1)."""
    return 2**33 + zlib.crc32(mechanism.encode())


@dataclass
class Shocks:
    """Pre-drawn randomness of R runs (leading axis) or of one run (no leading axis).

    ``draws[m]`` holds mechanism ``m``'s draws, shape (R, months, columns),
    month t's row at index t - 1, for the streams drawn up front (those drawn once a run);
    ``keys[m]`` the key word of each run of a :data:`SPARSE` stream, whose draws
    are made when read (:meth:`month`, :meth:`table`).
    """

    replicates: np.ndarray
    draws: dict[str, np.ndarray]
    params: dict[str, np.ndarray]
    keys: dict[str, np.ndarray] = field(default_factory=dict)
    used: dict[str, int] = field(default_factory=dict)  # columns of each sparse stream the scenario uses
    horizon: int = 0  # months of the runs

    def run(self, i: int) -> Shocks:
        """The shocks of the i-th run of this block, without the run axis."""
        return Shocks(self.replicates[i], {k: v[i] for k, v in self.draws.items()},
                      {k: v[i] if len(v) > 1 else v[0] for k, v in self.params.items()},
                      {k: v[i] for k, v in self.keys.items()}, self.used, self.horizon)

    def month(self, t: int) -> dict[str, Any]:
        """Every mechanism's draws of month t (1-based): (R, columns) or (columns,); a sparse stream's are read
        with the same indexing (``d[m][runs, columns]``) and made for the runs read."""
        out: dict[str, Any] = {k: v[..., t - 1, :] for k, v in self.draws.items() if STREAMS[k][2] == "all"}
        out |= {k: Month(v, t, k, self.used[k]) for k, v in self.keys.items()}
        return out

    def table(self, mechanism: str) -> np.ndarray:
        """A stream's draws of every run and month, (R, months, columns), drawn or made now."""
        if mechanism in self.draws:
            return self.draws[mechanism]
        one = not np.ndim(self.replicates)
        out = _from_keys(np.atleast_1d(self.keys[mechanism]), mechanism, self.horizon, self.used[mechanism])
        return out[0] if one else out


class Month:
    """One month of a sparse stream: ``m[runs, columns]`` makes those draws (``runs``: a slice, indices or mask)."""

    def __init__(self, keys: np.ndarray, t: int, mechanism: str, used: int):
        self.keys, self.t, self.kind, self.used = keys, t, STREAMS[mechanism][0], used

    @property
    def shape(self) -> tuple[int, ...]:
        return (*np.shape(self.keys), self.used)

    def __getitem__(self, at: Any) -> np.ndarray:
        rows, cols = at if isinstance(at, tuple) else (at, slice(None))
        keys = np.asarray(self.keys)
        if np.ndim(keys):
            keys = keys.take(rows) if isinstance(rows, np.ndarray) and rows.dtype.kind in "iu" else keys[rows]
        j = np.arange(self.used, dtype=np.uint64)[cols]
        counter = np.uint64(8) * np.uint64(self.t) + j
        with np.errstate(over="ignore"):
            if np.ndim(j) and np.ndim(keys) == 1:  # runs x columns, made column by column as rows of (columns, runs)
                word = np.empty((len(j), len(keys)), np.uint64)
                for i, step in enumerate(counter * GOLDEN):
                    np.add(keys, step, out=word[i])
            else:
                word = keys[..., None] + counter * GOLDEN if np.ndim(j) else keys + counter * GOLDEN
        u = uniform_of(word)
        u = u if self.kind == "uniform" else ndtri(u, out=u)
        return u.T if np.ndim(j) and np.ndim(keys) == 1 else u


def check_replicate(r: Any, what: str = "replicate") -> int:
    """The one range check of a replicate number: a whole number with 0 <= r < 2**32, returned as an int.

    The CLI (--replicate), replay files, the classroom, the dashboard and :func:`draw` all use it: a number the
    check passes is one the engine can run. Raises UsageError naming ``what`` otherwise."""
    if isinstance(r, bool) or not isinstance(r, int | np.integer):
        raise UsageError(f"{what} must be a whole number from 0 to 2**32 - 1 (got {type(r).__name__})")
    if not 0 <= int(r) < MAX_REPLICATE:
        n = int(r)
        got = f"{n}" if abs(n) < 10**30 else f"a number of {n.bit_length()} bits"
        raise UsageError(f"{what} must be a whole number from 0 to 2**32 - 1 (got {got})")
    return int(r)


def draw(c: Compiled, seed: int, replicates: np.ndarray | range | list[int]) -> Shocks:
    """Draw the shocks of the given replicates (any order, any subset); UsageError for one out of range."""
    if isinstance(replicates, range):
        ends = [replicates[0], replicates[-1]] if len(replicates) else []
    elif isinstance(replicates, np.ndarray):
        ends = [replicates.min(), replicates.max()] if replicates.size else []
    else:
        ends = list(replicates)
    for r in ends:
        check_replicate(r)
    reps = np.asarray(replicates, dtype=np.int64)
    draws = {name: stream_draws(seed, reps, name, c.horizon, columns(c, name)) for name in STREAMS
             if name not in SPARSE}
    keys = {name: stream_keys(seed, reps, name) for name in SPARSE}
    unc = np.stack([parameter_uniforms(seed, reps, path) for path in c.uncertain], axis=1) if c.uncertain else np.empty((len(reps), 0))
    return Shocks(reps, draws, draw_params(c, unc), keys, {name: columns(c, name) for name in SPARSE}, c.horizon)


def columns(c: Compiled, mechanism: str) -> int:
    """How many of a stream's columns a scenario uses (the first ones): a partial deal or an event with a chance
    each uses its own column; the other streams use all of theirs."""
    if mechanism in ("partial", "lapse"):
        return len(c.partial_deals)
    if mechanism == "events":
        return len(c.hazard_events)
    return len(STREAMS[mechanism][1])


def stream_draws(seed: int, replicates: np.ndarray, mechanism: str, horizon: int, used: int | None = None) -> np.ndarray:
    """One mechanism's draws for every replicate and month: (R, months, columns); months is 1 for a *once* stream.

    ``used``: draw only the first ``used`` columns (the others' numbers are not needed; those drawn are the same).
    """
    return _from_keys(stream_keys(seed, replicates, mechanism), mechanism, horizon, used)


def stream_keys(seed: int, replicates: np.ndarray, mechanism: str) -> np.ndarray:
    """The key word of each replicate's stream of a mechanism."""
    return seeding.seed_words(seed + stream_key(mechanism) * MAX_SEED, replicates)[:, 0]


def _from_keys(key: np.ndarray, mechanism: str, horizon: int, used: int | None) -> np.ndarray:
    kind, cols, when = STREAMS[mechanism]
    cols = cols[:len(cols) if used is None else used]
    months = 1 if when == "once" else horizon
    counter = (np.arange(1, months + 1, dtype=np.uint64)[:, None] * np.uint64(8)
               + np.arange(len(cols), dtype=np.uint64)[None, :])
    with np.errstate(over="ignore"):
        u = uniform_of(key[:, None, None] + counter[None] * GOLDEN)
    return u if kind == "uniform" else ndtri(u)


def uniform_of(x: np.ndarray) -> np.ndarray:
    """SplitMix64's output function of uint64 counters, as uniforms in (0, 1)."""
    with np.errstate(over="ignore"):  # the same operations as z = (x ^ (x >> 30)) * MIX1 ..., in place
        z = x >> np.uint64(30)
        z ^= x
        z *= MIX1
        z ^= z >> np.uint64(27)
        z *= MIX2
        z ^= z >> np.uint64(31)
        z >>= np.uint64(11)
    u = z.astype(np.float64)
    u += 0.5
    u *= 2.0**-53
    return u


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
        at: tuple[Any, ...] = (slice(None), *s.index)
        out[s.name][at] = s.param.frozen().ppf(u[:, j])
    out["salience"] = out["salience"] / out["salience"].sum(axis=-1, keepdims=True)
    return out


def apply_hazard_events(c: Compiled, params: dict[str, np.ndarray], fired: np.ndarray, u: np.ndarray) -> np.ndarray:
    """Events with a monthly chance (a leader change at an uncertain month): each fires once, where its uniform
    ``u[:, j]`` falls below its chance; sets the parameters of the runs where it fires. Returns the runs where
    any fired this month (``fired`` (R, H) is updated in place)."""
    R = len(fired)
    now = np.zeros(R, bool)
    for j, (chance, changes) in enumerate(c.hazard_events):
        hit = ~fired[:, j] & (u[:, j] < chance)
        if not hit.any():
            continue
        fired[:, j] |= hit
        now |= hit
        for slot, value in changes:
            if len(params[slot.name]) != R:  # a shared row: this run's parameters now differ from the others'
                params[slot.name] = np.repeat(params[slot.name], R, axis=0)
            at: tuple[Any, ...] = (hit, *slot.index)
            params[slot.name][at] = value
            if slot.name == "salience":
                params["salience"] = params["salience"] / params["salience"].sum(axis=-1, keepdims=True)
    return now


def apply_events(c: Compiled, params: dict[str, np.ndarray], month: int) -> bool:
    """Set the parameters changed by events of ``month`` (in place); True if any fired."""
    fired = False
    for when, changes in c.events:
        if when == month:
            for slot, value in changes:
                change_slot(params, slot, "set", value)
            fired = True
    return fired


def change_slot(params: dict[str, np.ndarray], slot: Any, op: str, value: float) -> None:
    """Change one parameter slot in place, as an event or an action on the ground does: ``set`` it, or ``add``
    to or ``scale`` it within the parameter's range; saliences are normalised again to sum to 1."""
    at: tuple[Any, ...] = (Ellipsis, *slot.index)
    arr = params[slot.name]
    if op == "set":
        arr[at] = value
    else:
        arr[at] = np.clip(arr[at] + value if op == "add" else arr[at] * value, *bounds(slot.name))
    if slot.name == "salience":
        arr /= arr.sum(axis=-1, keepdims=True)
