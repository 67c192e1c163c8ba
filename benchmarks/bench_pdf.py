"""PDF and scan speed per page against their floors, and a worker's peak memory:
``python benchmarks/bench_pdf.py``.

The corpus is synthesized and rendered here; everything measured runs in one fresh worker process
(spawned, so it holds only what extraction imports), side by side on the same synthesized pages:
- text PDFs: our whole extraction against pdfminer.six's bare layout parse (``extract_pages``);
- scans: our whole extraction against the OCR engine's own full-page run (RapidOCR's det + cls + rec
  pipeline on each rasterized page, as the engine comes, with our thread count), in a second fresh worker:
  ours returns large buffers to the system (ocr.MMAP_THRESHOLD), which would slow the engine's whole-page
  tensors, and the engine's whole-page pass needs far more memory than our banded one;
- the extraction worker's peak RSS after extracting everything (ru_maxrss);
- table cells on the scans beside an anchor, img2table (MIT; OpenCV's rule finding, run without OCR;
  ``pip install 'nianbao[bench]'``, else left out): each finder's time per page, the cells it finds, and
  the share of one's cells the other finds too (the same box, intersection over union >= 0.5).
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

# Text PDFs: at most this many times pdfminer.six's bare parse. Scans: at most this share of the engine's
# full-page run over every page (OCR only what the record needs: lines found from the ink, paragraph bodies
# past the first table left unread). Memory: MB.
PDF_TARGET, SCAN_TARGET, MEMORY_TARGET_MB = 1.25, 0.4, 500


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


CELL_MATCH_IOU = 0.5  # two finders found the same cell when their boxes overlap this much


def _found_in(cells: list[tuple], others: list[tuple]) -> int:
    from nianbao.extraction.geometry import Rect

    return sum(any(Rect(*c).iou(Rect(*o)) >= CELL_MATCH_IOU for o in others) for c in cells)


def cell_finders(scans: list[Path]) -> dict[str, float] | None:
    """In its own worker: our rules → grid → merged cells against img2table's table finder on the same
    deskewed pages, neither reading text. None where img2table is not installed."""
    try:
        from img2table.document import Image as Img2TableImage
    except ImportError:
        return None
    import cv2

    from nianbao.extraction.readers.pdf import rasterize
    from nianbao.extraction.readers.scan import ScanSettings, deskew, rule_masks, table_boxes, table_grid

    settings = ScanSettings()
    pages = [deskew(p, settings) for path in scans for p, _ in rasterize(path.read_bytes(), dpi=settings.dpi)]
    ours: list[list[tuple]] = []
    started = time.perf_counter()
    for page in pages:
        horizontal, vertical = rule_masks(page, settings)
        found = []
        for box in table_boxes(horizontal, vertical, settings):
            grid = table_grid(horizontal, vertical, box, settings)
            found += [(grid.xs[c0], grid.ys[r0], grid.xs[c1], grid.ys[r1]) for r0, c0, r1, c1 in grid.cells]
        ours.append(found)
    ours_seconds = time.perf_counter() - started
    theirs: list[list[tuple]] = []
    started = time.perf_counter()
    for page in pages:
        png = cv2.imencode(".png", page)[1].tobytes()
        tables = Img2TableImage(src=png).extract_tables(
            ocr=None, implicit_rows=False, borderless_tables=False
        )
        boxes = {
            (c.bbox.x1, c.bbox.y1, c.bbox.x2, c.bbox.y2)
            for t in tables
            for row in t.content.values()
            for c in row
        }
        theirs.append(sorted(boxes))
    theirs_seconds = time.perf_counter() - started
    return {
        "pages": len(pages),
        "ours_seconds": ours_seconds,
        "theirs_seconds": theirs_seconds,
        "ours_cells": sum(map(len, ours)),
        "theirs_cells": sum(map(len, theirs)),
        "ours_in_theirs": sum(_found_in(o, t) for o, t in zip(ours, theirs, strict=True)),
        "theirs_in_ours": sum(_found_in(t, o) for o, t in zip(ours, theirs, strict=True)),
    }


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
    from nianbao.evaluation.synth.corpus import gold_path

    return json.loads(gold_path(path).read_text("utf-8"))["synth"].get("style", "")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=20, help="text PDFs (scans: a quarter as many, at least 2)")
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args()
    from nianbao.evaluation.synth.corpus import write_corpus

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
        with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as worker:
            cells = worker.submit(cell_finders, scans).result()
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
    if cells is None:
        print("table cells beside img2table: not measured (pip install 'nianbao[bench]')")
        return
    n = cells["pages"]
    print(
        f"table cells, no OCR: nianbao rules→grid {cells['ours_seconds'] / n * 1000:6.0f} ms/page, "
        f"{cells['ours_cells']} cells, {cells['ours_in_theirs'] / max(1, cells['ours_cells']):.1%} of them "
        f"found by img2table | img2table {cells['theirs_seconds'] / n * 1000:6.0f} ms/page, "
        f"{cells['theirs_cells']} cells, {cells['theirs_in_ours'] / max(1, cells['theirs_cells']):.1%} "
        "of them found by nianbao"
    )


if __name__ == "__main__":
    main()
