"""Bulk extraction of an archive into the store, resumable and exactly once per document.

Why this shape: the parent process alone writes the database (one transaction per document, keyed by
content hash + pipeline version + model version), workers only read files and extract. So a run killed
at any moment leaves whole documents or nothing, and the same command again skips what is stored. A
worker that hangs on one file is stopped by a per-file timer and that file gets E_TIMEOUT; nothing else
waits for it. Engines are interchangeable: local processes, or a Dask cluster (``--engine dask``).
``nianbao extract --workers N`` runs on the same engine, storing nothing (``extract_in_order``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import sys
import threading
import time
from collections import Counter, defaultdict, deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from functools import cache
from multiprocessing import get_context
from pathlib import Path

from nianbao import __version__
from nianbao.extraction.document import ReadError
from nianbao.extraction.mapping import CellEvidence
from nianbao.extraction.pipeline import Extractor, empty_record
from nianbao.extraction.readers import cannot_read, regular_size
from nianbao.models.calibration import ReviewPolicy, flag_kinds_by_field
from nianbao.schema import load_schema
from nianbao.store import Store, error_code, file_hash
from nianbao.store.crossyear import CheckSummary, check_cross_year

log = logging.getLogger("nianbao.batch")
ENGINES = ("local", "dask")
GIB = 1024**3
# Address space of a worker process (RLIMIT_AS): a file that needs more fails alone (E_TOO_LARGE, or E_CRASH
# where a library dies of it) instead of taking the machine. A worker maps about 1 GB once its model is
# loaded and 1.6 GB at its peak on a scan.
MEMORY_LIMIT_GIB = 4.0
# Off a terminal (a log, a CI job) progress is a plain line at most this often: a run over an archive takes
# hours, and a line per file would bury everything else in the log.
PROGRESS_EVERY_S = 5.0
# Failed files an end summary names: enough to start on, not a screenful; the store's files table holds all.
FAILED_NAMED = 5
FAILED_QUERY = "SELECT path, error FROM files WHERE state = 'failed'"


@dataclass(frozen=True)
class BatchSettings:
    """How a batch runs; unknown keys are refused by the dataclass itself."""

    workers: int = max(1, os.cpu_count() or 1)
    engine: str = "local"  # one of ENGINES
    scheduler: str | None = None  # a Dask scheduler address; a LocalCluster when None
    timeout_s: float = 300.0  # per file: a scan of a few pages takes well under a minute
    retry_failed: bool = False
    reextract: bool = False  # redo documents that only an older pipeline or model extracted
    model: str | None = None  # field mapper artifact or registry URI; the shipped one when None
    memory_limit_gib: float = MEMORY_LIMIT_GIB  # per worker process; 0: no limit

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine {self.engine!r} is not one of {ENGINES}")
        if self.workers < 1 or self.timeout_s <= 0 or self.memory_limit_gib < 0:
            raise ValueError("workers must be >= 1, timeout_s > 0 and memory_limit_gib >= 0")


@dataclass
class Outcome:
    """What a worker returns for one file."""

    path: str
    record: dict
    evidence: dict[str, CellEvidence]
    seconds: float
    peak_rss_mb: float


@dataclass
class Summary:
    files: int = 0
    duplicates: int = 0  # paths whose content another path of this run already holds
    skipped: int = 0  # already stored by an earlier run
    counts: dict[str, int] = field(default_factory=lambda: {"done": 0, "partial": 0, "failed": 0})
    errors: dict[str, str] = field(default_factory=dict)  # path → error
    seconds: float = 0.0
    peak_worker_rss_mb: float = 0.0
    cross_year: CheckSummary | None = None  # the check across years run at the end

    @property
    def extracted(self) -> int:
        return sum(self.counts.values())

    def line(self) -> str:
        rate = self.extracted / self.seconds if self.seconds else 0.0
        codes = by_code(Counter(error_code(e) for e in self.errors.values()))
        return (
            f"{self.files} files: {self.counts['done']} done, {self.counts['partial']} partial, "
            f"{self.counts['failed']} failed{codes}, {self.skipped} already stored, "
            f"{self.duplicates} duplicates; "
            f"{self.extracted} extracted in {self.seconds:.1f} s ({rate:.2f}/s), "
            f"peak worker memory {self.peak_worker_rss_mb:.0f} MB"
            + (f"; {self.cross_year.line()}" if self.cross_year else "")
        )

    def failed_files(self, store: Store, limit: int | None = None) -> list[str]:
        """The first ``limit`` (FAILED_NAMED) failed files by path, each with its code, and where every
        failed file is: the summary line only counts them."""
        if not self.errors:
            return []
        shown = sorted(self.errors)[: FAILED_NAMED if limit is None else limit]
        more = f"the first {len(shown)} of {len(self.errors)}" if len(self.errors) > len(shown) else "all"
        where = store.engine.url.render_as_string(hide_password=True)
        return [
            f"failed files ({more}, by path):",
            *(f"  {error_code(self.errors[path])}  {path}" for path in shown),
            f"every failed file with its error, this run's and earlier ones': {FAILED_QUERY} (in {where})",
        ]


def by_code(codes: Counter[str | None]) -> str:
    """Failures by error code, the most common first, as " (E_CORRUPT 2, E_EMPTY 1)"; "" when none."""
    ranked = sorted(codes.items(), key=lambda item: (-item[1], str(item[0])))
    return f" ({', '.join(f'{code} {n}' for code, n in ranked)})" if ranked else ""


def fields_to_review(record: dict, policy: ReviewPolicy) -> int:
    """How many of the record's fields ``policy`` sends to a person: low confidence or a doubt flag."""
    return sum(
        policy.needs_review(record["confidence"].get(key, 0.0), kinds)
        for key, kinds in flag_kinds_by_field(record).items()
    )


