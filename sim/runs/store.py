"""The run store: runs/<id>/ with manifest.json, parts, results.parquet, summary.json.

Layout of a run directory::

    manifest.json     what was run (scenario text and hash, seed, runs, engine,
                      versions, command, timing), its status and the checksum
                      of results.parquet once complete
    .lock             the advisory lock held by the one process that writes here
    parts/            one Parquet file per finished unit while the job runs, and
                      parts/index.jsonl: one line per part (point, block,
                      replicate range, rows, SHA-256, the job's fingerprint)
    results.parquet   one row per run, in replicate order (when complete)
    summary.json      outcome probabilities with 95% intervals, distributions

What survives what:

* Every file is written to a temporary name unique to its writer, synced and
  renamed into place, so a reader never sees half a file and two writers
  never share a temporary file.
* One process at a time writes a run directory: it holds an advisory lock
  (``fcntl.flock`` on ``.lock``) for the life of the run or resume; a second
  one is refused with the holder's process id and command.
* A part counts as done only when its file's SHA-256 matches its line in
  ``parts/index.jsonl`` and that line names this job (seed, scenario,
  replicates); a damaged, swapped or foreign part is run again.
* The end of a job is ordered: results.parquet (renamed into place),
  summary.json, then the manifest marked ``complete`` with the results'
  checksum, and only then the parts are removed. A crash at any point
  leaves a directory that ``resume`` finishes.
* The manifest holds the fingerprint of the job; a manifest edited after the
  start (seed, scenario, points) is refused.
* The manifest is written at the start, at status changes and at the end,
  never once per unit: its size does not grow with the units done.

A directory is created with ``mkdir`` (which fails if it exists), so two
batches started in the same second get two directories.
"""

from __future__ import annotations

import errno
import fcntl
import functools
import hashlib
import io
import json
import os
import re
import secrets
import socket
import stat
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any, TypeGuard

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.errors import StoreError, UsageError, clean_text
from sim.jsonsafe import dumps

FORMAT = 2
READABLE_FORMATS = (1, 2)  # format 1 (no part checksums) is read when complete, never resumed
PACKAGES = ("negsim", "mesa", "numpy", "scipy", "pandas", "pyarrow", "pydantic", "pyyaml", "networkx")
MAX_SLUG = 80  # characters of a name kept in a file name; longer names end in a hash
DISK_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
JOURNAL = "index.jsonl"


# --------------------------------------------------------------------------- files


def temp_beside(path: Path) -> tuple[int, Path]:
    """A new temporary file in the folder of ``path``, this writer's own: (descriptor open for writing, name).

    Created exclusively (``O_EXCL``, ``O_NOFOLLOW``: never a file or link already there) with mode 0666,
    which the process's umask narrows as it does for any file the user makes: 0644 under umask 022.
    (``tempfile.mkstemp`` makes it 0600, and the rename would keep that: results and reports the user
    means to share would be readable by the user alone.)
    """
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC | getattr(os, "O_NOFOLLOW", 0)
    for _ in range(100):
        tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
        try:
            return os.open(tmp, flags, 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(errno.EEXIST, "no unused temporary name beside it", str(path))


def write_atomic(path: str | Path, data: bytes | str) -> None:
    """Write ``data`` to ``path`` through a temporary file of this writer's own and a rename.

    Every file negsim writes whole goes through here (run directories, reports, figures, tables): a
    reader never sees half a file, and the file gets the mode the user's umask gives (:func:`temp_beside`).
    """
    path = Path(path)
    fd, tmp = temp_beside(path)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data.encode() if isinstance(data, str) else data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(path)) from None  # name the file meant, not the temporary
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def discard_run_dir(run_dir: Path) -> None:
    """Remove a run directory this process has just created, before anything of the job was written."""
    for f in run_dir.iterdir():
        f.unlink(missing_ok=True)
    run_dir.rmdir()


