"""PDF and scan speed per page against their floors, and a worker's peak memory:
``python -m nianbao.evaluation.bench_pdf``.

The corpus is synthesized and rendered here; everything measured runs in one fresh worker process
(spawned, so it holds only what extraction imports), side by side on the same synthesized pages:
- text PDFs: our whole extraction against pdfminer.six's bare layout parse (``extract_pages``);
- scans: our whole extraction against the OCR engine's own full-page run (RapidOCR's det + cls + rec
  pipeline on each rasterized page, as the engine comes, with our thread count), in a second fresh worker:
  ours returns large buffers to the system (ocr.MMAP_THRESHOLD), which would slow the engine's whole-page
  tensors, and the engine's whole-page pass needs far more memory than our banded one;
- the extraction worker's peak RSS after extracting everything (ru_maxrss).
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

PDF_TARGET, SCAN_TARGET, MEMORY_TARGET_MB = 2.0, 1.25, 500


def _seconds(paths: list[Path], work: Callable[[Path], object]) -> float:
    started = time.perf_counter()
    for path in paths:
        work(path)
    return time.perf_counter() - started


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def engine_floor(scans: list[Path]) -> tuple[int, float]:
    """In its own worker: (pages, seconds) of RapidOCR's own full-page run after one warm-up page."""
    import cv2
    from rapidocr_onnxruntime import RapidOCR

    from nianbao.extraction.ocr import THREADS
    from nianbao.extraction.readers.pdf import rasterize

    engine = RapidOCR(intra_op_num_threads=THREADS, inter_op_num_threads=1)
    pages = [cv2.cvtColor(p, cv2.COLOR_GRAY2BGR) for path in scans for p, _ in rasterize(path.read_bytes())]
    engine(pages[0])
    started = time.perf_counter()
    for page in pages:
        engine(page)
    return len(pages), time.perf_counter() - started


def measure(pdfs: list[Path], scans: list[Path]) -> dict[str, float]:
    """In the worker: warm up, then time our side of each pair. Imports are local: the spawned worker
    imports this module, and only what extraction imports may count in its memory."""
    from pdfminer.high_level import extract_pages

    from nianbao.extraction.pipeline import Extractor

    extractor = Extractor.load()
    extractor.extract(pdfs[0])  # warm-up: imports, models, fonts, the OCR engine
    extractor.extract(scans[0])
    out = {
        "pdf_pages": sum(sum(1 for _ in extract_pages(p)) for p in pdfs),
        "scan_pages": sum(sum(1 for _ in extract_pages(p)) for p in scans),
        "floor_pdf": _seconds(pdfs, lambda p: list(extract_pages(p))),
        "ours_pdf": _seconds(pdfs, extractor.extract),
        "ours_scan": _seconds(scans, extractor.extract),
        "peak_mb": _peak_mb(),
    }
    return out


def _style(path: Path) -> str:
    from nianbao.evaluation.variants import gold_path

    return json.loads(gold_path(path).read_text("utf-8"))["synth"].get("style", "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=20, help="text PDFs (scans: a quarter as many, at least 2)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    from nianbao.evaluation.variants import write_corpus

    with tempfile.TemporaryDirectory() as tmp:
        written = write_corpus(Path(tmp) / "pdf", args.n, ["pdf"], args.seed)
        # A PDF whose font has no Unicode map is read by OCR like a scan, and timed with the scans.
        unmapped = [p for p in written if _style(p) == "pdf-no-unicode"]
        pdfs = [p for p in written if p not in unmapped]
        scans = write_corpus(Path(tmp) / "scan", max(2, args.n // 4), ["scan"], args.seed) + unmapped
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as worker:
            m = worker.submit(measure, pdfs, scans).result()
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as worker:
            _, m["floor_scan"] = worker.submit(engine_floor, scans).result()
    print(
        f"text PDFs: {len(pdfs)} documents, {m['pdf_pages']} pages; scans: {len(scans)} documents "
        f"({len(unmapped)} of them text PDFs without a Unicode map), {m['scan_pages']} pages; "
        "one spawned worker"
    )
    print(
        f"text PDF  pdfminer.six extract_pages: {m['floor_pdf'] / m['pdf_pages'] * 1000:7.1f} ms/page | "
        f"nianbao extract: {m['ours_pdf'] / m['pdf_pages'] * 1000:7.1f} ms/page = "
        f"{m['ours_pdf'] / m['floor_pdf']:.2f}x (target <= {PDF_TARGET}x)"
    )
    print(
        f"scan      OCR engine full page:       {m['floor_scan'] / m['scan_pages']:7.2f} s/page  | "
        f"nianbao extract: {m['ours_scan'] / m['scan_pages']:7.2f} s/page  = "
        f"{m['ours_scan'] / m['floor_scan']:.2f}x (target <= {SCAN_TARGET}x)"
    )
    peak = f"{m['peak_mb']:.0f} MB (target <= {MEMORY_TARGET_MB} MB)"
    print(f"peak memory of the extraction worker (RSS): {peak}")


if __name__ == "__main__":
    main()
