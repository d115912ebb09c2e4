"""The classroom under load, bounded: 40 clients join and poll while a game runs; no request may fail.

The server is ``negsim classroom`` in its own process on 127.0.0.1; the clients are
benchmarks/bench_classroom.py's, with a shorter time bound (the benchmark itself reports the figure).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def bench():
    spec = importlib.util.spec_from_file_location("bench_classroom", ROOT / "benchmarks" / "bench_classroom.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_forty_clients_while_a_game_runs():
    result = bench().measure(clients=40, seconds=15, poll=0.25, max_requests=6000)
    print(result)
    assert result["failed"] == 0, result["failures"]
    assert result["requests"] >= 40 * 10  # every client polled, many times
    assert result["months"] >= 3 and result["moves"] >= 3 and result["advances"] >= 3  # the game ran meanwhile
    assert result["events"] >= 1  # live-update streams were served alongside
    assert result["p95_ms"] < 2000, result  # a loose bound on a shared machine: the benchmark reports the figure
