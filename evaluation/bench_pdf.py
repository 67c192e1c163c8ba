"""PDF and scan speed per page against their floors: ``python -m nianbao.evaluation.bench_pdf``.

Measured side by side in one run, on the same synthesized pages:
- text PDFs: our whole extraction against pdfminer.six's bare layout parse (``extract_pages``);
- scans: our whole extraction against the OCR engine's own full-page run (rasterize + detect + recognize);
and the peak memory of this one process (one worker).
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from pdfminer.high_level import extract_pages

from nianbao.evaluation.variants import write_corpus
from nianbao.extraction.ocr import page_text_boxes
from nianbao.extraction.pipeline import Extractor
from nianbao.extraction.readers.pdf import rasterize

PDF_TARGET, SCAN_TARGET = 2.0, 1.25  # allowed multiples of the floor's time


def _seconds(paths: list[Path], work: Callable[[Path], object]) -> float:
    started = time.perf_counter()
    for path in paths:
        work(path)
    return time.perf_counter() - started


def _pages(path: Path) -> int:
    return sum(1 for _ in extract_pages(path))


def _engine_only(path: Path) -> None:
    for page in rasterize(path.read_bytes()):
        page_text_boxes(page)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=20, help="text PDFs (scans: a quarter as many, at least 2)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    extractor = Extractor.load()
    with tempfile.TemporaryDirectory() as tmp:
        pdfs = write_corpus(Path(tmp) / "pdf", args.n, ["pdf"], args.seed)
        scans = write_corpus(Path(tmp) / "scan", max(2, args.n // 4), ["scan"], args.seed)
        extractor.extract(pdfs[0])  # warm-up: imports, model, fonts
        _engine_only(scans[0])
        pdf_pages, scan_pages = sum(map(_pages, pdfs)), sum(map(_pages, scans))
        floor_pdf = _seconds(pdfs, lambda p: list(extract_pages(p)))
        ours_pdf = _seconds(pdfs, extractor.extract)
        floor_scan = _seconds(scans, _engine_only)
        ours_scan = _seconds(scans, extractor.extract)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        f"text PDFs: {len(pdfs)} documents, {pdf_pages} pages; "
        f"scans: {len(scans)} documents, {scan_pages} pages"
    )
    print(
        f"text PDF  pdfminer.six extract_pages: {floor_pdf / pdf_pages * 1000:7.1f} ms/page | "
        f"nianbao extract: {ours_pdf / pdf_pages * 1000:7.1f} ms/page = {ours_pdf / floor_pdf:.2f}x "
        f"(target <= {PDF_TARGET}x)"
    )
    print(
        f"scan      OCR engine full page:       {floor_scan / scan_pages:7.2f} s/page  | "
        f"nianbao extract: {ours_scan / scan_pages:7.2f} s/page  = {ours_scan / floor_scan:.2f}x "
        f"(target <= {SCAN_TARGET}x)"
    )
    print(f"peak memory of this worker (RSS): {peak_mb:.0f} MB (target <= 500 MB)")


if __name__ == "__main__":
    main()
