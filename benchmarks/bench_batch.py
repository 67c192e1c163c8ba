"""Batch throughput against extraction alone: ``python benchmarks/bench_batch.py -n 100``.

Measured in one run on the same synthesized files (text forms by default), each row a command as a user
runs it, timed from its start to its exit: ``nianbao extract`` in one process (the issue's reference);
the pipeline alone in one fresh interpreter (extraction with nothing written: the floor under both
commands, the stricter reference); then ``nianbao batch`` with the local engine and 1 and 2 workers into
a fresh SQLite file and a fresh database on PostgreSQL (the tests' throwaway server,
``tests/pg_server.py``), and with the Dask engine (a LocalCluster of 2 workers) into SQLite. So every row
pays what a user waits for: the interpreter's start, imports, the model's loading, a batch's database and
workers, its closing cross-year check. Two more figures take the machine and the start apart. The
ceiling: N pipeline-alone processes side by side, each on its share of the files, timed until the last
exits (the most N workers could do here with nothing written and nothing shared; on a machine whose
cores slow each other down, below N x the pipeline alone). The running rate: each row's command also runs
on one file of each form, and (reports - those) / (seconds - its seconds) is its rate once started, what
an archive of a million reports sees. Rows are measured in ``--rounds`` interleaved rounds and each shows
its median, so a noisy neighbour on a shared machine skews one round, not a row. A batch's ratios are to
N workers x the reference's rate (issue 21: >= 0.8), whole and running, and to the ceiling of N.
Database bytes per report: the SQLite file after the run and after VACUUM; on PostgreSQL the growth of
``pg_database_size`` over the run. Peak RSS: the largest resident set of any worker, as the batch's
summary line gives it (of the reference's processes on their rows).
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import ExitStack, closing, contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

import sqlalchemy

from nianbao.evaluation.synth.corpus import write_corpus

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
NIANBAO = shutil.which("nianbao") or "nianbao"
PIPELINE_ALONE = (
    "import sys; from nianbao.extraction.pipeline import Extractor; extractor = Extractor.load()\n"
    "for path in sys.argv[1:]: extractor.extract_with_evidence(path)"
)
# what a row reads off the batch's summary line
SUMMARY = re.compile(
    r"(?P<failed>\d+) failed.*?(?P<extracted>\d+) extracted in .*?peak worker memory (?P<peak>[\d.]+) MB"
)
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
    started: Row | None = None  # the same command on one file of each form: its start

    @property
    def rate(self) -> float:
        return self.reports / self.seconds

    @property
    def running_rate(self) -> float:
        """Reports a second once started: the start (``started``) taken off both counts."""
        assert self.started is not None
        return (self.reports - self.started.reports) / (self.seconds - self.started.seconds)


def run_commands(argvs: list[list[str]]) -> tuple[float, list[str], float]:
    """``ARGVS`` side by side until the last exits: seconds, each one's stdout, and the largest peak
    resident set of any of them in MB. Their output goes to files, not pipes read one after another, so
    none waits on a full pipe while another is read."""
    started = time.perf_counter()
    with ExitStack() as stack:
        outputs = [stack.enter_context(tempfile.TemporaryFile("w+")) for _ in argvs]
        processes = [
            subprocess.Popen(argv, stdout=output, stderr=subprocess.DEVNULL, text=True)
            for argv, output in zip(argvs, outputs, strict=True)
        ]
        peak_mb = 0.0
        for argv, process in zip(argvs, processes, strict=True):
            _, status, usage = os.wait4(process.pid, 0)
            peak_mb = max(peak_mb, usage.ru_maxrss / 1024)
            if os.waitstatus_to_exitcode(status) not in (0, 1):  # 1: a file failed, which the row counts
                raise RuntimeError(f"{' '.join(argv[:2])} ended {os.waitstatus_to_exitcode(status)}")
        seconds = time.perf_counter() - started
        for output in outputs:
            output.seek(0)
        return seconds, [output.read() for output in outputs], peak_mb


def run_command(argv: list[str]) -> tuple[float, str, float]:
    """``ARGV`` to its exit: seconds, stdout, and the process's own peak resident set in MB."""
    seconds, (out,), peak_mb = run_commands([argv])
    return seconds, out, peak_mb


def measure_extract_only(files: list[Path], scratch: Path) -> Row:
    argv = [NIANBAO, "extract", *map(str, files), "-o", str(scratch / "records.jsonl")]
    seconds, _, peak_mb = run_command(argv)
    return Row("nianbao extract", 1, len(files), seconds, peak_mb)


