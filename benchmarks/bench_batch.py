"""Batch throughput against extraction alone: ``python benchmarks/bench_batch.py -n 100``.

Measured in one run on the same synthesized files (text forms by default): extraction alone, then
``run_batch`` with the local engine and 1 and 2 worker processes into a fresh SQLite file and a fresh
database on PostgreSQL (the tests' throwaway server, ``tests/pg_server.py``), and the Dask engine (a
LocalCluster of 2 workers) into SQLite. Every row runs in a fresh process, timed from starting it to its
last record stored, so each pays what a command pays: the process start, its imports, the model's loading,
and for a batch its workers' (fork server) start; the cross-year check a batch runs after extracting is not
counted. Rows are measured in ``--rounds`` interleaved rounds and each shows its median, so a noisy
neighbour on a shared machine skews one round, not a row. A batch's ratio is to N workers x the
extract-only rate (issue 21: >= 0.8). Database bytes per report: the SQLite file after the run and after
VACUUM; on PostgreSQL the growth of ``pg_database_size`` over the run. Peak RSS: the largest resident set
of any worker (of the extract-only process on its row).
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ProcessPoolExecutor
from contextlib import closing, contextmanager, nullcontext
from dataclasses import dataclass, replace
from multiprocessing import get_context
from pathlib import Path
from statistics import median
from typing import TypeVar

import sqlalchemy

from nianbao.batch import BatchSettings, Summary, run_batch
from nianbao.evaluation.synth.corpus import write_corpus
from nianbao.store import Store

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # run from a checkout
from pg_server import INSTALL_HINT, fresh_database, postgres_bin, throwaway_postgres

# (engine, workers, database) of each batch row, in the order measured.
BATCH_RUNS = (
    ("local", 1, "sqlite"),
    ("local", 2, "sqlite"),
    ("local", 1, "postgresql"),
    ("local", 2, "postgresql"),
    ("dask", 2, "sqlite"),
)
T = TypeVar("T")
RATIO_TARGET = 0.8  # batch with N workers >= this x N x the extract-only rate
BYTES_TARGET = 20_000  # per report in SQLite
MEMORY_TARGET_MB = 500


@dataclass(frozen=True)
class Row:
    name: str
    workers: int
    reports: int
    seconds: float
    peak_rss_mb: float
    failed: int = 0
    bytes_per_report: float | None = None
    vacuumed_bytes_per_report: float | None = None

    @property
    def rate(self) -> float:
        return self.reports / self.seconds


def extract_all(paths: list[str]) -> tuple[float, float]:
    """In the extract-only process: load the model and extract every file as a worker does; returns the
    model's load time and this process's peak resident set in MB."""
    import resource

    from nianbao.extraction.pipeline import Extractor

    started = time.perf_counter()
    extractor = Extractor.load()
    loaded = time.perf_counter() - started
    for path in paths:
        extractor.extract_with_evidence(path)
    return loaded, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def in_fresh_process(work: Callable[..., T], *args: object) -> tuple[float, T]:
    """``work(*args)`` in a process started for it: the seconds from its start to the return, and the
    result."""
    started = time.perf_counter()
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as process:
        result = process.submit(work, *args).result()
        return time.perf_counter() - started, result


def measure_extract_only(files: list[Path]) -> tuple[Row, float]:
    """The extract-only row; and the model's load time."""
    seconds, (loaded, peak_mb) = in_fresh_process(extract_all, [str(path) for path in files])
    return Row("extract only", 1, len(files), seconds, peak_mb), loaded


def batch(files: list[Path], url: str, engine: str, workers: int) -> tuple[Summary, float]:
    """In a batch's process: the run's summary, and the seconds it spent after extracting (the cross-year
    check), which the row does not count."""
    with Store.open(url) as store, open(os.devnull, "w") as quiet:
        started = time.perf_counter()
        settings = BatchSettings(engine=engine, workers=workers)
        summary = run_batch(files, store, settings, progress_stream=quiet)
        return summary, time.perf_counter() - started - summary.seconds


def measure_batch(name: str, files: list[Path], url: str, engine: str, workers: int, **sizes: float) -> Row:
    seconds, (summary, after_extracting) = in_fresh_process(batch, files, url, engine, workers)
    return Row(
        name,
        workers,
        summary.extracted,
        seconds - after_extracting,
        summary.peak_worker_rss_mb,
        summary.counts["failed"],
        **sizes,
    )


