"""Tesseract vs RapidOCR on synthesized scans: ``python benchmarks/ocr_compare.py -n 10 --seed 7``.

Why: scanned reports must be OCRed offline, and the engine (and psm, dpi, threads, how cells are cut)
decides what the table reader can trust. Run by hand only; nothing in the package imports this module.
Results and conclusions: benchmarks/OCR_COMPARISON.md.

The reference for each page is the text of the very PDF the scan was printed from: the synthesizer's draws
are replayed (same seed, same embedded font) and the replayed scan is checked byte for byte against
``build_report(seed, "scan")``, so pages line up one to one. Each engine runs in its own fresh process, one
after the other, so per-page time, load time and peak RSS belong to that engine alone.
"""

from __future__ import annotations

import argparse
import io
import os
import platform
import re
import resource
import statistics
import subprocess
import tempfile
import time
import unicodedata
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import date
from importlib.metadata import version
from multiprocessing import get_context
from pathlib import Path

import cv2
import numpy as np
import pypdfium2 as pdfium
from pdfminer.high_level import extract_pages
from pdfminer.layout import LTChar, LTTextContainer, LTTextLine
from PIL import Image
from rapidfuzz import fuzz
from rapidfuzz.distance import LCSseq, Levenshtein

from nianbao.evaluation.synth.blocks import Block, Table
from nianbao.evaluation.synth.content import Doc, draw
from nianbao.evaluation.synth.corpus import document_seed
from nianbao.evaluation.synth.forms import build_report, pdf_of
from nianbao.evaluation.synth.layout import report_blocks
from nianbao.evaluation.synth.pdf_fonts import EMBEDDED_FONTS
from nianbao.evaluation.synth.render_scan import render_scan
from nianbao.extraction.ocr import DET_BOX_THRESH, vertical, warp

DIGITS = "0123456789.,-"
# Tesseract is built with OpenMP: on 2 cores a second thread busy-waits against anything else running
# (a page took 37 s instead of 2 s next to another busy process).
TESS_ENV = {**os.environ, "OMP_THREAD_LIMIT": "1"}
# Our own-cuts pipeline keeps faint lone digits that RapidOCR's defaults drop: the detector's box_thresh
# 0.5 -> 0.3 and no text_score cut-off (0.5 by default); see OCR_COMPARISON.md.
OWN_CUTS_OPTIONS = {"det_box_thresh": DET_BOX_THRESH}
CJK = re.compile(r"[\u4e00-\u9fff]")
# A number as printed: thousand-separated (1,234.5) or plain (1234.5); fullwidth digits are NFKC-folded.
NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?")
NUMERIC_CELL = re.compile(r"[+\-]?\d[\d.,]*")
# How a box is cut for recognition alone: RapidOCR's warp of the quadrilateral, which turns any box with
# h >= 1.5 w by 90 degrees (meant for vertical text, it also catches a lone digit: "0" is read "o"); the
# same warp turning only boxes taller than TALL_LINES lines (vertical text, as the scan reader cuts them);
# the plain axis-aligned rectangle.
CUTS = ("pipeline", "upright", "axis")


# ---------------------------------------------------------------- documents and their reference
@dataclass
class RefLine:
    """A text line of the source PDF, in pixels at the raster dpi (before the scanner's skew)."""

    box: tuple[float, float, float, float]  # x0, y0 (top), x1, y1
    text: str
    chars: list[tuple[float, float, str]]  # centre x, centre y, character


@dataclass
class ScanDoc:
    """One synthesized scan, rasterized, with what it really says."""

    seed: int
    pages: list[str]  # PNG paths, one per page
    ref_lines: list[list[RefLine]]  # per page, in row-major order
    numbers: Counter[str]  # canonical numbers printed for the non-null gold fields
    labels: list[str]  # distinct CJK text of the table label cells
    raster_s: float

    @property
    def ref_pages(self) -> list[str]:
        return ["\n".join(ln.text for ln in lines) for lines in self.ref_lines]


def _source(seed: int) -> tuple[bytes, bytes, Doc, list[Block], dict]:
    """(scan, the text PDF it was printed from, drawn content, blocks, gold), replaying the scan form."""
    report = build_report(seed, "scan")
    d = draw(seed, "scan", None)
    blocks = report_blocks(d)
    pdf = pdf_of(blocks, d, d.rng.choice(EMBEDDED_FONTS))
    if render_scan(pdf, d.rng) != report.content:
        raise RuntimeError(f"seed {seed}: replayed scan differs; the synthesizer changed how scans are drawn")
    return report.content, pdf, d, blocks, report.gold