@dataclass
class ExtractSummary:
    """How the documents of an ``extract`` run came out: a run of many files must end saying what failed
    and why, and how much of what it read still needs a person, not only write records."""

    policy: ReviewPolicy
    counts: Counter[str] = field(default_factory=Counter)  # done, partial, failed
    codes: Counter[str | None] = field(default_factory=Counter)  # the failures' error codes
    to_review: int = 0  # fields the review policy sends to a person
    seconds: float = 0.0

    def add(self, record: dict) -> str:
        """Count one record; returns its state (done, partial or failed)."""
        state = extraction_state(record, load_schema().section_of)
        self.counts[state] += 1
        if record["error"]:
            self.codes[error_code(record["error"])] += 1
        self.to_review += fields_to_review(record, self.policy)
        return state

    def line(self) -> str:
        return (
            f"{self.counts.total()} documents: {self.counts['done']} ok, {self.counts['partial']} partial, "
            f"{self.counts['failed']} failed{by_code(self.codes)}; {self.to_review} fields to review "
            f"(confidence below {self.policy.threshold:.3f} or a doubt flag); {self.seconds:.1f} s"
        )


def model_version(card: dict) -> str:
    """A short fingerprint of the model card: two artifacts made differently never share it."""
    digest = hashlib.sha256(json.dumps(card, sort_keys=True, default=str).encode()).hexdigest()
    return f"{card.get('component', 'field_mapper')}:{digest[:16]}"


def extraction_key(card: dict) -> tuple[str, str]:
    """(pipeline version, model version) under which an extraction by this model is stored."""
    return __version__, model_version(card)


def extraction_state(record: dict, schema_sections: Callable[[str], str]) -> str:
    """done, failed (an error), or partial: a whole section came out empty (a table missing or cut off)."""
    if record["error"]:
        return "failed"
    by_section: dict[str, list] = {}
    for key, value in record["fields"].items():
        by_section.setdefault(schema_sections(key), []).append(value)
    if any(all(v is None for v in values) for values in by_section.values()):
        return "partial"
    return "done"