def measure_pipeline_alone(files: list[Path], processes: int = 1) -> Row:
    """The pipeline's own loop in fresh interpreters, as a worker runs it, nothing written, ``processes``
    of them side by side on every ``processes``-th file each: the floor under both commands, and with
    N processes the ceiling of N workers."""
    argvs = [[sys.executable, "-c", PIPELINE_ALONE, *map(str, files[i::processes])] for i in range(processes)]
    seconds, _, peak_mb = run_commands(argvs)
    return Row("pipeline alone", processes, len(files), seconds, peak_mb)


def measure_batch(name: str, files: list[Path], url: str, engine: str, workers: int) -> Row:
    argv = [NIANBAO, "batch", *map(str, files), "--db", url, "--engine", engine, "--workers", str(workers)]
    seconds, out, _ = run_command(argv)
    summary = SUMMARY.search(out)
    if summary is None:
        raise RuntimeError(f"no summary line in {out!r}")
    failed, extracted, peak_mb = int(summary["failed"]), int(summary["extracted"]), float(summary["peak"])
    return Row(name, workers, extracted, seconds, peak_mb, failed)


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


def print_table(rows: list[Row]) -> None:
    """Each row with its ratios: to N x ``nianbao extract`` (the first row), whole and running, and to the
    pipeline-alone row of as many processes (the ceiling)."""
    extract = rows[0]
    ceiling = {row.workers: row for row in rows if row.name == "pipeline alone"}
    print(
        f"{'run':<20} {'N':>2} {'reports/s':>9} {'running':>7} {'/ N x extract':>13} {'running':>7} "
        f"{'/ ceiling':>9} {'bytes/report':>12} {'vacuumed':>9} {'peak RSS MB':>11} {'failed':>6}"
    )
    for row in rows:
        size, vacuumed = (
            "-" if value is None else f"{value:,.0f}"
            for value in (row.bytes_per_report, row.vacuumed_bytes_per_report)
        )
        whole = row.rate / (row.workers * extract.rate)
        running = row.running_rate / (row.workers * extract.running_rate)
        print(
            f"{row.name:<20} {row.workers:>2} {row.rate:>9.2f} {row.running_rate:>7.2f} {whole:>13.2f} "
            f"{running:>7.2f} {row.rate / ceiling[row.workers].rate:>9.2f} {size:>12} {vacuumed:>9} "
            f"{row.peak_rss_mb:>11.0f} {row.failed:>6}"
        )
    print(
        f"targets: batch >= {RATIO_TARGET} x N x extract only; <= {BYTES_TARGET:,} bytes per report in "
        f"SQLite; peak worker RSS <= {MEMORY_TARGET_MB} MB"
    )


def median_row(measured: list[Row]) -> Row:
    """The round of median time (of the lower two when even), so its sizes and memory go with it."""
    return sorted(measured, key=lambda row: row.seconds)[(len(measured) - 1) // 2]


def measure_round(files: list[Path], scratch: Path, server_url: str | None) -> list[Row]:
    """Every row once: the references (``nianbao extract``, the pipeline alone in 1 and 2 processes),
    then BATCH_RUNS in order."""
    rows = [measure_extract_only(files, scratch), measure_pipeline_alone(files)]
    rows.append(measure_pipeline_alone(files, processes=2))
    for engine, workers, database in BATCH_RUNS:
        if database == "sqlite":
            rows.append(measure_sqlite(files, scratch, engine, workers))
        elif server_url is not None:
            rows.append(measure_postgres(files, server_url, engine, workers))
    return rows


def first_of_each_form(files: list[Path]) -> list[Path]:
    return list({path.suffix: path for path in reversed(files)}.values())


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
        starters = first_of_each_form(files)
        rounds, starts = [], []
        for _ in range(args.rounds):
            rounds.append(measure_round(files, scratch, server_url))
            starts.append(measure_round(starters, scratch, server_url))
    rows = [
        replace(median_row(list(whole)), started=median_row(list(started)))
        for whole, started in zip(zip(*rounds, strict=True), zip(*starts, strict=True), strict=True)
    ]
    print(
        f"{len(files)} reports ({args.n} per form: {args.forms}), median of {args.rounds} rounds; "
        f"nianbao extract: {rows[0].seconds:.1f} s, on {len(starters)} reports (its start): "
        f"{rows[0].started.seconds:.1f} s"
    )
    print_table(rows)


if __name__ == "__main__":
    main()
