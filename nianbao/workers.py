"""Where a file is extracted: worker processes under a per-file time limit and an address-space limit, on
this machine (``LocalEngine``) or a Dask cluster (``DaskEngine``).

Local workers are forked from a fork server that imported the pipeline once (``fork_server.py``).

Why workers only read (hash) and extract: the process that started them alone writes the database
(``ingest``), so a worker that hangs, dies of its memory limit or is killed takes one file with it, never a
transaction; and the reading of every file, its hashing too, runs as parallel as its extraction, as does
the shaping of its fields into the rows the store writes (the one writing process only inserts them).
A hang is stopped by the per-file timer (E_TIMEOUT); a dead worker fails the files it had in flight
(E_CRASH) and the engine carries on with fresh ones.
"""

from __future__ import annotations

import hashlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from functools import cache
from multiprocessing import parent_process
from multiprocessing.connection import wait as wait_for_sentinels
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar

from nianbao.errors import CodedError, ErrorCode
from nianbao.extraction.readers import cannot_read, regular_size
from nianbao.fork_server import fork_server
from nianbao.keys import Key, extraction_key
from nianbao.schema import load_schema
from nianbao.stored_fields import StoredField, extraction_state, stored_fields

if TYPE_CHECKING:
    from nianbao.extraction.pipeline import Extractor

GIB = 1024**3
# Address space of a worker process (RLIMIT_AS): a file that needs more fails alone (E_TOO_LARGE, or E_CRASH
# where a library dies of it) instead of taking the machine. A worker maps about 1 GB once its model is
# loaded and 1.6 GB at its peak on a scan.
MEMORY_LIMIT_GIB = 4.0
TIMEOUT_S = 300.0  # per file: a scan of a few pages takes well under a minute
T = TypeVar("T")
Lost = Callable[[tuple, BaseException], T]  # what a job whose worker failed outside its own guard gave


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
    """What a worker returns for one file: its record, and its fields shaped as the store writes them (with
    the cells they were read from), so the batch's one writing process need not."""

    path: str
    record: dict
    fields: list[StoredField]
    state: str  # done, partial or failed (``extraction_state``)
    seconds: float
    peak_rss_mb: float


# ---------------------------------------------------------------- the worker side
# The pipeline is imported where a worker uses it, not with this module: the batch's own process imports
# this module and must stay light (workers are forked from the fork server, which preloaded the pipeline).
@cache
def _extractor(model: str | None) -> Extractor:
    from nianbao.extraction.pipeline import Extractor

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


def warm(model: str | None, memory_limit_gib: float = MEMORY_LIMIT_GIB) -> Key:
    """A worker's first job: the model loaded (within the worker's address-space limit) before any file
    arrives; the key its extractions are stored under, said by the one process that holds the model."""
    limit_address_space(memory_limit_gib)
    return extraction_key(_extractor(model).model_card)


def extract_file(
    path: str, model: str | None, timeout_s: float, memory_limit_gib: float = MEMORY_LIMIT_GIB
) -> Outcome:
    """One file in a worker process, within the worker's address-space limit: the record, its fields as
    the store writes them (``stored_fields``), and the worker's peak memory so far."""
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
        from nianbao.extraction.pipeline import empty_record

        record, evidence = empty_record(path), {}
        record["error"] = ErrorCode.E_TIMEOUT.message(
            f"extraction took longer than the {timeout_s:g} s per-file limit"
        )
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
    fields, state = stored_fields(record, evidence), extraction_state(record, load_schema().section_of)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Outcome(path, record, fields, state, time.perf_counter() - started, peak)


def fingerprint(path: Path) -> tuple[str, int]:
    """(SHA-256, size) of a regular file. Anything else is refused (E_NOT_FILE) before it is opened: hashing
    a FIFO would wait for a writer for ever, before any per-file timer runs."""
    size = regular_size(path)
    try:
        with path.open("rb") as handle:  # in chunks: an archive's largest file never sits in memory whole
            return hashlib.file_digest(handle, "sha256").hexdigest(), size
    except OSError as exc:
        raise cannot_read(exc) from exc


Hashed = tuple[str, int] | CodedError  # (SHA-256, size) of a file, or why it could not be hashed


def hash_files(index: int, paths: tuple[str, ...]) -> tuple[int, list[Hashed]]:
    """A job of the hashing pass: ``fingerprint`` of each of a chunk of paths, numbered ``index``."""
    hashed: list[Hashed] = []
    for path in paths:
        try:
            hashed.append(fingerprint(Path(path)))
        except CodedError as exc:
            hashed.append(exc)
    return index, hashed


def hashing_lost(job: tuple, exc: BaseException) -> tuple[int, list[Hashed]]:
    """A hashing job whose worker died: each of its paths refused with E_CRASH."""
    index, paths = job
    error = CodedError(ErrorCode.E_CRASH, f"the worker failed while hashing ({exc.__class__.__name__})")
    return index, [error] * len(paths)