def archive_files(paths: Iterable[str | Path], suffixes: set[str] | None = None) -> Iterator[Path]:
    """Files as given; directories walked in name order, skipping gold labels and hidden files, keeping
    only ``suffixes`` when given (a batch keeps every file, so an unsupported one is reported, not lost).
    Whatever a directory holds beside files and folders (a FIFO, a link to anything) is kept too, to be
    refused with its reason rather than pass unnoticed."""
    for raw in paths:
        path = Path(raw)
        if not path.is_dir():
            yield path
            continue
        for child in sorted(path.rglob("*")):
            if (
                (child.is_symlink() or not child.is_dir())
                and not child.name.endswith(".gold.json")
                and not child.name.startswith(".")
                and (suffixes is None or child.suffix.lower() in suffixes)
            ):
                yield child


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
        record["error"] = f"E_TIMEOUT: extraction took longer than the {timeout_s:g} s per-file limit"
    finally:
        if timed:
            signal.setitimer(signal.ITIMER_REAL, 0)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return Outcome(path, record, evidence, time.perf_counter() - started, peak)


def crashed(path: str, exc: BaseException) -> Outcome:
    """The outcome of a file whose worker died or failed outside the extractor's own guard;
    ``--retry-failed`` tries it again."""
    record = empty_record(path)
    record["error"] = f"E_CRASH: the worker failed while extracting ({exc.__class__.__name__})"
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


def make_engine(settings: BatchSettings) -> LocalEngine | DaskEngine:
    if settings.engine == "dask":
        return DaskEngine(settings.workers, settings.scheduler)
    return LocalEngine(settings.workers)


def jobs_for(names: Iterable[str], settings: BatchSettings) -> Iterator[tuple]:
    """``extract_file``'s arguments for each file: the same limits wherever a file is extracted."""
    return ((name, settings.model, settings.timeout_s, settings.memory_limit_gib) for name in names)


def extract_in_order(names: Sequence[str], settings: BatchSettings) -> Iterator[tuple[str, dict]]:
    """(path, record) of every file in the order given, stored nowhere (``nianbao extract``). One worker:
    extracted in this process, as extract always was (no process to start, the model loaded once). More:
    by the batch's engine, with its per-file timer, memory limit and crash isolation; a file that finished
    early waits for those before it, so the output is the same whatever the workers' speed."""
    extractor = Extractor.load(settings.model)  # here too with workers: a bad model fails once, not per file
    if settings.workers == 1:
        yield from ((name, extractor.extract(name)) for name in names)
        return
    engine = make_engine(settings)
    order = deque(names)
    finished: defaultdict[str, deque[Outcome]] = defaultdict(deque)  # path → outcomes not yet given out
    try:
        for outcome in engine.run(jobs_for(names, settings), extract_file):
            finished[outcome.path].append(outcome)
            while order and finished[order[0]]:
                done = finished[order.popleft()].popleft()
                yield done.path, done.record
    finally:
        engine.close()


# ---------------------------------------------------------------- the parent side
class Progress:
    """A bar with files/s, ETA and errors on a terminal; a plain log line every ``every_s`` seconds
    (PROGRESS_EVERY_S) otherwise."""

    def __init__(self, total: int, stream=sys.stderr, every_s: float | None = None) -> None:
        self.total, self.stream = total, stream
        self.every_s = PROGRESS_EVERY_S if every_s is None else every_s
        self.done = self.errors = 0
        self.started = self.last = time.monotonic()
        self.bar = None
        if stream.isatty():
            from tqdm import tqdm

            self.bar = tqdm(total=total, unit="file", file=stream)

    def step(self, failed: bool) -> None:
        self.done += 1
        self.errors += failed
        if self.bar is not None:
            self.bar.set_postfix(errors=self.errors, refresh=False)
            self.bar.update()
            return
        now = time.monotonic()
        if now - self.last >= self.every_s or self.done == self.total:
            rate = self.done / max(now - self.started, 1e-9)
            eta = (self.total - self.done) / rate if rate else float("inf")
            print(
                f"{self.done}/{self.total} files, {rate:.2f}/s, ETA {eta:.0f} s, {self.errors} errors",
                file=self.stream,
                flush=True,
            )
            self.last = now

    def note(self, line: str) -> None:
        """A line about one file, written above the bar (tqdm's own write) so the bar is not torn."""
        if self.bar is not None:
            self.bar.write(line, file=self.stream)
        else:
            print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def fingerprint(path: Path) -> tuple[str, int]:
    """(SHA-256, size) of a regular file. Anything else is refused (E_NOT_FILE) before it is opened: hashing
    a FIFO would wait for a writer for ever, before any per-file timer runs."""
    size = regular_size(path)
    try:
        return file_hash(path), size
    except OSError as exc:
        raise cannot_read(exc) from exc