def write_json(path: Path, obj: Any) -> None:
    """``obj`` as strict JSON (NaN as null: :func:`sim.jsonsafe.dumps`), written atomically."""
    write_atomic(path, dumps(obj) + "\n")


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def safe_slug(name: str, limit: int = MAX_SLUG) -> str:
    """``name`` as a file-name part: letters, digits, ``._-``; a long name keeps its start and a hash."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-.") or "scenario"
    if len(slug) <= limit:
        return slug
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{slug[: limit - 11]}-{digest}"


def disk_full(exc: BaseException) -> TypeGuard[OSError]:
    """A full disk or a file size limit (``ulimit -f``)."""
    return isinstance(exc, OSError) and exc.errno in DISK_FULL


def new_run_dir(out: str | Path, name: str) -> Path:
    """Create a fresh directory ``<out>/<YYYYmmdd-HHMMSS>-<name>[-N]``; never reuse one."""
    base = Path(out)
    try:
        base.mkdir(parents=True, exist_ok=True)
        if not base.is_dir():
            raise NotADirectoryError(errno.ENOTDIR, "not a directory")
    except (FileExistsError, NotADirectoryError):
        raise UsageError(f"--out {out}: cannot create a run directory there (it is a file, not a folder)") from None
    except OSError as exc:
        raise UsageError(f"--out {out}: cannot create a run directory there ({exc.strerror})") from None
    slug = safe_slug(name)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    for n in range(1, 10_000):
        path = base / (f"{stamp}-{slug}" if n == 1 else f"{stamp}-{slug}-{n}")
        try:
            path.mkdir()
            return path
        except FileExistsError:
            continue
        except OSError as exc:
            raise UsageError(f"--out {out}: cannot create a run directory there ({exc.strerror})") from None
    raise StoreError(f"{base}: cannot create a new run directory for {slug}")


# --------------------------------------------------------------------------- lock


class StoredRuns:
    """A result whose table of runs is in a run directory: ``runs`` is read from results.parquet on first use.

    The base of BatchResult and SweepResult (dataclasses with ``run_dir`` and ``_runs`` fields); ``kind`` names
    the result in the error of one kept in memory.
    """

    kind = "result"
    run_dir: Path | None
    _runs: pd.DataFrame | None

    @property
    def runs(self) -> pd.DataFrame:
        """One row per run (see :mod:`sim.engine.records` for the columns)."""
        if self._runs is None:
            self._runs = read_results(self._stored())
        return self._runs

    def _stored(self) -> Path:
        if self.run_dir is None:
            raise StoreError(f"a {self.kind} kept in memory has no run directory to read")
        return self.run_dir


class RunLock:
    """The advisory lock of a run directory, held by the one process that writes it.

    ``fcntl.flock`` on ``<run_dir>/.lock``: released by the kernel when the
    holder exits, however it exits, so a killed batch never leaves a stale
    lock. The file records the holder's process id and command for the
    message a second process gets.
    """

    def __init__(self, run_dir: Path, command: str | None = None):
        self.run_dir = Path(run_dir)
        self.command = command
        self.fd: int | None = None

    def __enter__(self) -> RunLock:
        path = self.run_dir / ".lock"
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW, 0o644)
        except OSError as exc:
            raise StoreError(f"{self.run_dir}: cannot lock the run directory ({exc.strerror})") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _holder(fd)
            for _ in range(40):  # the holder writes its note just after it takes the lock: give it a moment
                if holder != UNKNOWN_HOLDER:
                    break
                time.sleep(0.025)
                holder = _holder(fd)
            os.close(fd)
            raise StoreError(f"{self.run_dir}: in use by another negsim ({holder}); wait for it to finish "
                             f"(or stop it), then run: negsim resume {self.run_dir}") from None
        self.fd = fd
        info = json.dumps({"pid": os.getpid(), "command": self.command or " ".join(sys.argv),
                           "since": time.strftime("%Y-%m-%dT%H:%M:%S")})
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, info.encode(), 0)
        except OSError:
            pass  # the lock holds without its note
        return self

    def __exit__(self, *exc: object) -> None:
        if self.fd is not None:
            os.close(self.fd)  # closing the descriptor releases the lock
            self.fd = None


UNKNOWN_HOLDER = "another process"


def _holder(fd: int) -> str:
    try:
        info = json.loads(os.pread(fd, 4096, 0) or b"{}")
        return f"process {int(info['pid'])}: {clean_text(str(info.get('command', '?')))[:120]}"
    except (OSError, ValueError, KeyError, TypeError):
        return UNKNOWN_HOLDER


# --------------------------------------------------------------------------- versions


def versions() -> dict[str, str]:
    """Python's and the main packages' versions, as this process found them at its first call (a copy)."""
    return dict(_versions())


@functools.cache
def _versions() -> dict[str, str]:
    # Read once a process: the packages' metadata costs tens of milliseconds a batch, and the modules a running
    # process has imported do not change when a package is reinstalled under it.
    out = {"python": sys.version.split()[0]}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


@functools.cache
def code_version() -> str:
    """negsim's version plus a hash of the package's own source files (never another repository's state).

    Hashed once a process, at its first call (the first batch or comparison): the code a process runs is the code
    it imported, whatever is edited on disk later, and the hash costs tens of milliseconds a batch."""
    from sim.version import version

    here = Path(__file__).resolve().parents[1]  # the whole sim/ package, not only this wing
    h = hashlib.sha256()
    for path in sorted(here.rglob("*.py")):
        h.update(path.relative_to(here).as_posix().encode() + b"\0")
        h.update(path.read_bytes())
    return f"{version()}+src.{h.hexdigest()[:12]}"


# --------------------------------------------------------------------------- job fingerprint


JOB_KEYS = ("kind", "seed", "runs", "engine", "points")


def job_fingerprint(manifest: dict[str, Any]) -> str:
    """SHA-256 of what determines the results: scenario, seed, runs, engine, points, blocks, design."""
    sc = manifest["scenario"]
    core = {k: manifest[k] for k in JOB_KEYS} | {
        "block_size": manifest["units"]["block_size"], "scenario_sha256": sc["sha256"], "scenario": sc["data"],
        "sweep": manifest.get("sweep")}
    return sha256_bytes(dumps(core, indent=None, sort_keys=True).encode())


def check_manifest(run_dir: Path, manifest: dict[str, Any]) -> None:
    """The manifest's own integrity: its scenario text, and the job it describes, as when the run started."""
    where = Path(run_dir) / "manifest.json"
    try:
        sc = manifest["scenario"]
        if sha256_bytes(sc["text"].encode()) != sc["sha256"]:
            raise StoreError(f"{where}: the stored scenario text does not match its SHA-256: the manifest was "
                             f"edited or damaged; refusing to use it")
        if manifest.get("format", 1) >= 2 and job_fingerprint(manifest) != manifest.get("job_sha256"):
            raise StoreError(f"{where}: the job it describes (seed, runs, scenario, points) does not match its "
                             f"recorded fingerprint: the manifest was edited or damaged; refusing to use it")
    except (KeyError, TypeError, AttributeError) as exc:
        raise StoreError(f"{where}: incomplete manifest (missing or bad {exc})") from None


# --------------------------------------------------------------------------- parts


def part_path(run_dir: Path, point: int, block: int) -> Path:
    return run_dir / "parts" / f"part-{point:05d}-{block:06d}.parquet"


def frame_bytes(frame: pd.DataFrame) -> bytes:
    sink = io.BytesIO()
    frame.to_parquet(sink, index=False)
    return sink.getvalue()


def write_part(run_dir: Path, unit: tuple[int, int, int, int], frame: pd.DataFrame | bytes, job_sha256: str) -> None:
    """Write one finished unit atomically, then record its checksum in parts/index.jsonl.

    ``frame`` is the unit's table, or that table already encoded by :func:`frame_bytes` (a worker encodes it; the
    unit's rows are then its replicates, ``stop - start``)."""
    point, block, start, stop = unit
    (run_dir / "parts").mkdir(exist_ok=True)
    data = frame if isinstance(frame, bytes) else frame_bytes(frame)
    write_atomic(part_path(run_dir, point, block), data)
    record = {"point": point, "block": block, "start": start, "stop": stop,
              "rows": stop - start if isinstance(frame, bytes) else len(frame),
              "sha256": sha256_bytes(data), "job": job_sha256}
    # Not synced: a line lost to a power cut only means its part is run again (it cannot verify).
    with open(run_dir / "parts" / JOURNAL, "a", encoding="utf-8") as fh:
        fh.write(dumps(record, indent=None, sort_keys=True) + "\n")


def read_journal(run_dir: Path) -> dict[tuple[int, int], dict[str, Any]]:
    """The last complete record of each part (a line torn by a crash is ignored)."""
    path = run_dir / "parts" / JOURNAL
    out: dict[tuple[int, int], dict[str, Any]] = {}
    try:
        lines = path.read_bytes().splitlines()
    except FileNotFoundError:
        return out
    except OSError as exc:
        raise StoreError(f"{path}: cannot read ({exc.strerror})") from None
    for line in lines:
        try:
            rec = json.loads(line)
            out[(int(rec["point"]), int(rec["block"]))] = rec
        except (ValueError, KeyError, TypeError, UnicodeDecodeError):
            continue
    return out


def verified_parts(run_dir: Path, units: list[tuple[int, int, int, int]], job_sha256: str
                   ) -> tuple[set[tuple[int, int]], list[str]]:
    """Units whose part is intact and belongs to this job; and why each other part present is not used."""
    journal = read_journal(run_dir)
    done, rejected = set(), []
    for p, b, s, e in units:
        path = part_path(run_dir, p, b)
        if not path.exists() and not path.is_symlink():
            continue
        why = _part_problem(path, journal.get((p, b)), (p, b, s, e), job_sha256)
        if why is None:
            done.add((p, b))
        else:
            rejected.append(f"{path.name}: {why}; run again")
    if done or rejected:  # rewrite the journal clean: only the records still valid
        lines = [dumps(journal[k], indent=None, sort_keys=True) + "\n" for k in sorted(done)]
        write_atomic(run_dir / "parts" / JOURNAL, "".join(lines))
    return done, rejected


def _part_problem(path: Path, rec: dict | None, unit: tuple[int, int, int, int], job_sha256: str) -> str | None:
    if path.is_symlink() or not path.is_file():
        return "not a regular file"
    if rec is None:
        return "not recorded in parts/index.jsonl (written when the job stopped)"
    if rec.get("job") != job_sha256:
        return "recorded for another job (another seed, scenario or design)"
    if (rec.get("start"), rec.get("stop"), rec.get("rows")) != (unit[2], unit[3], unit[3] - unit[2]):
        return "recorded for other replicates"
    try:
        if sha256_file(path) != rec.get("sha256"):
            return "checksum mismatch (the file was damaged or replaced)"
    except OSError as exc:
        return f"unreadable ({exc.strerror})"
    return None


def merge_parts(run_dir: Path, units: list[tuple[int, int, int, int]], job_sha256: str, sweep: bool) -> dict[str, Any]:
    """Stream the verified parts, in unit order, into results.parquet; return its rows and checksum.

    The parts stay until the manifest records the job complete (see :func:`remove_parts`).
    """
    target = run_dir / "results.parquet"
    journal = read_journal(run_dir)
    fd, tmp = temp_beside(target)
    os.close(fd)
    writer, rows = None, 0
    try:
        for p, b, s, e in units:
            path = part_path(run_dir, p, b)
            data = path.read_bytes()
            rec = journal.get((p, b), {})
            if sha256_bytes(data) != rec.get("sha256") or rec.get("job") != job_sha256:
                raise StoreError(f"{path}: changed while the job ran (checksum mismatch); run: negsim resume {run_dir}")
            table = pq.read_table(pa.BufferReader(data))
            _check_rows(path, table, p, s, e, sweep)
            if writer is None:
                writer = pq.ParquetWriter(str(tmp), table.schema)
            writer.write_table(table.cast(writer.schema))
            rows += table.num_rows
        if writer is not None:
            writer.close()
            writer = None
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except OSError as exc:
        if writer is not None:
            writer.close()
        Path(tmp).unlink(missing_ok=True)
        raise OSError(exc.errno, exc.strerror, str(target)) from None
    except BaseException:
        if writer is not None:
            writer.close()
        Path(tmp).unlink(missing_ok=True)
        raise
    return {"rows": rows, "sha256": sha256_file(target)}


def _check_rows(path: Path, table: pa.Table, point: int, start: int, stop: int, sweep: bool) -> None:
    reps = table.column("replicate").to_pylist() if "replicate" in table.column_names else None
    ok = reps == list(range(start, stop))
    if ok and sweep:
        ok = "point" in table.column_names and set(table.column("point").to_pylist()) == {point}
    if not ok:
        raise StoreError(f"{path}: does not hold replicates {start}..{stop - 1}"
                         + (f" of point {point}" if sweep else ""))


def remove_parts(run_dir: Path) -> None:
    """Remove the parts, the journal and temporary files; a file someone else put in parts/ stays."""
    parts = run_dir / "parts"
    if not parts.is_dir():
        return
    for f in parts.iterdir():
        if re.fullmatch(r"part-\d{5,}-\d{6,}\.parquet|index\.jsonl|\..*\.tmp", f.name):
            f.unlink(missing_ok=True)
    try:
        parts.rmdir()
    except OSError:
        pass  # stray files: left where they are, the job is complete either way
    for leftover in run_dir.glob(".*.tmp"):
        leftover.unlink(missing_ok=True)


def results_intact(run_dir: Path, manifest: dict[str, Any]) -> bool:
    """results.parquet is there and matches the checksum the manifest recorded (format 1: readable)."""
    path = Path(run_dir) / "results.parquet"
    rec = manifest.get("results")
    try:
        if not path.is_file():
            return False
        if isinstance(rec, dict):
            return sha256_file(path) == rec.get("sha256")
        return pq.read_metadata(path).num_rows > 0
    except (OSError, pa.ArrowInvalid):
        return False


# --------------------------------------------------------------------------- listing and reading


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
    if not isinstance(pid, int) or not _alive(pid):
        return "interrupted"
    started = manifest.get("pid_started")
    if started is not None and process_started(pid) not in (None, started):
        return "interrupted"  # the pid now belongs to another process
    return "running"


def _running_status(run_dir: Path, manifest: dict[str, Any]) -> str:
    """A directory marked running is running while a process holds its lock (format 2, this host)."""
    if _locked(run_dir):
        return "running"
    elsewhere = manifest.get("host") not in (None, socket.gethostname())
    return driver_status(manifest) if elsewhere or manifest.get("format") == 1 else "interrupted"


def _locked(run_dir: Path) -> bool:
    """True while some process holds the run directory's lock."""
    try:
        fd = os.open(run_dir / ".lock", os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW)
    except OSError:
        return False
    try:
        fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        return False
    except BlockingIOError:
        return True
    finally:
        os.close(fd)


def list_runs(out: str | Path) -> list[dict[str, Any]]:
    """Run directories under ``out``: id, kind, scenario, date, size, status."""
    rows = []
    for path in sorted(Path(out).glob("*/manifest.json")):
        run_dir = path.parent
        try:
            size = sum(f.stat().st_size for f in run_dir.rglob("*") if f.is_file())
        except OSError:
            size = 0
        try:
            m = read_manifest(run_dir)
            status = m.get("status", "?")
            if status == "running":
                status = _running_status(run_dir, m)
            rows.append({"run_dir": str(run_dir), "kind": m.get("kind"), "scenario": m["scenario"]["name"],
                         "started": m["timing"]["started"], "runs": m.get("runs"), "points": len(m.get("points", [])),
                         "size_bytes": size, "status": status})
        except (StoreError, KeyError, TypeError) as exc:
            rows.append({"run_dir": str(run_dir), "kind": None, "scenario": None, "started": None, "runs": None,
                         "points": None, "size_bytes": size, "status": f"unreadable: {exc}"})
    return rows


MAX_MANIFEST = 256 * 1024 * 1024


def read_manifest(run_dir: str | Path) -> dict[str, Any]:
    path = Path(run_dir) / "manifest.json"
    try:
        info = path.stat()
    except FileNotFoundError:
        raise StoreError(f"{run_dir}: not a run directory (no manifest.json)") from None
    except OSError as exc:
        raise StoreError(f"{path}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_MANIFEST:
        raise StoreError(f"{path}: not a manifest (a special file, or larger than {MAX_MANIFEST} bytes)")
    try:
        manifest = json.loads(path.read_bytes())
    except OSError as exc:
        raise StoreError(f"{path}: cannot read ({exc.strerror})") from None
    except (json.JSONDecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise StoreError(f"{path}: corrupt manifest ({exc})") from None
    if not isinstance(manifest, dict) or manifest.get("format") not in READABLE_FORMATS:
        got = manifest.get("format") if isinstance(manifest, dict) else type(manifest).__name__
        raise StoreError(f"{path}: manifest format {got!r} is not a format this negsim reads "
                         f"({', '.join(map(str, READABLE_FORMATS))})")
    return manifest


def results_columns(run_dir: str | Path) -> list[str]:
    return pq.read_schema(Path(run_dir) / "results.parquet").names


def read_results(run_dir: str | Path, columns: list[str] | None = None, compact: bool = False) -> pd.DataFrame:
    """The results table of a run directory; ``compact`` reads text columns as categoricals."""
    path = Path(run_dir) / "results.parquet"
    if not path.is_file():
        raise StoreError(f"{run_dir}: no results.parquet (the batch did not complete; see `negsim runs`)")
    try:
        if not compact:
            return pq.read_table(path, columns=columns).to_pandas()
        schema = pq.read_schema(path)
        text = [f.name for f in schema if pa.types.is_string(f.type) or pa.types.is_large_string(f.type)]
        table = pq.read_table(path, columns=columns, read_dictionary=text)
        return table.to_pandas(ignore_metadata=True)
    except (pa.ArrowInvalid, OSError) as exc:
        raise StoreError(f"{path}: unreadable results ({exc})") from None
