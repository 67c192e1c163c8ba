"""Bulk extraction of an archive into the store, resumable and exactly once per document.

Why this shape: each file goes the one way into the store (``ingest``: hashed, keyed by content + pipeline
version + model version, extracted once, stored whole by this process alone), so a run killed at any
moment leaves whole documents or nothing, and the same command again skips what is stored. Files go
to worker processes (``workers.py``): one that hangs on a file is stopped by a per-file timer and that file
gets E_TIMEOUT; nothing else waits for it. Engines are interchangeable: local processes, or a Dask cluster
(``--engine dask``). Here: the batch's account of every path (the summary, the files table, the
progress); its settings and engines, shared with ``nianbao extract``, are in ``runs.py``.
"""

from __future__ import annotations

import sys
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nianbao.errors import CodedError, ErrorCode
from nianbao.ingest import Redo, Watch, ingest
from nianbao.runs import BatchSettings, Progress, by_code, make_engine
from nianbao.store import Store
from nianbao.store.crossyear import CheckSummary, check_cross_year
from nianbao.workers import Outcome

# Failed files an end summary names: enough to start on, not a screenful; the store's files table holds all.
FAILED_NAMED = 5
FAILED_QUERY = "SELECT path, error FROM files WHERE state = 'failed'"
# A running batch's files show their documents' outcomes this often (a REST job's counts read them), not
# after every commit: settling is a transaction of its own.
SETTLE_EVERY_S = 1.0


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
        codes = by_code(Counter(ErrorCode.of(e) for e in self.errors.values()))
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
            *(f"  {ErrorCode.of(self.errors[path])}  {path}" for path in shown),
            f"every failed file with its error, this run's and earlier ones': {FAILED_QUERY} (in {where})",
        ]


# ---------------------------------------------------------------- the batch's account
class _Tally(Watch):
    """A batch's account of what ``ingest`` did with each path: its summary, each path's row in the files
    table (marked as seen by ``batch_job_id``, the REST job running the batch, if any), its progress."""

    def __init__(self, store: Store, summary: Summary, stream, batch_job_id: int | None) -> None:
        self.store, self.summary, self.stream, self.batch_job_id = store, summary, stream, batch_job_id
        self.progress: Progress | None = None
        self.files: list[tuple[str, str, int | None, CodedError | None]] = []  # rows not yet written
        self.settled: list[int] = []  # documents stored whose files are not yet settled
        self.last_settled = time.monotonic()

    def refused(self, path: str, error: CodedError) -> None:
        self.summary.files += 1
        self.files.append((path, "failed", None, error))
        self.summary.counts["failed"] += 1
        self.summary.errors[path] = str(error)

    def added(self, path: str, document: int) -> None:
        self.summary.files += 1
        self.files.append((path, "pending", document, None))  # settled once extracted

    def skipped(self, path: str, duplicate: bool) -> None:
        if duplicate:
            self.summary.duplicates += 1
        else:
            self.summary.skipped += 1

    def planned(self, count: int) -> None:
        self.progress = Progress(count, self.stream)

    def stored(self, document: int, outcome: Outcome) -> None:
        self.settled.append(document)
        self.summary.counts[outcome.state] += 1
        if outcome.record["error"]:
            self.summary.errors[outcome.path] = outcome.record["error"]
        self.summary.peak_worker_rss_mb = max(self.summary.peak_worker_rss_mb, outcome.peak_rss_mb)
        self.progress.step(outcome.state == "failed")

    def flush(self) -> None:
        """The files table as far as the batch got: its paths' rows, and the stored documents' paths
        showing their outcome (every SETTLE_EVERY_S, not at every commit; all of them when the run ends)."""
        if self.files:
            self.store.set_files(self.files, self.batch_job_id)
            self.files = []
        if self.settled and time.monotonic() - self.last_settled >= SETTLE_EVERY_S:
            self.store.settle_files(self.settled)
            self.settled, self.last_settled = [], time.monotonic()

    def close(self) -> None:
        if self.progress is not None:
            self.progress.close()


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
    summary = Summary()
    tally = _Tally(store, summary, progress_stream, batch_job_id)
    redo = Redo(reextract=settings.reextract, retry_failed=settings.retry_failed)
    try:
        ingest(store, paths, None, settings.limits, lambda: make_engine(settings), redo, tally)
    finally:
        tally.close()
        store.settle_files()
    summary.seconds = time.perf_counter() - started  # the extraction's: the rate is files per second
    summary.cross_year = check_cross_year(store)
    return summary
