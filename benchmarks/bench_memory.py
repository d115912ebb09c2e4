"""Peak memory of a large batch of the baseline scenario.

    .venv/bin/python benchmarks/bench_memory.py [--runs 1000000] [--workers 2]

Runs ``negsim run scenarios/baseline.yaml --runs N --workers W`` into a
temporary folder and samples, every 0.1 s, the resident memory (VmRSS from
/proc) of the negsim process and of all its descendants (the workers). It
reports the peak of their sum (what the batch needs from the machine) and the
largest single process, with the wall time, and writes them as JSON.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children.get(p, [])
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=1_000_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "memory.json"))
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [sys.executable, "-m", "sim.cli", "run", str(ROOT / "scenarios" / "baseline.yaml"), "--runs",
               str(args.runs), "--workers", str(args.workers), "--seed", "1", "--out", tmp, "--json"]
        start = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT)
        peak_sum = peak_one = 0
        while proc.poll() is None:
            sizes = [rss_kib(p) for p in descendants(proc.pid)]
            peak_sum, peak_one = max(peak_sum, sum(sizes)), max(peak_one, max(sizes, default=0))
            time.sleep(0.1)
        wall = time.perf_counter() - start
        out, err = proc.communicate()
        if proc.returncode != 0:
            print(err, file=sys.stderr)
            return proc.returncode
        summary = json.loads(out)["summary"]
    result = {"runs": args.runs, "workers": args.workers, "wall_seconds": wall, "runs_per_s": args.runs / wall,
              "peak_rss_total_mib": peak_sum / 1024, "peak_rss_largest_process_mib": peak_one / 1024,
              "agreement": summary["outcomes"]["agreement"]}
    print(f"{args.runs:,} runs, {args.workers} workers: {wall:.1f} s ({args.runs / wall:,.0f} runs/s end to end); "
          f"peak memory {peak_sum / 1024:,.0f} MiB in all processes, largest process {peak_one / 1024:,.0f} MiB")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
