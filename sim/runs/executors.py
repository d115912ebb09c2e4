"""Executors that run a job's units: the local process pool and Dask.

Any :class:`concurrent.futures.Executor` can run a job (see
:func:`sim.runs.batch.execute`): each unit is a pure function of the job,
one point's overrides and a span of replicates, whose result depends only on
its arguments, so a thread pool, a process pool or a cluster give the same
table, bit for bit. A unit carries only its own point: the job itself (the
scenario and settings, without the list of points) goes to each worker once,
through the local pool's initializer or, on Dask, ``client.scatter(...,
broadcast=True)``; see :func:`sim.runs.batch.ship`. This module builds the
two executors the command line offers:

* ``local``: a process pool on this machine (``--workers N``);
* ``dask``: a Dask cluster, the one at ``--scheduler tcp://HOST:PORT`` or,
  without an address, a ``LocalCluster`` of ``--workers`` processes started
  for the job and stopped after it (listening on 127.0.0.1 only, its HTTP
  endpoint on a free port). Needs the ``distributed`` package
  (``pip install 'negsim[dask]'``).

The local pool's workers do not import the caller's main module. Python's
``forkserver`` and ``spawn`` start methods normally run the main script again
in every worker (as ``__mp_main__``); a script piped to ``python -`` has no
file to run (its ``__file__`` is ``<stdin>``), and each worker died at start
with ``FileNotFoundError``. The workers run only negsim's own functions, so
:class:`_LeanProcess` leaves the main module out of what a new worker is told
to prepare.

The driver (the process that called ``run_batch``) receives every unit's
table and writes it to the run directory as it arrives, so workers need no
shared file system, and killing the driver leaves a resumable directory.
"""

from __future__ import annotations

import concurrent.futures as cf
import multiprocessing.spawn as mp_spawn
import os
import select
import signal
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from multiprocessing.context import ForkServerContext, ForkServerProcess
from typing import Any

from sim.defaults import BACKENDS
from sim.errors import UsageError

STOPS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


def _init_local_worker(parent: int, job: tuple[str, Any] | None = None) -> None:
    """Ctrl-C and a hangup sent to the whole process group are the driver's to handle: it stops the
    pool and leaves a resumable directory. SIGTERM keeps its default, so the pool can end broken
    workers with it. The stop signals were blocked when this process started (see
    ``sim.runs.batch._signals_blocked``), so none arrived before this point. A worker ends as soon as its
    driver has exited, however it exited. ``job`` is (token, job) when the pool serves one job: the worker
    keeps it, and the units refer to it by its token (see :func:`sim.runs.batch.ship`)."""
    for sig in (signal.SIGINT, signal.SIGHUP):
        signal.signal(sig, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPS)
    _watch(parent)
    if job is not None:
        WORKER_JOBS[job[0]] = job[1]


WORKER_JOBS: dict[str, Any] = {}  # in a local pool's worker: the job it serves, by token


def _watch(pid: int) -> None:
    """End this process as soon as process ``pid`` has exited."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        os._exit(1)
    except (AttributeError, OSError):  # no pidfd: poll
        def wait() -> None:
            while True:
                time.sleep(0.5)
                try:
                    os.kill(pid, 0)
                except ProcessLookupError:
                    os._exit(1)
                except PermissionError:
                    pass
    else:
        def wait() -> None:
            select.select([fd], [], [])  # a pidfd becomes readable when its process exits
            os._exit(1)
    threading.Thread(target=wait, name="negsim-driver-watch", daemon=True).start()


_launching = threading.local()  # set while this thread starts one of our workers
_plain_preparation: Callable[[str], dict[str, Any]] | None = None


def _preparation(name: str) -> dict[str, Any]:
    """What a new process prepares before it runs; without the main module when we start a worker."""
    assert _plain_preparation is not None
    data = _plain_preparation(name)
    if getattr(_launching, "lean", False):
        data.pop("init_main_from_path", None)
        data.pop("init_main_from_name", None)
    return data


class _LeanProcess(ForkServerProcess):
    """A forkserver process that does not run the caller's main module before it starts.

    Other processes (the caller's own pools) are prepared as Python prepares them: the
    change applies only in the thread that is starting one of these, for that start.
    """

    @staticmethod
    def _Popen(process_obj: Any) -> Any:  # noqa: N802 - multiprocessing's name
        global _plain_preparation
        with _install_lock:
            if _plain_preparation is None:
                _plain_preparation = mp_spawn.get_preparation_data
                mp_spawn.get_preparation_data = _preparation
        _launching.lean = True
        try:
            return ForkServerProcess._Popen(process_obj)
        finally:
            _launching.lean = False


_install_lock = threading.Lock()


class _LeanContext(ForkServerContext):
    Process = _LeanProcess


def local_pool(workers: int, job: tuple[str, Any] | None = None) -> cf.ProcessPoolExecutor:
    """A process pool forked from a clean server process that has imported negsim.

    Workers inherit no state from the caller, do not run its main module and
    pay no import cost after the first batch. ``job`` (token, job) is handed
    to each worker once, when it starts. Ctrl-C and SIGHUP reach only the
    driver, which stops the pool and leaves a resumable run directory; the
    workers end with their driver.
    """
    ctx = _LeanContext()
    ctx.set_forkserver_preload(["sim.runs.batch"])
    return cf.ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_init_local_worker,
                                  initargs=(os.getpid(), job))


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