def crashed(path: str, exc: BaseException) -> Outcome:
    """The outcome of a file whose worker died or failed outside the extractor's own guard;
    ``--retry-failed`` tries it again."""
    from nianbao.extraction.pipeline import empty_record

    record = empty_record(path)
    record["error"] = ErrorCode.E_CRASH.message(
        f"the worker failed while extracting ({exc.__class__.__name__})"
    )
    return Outcome(path, record, [], "failed", 0.0, 0.0)


def extraction_lost(job: tuple, exc: BaseException) -> Outcome:
    """An extraction job whose worker died or failed outside the extractor's guard (``crashed``)."""
    return crashed(job[0], exc)


def end_with_parent() -> None:
    """A worker's initializer: the worker ends once the process that started it is gone (the pipe only
    that process holds the other end of reads its end of file). Nothing else would tell it (it holds its
    pool queue's write end too, so the queue never ends), and a batch or server killed with ``kill -9``
    would leave its workers waiting for ever."""
    sentinel = parent_process().sentinel

    def watch() -> None:
        wait_for_sentinels([sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="nianbao-parent-watch", daemon=True).start()


# ---------------------------------------------------------------- engines
class _Finished(Protocol[T]):
    """A finished job's future, a local pool's or Dask's."""

    def result(self) -> T: ...


def result_or_lost(
    future: _Finished[T], job: tuple, lost: Lost, broken: Callable[[], None] = lambda: None
) -> T:
    """A finished job's result, or what ``lost`` says it gave when its worker failed outside the
    extractor's own guard (killed, out of memory, KilledWorker); ``broken`` runs first when that failure
    broke a local pool. The worker lives on otherwise: only this job failed."""
    try:
        return future.result()
    except BrokenProcessPool as exc:
        broken()
        return lost(job, exc)
    except (Exception, FileTimeout) as exc:
        return lost(job, exc)


class _Engine:
    """What both engines share: ``run`` over the ``run_ready`` each defines."""

    def run_ready(self, jobs: Iterable[tuple], work: Callable[..., T], lost: Lost) -> Iterator[list[T]]:
        raise NotImplementedError

    def run(self, jobs: Iterable[tuple], work: Callable[..., T], lost: Lost = extraction_lost) -> Iterator[T]:
        """``run_ready``'s results one at a time."""
        for ready in self.run_ready(jobs, work, lost):
            yield from ready


class LocalEngine(_Engine):
    """Worker processes on this machine, forked from the fork server (module docstring)."""

    def __init__(self, workers: int) -> None:
        self.workers, self.window = workers, 2 * workers
        self.pool = self._new_pool()

    def warm(self, limits: Limits) -> Key:
        """Have each worker load the model now (``warm``); the key, from the first that has."""
        loading = [self.pool.submit(warm, limits.model, limits.memory_limit_gib) for _ in range(self.workers)]
        done, _ = wait(loading, return_when=FIRST_COMPLETED)
        return next(iter(done)).result()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=fork_server(), initializer=end_with_parent)

    def run_ready(
        self, jobs: Iterable[tuple], work: Callable[..., T], lost: Lost = extraction_lost
    ) -> Iterator[list[T]]:
        """Results in completion order, those finished together in one list (never waiting for more),
        never more than ``window`` jobs in flight. A worker that dies (killed, out of memory) loses the jobs
        it had in flight (``lost`` says what each gave), and a new pool carries on."""
        pending: dict[Future, tuple] = {}

        def finished() -> list[T]:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            return [result_or_lost(future, pending.pop(future), lost, self._restart) for future in done]

        for job in jobs:
            pending[self.pool.submit(work, *job)] = job
            if len(pending) >= self.window:
                yield finished()
        while pending:
            yield finished()

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


class DaskEngine(_Engine):
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

    def warm(self, limits: Limits) -> Key:
        """The key, from one worker that loads the model now (a cluster's workers outlive a batch; the
        others load it with their first file)."""
        return self.client.submit(warm, limits.model, limits.memory_limit_gib, pure=False).result()

    def window(self) -> int:
        """Two files per worker thread the cluster has now: one running, one waiting."""
        return 2 * max(1, sum(self.client.nthreads().values()))

    def run_ready(
        self, jobs: Iterable[tuple], work: Callable[..., T], lost: Lost = extraction_lost
    ) -> Iterator[list[T]]:
        """Results in completion order, those finished together in one list. A task that fails (its worker
        killed over its memory limit and given up on, KilledWorker, or any error outside the extractor's own
        guard) loses its job only (``lost`` says what it gave)."""
        from dask.distributed import as_completed

        flow, job_of = as_completed(), {}

        def finished(futures: list) -> list[T]:
            return [result_or_lost(future, job_of.pop(future), lost) for future in futures]

        for job in jobs:
            future = self.client.submit(work, *job, pure=False)
            job_of[future] = job
            flow.add(future)
            if flow.count() >= self.window():
                yield finished(flow.next_batch(block=True))
        while not flow.is_empty():
            yield finished(flow.next_batch(block=True))

    def close(self) -> None:
        self.client.close()
        if self.cluster is not None:
            self.cluster.close()


Engine = LocalEngine | DaskEngine