def measure_sqlite(files: list[Path], scratch: Path, engine: str, workers: int) -> Row:
    path = scratch / f"{engine}-{workers}.db"
    path.unlink(missing_ok=True)
    row = measure_batch(f"{engine} -> sqlite", files, f"sqlite:///{path}", engine, workers)
    after = sqlite_bytes(path)
    with closing(sqlite3.connect(path)) as connection:  # closed: its write-ahead log folded back in
        connection.execute("VACUUM")
    reports = max(row.reports, 1)
    vacuumed = sqlite_bytes(path) / reports
    return replace(row, bytes_per_report=after / reports, vacuumed_bytes_per_report=vacuumed)


def sqlite_bytes(path: Path) -> int:
    """The database file and its write-ahead log, if one is left."""
    return sum(p.stat().st_size for p in (path, path.with_name(path.name + "-wal")) if p.exists())


def measure_postgres(files: list[Path], server_url: str, engine: str, workers: int) -> Row:
    url = fresh_database(server_url, prefix="bench")
    before = postgres_bytes(url)
    row = measure_batch(f"{engine} -> postgresql", files, url, engine, workers)
    return replace(row, bytes_per_report=(postgres_bytes(url) - before) / max(row.reports, 1))


def postgres_bytes(url: str) -> int:
    engine = sqlalchemy.create_engine(url)
    with engine.connect() as connection:
        size = connection.execute(sqlalchemy.text("SELECT pg_database_size(current_database())")).scalar_one()
    engine.dispose()
    return int(size)


@contextmanager
def postgres_server(wanted: bool) -> Iterator[str | None]:
    """The throwaway server's URL, or None (said on stdout) when not wanted or not installed."""
    bin_dir = postgres_bin() if wanted else None
    if wanted and bin_dir is None:
        print(f"PostgreSQL rows skipped: {INSTALL_HINT}, no /usr/lib/postgresql/*/bin/initdb")
    with throwaway_postgres(bin_dir) if bin_dir else nullcontext() as url:
        yield url


def print_table(rows: list[Row], extract_rate: float) -> None:
    print(
        f"{'run':<20} {'N':>2} {'reports/s':>9} {'/ N x extract':>13} {'bytes/report':>12} "
        f"{'vacuumed':>9} {'peak RSS MB':>11} {'failed':>6}"
    )
    for row in rows:
        ratio = row.rate / (row.workers * extract_rate)
        size, vacuumed = (
            "-" if value is None else f"{value:,.0f}"
            for value in (row.bytes_per_report, row.vacuumed_bytes_per_report)
        )
        print(
            f"{row.name:<20} {row.workers:>2} {row.rate:>9.2f} {ratio:>13.2f} {size:>12} "
            f"{vacuumed:>9} {row.peak_rss_mb:>11.0f} {row.failed:>6}"
        )
    print(
        f"targets: batch >= {RATIO_TARGET} x N x extract only; <= {BYTES_TARGET:,} bytes per report in "
        f"SQLite; peak worker RSS <= {MEMORY_TARGET_MB} MB"
    )


def median_row(measured: list[Row]) -> Row:
    """The round of median time (of the lower two when even), so its sizes and memory go with it."""
    return sorted(measured, key=lambda row: row.seconds)[(len(measured) - 1) // 2]


def measure_round(files: list[Path], scratch: Path, server_url: str | None) -> tuple[list[Row], float]:
    """Every row once, in BATCH_RUNS order after the extract-only one; and the model's load time."""
    extract_only, loaded = measure_extract_only(files)
    rows = [extract_only]
    for engine, workers, database in BATCH_RUNS:
        if database == "sqlite":
            rows.append(measure_sqlite(files, scratch, engine, workers))
        elif server_url is not None:
            rows.append(measure_postgres(files, server_url, engine, workers))
    return rows, loaded


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=100, help="documents per form")
    parser.add_argument("--forms", default="md,html,txt", help="synthesized forms, comma-separated")
    parser.add_argument("--seed", type=int, default=808)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds; each row its median")
    parser.add_argument("--no-postgres", action="store_true", help="skip the PostgreSQL rows")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, postgres_server(not args.no_postgres) as server_url:
        scratch = Path(tmp)
        files = write_corpus(scratch / "corpus", args.n, args.forms.split(","), args.seed)
        rounds = [measure_round(files, scratch, server_url) for _ in range(args.rounds)]
    rows = [median_row(list(measured)) for measured in zip(*(rows for rows, _ in rounds), strict=True)]
    print(
        f"{len(files)} reports ({args.n} per form: {args.forms}), median of {args.rounds} rounds; extract "
        f"only: {rows[0].seconds:.1f} s in one process, of which {median(load for _, load in rounds):.1f} s "
        "loading the model"
    )
    print_table(rows, rows[0].rate)


if __name__ == "__main__":
    main()
