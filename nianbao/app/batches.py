"""Batch jobs of the REST service: an archive extracted into the store in the background, exactly as
``nianbao batch`` does it (``run_batch``), with each job's state kept in the database.

Why an archive root: a job reads files on the server, so a client must not name just any path. Every
submitted path must resolve (symlinks followed) inside the root the server was started with, and a file
that a walk reaches through a link pointing out of it is recorded as failed (E_OUTSIDE_ARCHIVE), never
read. A server without a root refuses every batch.

Why interrupted jobs are failed, not resumed: the runner is a thread of the server process, so a job
queued or running when the server stopped has nobody left to run it. The next start marks such jobs
failed (E_INTERRUPTED); submitting the same paths again resumes the work, because a batch skips what is
already stored. Resuming by itself could start an archive-sized run nobody is waiting for any more.
This assumes one server per database runs batch jobs: a second one starting would fail the first's.
"""

from __future__ import annotations

import io
import logging
import queue
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from nianbao.batch import run_batch
from nianbao.errors import CodedError, ErrorCode
from nianbao.runs import BatchSettings, archive_files
from nianbao.store import BatchJobRow, Store

log = logging.getLogger("nianbao.app.batches")
UNFINISHED = ("queued", "running")
INTERRUPTED = "the server stopped before the job ended; submit it again to resume"


def confine(given: Sequence[str], root: Path | None) -> list[Path]:
    """The submitted paths resolved (relative ones from ``root``), each inside ``root`` and existing.
    Whether a path outside the root exists is never told; a path that will not do is a ``CodedError``."""
    if root is None:
        raise CodedError(ErrorCode.E_NO_ARCHIVE_ROOT, "batches are disabled: the server has no archive root")
    base = root.resolve()
    resolved = []
    for raw in given:
        try:
            path = (base / raw).resolve()
        except (OSError, ValueError, RuntimeError):  # a NUL byte, a link loop
            raise CodedError(
                ErrorCode.E_OUTSIDE_ARCHIVE, f"{raw!r} is not a path in the archive root"
            ) from None
        if not path.is_relative_to(base):
            raise CodedError(ErrorCode.E_OUTSIDE_ARCHIVE, f"{raw!r} is not inside the archive root")
        if not path.exists():
            raise CodedError(ErrorCode.E_PATH_MISSING, f"{raw!r} does not exist in the archive")
        resolved.append(path)
    return resolved


@dataclass(frozen=True)
class JobStatus:
    """A job as the service shows it: its row, with the file counts in effect now."""

    row: BatchJobRow
    counts: dict[str, int]


class _LogLines(io.TextIOBase):
    """``run_batch``'s progress lines into the server's log, instead of a bar on its terminal."""

    def __init__(self, job_id: int) -> None:
        self.job_id = job_id

    def write(self, text: str) -> int:
        if text.strip():
            log.info("batch job %d: %s", self.job_id, text.strip())
        return len(text)


def _now() -> datetime:
    return datetime.now(UTC)