def _row_major(lines: list[RefLine]) -> list[RefLine]:
    """Lines as an OCR engine reads them: rows top down, each row left to right."""
    rows: list[list[RefLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.box[1], ln.box[0])):
        first = rows[-1][0].box if rows else None
        if first and line.box[1] - first[1] < 0.5 * (first[3] - first[1]):
            rows[-1].append(line)
        else:
            rows.append([line])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: ln.box[0])]


def page_lines(pdf: bytes, dpi: int) -> list[list[RefLine]]:
    """Lines per page; pdfminer's own order lists a table column by column, which no engine does."""
    k, pages = dpi / 72, []
    for layout in extract_pages(io.BytesIO(pdf)):
        top, lines = layout.height, []
        for ln in (ln for box in layout if isinstance(box, LTTextContainer) for ln in box):
            if isinstance(ln, LTTextLine):
                chars = [
                    ((c.x0 + c.x1) / 2 * k, (top - (c.y0 + c.y1) / 2) * k, c.get_text())
                    for c in ln
                    if isinstance(c, LTChar)
                ]
                box = (ln.x0 * k, (top - ln.y1) * k, ln.x1 * k, (top - ln.y0) * k)
                lines.append(RefLine(box, ln.get_text().strip(), chars))
        pages.append(_row_major(lines))
    return pages


def rasterize(pdf: bytes, dpi: int, out: Path) -> list[str]:
    """Pages as grey PNGs (lossless, so every engine sees the same pixels)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        paths = []
        for i, page in enumerate(doc):
            path = out.with_name(f"{out.name}_p{i}.png")
            page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L").save(path)
            paths.append(str(path))
        return paths
    finally:
        doc.close()


def canonical_numbers(text: str) -> Counter[str]:
    """Numbers in text, spelled one way: no thousand separators, no trailing decimal zeros."""
    out: Counter[str] = Counter()
    for m in NUMBER.finditer(unicodedata.normalize("NFKC", text)):
        token = m.group().replace(",", "")
        if "." in token:
            token = token.rstrip("0").rstrip(".") or "0"
        out[token] += 1
    return out


def make_doc(seed: int, dpi: int, tmp: Path) -> ScanDoc:
    scan, pdf, d, blocks, gold = _source(seed)
    started = time.perf_counter()
    pages = rasterize(scan, dpi, tmp / f"s{seed}")
    raster_s = time.perf_counter() - started
    ref_lines = page_lines(pdf, dpi)
    if len(ref_lines) != len(pages):
        raise RuntimeError(f"seed {seed}: {len(pages)} scanned pages but {len(ref_lines)} source pages")
    numbers: Counter[str] = Counter()
    for key, value in gold["fields"].items():
        if value is not None and key in d.printed:  # printed as a number, not a null token
            numbers += canonical_numbers(d.printed[key] or "")
    cells = (c.text for b in blocks if isinstance(b, Table) for c in b.cells if not c.num)
    labels = [t for t in dict.fromkeys("".join(CJK.findall(c)) for c in cells) if len(t) >= 2]
    return ScanDoc(seed, pages, ref_lines, numbers, labels, raster_s)


# ---------------------------------------------------------------- engines (each run in its own process)
def _cpu_s(who: int) -> float:
    """CPU seconds used so far: unlike wall time, barely moved by other processes on the machine."""
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def _tesseract(args: list[str]) -> str:
    done = subprocess.run(["tesseract", *args], capture_output=True, text=True, env=TESS_ENV, check=True)
    return done.stdout


def _tesseract_load_s(tmp: str) -> float:
    """One call on a blank image: process start plus loading chi_sim, which every CLI call pays again."""
    blank = Path(tmp) / "blank.png"
    Image.new("L", (64, 32), 255).save(blank)
    started = time.perf_counter()
    _tesseract([str(blank), "stdout", "-l", "chi_sim", "--psm", "7"])
    return time.perf_counter() - started


def tesseract_pages(paths: list[str], psm: int) -> dict:
    """Full pages through the CLI, one call per page (what pytesseract does too)."""
    load_s = _tesseract_load_s(os.path.dirname(paths[0]))
    texts, times, cpu = [], [], _cpu_s(resource.RUSAGE_CHILDREN)
    for path in paths:
        started = time.perf_counter()
        texts.append(_tesseract([path, "stdout", "-l", "chi_sim", "--psm", str(psm)]).replace("\f", ""))
        times.append(time.perf_counter() - started)
    cpu = (_cpu_s(resource.RUSAGE_CHILDREN) - cpu) / len(paths)
    rss_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024  # the largest tesseract process
    return {"load_s": load_s, "page_s": times, "cpu_s": cpu, "texts": texts, "boxes": [], "rss_mb": rss_mb}


def tesseract_crops(paths: list[str], whitelist: bool) -> dict:
    """psm 7 on every crop in one process (a list file): chi_sim is loaded once, and netted out."""
    tmp = os.path.dirname(paths[0])
    load_s = _tesseract_load_s(tmp)
    fd, listing = tempfile.mkstemp(suffix=".txt", dir=tmp)
    with os.fdopen(fd, "w") as f:
        f.write("\n".join(paths) + "\n")
    extra = ["-c", f"tessedit_char_whitelist={DIGITS}"] if whitelist else []
    started = time.perf_counter()
    out = _tesseract([listing, "stdout", "-l", "chi_sim", "--psm", "7", *extra])
    total = time.perf_counter() - started
    texts = out.split("\f")[: len(paths)]  # tesseract ends every image with a form feed
    if len(texts) != len(paths):
        raise RuntimeError(f"tesseract gave {len(texts)} results for {len(paths)} crops")
    return {"texts": texts, "crop_s": max(total - load_s, 0.0) / len(paths), "load_s": load_s}


def _rapid(threads: int, **options: float):
    """Options go to the constructor: passed to a call instead, they stick to the engine for later calls."""
    from rapidocr_onnxruntime import RapidOCR  # imported here: the parent process never loads onnxruntime

    return RapidOCR(intra_op_num_threads=threads, inter_op_num_threads=1, **options)


def _rgb(path: str) -> np.ndarray:
    return np.array(Image.open(path).convert("RGB"))


def _timed_pages(paths: list[str], threads: int, read: Callable, **options: float) -> dict:
    """Load RapidOCR, then read(engine, image) -> [(quad, text)] on every page, timing each page."""
    started = time.perf_counter()
    engine = _rapid(threads, **options)
    load_s = time.perf_counter() - started
    times, boxes, cpu = [], [], 0.0
    for path in paths:
        image = _rgb(path)
        started, cpu_started = time.perf_counter(), _cpu_s(resource.RUSAGE_SELF)
        boxes.append(read(engine, image))
        times.append(time.perf_counter() - started)
        cpu += _cpu_s(resource.RUSAGE_SELF) - cpu_started
    texts = ["\n".join(text for _, text in page) for page in boxes]
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # the whole worker, Python included
    return {
        "load_s": load_s,
        "page_s": times,
        "cpu_s": cpu / len(paths),
        "texts": texts,
        "boxes": boxes,
        "rss_mb": rss_mb,
    }


def _read_default(engine, image: np.ndarray) -> list:
    result, _ = engine(image)
    return [(quad, text) for quad, text, _ in result or []]  # None, not [], when nothing is detected


def _read_own_cuts(engine, image: np.ndarray) -> list:
    """RapidOCR's detector, our own cuts (only vertical text turned), recognition in batches; no cls.

    Every recognized box is kept: a table reader checks a cell against its column anyway.
    """
    quads, _ = engine(image, use_cls=False, use_rec=False)
    quads = [np.array(q, dtype=np.float32) for q in quads or []]
    if not quads:
        return []
    recs, _ = engine.text_rec([warp(image, q, t) for q, t in zip(quads, vertical(quads), strict=True)])
    return [(q.tolist(), r[0]) for q, r in zip(quads, recs, strict=True)]


def rapid_pages(paths: list[str], threads: int) -> dict:
    """Full pages, default det + cls + rec; boxes kept for the per-cell test."""
    return _timed_pages(paths, threads, _read_default)


def rapid_own_cuts_pages(paths: list[str], threads: int) -> dict:
    """Full pages, RapidOCR's detector and recognizer but our cuts: what a table reader would run."""
    return _timed_pages(paths, threads, _read_own_cuts, **OWN_CUTS_OPTIONS)


