"""Where a file is extracted: worker processes under a per-file time limit and an address-space limit, on
this machine (``LocalEngine``) or a Dask cluster (``DaskEngine``).

Why workers only read and extract: the process that started them alone writes the database (``ingest``),
so a worker that hangs, dies of its memory limit or is killed takes one file with it, never a transaction.
A hang is stopped by the per-file timer (E_TIMEOUT); a dead worker fails the files it had in flight
(E_CRASH) and the engine carries on with fresh ones.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import cache
from multiprocessing import get_context

from nianbao.errors import ErrorCode
from nianbao.extraction.pipeline import Extractor, empty_record
from nianbao.extraction.record import FieldEvidence

GIB = 1024**3
# Address space of a worker process (RLIMIT_AS): a file that needs more fails alone (E_TOO_LARGE, or E_CRASH
# where a library dies of it) instead of taking the machine. A worker maps about 1 GB once its model is
# loaded and 1.6 GB at its peak on a scan.
MEMORY_LIMIT_GIB = 4.0
TIMEOUT_S = 300.0  # per file: a scan of a few pages takes well under a minute


@dataclass(frozen=True)
class Limits:
    """What one file's extraction runs with wherever it runs: the model, and its time and memory limits."""

    model: str | None  # field mapper artifact or registry URI; the shipped one when None
    timeout_s: float
    memory_limit_gib: float  # per worker process; 0: no limit

    def job(self, path: str) -> tuple:
        """``extract_file``'s arguments for ``path``: an engine's job."""
        return path, self.model, self.timeout_s, self.memory_limit_gib


@dataclass
class Outcome:
    """What a worker returns for one file."""

    path: str
    record: dict
    evidence: dict[str, FieldEvidence]
    seconds: float
    peak_rss_mb: float


# ---------------------------------------------------------------- the worker side
@cache
def _extractor(model: str | None) -> Extractor:
    return Extractor.load(model)


class FileTimeout(BaseException):
    """Raised by the per-file timer. A BaseException, so no reader's ``except Exception`` can disguise it
    as a parse error of its own."""


def _on_timer(_signum: int, _frame: object) -> None:
    raise FileTimeout


