"""Executors that run a job's units: the local process pool and Dask.

Any :class:`concurrent.futures.Executor` can run a job (see
:func:`sim.batch.execute`): each unit is the call ``run_unit(job, point,
start, stop)``, a pure function whose result depends only on its arguments,
so a thread pool, a process pool or a cluster give the same table, bit for
bit. This module builds the two the command line offers:

* ``local``: a process pool on this machine (``--workers N``);
* ``dask``: a Dask cluster, the one at ``--scheduler tcp://HOST:PORT`` or,
  without an address, a ``LocalCluster`` of ``--workers`` processes started
  for the job and stopped after it (listening on 127.0.0.1 only, its HTTP
  endpoint on a free port). Needs the ``distributed`` package
  (``pip install 'negsim[dask]'``).

The driver (the process that called ``run_batch``) receives every unit's
table and writes it to the run directory as it arrives, so workers need no
shared file system, and killing the driver leaves a resumable directory.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing as mp
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sim.errors import UsageError

BACKENDS = ("local", "dask")


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle


def local_pool(workers: int) -> cf.ProcessPoolExecutor:
    """A process pool forked from a clean server process that has imported negsim.

    Workers inherit no state from the caller and pay no import cost after
    the first batch. They start with SIGINT ignored, so Ctrl-C reaches only
    the driver, which stops the pool and leaves a resumable run directory.
    """
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload(["sim.batch"])
    main = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN) if main else None
    try:
        return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_ignore_sigint)
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)


class DaskExecutor(cf.Executor):
    """A ``concurrent.futures`` view of a Dask client, sized to the cluster's threads."""

    def __init__(self, client: Any):
        self.client = client
        self._inner = client.get_executor(pure=False)

    @property
    def max_workers(self) -> int:
        return max(sum(self.client.nthreads().values()), 1)

    def submit(self, fn, /, *args, **kwargs) -> cf.Future:  # noqa: ANN001 - Executor's signature
        return self._inner.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._inner.shutdown(wait=wait)


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise UsageError("--backend dask needs the distributed package: pip install 'negsim[dask]'") from None
    return distributed


@contextmanager
def dask_executor(scheduler: str | None = None, workers: int = 1, timeout: float = 30.0) -> Iterator[DaskExecutor]:
    """An executor on the Dask cluster at ``scheduler``, or on a LocalCluster of ``workers`` processes."""
    distributed = _distributed()
    if scheduler:
        try:
            client = distributed.Client(scheduler, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as exc:
            raise UsageError(f"--scheduler {scheduler}: cannot reach a Dask scheduler there ({exc})") from None
        with client:
            yield DaskExecutor(client)
        return
    import dask

    # Dask's nanny sets MALLOC_TRIM_THRESHOLD_ in its workers, which turns off glibc's dynamic mmap
    # threshold: every large numpy temporary is then mapped and unmapped, and the vector engine runs
    # about 4 times slower. Leave the allocator at its defaults in the workers we start.
    with dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}), \
            distributed.LocalCluster(n_workers=max(workers, 1), threads_per_worker=1, processes=True,
                                     host="127.0.0.1", dashboard_address="127.0.0.1:0") as cluster, \
            distributed.Client(cluster) as client:
        yield DaskExecutor(client)


@contextmanager
def open_executor(backend: str = "local", workers: int = 1, scheduler: str | None = None) -> Iterator[cf.Executor | None]:
    """The executor a command asked for; None means the default local execution."""
    if backend not in BACKENDS:
        raise UsageError(f"backend must be one of {', '.join(BACKENDS)} (got {backend!r})")
    if scheduler and backend != "dask":
        raise UsageError("--scheduler needs --backend dask")
    if backend == "local":
        yield None
        return
    with dask_executor(scheduler, workers) as ex:
        yield ex


def describe(executor: cf.Executor | None, workers: int) -> dict[str, Any]:
    """How a job ran, for its manifest."""
    if executor is None:
        return {"backend": "local", "workers": workers}
    if isinstance(executor, DaskExecutor):
        return {"backend": "dask", "scheduler": executor.client.scheduler.address, "workers": executor.max_workers}
    return {"backend": type(executor).__name__, "workers": getattr(executor, "_max_workers", None)}
