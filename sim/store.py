"""The run store: runs/<id>/ with manifest.json, parts, results.parquet, summary.json.

Layout of a run directory::

    manifest.json     what was run (scenario text and hash, seed, runs, engine,
                      versions, command, timing) and which blocks are done
    parts/            one Parquet file per finished block while the batch runs
    results.parquet   one row per run, in replicate order (when complete)
    summary.json      outcome probabilities with 95% intervals, distributions

Every file is written to a temporary name and renamed into place, so a
reader never sees half a file. A directory is created with ``mkdir`` (which
fails if it exists), so two batches started in the same second get two
directories.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import StoreError

FORMAT = 1
PACKAGES = ("negsim", "mesa", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "pyyaml", "networkx")


def write_atomic(path: Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        fh.write(data.encode() if isinstance(data, str) else data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def write_json(path: Path, obj: Any) -> None:
    write_atomic(path, json.dumps(obj, indent=2, default=_jsonable) + "\n")


def _jsonable(x: Any) -> Any:
    if hasattr(x, "item"):
        return x.item()
    if isinstance(x, Path):
        return str(x)
    raise TypeError(f"not JSON serialisable: {type(x).__name__}")


def new_run_dir(out: str | Path, name: str) -> Path:
    """Create a fresh directory ``<out>/<YYYYmmdd-HHMMSS>-<name>[-N]``; never reuse one."""
    base = Path(out)
    base.mkdir(parents=True, exist_ok=True)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "scenario"
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 10_000):
        path = base / (f"{stamp}-{slug}" if n == 1 else f"{stamp}-{slug}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
    raise StoreError(f"{base}: cannot create a new run directory for {slug}")


def versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def code_version() -> str:
    """negsim version plus the git commit of the source tree, if there is one."""
    here = Path(__file__).resolve().parent
    try:
        sha = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=here, capture_output=True,
                             text=True, timeout=5).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--", "."], cwd=here, capture_output=True,
                               text=True, timeout=5).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        sha, dirty = "", ""
    version = versions()["negsim"]
    return f"{version}+{sha}{'.dirty' if dirty else ''}" if sha else version


def part_path(run_dir: Path, point: int, block: int) -> Path:
    return run_dir / "parts" / f"part-{point:05d}-{block:06d}.parquet"


def write_part(run_dir: Path, point: int, block: int, frame: pd.DataFrame) -> None:
    """Write one finished unit (a block of one point) atomically."""
    (run_dir / "parts").mkdir(exist_ok=True)
    path = part_path(run_dir, point, block)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def finished_parts(run_dir: Path, expected_rows: dict[tuple[int, int], int]) -> set[tuple[int, int]]:
    """Units whose part file is complete (readable, with the expected number of rows)."""
    done = set()
    for key, rows in expected_rows.items():
        path = part_path(run_dir, *key)
        try:
            if path.is_file() and pq.read_metadata(path).num_rows == rows:
                done.add(key)
        except (OSError, pa.ArrowInvalid):
            continue  # a corrupt part is run again
    return done


def merge_parts(run_dir: Path, units: list[tuple[int, int]]) -> Path:
    """Stream the parts, in unit order, into results.parquet; then remove the parts."""
    target = run_dir / "results.parquet"
    tmp = run_dir / ".results.parquet.tmp"
    writer = None
    try:
        for p, b in units:
            table = pq.read_table(part_path(run_dir, p, b))
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, target)
    for p, b in units:
        part_path(run_dir, p, b).unlink(missing_ok=True)
    for leftover in (run_dir / "parts").glob(".*.tmp"):
        leftover.unlink(missing_ok=True)
    (run_dir / "parts").rmdir()
    return target


def _alive(pid: Any) -> bool:
    if not isinstance(pid, int):
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def process_started(pid: int) -> int | None:
    """When process ``pid`` started (clock ticks since boot), or None where /proc cannot tell."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        return int(stat[stat.rindex(")") + 2:].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def driver_status(manifest: dict[str, Any]) -> str:
    """Status of a run directory marked running: is its driver process still at work?

    The driver is known by host, pid and the pid's start time, so a pid
    reused by another process, or a driver on another host, is not taken
    for this job's.
    """
    host = manifest.get("host")
    if host is not None and host != socket.gethostname():
        return f"running on {host}?"  # cannot look at another machine's processes
    pid = manifest.get("pid")
    if not _alive(pid):
        return "interrupted"
    started = manifest.get("pid_started")
    if started is not None and process_started(pid) not in (None, started):
        return "interrupted"  # the pid now belongs to another process
    return "running"


def list_runs(out: str | Path) -> list[dict[str, Any]]:
    """Run directories under ``out``: id, kind, scenario, date, size, status."""
    rows = []
    for path in sorted(Path(out).glob("*/manifest.json")):
        run_dir = path.parent
        size = sum(f.stat().st_size for f in run_dir.rglob("*") if f.is_file())
        try:
            m = read_manifest(run_dir)
            status = m.get("status", "?")
            if status == "running":
                status = driver_status(m)
            rows.append({"run_dir": str(run_dir), "kind": m.get("kind"), "scenario": m["scenario"]["name"],
                         "started": m["timing"]["started"], "runs": m.get("runs"), "points": len(m.get("points", [])),
                         "size_bytes": size, "status": status})
        except (StoreError, KeyError, TypeError) as exc:
            rows.append({"run_dir": str(run_dir), "kind": None, "scenario": None, "started": None, "runs": None,
                         "points": None, "size_bytes": size, "status": f"unreadable: {exc}"})
    return rows


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / "manifest.json"
    if not path.is_file():
        raise StoreError(f"{run_dir}: not a run directory (no manifest.json)")
    try:
        manifest = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise StoreError(f"{path}: corrupt manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
        got = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise StoreError(f"{path}: manifest format {got!r} is not the format {FORMAT} this negsim reads")
    return manifest


def results_columns(run_dir: str | Path) -> list[str]:
    return pq.read_schema(Path(run_dir) / "results.parquet").names


def read_results(run_dir: str | Path, columns: list[str] | None = None, compact: bool = False) -> pd.DataFrame:
    """The results table of a run directory; ``compact`` reads text columns as categoricals."""
    path = Path(run_dir) / "results.parquet"
    if not path.is_file():
        raise StoreError(f"{run_dir}: no results.parquet (the batch did not complete; see `negsim runs`)")
    if not compact:
        return pq.read_table(path, columns=columns).to_pandas()
    schema = pq.read_schema(path)
    text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
    table = pq.read_table(path, columns=columns, read_dictionary=text)
    return table.to_pandas(ignore_metadata=True)