class BatchJobs:
    """Submitted batches, run one at a time in submission order by a background thread of the server
    (each batch spreads its files over its own worker processes)."""

    def __init__(self, store: Store, root: Path | None, max_workers: int) -> None:
        self.store, self.max_workers = store, max_workers
        self.root = root.resolve() if root is not None else None
        self.waiting: queue.SimpleQueue[int] = queue.SimpleQueue()
        self.runner: threading.Thread | None = None
        self.runner_lock = threading.Lock()

    def submit(self, paths: Sequence[str], options: dict) -> int:
        """Queue a batch of ``paths`` (checked by ``confine``) with ``options`` (BatchSettings keys); the
        job's id."""
        resolved = confine(paths, self.root)
        if options["workers"] > self.max_workers:
            raise CodedError(
                ErrorCode.E_TOO_MANY_WORKERS, f"a batch may use at most {self.max_workers} workers"
            )
        with self.store.sessions.begin() as session:
            row = BatchJobRow(state="queued", paths=[str(p) for p in resolved], options=options)
            session.add(row)
            session.flush()
            job_id = row.id
        self.waiting.put(job_id)
        with self.runner_lock:
            if self.runner is None:  # daemon: a server that stops does not wait for a batch to end
                self.runner = threading.Thread(target=self._work, name="nianbao-batches", daemon=True)
                self.runner.start()
        return job_id

    def recover(self) -> list[int]:
        """Fail the jobs a stopped server left queued or running (E_INTERRUPTED); their ids."""
        with self.store.sessions() as session:
            ids = list(session.scalars(select(BatchJobRow.id).where(BatchJobRow.state.in_(UNFINISHED))))
        for job_id in ids:
            self._finish(job_id, None, CodedError(ErrorCode.E_INTERRUPTED, INTERRUPTED))
        if ids:
            log.warning("batch jobs %s were left unfinished by a stopped server: failed", ids)
        return ids

    def status(self, job_id: int) -> JobStatus | None:
        with self.store.sessions() as session:
            row = session.get(BatchJobRow, job_id)
        return None if row is None else self._status(row)

    def recent(self, limit: int) -> list[JobStatus]:
        """The newest ``limit`` jobs, newest first."""
        query = select(BatchJobRow).order_by(BatchJobRow.id.desc()).limit(limit)
        with self.store.sessions() as session:
            rows = session.scalars(query).all()
        return [self._status(row) for row in rows]

    def shown_path(self, path: str) -> str:
        """A job's path as clients see it: relative to the archive root, never the server's directories."""
        if self.root is not None and Path(path).is_relative_to(self.root):
            return str(Path(path).relative_to(self.root))
        return Path(path).name

    # ---------------------------------------------------------------- the runner thread
    def _status(self, row: BatchJobRow) -> JobStatus:
        return JobStatus(row, row.counts if row.counts is not None else self.store.file_counts(row.id))

    def _work(self) -> None:
        while True:
            job_id = self.waiting.get()
            try:
                self._run(job_id)
            except Exception:  # the database went away: this job is failed at the next start, the next runs
                log.exception("batch job %d could not be run", job_id)

    def _run(self, job_id: int) -> None:
        with self.store.sessions.begin() as session:
            row = session.get(BatchJobRow, job_id)
            row.state, row.started_at = "running", _now()
            paths, options = [Path(p) for p in row.paths], row.options
        try:
            files = self._inside(archive_files(paths), job_id)
            summary = run_batch(files, self.store, BatchSettings(**options), _LogLines(job_id), job_id)
        except Exception as exc:  # the batch itself broke (a file's failure is recorded, not raised)
            log.exception("batch job %d failed", job_id)  # the details stay in the server's log
            stopped = CodedError(ErrorCode.E_INTERNAL, f"the batch stopped ({exc.__class__.__name__})")
            self._finish(job_id, None, stopped)
        else:
            self._finish(job_id, summary.line(), None)

    def _inside(self, files: Iterable[Path], job_id: int) -> Iterator[Path]:
        """The walked files that resolve inside the root; a link out of it is recorded as failed, unread."""
        for path in files:
            if path.resolve().is_relative_to(self.root):
                yield path
            else:
                error = CodedError(
                    ErrorCode.E_OUTSIDE_ARCHIVE, "a link to a file outside the archive root, not read"
                )
                self.store.set_file(str(path), "failed", None, error, job_id)

    def _finish(self, job_id: int, summary: str | None, error: CodedError | None) -> None:
        """The job ends: done when its batch ran to the end (whatever its files' states), else failed."""
        counts = self.store.file_counts(job_id)  # kept: what this job left, whatever later runs change
        with self.store.sessions.begin() as session:
            row = session.get(BatchJobRow, job_id)
            row.state = "failed" if error else "done"
            row.summary, row.counts, row.finished_at = summary, counts, _now()
            row.error, row.error_code = (str(error), error.code) if error else (None, None)