def limit_address_space(gib: float) -> None:
    """Cap this process's address space at ``gib`` (0: leave it): past it an allocation fails with
    MemoryError, which the extractor records as the file's E_TOO_LARGE."""
    import resource

    if not gib:
        return
    _, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = int(gib * GIB) if hard == resource.RLIM_INFINITY else min(int(gib * GIB), hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def extract_file(
    path: str, model: str | None, timeout_s: float, memory_limit_gib: float = MEMORY_LIMIT_GIB
) -> Outcome:
    """One file in a worker process, within the worker's address-space limit: the record, its evidence,
    and the worker's peak memory so far."""
    import resource

    limit_address_space(memory_limit_gib)
    extractor = _extractor(model)
    timed = threading.current_thread() is threading.main_thread()  # Dask runs tasks in threads: no timer
    if timed:
        signal.signal(signal.SIGALRM, _on_timer)
        signal.setitimer(signal.ITIMER_REAL, timeout_s)
    started = time.perf_counter()
    try:
        record, evidence = extractor.extract_with_evidence(path)
        # The timer's exception is lost when it lands in a finaliser or a GC callback (Python only
        # prints it): the limit holds all the same.
        if timed and time.perf_counter() - started > timeout_s:
            raise FileTimeout
    except FileTimeout:
        record, evidence = empty_record(path), {}
        record["error"] = ErrorCode.E_TIMEOUT.message(
            f"extraction took longer than the {timeout_s:g} s per-file limit"
        )
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Outcome(path, record, evidence, time.perf_counter() - started, peak)


def crashed(path: str, exc: BaseException) -> Outcome:
    """The outcome of a file whose worker died or failed outside the extractor's own guard;
    ``--retry-failed`` tries it again."""
    record = empty_record(path)
    record["error"] = ErrorCode.E_CRASH.message(
        f"the worker failed while extracting ({exc.__class__.__name__})"
    )
    return Outcome(path, record, {}, 0.0, 0.0)


def end_with_parent(parent: int, every_s: float = 1.0) -> None:
    """A worker's initializer: the worker ends once the process that started it is gone. Nothing else
    would tell it (it holds its pool queue's write end too, so it never reads an end of file), and a
    batch or server killed with ``kill -9`` would leave its workers waiting for ever."""

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(every_s)
        os._exit(1)

    threading.Thread(target=watch, name="nianbao-parent-watch", daemon=True).start()


# ---------------------------------------------------------------- engines
class LocalEngine:
    """Worker processes on this machine, started fresh (spawn) so each holds only what extraction needs."""

    def __init__(self, workers: int) -> None:
        self.workers, self.window = workers, 2 * workers
        self.pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        spawn = get_context("spawn")
        return ProcessPoolExecutor(
            self.workers, mp_context=spawn, initializer=end_with_parent, initargs=(os.getpid(),)
        )

    def run(self, jobs: Iterable[tuple], work: Callable[..., Outcome]) -> Iterator[Outcome]:
        """Results in completion order, never more than ``window`` files in flight. A worker that dies
        (killed, out of memory) fails the files it had in flight, and a new pool carries on."""
        pending: dict[Future, tuple] = {}

        def finished() -> Iterator[Outcome]:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                job = pending.pop(future)
                try:
                    yield future.result()
                except BrokenProcessPool as exc:
                    self._restart()
                    yield crashed(job[0], exc)
                except (Exception, FileTimeout) as exc:  # the worker lives on; only this file failed
                    yield crashed(job[0], exc)

        for job in jobs:
            pending[self.pool.submit(work, *job)] = job
            if len(pending) >= self.window:
                yield from finished()
        while pending:
            yield from finished()

    def _restart(self) -> None:
        if self.pool._broken:
            self.pool.shutdown(wait=False, cancel_futures=True)
            self.pool = self._new_pool()

    def close(self) -> None:
        self.pool.shutdown(cancel_futures=True)


# A Dask worker samples its threads' stacks every 10 ms for the dashboard's profile and keeps the
# history: about 25 MB of a worker's memory on a run of scans, against a 500 MB budget. Workers started
# by hand get the same with DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False (see the README).
WORKER_CONFIG = {"distributed.worker.profile.enabled": False}


class DaskEngine:
    """The same work on a Dask distributed cluster: the scheduler at ``address``, else a LocalCluster of
    ``workers`` processes. How many files are in flight follows the cluster's threads, not ``workers``:
    a remote cluster is sized by the workers started on it, and they may join during a run."""

    def __init__(self, workers: int, address: str | None) -> None:
        import dask
        from dask.distributed import Client, LocalCluster

        self.cluster = None
        if address is None:
            with dask.config.set(WORKER_CONFIG):
                self.cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True)
        self.client = Client(address or self.cluster)

    def window(self) -> int:
        """Two files per worker thread the cluster has now: one running, one waiting."""
        return 2 * max(1, sum(self.client.nthreads().values()))

    def run(self, jobs: Iterable[tuple], work: Callable[..., Outcome]) -> Iterator[Outcome]:
        """Results in completion order. A task that fails (its worker killed over its memory limit and
        given up on, KilledWorker, or any error outside the extractor's own guard) fails its file only."""
        from dask.distributed import as_completed

        flow, job_of = as_completed(), {}

        def finished(future) -> Outcome:
            job = job_of.pop(future)
            try:
                return future.result()
            except Exception as exc:
                return crashed(job[0], exc)

        for job in jobs:
            future = self.client.submit(work, *job, pure=False)
            job_of[future] = job
            flow.add(future)
            if flow.count() >= self.window():
                yield finished(next(flow))
        for future in flow:
            yield finished(future)

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


Engine = LocalEngine | DaskEngine
