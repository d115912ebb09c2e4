"""sim.engine.seeding reproduces numpy's per-replicate seeding bit for bit."""

from __future__ import annotations

import hashlib
import pickle
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import sim
from sim.engine.seeding import generators, pcg64_states, seed_words

ROOT = Path(__file__).resolve().parents[1]

_rnd = random.Random(20240917)
SEEDS = [0, 1, 7, 2**32 - 1, 2**32, 2**63 + 5, 2**64 - 1, 2**64, 2**70 + 3, 2**96 - 1,
         2**128 - 1, 2**128, 2**160 + 99] + [_rnd.getrandbits(_rnd.randint(1, 140)) for _ in range(12)]
REPLICATES = [0, 1, 2, 1000, 123456789, 10**9, 2**31 - 1, 2**32 - 1, 2**32, 2**40 + 7, 2**64 - 1] \
    + [_rnd.getrandbits(_rnd.randint(1, 34)) for _ in range(12)]


def reference(seed: int, r: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(r,)))


def first_draws(g: np.random.Generator) -> tuple[np.ndarray, ...]:
    return g.standard_normal((36, 6)), g.random((36, 6)), g.random(3)


def assert_same_draws(g: np.random.Generator, ref: np.random.Generator) -> None:
    for a, b in zip(first_draws(g), first_draws(ref), strict=True):
        np.testing.assert_array_equal(a, b)


def check(seed: int, reps: list[int]) -> None:
    words = seed_words(seed, reps)
    states, incs = pcg64_states(seed, reps)
    assert words.shape == (len(reps), 4) and words.dtype == np.uint64
    for i, r in enumerate(reps):
        ss = np.random.SeedSequence(seed, spawn_key=(r,))
        np.testing.assert_array_equal(words[i], ss.generate_state(4, np.uint64))
        expected = np.random.PCG64(ss).state["state"]
        assert (states[i], incs[i]) == (expected["state"], expected["inc"]), (seed, r)
    for g, r in zip(generators(seed, reps), reps, strict=True):
        assert g.bit_generator.state == reference(seed, r).bit_generator.state
        assert_same_draws(g, reference(seed, r))


@pytest.mark.parametrize("seed", SEEDS)
def test_states_and_draws_match_numpy(seed: int) -> None:
    check(seed, REPLICATES)


def test_large_block_matches_numpy() -> None:
    """A whole block, as sim.engine.shocks.draw would use it (range input)."""
    seed = 987654321
    reps = range(5000, 7000)
    gens = list(generators(seed, reps))  # generators are independent: may be kept
    states, incs = pcg64_states(seed, reps)
    for g, s, i, r in zip(gens, states, incs, reps, strict=True):
        expected = np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(r,))).state["state"]
        assert (s, i) == (expected["state"], expected["inc"])
        np.testing.assert_array_equal(g.standard_normal(4), reference(seed, r).standard_normal(4))


@pytest.mark.parametrize("reps, expected", [
    (range(3, 9), [3, 4, 5, 6, 7, 8]),
    (range(10, 0, -3), [10, 7, 4, 1]),
    (range(2**64 - 2, 2**64), [2**64 - 2, 2**64 - 1]),
    (np.arange(3, dtype=np.int64), [0, 1, 2]),
    (np.arange(3, dtype=np.uint32), [0, 1, 2]),
    (np.array([2**63 + 1, 5], dtype=np.uint64), [2**63 + 1, 5]),
    ([5, 2**64 - 1], [5, 2**64 - 1]),
    ((4, 1, 4), [4, 1, 4]),
    (12, [12]),
    (np.int64(9), [9]),
    ((r for r in [8, 2, 0]), [8, 2, 0]),
])
def test_replicate_inputs(reps, expected: list[int]) -> None:
    want = np.array([np.random.SeedSequence(42, spawn_key=(r,)).generate_state(4, np.uint64)
                     for r in expected])
    np.testing.assert_array_equal(seed_words(42, reps), want)


def test_empty() -> None:
    assert seed_words(1, []).shape == (0, 4)
    assert pcg64_states(1, range(0)) == ([], [])
    assert list(generators(1, np.array([], dtype=np.int64))) == []


@pytest.mark.parametrize("seed, reps, error", [
    (-1, [0], ValueError), (1.5, [0], TypeError), (1, [-1], ValueError),
    (1, np.array([-2]), ValueError), (1, [2**64], ValueError), (1, [1.0], TypeError),
    (1, np.array([1.0]), TypeError), (1, np.zeros((2, 2), dtype=int), ValueError),
])
def test_rejects_bad_input_eagerly(seed, reps, error) -> None:
    with pytest.raises(error):
        generators(seed, reps)
    with pytest.raises(error):
        pcg64_states(seed, reps)


def test_numpy_integer_seed() -> None:
    np.testing.assert_array_equal(seed_words(np.uint64(2**63 + 5), [3]), seed_words(2**63 + 5, [3]))


def test_fresh_generator_pickles() -> None:
    g = next(generators(11, [4]))
    g.random(5)
    h = pickle.loads(pickle.dumps(g))
    np.testing.assert_array_equal(g.random(8), h.random(8))


def test_no_numpy_warnings() -> None:
    with np.errstate(all="raise"):
        seed_words(2**70 + 3, [0, 2**40, 10**9])


@settings(max_examples=300, deadline=None)
@given(seed=st.integers(0, 2**96 - 1), reps=st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=4))
def test_property_matches_numpy(seed: int, reps: list[int]) -> None:
    check(seed, reps)


# --------------------------------------------------------------------------- per-run generators: blocks and workers


def frame_hash(frame: pd.DataFrame) -> str:
    """SHA-256 of a results table: its columns, their types and every value (pandas' row hashes)."""
    h = hashlib.sha256(repr([(str(c), str(t)) for c, t in frame.dtypes.items()]).encode())
    h.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    return h.hexdigest()


def test_the_results_do_not_depend_on_the_block_or_the_workers():
    """Each run draws from its own generators, so cutting a batch into other blocks, or running them on more
    workers, leaves the results table the same to the bit: the default block, which depends on the workers
    (sim.runs.batch.default_block), and blocks as asked."""
    sc = sim.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    hashes, blocks = {}, {}
    for block, workers in [(None, 1), (None, 2), (250, 1), (700, 2), (1999, 1), (3000, 2)]:
        result = sim.run_batch(sc, runs=3000, seed=1, workers=workers, out=None, block_size=block)
        hashes[block, workers] = frame_hash(result.runs)
        blocks[block, workers] = result.manifest["units"]["block_size"]
    assert blocks[None, 1] == 3000 and blocks[None, 2] == 1500  # the default spreads the runs over the workers
    assert len(set(hashes.values())) == 1, hashes
    other = frame_hash(sim.run_batch(sc, runs=3000, seed=2, out=None).runs)  # the hash sees a change of seed
    assert other not in hashes.values()
