"""Batch throughput and worker memory: ``python benchmarks/bench_batch.py -n 20 --forms md,txt,pdf``.

Measured side by side in one run on the same synthesized files, each engine into its own fresh SQLite
store: the local engine with 1 and 2 worker processes and the Dask engine (a LocalCluster of 2 workers).
Documents per second include worker start-up and model loading, as a user's run does; the peak memory
is the largest resident set any worker reported.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from nianbao.batch import BatchSettings, Summary, run_batch
from nianbao.evaluation.synth.corpus import write_corpus
from nianbao.store import Store

RUNS = (("local", 1), ("local", 2), ("dask", 2))
MEMORY_TARGET_MB = 500


def measure(files: list[Path], engine: str, workers: int, scratch: Path) -> Summary:
    with Store.open(f"sqlite:///{scratch / f'{engine}-{workers}.db'}") as store:
        return run_batch(files, store, BatchSettings(engine=engine, workers=workers))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=20, help="documents per form")
    parser.add_argument("--forms", default="md,txt,docx,pdf")
    parser.add_argument("--seed", type=int, default=808)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp)
        files = write_corpus(scratch / "corpus", args.n, args.forms.split(","), args.seed)
        results = {(engine, workers): measure(files, engine, workers, scratch) for engine, workers in RUNS}
    base = results["local", 1]
    base_rate = base.extracted / base.seconds
    print(f"{len(files)} documents ({args.n} per form: {args.forms})")
    for (engine, workers), summary in results.items():
        rate = summary.extracted / summary.seconds
        print(
            f"{engine:<5} x{workers}: {rate:6.2f} documents/s = {rate / base_rate:.2f}x one local worker | "
            f"failed {summary.counts['failed']} | peak worker RSS {summary.peak_worker_rss_mb:.0f} MB "
            f"(target <= {MEMORY_TARGET_MB} MB)"
        )


if __name__ == "__main__":
    main()
