"""What ``nianbao extract`` and ``nianbao batch`` share, and nothing of the store: a run's settings and
engine, the files under the paths given, the progress shown, a record's state, and extract's own loop
and end summary (``extract_in_order``, ``ExtractSummary``).

Why apart from ``batch.py``: ``nianbao extract`` stores nothing, so it must not pay for importing the
store (SQLAlchemy, Alembic) at every start; a single file's extraction is often all a user runs.
"""

from __future__ import annotations

import os
import sys
import time
from collections import Counter, defaultdict, deque
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nianbao.errors import ErrorCode
from nianbao.schema import load_schema
from nianbao.stored_fields import extraction_state
from nianbao.workers import (
    MEMORY_LIMIT_GIB,
    TIMEOUT_S,
    DaskEngine,
    Engine,
    Limits,
    LocalEngine,
    Outcome,
    extract_file,
)

if TYPE_CHECKING:  # the models (scikit-learn) are the workers' to import, not a batch's parent's
    from nianbao.models.calibration import ReviewPolicy

ENGINES = ("local", "dask")
# Off a terminal (a log, a CI job) progress is a plain line at most this often: a run over an archive takes
# hours, and a line per file would bury everything else in the log.
PROGRESS_EVERY_S = 5.0


@dataclass(frozen=True)
class BatchSettings:
    """How a batch runs; unknown keys are refused by the dataclass itself."""

    workers: int = max(1, os.cpu_count() or 1)
    engine: str = "local"  # one of ENGINES
    scheduler: str | None = None  # a Dask scheduler address; a LocalCluster when None
    timeout_s: float = TIMEOUT_S  # per file
    retry_failed: bool = False
    reextract: bool = False  # redo documents that only an older pipeline or model extracted
    model: str | None = None  # field mapper artifact or registry URI; the shipped one when None
    memory_limit_gib: float = MEMORY_LIMIT_GIB  # per worker process; 0: no limit

    def __post_init__(self) -> None:
        if self.engine not in ENGINES:
            raise ValueError(f"engine {self.engine!r} is not one of {ENGINES}")
        if self.workers < 1 or self.timeout_s <= 0 or self.memory_limit_gib < 0:
            raise ValueError("workers must be >= 1, timeout_s > 0 and memory_limit_gib >= 0")

    @property
    def limits(self) -> Limits:
        """What each file is extracted with: the same limits wherever it is extracted."""
        return Limits(self.model, self.timeout_s, self.memory_limit_gib)


def by_code(codes: Counter[str | None]) -> str:
    """Failures by error code, the most common first, as " (E_CORRUPT 2, E_EMPTY 1)"; "" when none."""
    ranked = sorted(codes.items(), key=lambda item: (-item[1], str(item[0])))
    return f" ({', '.join(f'{code} {n}' for code, n in ranked)})" if ranked else ""


def fields_to_review(record: dict, policy: ReviewPolicy) -> int:
    """How many of the record's fields ``policy`` sends to a person: low confidence or a doubt flag."""
    from nianbao.models.calibration import flag_kinds_by_field

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
            self.codes[ErrorCode.of(record["error"])] += 1
        self.to_review += fields_to_review(record, self.policy)
        return state

    def line(self) -> str:
        return (
            f"{self.counts.total()} documents: {self.counts['done']} ok, {self.counts['partial']} partial, "
            f"{self.counts['failed']} failed{by_code(self.codes)}; {self.to_review} fields to review "
            f"(confidence below {self.policy.threshold:.3f} or a doubt flag); {self.seconds:.1f} s"
        )


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


def make_engine(settings: BatchSettings) -> Engine:
    """The engine ``settings`` name, with its workers."""
    if settings.engine == "dask":
        return DaskEngine(settings.workers, settings.scheduler)
    return LocalEngine(settings.workers)


def extract_in_order(names: Sequence[str], settings: BatchSettings) -> Iterator[tuple[str, dict]]:
    """(path, record) of every file in the order given, stored nowhere (``nianbao extract``). One worker:
    extracted in this process, as extract always was (no process to start, the model loaded once). More:
    by the batch's engine, with its per-file timer, memory limit and crash isolation; a file that finished
    early waits for those before it, so the output is the same whatever the workers' speed."""
    from nianbao.extraction.pipeline import Extractor

    extractor = Extractor.load(settings.model)  # here too with workers: a bad model fails once, not per file
    if settings.workers == 1:
        yield from ((name, extractor.extract(name)) for name in names)
        return
    engine = make_engine(settings)
    order = deque(names)
    finished: defaultdict[str, deque[Outcome]] = defaultdict(deque)  # path → outcomes not yet given out
    try:
        for outcome in engine.run((settings.limits.job(name) for name in names), extract_file):
            finished[outcome.path].append(outcome)
            while order and finished[order[0]]:
                done = finished[order.popleft()].popleft()
                yield done.path, done.record
    finally:
        engine.close()


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
