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


def part_path(run_dir: Path, block: int) -> Path:
    return run_dir / "parts" / f"part-{block:06d}.parquet"


def write_part(run_dir: Path, block: int, frame: pd.DataFrame) -> None:
    (run_dir / "parts").mkdir(exist_ok=True)
    path = part_path(run_dir, block)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def merge_parts(run_dir: Path, blocks: int) -> Path:
    """Stream the parts, in block order, into results.parquet; remove the parts."""
    target = run_dir / "results.parquet"
    tmp = run_dir / ".results.parquet.tmp"
    writer = None
    try:
        for b in range(blocks):
            table = pq.read_table(part_path(run_dir, b))
            if writer is None:
                writer = pq.ParquetWriter(tmp, table.schema)
            writer.write_table(table.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, target)
    for b in range(blocks):
        part_path(run_dir, b).unlink(missing_ok=True)
    (run_dir / "parts").rmdir()
    return target


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


def arrow_schema(frame: pd.DataFrame) -> pa.Schema:
    return pa.Schema.from_pandas(frame, preserve_index=False)
