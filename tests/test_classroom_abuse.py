"""The classroom server under issue 21's attacks, bounded (a short run of benchmarks/bench_abuse.py): the teacher
can always create a session and advance, every attack is refused, and the log stays short and traceback-free."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def bench():
    spec = importlib.util.spec_from_file_location("bench_abuse", ROOT / "benchmarks" / "bench_abuse.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.slow
def test_the_teacher_runs_a_class_under_attack():
    result = bench().measure(seconds=15, max_requests=3000, connections=150)
    print(result)
    assert result["teacher_failed"] == 0, result["teacher_failures"]
    assert result["games"] >= 2 and result["advances"] >= 3  # created sessions and advanced throughout
    assert result["teacher_p95_ms"] < 2000, result  # loose on a shared machine: the benchmark reports the figure
    attacks = result["attacks"]
    assert not any(k.startswith("5") and k != "503" for a in attacks.values() for k in a), attacks
    assert "201" not in attacks["sessions"] and "200" not in attacks["host"]
    assert attacks["guesses"].get("429", 0) > attacks["guesses"].get("404", 0)
    assert result["connections"].get("idle_closed", 0) == 150 and result["connections"].get("slow_closed", 0) == 50
    assert result["log_tracebacks"] == 0 and result["log_bytes"] < 50_000, result["log_tail"]