def rapid_crops(cuts: dict[str, list[str]], threads: int) -> dict[str, dict]:
    """Recognition only per cut: one ``engine(crop, use_det=False)`` call per crop, then ``text_rec`` batches.

    The two differ beyond speed: the call path resizes any crop under 30 px to multiples of 32 on both
    sides, squashing a lone digit.
    """
    engine, out = _rapid(threads), {}
    for cut, paths in cuts.items():
        images = [_rgb(p) for p in paths]
        single, times = [], []
        for image in images:
            started = time.perf_counter()
            result, _ = engine(image, use_det=False, use_cls=False, use_rec=True)
            times.append(time.perf_counter() - started)
            single.append(result[0][0] if result else "")
        started = time.perf_counter()
        batch = [r[0] for r in engine.text_rec(images)[0]]
        batch_s = (time.perf_counter() - started) / len(images)
        out[cut] = {"single": single, "single_s": statistics.mean(times), "batch": batch, "batch_s": batch_s}
    return out


def in_fresh_process(fn: Callable[..., dict], *args: object) -> dict:
    """Run fn in a new spawned process: its RSS and thread pools are its own, and it exits afterwards."""
    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


# ---------------------------------------------------------------- scoring
def squash(text: str) -> str:
    """Compare glyphs, not spacing: NFKC folds （，０ to (,0 as the engines print them; whitespace goes."""
    return "".join(unicodedata.normalize("NFKC", text).split())


