"""Tesseract vs RapidOCR on synthesized scans: ``python benchmarks/ocr_compare.py -n 10 --seed 7``.

Why: scanned reports must be OCRed offline, and the engine (and psm, dpi, threads, how cells are cut)
decides what the table reader can trust. Run by hand only; nothing in the package imports this module.
Results and conclusions: benchmarks/OCR_COMPARISON.md.

The reference for each page is the text of the very PDF the scan was printed from (``ocr_reference.py``);
the engines (``ocr_engines.py``) run in their own fresh process each, one after the other, so per-page time,
load time and peak RSS belong to that engine alone; ``ocr_score.py`` scores what they read.
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import cv2
import numpy as np
from ocr_engines import (
    in_fresh_process,
    rapid_crops,
    rapid_own_cuts_pages,
    rapid_pages,
    tesseract_crops,
    tesseract_pages,
    versions,
)
from ocr_reference import RefLine, ScanDoc, make_doc
from ocr_score import Score, cer, exact, pct, squash
from PIL import Image

from nianbao.evaluation.synth.corpus import document_seed
from nianbao.extraction.ocr import vertical, warp

NUMERIC_CELL = re.compile(r"[+\-]?\d[\d.,]*")
# How a box is cut for recognition alone: RapidOCR's warp of the quadrilateral, which turns any box with
# h >= 1.5 w by 90 degrees (meant for vertical text, it also catches a lone digit: "0" is read "o"); the
# same warp turning only boxes taller than TALL_LINES lines (vertical text, as the scan reader cuts them);
# the plain axis-aligned rectangle.
CUTS = ("pipeline", "upright", "axis")


# ---------------------------------------------------------------- experiment 1: full pages
@dataclass
class Engine:
    name: str
    fn: Callable[..., dict]
    arg: int


def _score(docs: list[ScanDoc], texts: list[str]) -> Score:
    score, at = Score(), 0
    for d in docs:
        score.add_doc(d, texts[at : at + len(d.pages)])
        at += len(d.pages)
    return score


def compare_pages(docs: list[ScanDoc], engines: list[Engine]) -> dict[str, dict]:
    """Every engine over every page, one engine at a time; first the source text scored as if read.

    The source text's row shows what reading order alone costs the label metrics: a label wrapped in its
    cell, or printed vertically, is not contiguous in a row-major reading.
    """
    paths = [p for d in docs for p in d.pages]
    runs: dict[str, dict] = {
        "source text, row-major": {"score": _score(docs, [t for d in docs for t in d.ref_pages])}
    }
    for e in engines:
        load_before = os.getloadavg()[0]
        started = time.perf_counter()
        run = in_fresh_process(e.fn, paths, e.arg)
        run["wall_s"] = time.perf_counter() - started
        run["load_avg"] = (load_before, os.getloadavg()[0])
        run["score"] = _score(docs, run["texts"])
        runs[e.name] = run
        print(f"  {e.name}: {run['wall_s']:.0f}s", flush=True)
    return runs


def print_page_table(runs: dict[str, dict]) -> None:
    print(
        "\n| engine | bag CER | aligned CER | CJK chars | label chars | labels exact | numbers "
        "| non-zero numbers | s/page mean | s/page median | CPU s/page | load s | peak RSS MB | load avg |"
    )
    print("|---" * 14 + "|")
    for name, run in runs.items():
        s: Score = run["score"]
        cells = [
            pct(s.bag_err, s.ref_chars),
            pct(s.align_err, s.ref_chars),
            s.cjk.share(),
            s.label_chars.share(),
            s.labels.share(),
            f"{s.numbers.share()} of {s.numbers.of}",
            f"{s.nonzero.share()} of {s.nonzero.of}",
        ]
        if "page_s" in run:
            before, after = run["load_avg"]
            cells += [
                f"{statistics.mean(run['page_s']):.2f}",
                f"{statistics.median(run['page_s']):.2f}",
                f"{run['cpu_s']:.2f}",
                f"{run['load_s']:.2f}",
                f"{run['rss_mb']:.0f}",
                f"{before:.1f}→{after:.1f}",
            ]
        else:
            cells += ["-"] * 6
        print(f"| {name} | " + " | ".join(cells) + " |")


# ---------------------------------------------------------------- experiment 2: cells cut from pages
@dataclass
class Crop:
    """One RapidOCR box cut out of a page, with what the page really says there."""

    paths: dict[str, str]  # cut (see CUTS) -> PNG
    full: str  # RapidOCR's full-page reading of the box
    truth: str  # source characters whose centres the box covers, once mapped onto the scan


def _centre(box: tuple[float, float, float, float]) -> tuple[float, float]:
    return (box[0] + box[2]) / 2, (box[1] + box[3]) / 2


def _fit(pairs: list[tuple[tuple[float, float], tuple[float, float]]]) -> tuple[np.ndarray, float]:
    """Least-squares scale + rotation + shift taking source pixels onto the scan (the scanner skews pages).

    Returns (a, b, tx, ty) for x' = a x - b y + tx, y' = b x + a y + ty, and the median residual in pixels.
    """
    rows, rhs = [], []
    for (x, y), (u, v) in pairs:
        rows += [[x, -y, 1, 0], [y, x, 0, 1]]
        rhs += [u, v]
    a, b = np.array(rows, dtype=float), np.array(rhs, dtype=float)
    params = np.linalg.lstsq(a, b, rcond=None)[0]
    residual = np.hypot(*(a @ params - b).reshape(-1, 2).T)
    return params, float(np.median(residual))


def _cuts(image: np.ndarray, quad: np.ndarray, tall: bool) -> dict[str, np.ndarray]:
    (x0, y0), (x1, y1) = quad.min(axis=0).astype(int), quad.max(axis=0).astype(int) + 1
    return {
        "pipeline": warp(image, quad, turn=True),
        "upright": warp(image, quad, turn=tall),
        "axis": image[y0:y1, x0:x1],
    }


def page_crops(page: str, boxes: list, ref: list[RefLine], out: Path) -> tuple[list[Crop], float]:
    """Cuts of RapidOCR's boxes with their true text; anchors are lines both sides read identically."""
    quads = [np.array(q, dtype=np.float32) for q, _ in boxes]
    once_ref = {t: ln for t, ln in ((squash(ln.text), ln) for ln in ref) if len(t) >= 4}
    ref_count, box_count = Counter(squash(ln.text) for ln in ref), Counter(squash(t) for _, t in boxes)
    pairs = [
        (_centre(once_ref[t].box), tuple(q.mean(axis=0)))
        for q, (_, text) in zip(quads, boxes, strict=True)
        if (t := squash(text)) in once_ref and ref_count[t] == 1 and box_count[t] == 1
    ]
    if len(pairs) < 3:
        return [], float("nan")
    (a, b, tx, ty), residual = _fit(pairs)
    chars = [(a * x - b * y + tx, b * x + a * y + ty, ch) for ln in ref for x, y, ch in ln.chars]
    image, crops = np.array(Image.open(page)), []
    for k, (quad, (_, text), tall) in enumerate(zip(quads, boxes, vertical(quads), strict=True)):
        paths = {cut: str(out.with_name(f"{out.name}_{k}_{cut}.png")) for cut in CUTS}
        for cut, pixels in _cuts(image, quad, tall).items():
            Image.fromarray(pixels).save(paths[cut])
        truth = "".join(ch for x, y, ch in chars if cv2.pointPolygonTest(quad, (x, y), False) >= 0)
        crops.append(Crop(paths, text, truth))
    return crops, residual


