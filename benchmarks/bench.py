"""Extraction throughput and memory: ``python benchmarks/bench.py [--forms md,html,txt,docx]``.

Measured side by side in one run: the whole extraction against reading the same
files alone (decode + parse), on synthesized reports of the chosen forms (text forms by default;
``--forms pdf`` measures text PDFs, scans are not read until OCR).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from nianbao.evaluation.synth.corpus import write_corpus
from nianbao.extraction.pipeline import Extractor
from nianbao.extraction.readers import read

TARGET_PER_SECOND = 100.0


def _rate(paths: list[Path], work) -> float:
    started = time.perf_counter()
    for path in paths:
        work(path)
    return len(paths) / (time.perf_counter() - started)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=60, help="reports per form")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--forms", default="md,html,txt,docx", help="comma-separated synthesizer forms")
    args = parser.parse_args()
    forms = args.forms.split(",")
    extractor = Extractor.load()
    scorer = extractor.decoder.scorer
    with tempfile.TemporaryDirectory() as tmp:
        paths = write_corpus(Path(tmp) / "measured", args.n, forms, args.seed)
        # Bulk runs meet the same labels again and again: warm the label cache on other reports.
        for path in write_corpus(Path(tmp) / "warm-up", args.n, forms, args.seed + 1):
            extractor.extract(path)
        read_rate = _rate(paths, read)
        warm_rate = _rate(paths, extractor.extract)
        cold_rate = _rate(paths, lambda p: (scorer.clear_cache(), extractor.extract(p)))
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"documents: {len(paths)} ({args.n} per form: {', '.join(forms)}), one process = one core")
    print(f"read only (decode + parse):             {read_rate:8.1f} reports/s")
    print(
        f"extract, bulk (cache warmed on others): {warm_rate:8.1f} reports/s  "
        f"= {warm_rate / TARGET_PER_SECOND:.2f}x the 100/s target, {read_rate / warm_rate:.2f}x the read time"
    )
    print(
        f"extract, label cache cleared each:      {cold_rate:8.1f} reports/s  "
        f"= {cold_rate / TARGET_PER_SECOND:.2f}x the 100/s target"
    )
    print(f"peak memory (RSS): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
