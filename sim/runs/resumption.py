"""Resume an interrupted batch or sweep: the one place that knows both kinds of job.

The batch stage runs and stores jobs; the sweep stage sits above it. Resuming
needs the finisher of either kind, so it lives above both and hands the batch
stage the finishers (no import from the batch stage back up to sweeps).
"""

from __future__ import annotations

import concurrent.futures as cf
from pathlib import Path
from typing import Any

from sim.runs.batch import Finish, Progress, finish_batch, resume_job
from sim.runs.sweep import finish_sweep

FINISHERS: dict[str, Finish] = {"batch": finish_batch, "sweep": finish_sweep}


def resume(run_dir: str | Path, workers: int = 1, progress: Progress | None = None,
           executor: cf.Executor | None = None) -> Any:
    """Finish an interrupted batch or sweep (on ``executor``, if given); return its result object.

    Parts are kept only when their checksum and job match their record; the
    others are run again and listed in the manifest's ``resumed`` entry.
    """
    return resume_job(run_dir, FINISHERS, workers, progress, executor)