def cell_crops(docs: list[ScanDoc], rapid: dict, n_pages: int, tmp: Path) -> list[Crop]:
    """Cuts from the n pages with the most RapidOCR boxes (the table pages); empty boxes dropped."""
    pages = [(p, lines) for d in docs for p, lines in zip(d.pages, d.ref_lines, strict=True)]
    chosen = sorted(range(len(pages)), key=lambda i: (-len(rapid["boxes"][i]), i))[:n_pages]
    crops: list[Crop] = []
    for i in sorted(chosen):
        got, residual = page_crops(pages[i][0], rapid["boxes"][i], pages[i][1], tmp / f"crop{i}")
        print(f"  page {i}: {len(got)} boxes, source-to-scan fit residual {residual:.1f}px")
        crops += [c for c in got if squash(c.truth)]  # a box over a rule or a speck has nothing to read
    return crops


def _crop_row(name: str, cut: str, per_crop: float | None, got: list[str | None], crops: list[Crop]) -> str:
    """One table row; ``got`` is None for crops the recognizer was not run on."""
    num, txt = [], []
    for c, g in zip(crops, got, strict=True):
        if g is not None:
            (num if NUMERIC_CELL.fullmatch(squash(c.truth)) else txt).append((c, g))
    cells = [
        cut,
        "-" if per_crop is None else f"{per_crop:.3f}",
        exact([(c.truth, g) for c, g in num]),
        exact([(c.full, g) for c, g in num]),
        exact([(c.truth, g) for c, g in txt]),
        cer([(c.truth, g) for c, g in txt]),
        exact([(c.full, g) for c, g in txt]),
    ]
    return f"| {name} | " + " | ".join(cells) + " |"


