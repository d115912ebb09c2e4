"""Load on the classroom server: clients joining and polling while a game runs, on 127.0.0.1.

    .venv/bin/python benchmarks/bench_classroom.py [--clients 40] [--seconds 60] [--out benchmarks/results/classroom.json]

Starts ``negsim classroom`` as its own process (a free port of 127.0.0.1, a temporary state folder), then
in this process: a teacher creates a session; ``--clients`` clients join it (four take kyiv, moscow, us and
ukraine_public, the rest are observers; a quarter of the observers also hold a live-update stream open)
and each polls its state every ``--poll`` seconds; the role holders make their moves when they have one
(both governments refuse every offer, so the game runs on to its horizon); the teacher advances a month whenever the
class is waiting. Bounded: at most ``--seconds`` and ``--max-requests``. Reports every request's latency
(p50, p95, max), the count of failed requests (any status other than 2xx, or no answer) and the months
played. Exit 1 if any request failed.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
ROLES = ["kyiv", "moscow", "us", "ukraine_public"]
SECRET = "bench-teacher-secret"  # the server's teacher secret (NEGSIM_CLASSROOM_SECRET)


@contextmanager
def server(scenario: Path, seed: int, replicate: int, state: Path):
    """``negsim classroom`` on a free port of 127.0.0.1, stopped on exit; yields the base address."""
    proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "classroom", str(scenario), "--host", "127.0.0.1",
                             "--port", "0", "--seed", str(seed), "--replicate", str(replicate), "--runs", "500",
                             "--state", str(state)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=ROOT, env={**os.environ, "PYTHONUNBUFFERED": "1", "NEGSIM_CLASSROOM_SECRET": SECRET})
    try:
        base = None
        end = time.monotonic() + 60
        while base is None and time.monotonic() < end:
            line = proc.stdout.readline()
            if not line:
                break
            m = re.search(r"Teacher: (http://127\.0\.0\.1:\d+)/teacher", line)
            if m:
                base = m.group(1)
        if base is None:
            raise RuntimeError(f"the classroom server did not start: {proc.stderr.read() if proc.poll() is not None else ''}")
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


class Load:
    def __init__(self, base: str, clients: int, seconds: float, poll: float, max_requests: int):
        self.base, self.clients, self.seconds, self.poll = base, clients, seconds, poll
        self.max_requests = max_requests
        self.latencies: list[float] = []
        self.failures: list[str] = []
        self.moves = self.advances = self.events = 0
        self.finished = False
        self.months = 0

    def over(self) -> bool:
        return (self.finished or time.monotonic() > self.deadline or len(self.latencies) >= self.max_requests)

    async def call(self, http: httpx.AsyncClient, method: str, path: str, token: str | None = None,
                   body: dict | None = None) -> dict | None:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        t0 = time.perf_counter()
        try:
            res = await http.request(method, path, headers=headers, json=body)
        except httpx.HTTPError as e:
            self.failures.append(f"{method} {path}: {type(e).__name__}: {e}")
            return None
        self.latencies.append(time.perf_counter() - t0)
        if not 200 <= res.status_code < 300:
            self.failures.append(f"{method} {path}: {res.status_code} {res.text[:200]}")
            return None
        return res.json()

    async def student(self, http: httpx.AsyncClient, code: str, role: str, index: int) -> None:
        await asyncio.sleep(0.01 * index)  # joining in a stream, not all at one instant
        got = await self.call(http, "POST", f"/api/sessions/{code}/join", body={"role": role})
        if got is None:
            return
        token = got["token"]
        if role == "observer" and index % 4 == 0:
            asyncio.ensure_future(self.stream(code, token))
        while not self.over():
            st = await self.call(http, "GET", f"/api/sessions/{code}/state", token)
            if st is None:
                await asyncio.sleep(self.poll)
                continue
            self.months = max(self.months, st["month"])
            d = st.get("pending")
            if d is not None:
                choice = (d["options"][0]["number"] if d["kind"] == "propose"
                          else d["kind"] == "ratify")  # both refuse every offer: the game runs on
                if await self.call(http, "POST", f"/api/sessions/{code}/moves", token,
                                   {"kind": d["kind"], "month": d["month"], "choice": choice}) is not None:
                    self.moves += 1
                continue
            if st["finished"]:
                self.finished = True
                return
            await asyncio.sleep(self.poll)

    async def stream(self, code: str, token: str) -> None:
        """A live-update stream held open: counts the events it is sent."""
        try:
            async with httpx.AsyncClient(base_url=self.base, timeout=None) as http:
                async with http.stream("GET", f"/api/sessions/{code}/events",
                                       headers={"Authorization": f"Bearer {token}"}) as res:
                    if res.status_code != 200:
                        self.failures.append(f"events: {res.status_code}")
                        return
                    async for line in res.aiter_lines():
                        if line.startswith("data: "):
                            self.events += 1
                        if self.over():
                            return
        except httpx.HTTPError as e:
            if not self.over():
                self.failures.append(f"events: {type(e).__name__}: {e}")

    async def teacher(self, http: httpx.AsyncClient, code: str, token: str) -> None:
        while not self.over():
            st = await self.call(http, "GET", f"/api/sessions/{code}/state", token)
            if st is not None and st["finished"]:
                self.finished = True
                return
            if st is not None and st["phase"] == "waiting" and st["roles"]["observer"]["count"] >= 1:
                if await self.call(http, "POST", f"/api/sessions/{code}/advance", token, {"until": "month"}):
                    self.advances += 1
            await asyncio.sleep(self.poll)

    async def run(self) -> dict:
        limits = httpx.Limits(max_connections=self.clients + 10)
        async with httpx.AsyncClient(base_url=self.base, timeout=30, limits=limits) as http:
            made = await self.call(http, "POST", "/api/sessions", SECRET, body={})
            if made is None:
                return self.report(0.0)
            code, token = made["code"], made["teacher_token"]
            self.deadline = time.monotonic() + self.seconds
            t0 = time.monotonic()
            roles = [ROLES[i] if i < len(ROLES) else "observer" for i in range(self.clients)]
            await asyncio.gather(self.teacher(http, code, token),
                                 *(self.student(http, code, r, i) for i, r in enumerate(roles)))
            elapsed = time.monotonic() - t0
            if self.finished:  # the end: everybody reads the results once
                for _ in range(self.clients):
                    await self.call(http, "GET", f"/api/sessions/{code}/results")
        return self.report(elapsed)

    def report(self, elapsed: float) -> dict:
        lat = np.array(self.latencies) * 1000
        q = (lambda p: float(np.percentile(lat, p))) if len(lat) else (lambda p: float("nan"))
        return {"clients": self.clients, "seconds": round(elapsed, 2), "requests": len(self.latencies),
                "failed": len(self.failures), "failures": self.failures[:10],
                "requests_per_second": round(len(self.latencies) / elapsed, 1) if elapsed else None,
                "p50_ms": round(q(50), 2), "p95_ms": round(q(95), 2), "max_ms": round(q(100), 2),
                "moves": self.moves, "advances": self.advances, "months": self.months,
                "finished": self.finished, "events": self.events}


def measure(clients: int = 40, seconds: float = 60, poll: float = 0.25, max_requests: int = 50_000,
            scenario: Path = ROOT / "scenarios" / "baseline.yaml", seed: int = 1, replicate: int = 9) -> dict:
    with tempfile.TemporaryDirectory() as tmp, server(scenario, seed, replicate, Path(tmp)) as base:
        return asyncio.run(Load(base, clients, seconds, poll, max_requests).run())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--clients", type=int, default=40)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--poll", type=float, default=0.25, help="seconds between a client's polls")
    ap.add_argument("--max-requests", type=int, default=50_000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "classroom.json"))
    args = ap.parse_args()
    result = measure(args.clients, args.seconds, args.poll, args.max_requests)
    result |= {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}
    print(f"{result['clients']} clients, {result['seconds']} s: {result['requests']} requests "
          f"({result['requests_per_second']}/s), {result['failed']} failed; latency p50 {result['p50_ms']} ms, "
          f"p95 {result['p95_ms']} ms, max {result['max_ms']} ms; {result['months']} months played, "
          f"{result['moves']} moves, game {'finished' if result['finished'] else 'still running'}; "
          f"{result['events']} live-update events received")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    return 1 if result["failed"] else 0


if __name__ == "__main__":
    sys.exit(main())