def plan(
    store: Store,
    paths: Iterable[Path],
    settings: BatchSettings,
    current: tuple[str, str],
    summary: Summary,
    batch_job_id: int | None = None,
) -> Iterator[tuple[str, int]]:
    """(path, document id) of every file still to extract; the others are recorded as what they are.
    Each path is marked as seen by ``batch_job_id`` (the REST job running this batch, if any)."""
    seen: set[int] = set()
    for path in paths:
        summary.files += 1
        name = str(path)
        try:
            digest, size = fingerprint(path)
        except ReadError as exc:  # not a file, vanished or unreadable before it could be hashed: no document
            error = str(exc)
            store.set_file(name, "failed", None, error, batch_job_id)
            summary.counts["failed"] += 1
            summary.errors[name] = error
            continue
        document = store.add_document(digest, name, size, path.suffix.lower().lstrip(".") or None)
        store.set_file(name, "pending", document, None, batch_job_id)  # settled once extracted, or at the end
        if document in seen:
            summary.duplicates += 1
            continue
        seen.add(document)
        earlier = store.extractions_of(document)
        stored = [(pv, mv) for pv, mv, state in earlier if state != "failed"]
        failed_now = any((pv, mv) == current and state == "failed" for pv, mv, state in earlier)
        kept = current in stored or (stored and not settings.reextract)
        if kept or (failed_now and not settings.retry_failed):
            summary.skipped += 1
            continue
        yield name, document


def run_batch(
    paths: Iterable[Path],
    store: Store,
    settings: BatchSettings,
    progress_stream=sys.stderr,
    batch_job_id: int | None = None,
) -> Summary:
    """Extract every file under ``paths`` not already in ``store``, then run the cross-year check over the
    whole store; returns what happened. ``batch_job_id``: the REST job this run is, recorded on every file it
    looks at."""
    started = time.perf_counter()
    card = Extractor.load(settings.model).model_card
    current = extraction_key(card)
    section_of = load_schema().section_of
    summary = Summary()
    todo = list(plan(store, paths, settings, current, summary, batch_job_id))
    document_of = dict(todo)
    progress = Progress(len(todo), progress_stream)
    engine = make_engine(settings)
    try:
        for outcome in engine.run(jobs_for((name for name, _ in todo), settings), extract_file):
            state = extraction_state(outcome.record, section_of)
            document = document_of[outcome.path]
            store.save_extraction(document, outcome.record, outcome.evidence, *current, state)
            store.settle_files(document)  # its paths show the outcome now, not only when the run ends
            summary.counts[state] += 1
            if outcome.record["error"]:
                summary.errors[outcome.path] = outcome.record["error"]
            summary.peak_worker_rss_mb = max(summary.peak_worker_rss_mb, outcome.peak_rss_mb)
            progress.step(state == "failed")
    finally:
        progress.close()
        engine.close()
        store.settle_files()
    summary.seconds = time.perf_counter() - started  # the extraction's: the rate is files per second
    summary.cross_year = check_cross_year(store)
    return summary