def bag_errors(ref: str, hyp: str) -> int:
    """Order-free edit count: characters missing, extra or substituted, whatever order the lines came in."""
    return max(len(ref), len(hyp)) - sum((Counter(ref) & Counter(hyp)).values())


def label_chars_found(label: str, hyp_cjk: str) -> int:
    """Characters of one label found in order in the best-matching stretch of the engine's CJK text."""
    hit = fuzz.partial_ratio_alignment(label, hyp_cjk)
    return LCSseq.similarity(label, hyp_cjk[hit.dest_start : hit.dest_end]) if hit else 0


@dataclass
class Score:
    """Sums over documents; rates are taken at the end so long documents weigh more."""

    ref_chars: int = 0
    bag_err: int = 0
    align_err: int = 0
    cjk_ref: int = 0
    cjk_found: int = 0
    label_chars: int = 0
    label_found: int = 0
    labels: int = 0
    labels_exact: int = 0
    nums: int = 0
    nums_found: int = 0
    nonzero: int = 0
    nonzero_found: int = 0

    def add_doc(self, doc: ScanDoc, hyp_pages: list[str]) -> None:
        ref, hyp = squash("".join(doc.ref_pages)), squash("".join(hyp_pages))
        self.ref_chars += len(ref)
        self.bag_err += bag_errors(ref, hyp)
        self.align_err += sum(
            Levenshtein.distance(squash(r), squash(h)) for r, h in zip(doc.ref_pages, hyp_pages, strict=True)
        )
        ref_cjk, hyp_cjk = "".join(CJK.findall(ref)), "".join(CJK.findall(hyp))
        self.cjk_ref += len(ref_cjk)
        self.cjk_found += sum((Counter(ref_cjk) & Counter(hyp_cjk)).values())
        for label in doc.labels:
            self.labels += 1
            self.label_chars += len(label)
            self.label_found += label_chars_found(label, hyp_cjk)
            self.labels_exact += label in hyp_cjk
        found = canonical_numbers("\n".join(hyp_pages)) & doc.numbers
        self.nums += doc.numbers.total()
        self.nums_found += found.total()
        self.nonzero += doc.numbers.total() - doc.numbers["0"]
        self.nonzero_found += found.total() - found["0"]


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.1f}%" if whole else "n/a"


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
            _pct(s.bag_err, s.ref_chars),
            _pct(s.align_err, s.ref_chars),
            _pct(s.cjk_found, s.cjk_ref),
            _pct(s.label_found, s.label_chars),
            _pct(s.labels_exact, s.labels),
            f"{_pct(s.nums_found, s.nums)} of {s.nums}",
            f"{_pct(s.nonzero_found, s.nonzero)} of {s.nonzero}",
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


def _exact(pairs: list[tuple[str, str]]) -> str:
    return _pct(sum(squash(a) == squash(b) for a, b in pairs), len(pairs))


def _cer(pairs: list[tuple[str, str]]) -> str:
    errors = sum(Levenshtein.distance(squash(truth), squash(got)) for truth, got in pairs)
    return _pct(errors, sum(len(squash(truth)) for truth, _ in pairs))


def _crop_row(name: str, cut: str, per_crop: float | None, got: list[str | None], crops: list[Crop]) -> str:
    """One table row; ``got`` is None for crops the recognizer was not run on."""
    num, txt = [], []
    for c, g in zip(crops, got, strict=True):
        if g is not None:
            (num if NUMERIC_CELL.fullmatch(squash(c.truth)) else txt).append((c, g))
    cells = [
        cut,
        "-" if per_crop is None else f"{per_crop:.3f}",
        _exact([(c.truth, g) for c, g in num]),
        _exact([(c.full, g) for c, g in num]),
        _exact([(c.truth, g) for c, g in txt]),
        _cer([(c.truth, g) for c, g in txt]),
        _exact([(c.full, g) for c, g in txt]),
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
def _versions() -> str:
    tess = _tesseract(["--version"]).splitlines()[0]
    libs = ", ".join(
        f"{p} {version(p)}" for p in ("rapidocr-onnxruntime", "onnxruntime", "pypdfium2", "pdfminer.six")
    )
    cpuinfo = Path("/proc/cpuinfo").read_text().splitlines()
    cpu = next((ln.split(":", 1)[1].strip() for ln in cpuinfo if ln.startswith("model name")), "?")
    return f"{tess}; {libs}; Python {platform.python_version()}; {os.cpu_count()} cores ({cpu})"


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
    print(f"{date.today()} | {_versions()}")
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
