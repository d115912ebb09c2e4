"""The classroom server under attack, bounded: issue 21's attacks replayed against a local server while a
teacher runs a class, on 127.0.0.1 only.

    .venv/bin/python benchmarks/bench_abuse.py [--seconds 30] [--out benchmarks/results/abuse.json]

Starts ``negsim classroom`` as its own process (a free port of 127.0.0.1, a temporary state folder, its log
kept in a file). The attacker connects from 127.0.0.2 (another loopback address of this machine: the server
still listens on 127.0.0.1 only) and, for at most ``--seconds`` and ``--max-requests`` requests per attack:
holds idle connections and connections that send half a request head slowly; joins as observer and opens
live-update streams; tries to create sessions without the secret, as another origin's page would, with
``text/plain``; posts the bodies that once gave 500s; guesses join codes. Meanwhile the teacher (from
127.0.0.1, with the secret) creates a session and advances it to the end, again and again (a new game at
most every 4 s), reading the state between advances. Reports what was refused (statuses by attack, connections closed by the server), the
teacher's latency (p50, p95, max) and failures, and the server's log (bytes, lines, tracebacks).
Exit 1 if any teacher request failed or the log holds a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import subprocess
import sys
import tempfile
import time
from collections import Counter
from contextlib import contextmanager
from pathlib import Path

import httpx
import numpy as np

ROOT = Path(__file__).resolve().parents[1]
SECRET = "abuse-bench-teacher-secret"
ATTACKER = "127.0.0.2"
GAME_SECONDS = 4  # the teacher starts a new game at most this often
BODIES = [b"[" * 8000 + b"]" * 8000, b'{"a":' * 2000 + b"1" + b"}" * 2000, b'{"role": ' + b"9" * 5000 + b"}",
          '{"kind": "propose", "choice": "²"}'.encode(), b'{"kind": "answer", "choice": NaN}', b"\xff\xfe",
          b'{"until": {"a": []}}', b"[]"]


@contextmanager
def server(state: Path, log: Path):
    """``negsim classroom`` on a free port of 127.0.0.1 (its stderr in ``log``); yields the base address."""
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "sim.cli", "classroom", "scenarios/baseline.yaml", "--host",
                                 "127.0.0.1", "--port", "0", "--runs", "200", "--state", str(state)],
                                stdout=subprocess.PIPE, stderr=err, text=True, cwd=ROOT,
                                env={**os.environ, "PYTHONUNBUFFERED": "1", "NEGSIM_CLASSROOM_SECRET": SECRET})
        try:
            base, end = None, time.monotonic() + 60
            while base is None and time.monotonic() < end:
                line = proc.stdout.readline()
                if not line:
                    break
                m = re.search(r"Teacher: (http://127\.0\.0\.1:\d+)/teacher", line)
                base = m.group(1) if m else None
            if base is None:
                raise RuntimeError("the classroom server did not start: " + log.read_text()[-2000:])
            yield base
        finally:
            proc.terminate()
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


class Abuse:
    def __init__(self, base: str, seconds: float, max_requests: int, connections: int):
        self.base, self.seconds, self.max_requests, self.connections = base, seconds, max_requests, connections
        self.port = int(base.rsplit(":", 1)[1])
        self.statuses: dict[str, Counter] = {}
        self.latencies: list[float] = []
        self.teacher_failures: list[str] = []
        self.games = self.advances = 0
        self.closed = Counter()

    def over(self) -> bool:
        return time.monotonic() > self.deadline

    def count(self, attack: str, status: int | str) -> int:
        c = self.statuses.setdefault(attack, Counter())
        c[str(status)] += 1
        return sum(c.values())

    def attacker(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(base_url=self.base, timeout=10,
                                 transport=httpx.AsyncHTTPTransport(local_address=ATTACKER))

    async def hit(self, http: httpx.AsyncClient, attack: str, method: str, path: str, **kw) -> httpx.Response | None:
        try:
            res = await http.request(method, path, **kw)
        except httpx.HTTPError as e:
            self.count(attack, type(e).__name__)
            return None
        self.count(attack, res.status_code)
        return res

    # -- the attacks
    async def idle(self, kind: str, n: int) -> None:
        """``n`` connections that send nothing (or half a head, a byte a second) until the server closes them."""
        async def one() -> None:
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port, local_addr=(ATTACKER, 0))
            except OSError:
                self.closed[f"{kind}_refused"] += 1
                return
            t0 = time.monotonic()
            if kind == "slow":
                writer.write(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            while not self.over():
                try:
                    if await asyncio.wait_for(reader.read(1024), 1.0) == b"":
                        self.closed[f"{kind}_closed"] += 1
                        self.closed[f"{kind}_closed_after_s"] = max(self.closed[f"{kind}_closed_after_s"],
                                                                    round(time.monotonic() - t0))
                        break
                except TimeoutError:
                    if kind == "slow":
                        writer.write(b"a")
                except OSError:
                    self.closed[f"{kind}_closed"] += 1
                    break
            writer.close()
        await asyncio.gather(*(one() for _ in range(n)))

    async def streams(self, code: str) -> None:
        async with self.attacker() as http:
            held = []
            while not self.over() and self.count("streams", "tries") < self.max_requests:
                res = await self.hit(http, "joins", "POST", f"/api/sessions/{code}/join", json={"role": "observer"})
                if res is None or res.status_code != 200:
                    await asyncio.sleep(0.2)
                    continue
                req = http.build_request("GET", f"/api/sessions/{code}/events",
                                         headers={"Authorization": f"Bearer {res.json()['token']}"})
                try:
                    got = await http.send(req, stream=True)
                except httpx.HTTPError as e:
                    self.count("streams", type(e).__name__)
                    continue
                self.count("streams", got.status_code)
                (held.append(got) if got.status_code == 200 else await got.aclose())
            for got in held:
                await got.aclose()

    async def flood(self, attack: str, make) -> None:
        async with self.attacker() as http:
            while not self.over() and sum(self.statuses.get(attack, Counter()).values()) < self.max_requests:
                method, path, kw = make()
                res = await self.hit(http, attack, method, path, **kw)
                if res is not None and res.status_code == 429:
                    await asyncio.sleep(0.05)

    # -- the teacher
    async def teacher(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=30) as http:
            while not self.over():
                made = await self.timed(http, "POST", "/api/sessions", SECRET, {})
                if made is None:
                    await asyncio.sleep(0.5)
                    continue
                self.games += 1
                code, token = made["code"], made["teacher_token"]
                started = time.monotonic()
                while not self.over():
                    st = await self.timed(http, "GET", f"/api/sessions/{code}/state", token)
                    if st is not None and st["finished"]:
                        if time.monotonic() - started >= GAME_SECONDS:
                            break
                        await asyncio.sleep(0.2)  # the class reads the results: a teacher's pace, not a flood
                        continue
                    if await self.timed(http, "POST", f"/api/sessions/{code}/advance", token, {"until": "month"}):
                        self.advances += 1
                    await asyncio.sleep(0.05)

    async def timed(self, http: httpx.AsyncClient, method: str, path: str, token: str, body=None) -> dict | None:
        t0 = time.perf_counter()
        try:
            res = await http.request(method, path, headers={"Authorization": f"Bearer {token}"}, json=body)
        except httpx.HTTPError as e:
            self.teacher_failures.append(f"{method} {path}: {e!r}")
            return None
        self.latencies.append(time.perf_counter() - t0)
        if not res.is_success:
            self.teacher_failures.append(f"{method} {path}: {res.status_code} {res.text[:100]}")
            return None
        return res.json()

    async def run(self) -> dict:
        async with httpx.AsyncClient(base_url=self.base, timeout=30) as http:
            res = await http.post("/api/sessions", headers={"Authorization": f"Bearer {SECRET}"}, json={})
            public_code = res.json()["code"]  # the class the attacker knows the code of
        async with self.attacker() as http:  # and a token it may have: an observer's
            res = await http.post(f"/api/sessions/{public_code}/join", json={"role": "observer"})
            spy = {"Content-Type": "application/json", "Authorization": f"Bearer {res.json()['token']}"}
        self.deadline = time.monotonic() + self.seconds
        rnd = random.Random(21)
        letters = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
        t0 = time.monotonic()
        await asyncio.gather(
            self.teacher(), self.idle("idle", self.connections), self.idle("slow", self.connections // 3),
            self.streams(public_code),
            self.flood("sessions", lambda: rnd.choice([
                ("POST", "/api/sessions", {"json": {}}),
                ("POST", "/api/sessions", {"json": {}, "headers": {"Authorization": "Bearer guess"}}),
                ("POST", "/api/sessions", {"content": b"{}", "headers": {"Content-Type": "text/plain",
                                                                         "Origin": "http://evil.example"}})])),
            self.flood("bodies", lambda: ("POST", f"/api/sessions/{public_code}/moves",
                                          {"content": rnd.choice(BODIES), "headers": spy})),
            self.flood("guesses", lambda: ("GET", "/api/sessions/" + "".join(rnd.choices(letters, k=6)), {})),
            self.flood("host", lambda: ("GET", "/teacher", {"headers": {"Host": "evil.example"}})))
        return self.report(time.monotonic() - t0)

    def report(self, elapsed: float) -> dict:
        lat = np.array(self.latencies) * 1000
        q = (lambda p: round(float(np.percentile(lat, p)), 1)) if len(lat) else (lambda p: None)
        return {"seconds": round(elapsed, 1), "attacks": {k: dict(v) for k, v in self.statuses.items()},
                "connections": dict(self.closed), "teacher_requests": len(self.latencies),
                "teacher_failed": len(self.teacher_failures), "teacher_failures": self.teacher_failures[:10],
                "teacher_p50_ms": q(50), "teacher_p95_ms": q(95), "teacher_max_ms": q(100),
                "games": self.games, "advances": self.advances}


def measure(seconds: float = 30, max_requests: int = 20_000, connections: int = 300) -> dict:
    """Run the attacks for ``seconds`` (each at most ``max_requests`` requests; ``connections`` idle ones)."""
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "server.log"
        with server(Path(tmp) / "state", log) as base:
            result = asyncio.run(Abuse(base, seconds, max_requests, connections).run())
        text = log.read_text(errors="replace")
    return result | {"log_bytes": len(text.encode()), "log_lines": text.count("\n"),
                     "log_tracebacks": text.count("Traceback"), "log_tail": text.splitlines()[-5:]}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--max-requests", type=int, default=20_000, help="per attack")
    ap.add_argument("--connections", type=int, default=300, help="idle connections held (a third as many slow)")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "abuse.json"))
    args = ap.parse_args()
    if not 1 <= args.seconds <= 600 or not 1 <= args.max_requests <= 1_000_000 or not 0 <= args.connections <= 5000:
        ap.error("--seconds 1..600, --max-requests 1..1000000, --connections 0..5000")
    result = measure(args.seconds, args.max_requests, args.connections)
    result |= {"python": platform.python_version(), "cpus": os.cpu_count(), "machine": platform.machine()}
    print(json.dumps(result, indent=1))
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    return 1 if result["teacher_failed"] or result["log_tracebacks"] else 0


if __name__ == "__main__":
    sys.exit(main())