def _only(idx: list[int], texts: list[str], n: int) -> list[str | None]:
    """Texts read for the crops idx only, spread out to all n crops."""
    out: list[str | None] = [None] * n
    for i, text in zip(idx, texts, strict=True):
        out[i] = text
    return out


def compare_cells(crops: list[Crop], threads: int) -> None:
    """Recognition alone on cut-out boxes, against the truth and the full-page reading of the same box."""
    n = len(crops)
    numeric = [i for i, c in enumerate(crops) if NUMERIC_CELL.fullmatch(squash(c.truth))]
    rapid = in_fresh_process(rapid_crops, {cut: [c.paths[cut] for c in crops] for cut in CUTS}, threads)
    rows: list[tuple[str, str, float | None, list[str | None]]] = [
        ("rapidocr full page (det+cls+rec)", "-", None, [c.full for c in crops])
    ]
    for cut, run in rapid.items():
        rows.append(("rapidocr `engine(crop, use_det=False)`", cut, run["single_s"], run["single"]))
        rows.append(("rapidocr `engine.text_rec(crops)`", cut, run["batch_s"], run["batch"]))
    for cut in CUTS[1:]:
        tess = in_fresh_process(tesseract_crops, [c.paths[cut] for c in crops], False)
        rows.append(("tesseract psm 7", cut, tess["crop_s"], tess["texts"]))
        if numeric:
            digits = in_fresh_process(tesseract_crops, [crops[i].paths[cut] for i in numeric], True)
            rows.append(
                (
                    "tesseract psm 7 + digit whitelist",
                    cut,
                    digits["crop_s"],
                    _only(numeric, digits["texts"], n),
                )
            )
    print(f"\n{n} crops with text: {len(numeric)} numeric, {n - len(numeric)} text")
    print(
        "| recognizer | cut | s/crop | numeric exact | numeric = full page | text exact | text CER "
        "| text = full page |"
    )
    print("|---" * 8 + "|")
    for row in rows:
        print(_crop_row(*row, crops))
    print(
        f"(a tesseract CLI call also pays {tess['load_s']:.2f}s to start and load chi_sim, netted out above)"
    )
    _show_misreads(crops, numeric, {f"{name} [{cut}]": got for name, cut, _, got in rows})


def _show_misreads(crops: list[Crop], numeric: list[int], reads: dict[str, list[str | None]]) -> None:
    """A few numeric crops some reader gets wrong, to see what goes wrong."""
    shown = 0
    for i in numeric:
        truth = squash(crops[i].truth)
        wrong = {name: squash(got[i] or "") for name, got in reads.items() if squash(got[i] or "") != truth}
        if wrong and shown < 8:
            print(f"  truth {truth!r}, misread by: {wrong}")
            shown += 1


# ---------------------------------------------------------------- command line


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("-n", type=int, default=10, help="scans to make")
    parser.add_argument("--seed", type=int, default=7, help="corpus seed; document seeds as write_corpus")
    parser.add_argument("--dpi", type=int, default=200, help="rasterization dpi")
    parser.add_argument("--psm", default="3,6", help="tesseract page segmentation modes for full pages")
    parser.add_argument("--threads", default="2", help="RapidOCR onnxruntime intra-op threads, e.g. 1,2")
    parser.add_argument("--cell-pages", type=int, default=2, help="pages whose boxes feed the per-cell test")
    args = parser.parse_args()
    threads = [int(t) for t in args.threads.split(",")]
    print(f"{date.today()} | {versions()}")
    seeds = [document_seed(args.seed, "scan", i) for i in range(args.n)]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        docs = [make_doc(s, args.dpi, tmp) for s in seeds]
        pages = sum(len(d.pages) for d in docs)
        raster = sum(d.raster_s for d in docs) / pages
        print(f"{args.n} scans, {pages} pages at {args.dpi} dpi, rasterized in {raster:.2f}s/page")
        engines = [Engine(f"tesseract chi_sim psm {p}", tesseract_pages, int(p)) for p in args.psm.split(",")]
        engines += [Engine(f"rapidocr det+cls+rec (default), {t} thr", rapid_pages, t) for t in threads]
        engines.append(
            Engine(f"rapidocr det(0.3) + own cuts + rec, {threads[0]} thr", rapid_own_cuts_pages, threads[0])
        )
        runs = compare_pages(docs, engines)
        print(f"\n{pages} pages")
        print_page_table(runs)
        default = runs[f"rapidocr det+cls+rec (default), {threads[0]} thr"]
        compare_cells(cell_crops(docs, default, args.cell_pages, tmp), threads[0])


if __name__ == "__main__":
    main()
