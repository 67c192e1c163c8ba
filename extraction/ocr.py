"""Offline OCR of page images: text boxes with their place and the engine's confidence.

Why RapidOCR (PP-OCRv4 det + rec as ONNX): its wheel carries the models, so nothing is downloaded at run
time, and it recognises a table cell's crop without a detection pass. How it is used here (a lower box
threshold, our own upright cuts, no score cut-off, one inter-op thread) comes from the comparison with
Tesseract in benchmarks/OCR_COMPARISON.md (``python benchmarks/ocr_compare.py``). The engine is
loaded once per process.
"""

from __future__ import annotations

import ctypes
import math
import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from nianbao.extraction.geometry import Rect

BAND_HEIGHT = 240  # pixels of page given to the detector at once
BAND_MARGIN = 60  # more than a text line is tall at 200 dpi
DET_SCALE = 0.6  # detection needs less resolution than recognition
INK_CONTRAST = 50  # a pixel this much darker than its paper (the median around it) is ink
# A band with fewer ink pixels than this among every SAMPLE-th pixel of every SAMPLE-th row is blank
# paper (or scan specks): the smallest text, a lone digit, has about 40 there at 200 dpi.
SAMPLE, BLANK_BAND_INK = 2, 20
SAME_LINE_IOU = 0.5  # two bands' boxes of one line overlap about fully; two lines side by side not at all
# The detector's default 0.5 drops faint lone digits on light scans; the recogniser's score is kept for
# every box instead of cutting at it (a table reader checks a cell against its column anyway).
DET_BOX_THRESH = 0.3
TALL_LINES = 1.6  # a box this many median line heights tall (and narrow) is vertical text; a lone digit is 1
# One onnxruntime thread per worker process: a second one buys at most 1.5x on an idle machine, is slower
# than one beside other busy processes on 2 cores, and its scratch memory counts against the 500 MB a worker.
THREADS = 1
# The recogniser's input widths. Its cost is linear in the width (about 0.08 ms a pixel on one thread:
# 24 ms at the engine's own minimum 320, 5 ms at 64), and most table cells are one short number, so a
# crop is padded only up to the least step that holds it, steps about 25 % apart from 64. The first, 48
# (six CTC steps), holds a lone digit's crop (about 40 px wide at the input height) with its margins: a
# zero-heavy page has hundreds, and they read as at 64 (same texts on 2,000 cells, scores within 0.01)
# except a glyph the recogniser is unsure of without more room (NARROW_TRUST). onnxruntime plans a
# graph's memory per input shape, and the first run of a shape costs about five times a repeated one
# (with MMAP_THRESHOLD every large buffer is mapped anew): a line read at its own width is nearly always
# a new shape; at these steps a shape repeats on every page after the first few.
REC_WIDTHS = (48, 64, 80, 96, 120, 152, 192, 240, 304, 384, 480, 608, 760, 952, 1192, 1488, 1864, 2328, 2912)
REC_WIDTH_BEYOND = 640
# A reading at the narrowest width scored under this is made again at the next: a lone "/" reads as "1"
# at 48 (about 0.5) and as "/" at 64; a printed lone digit scores over 0.95 at either.
NARROW_TRUST = 0.9
# What a cell that must hold a number may be read as, once its reading says it is one.
NUMBER_CLASSES = "0123456789+-.,元"
# Glyphs a number's characters are mistaken for (as the scan reader reads them back): in a number their
# likelihood is the character's.
DIGIT_LOOKALIKES = {"0": "oOD〇○", "1": "lI|", "-": "—－一"}
# A reading made only of these is a number misread at worst: digit look-alikes, dashes for a minus sign.
_NUMBER_GLYPHS = frozenset("0123456789oOQDlI|iSBZ〇○。+-.,，一—－~_元 ")
# At least one of these: a dash alone is a printed null, not a number.
_DIGIT_GLYPHS = frozenset("0123456789oOQDlI|〇○")
_LONE_DOTS = frozenset(".。·")
# A minus is short and thin: before a number's first digit the recogniser often gives it 0.3-0.45 and blank
# the rest, where a step without a sign gives it under 0.03.
SIGN_MIN = 0.3


@dataclass(frozen=True)
class OcrBox(Rect):
    """A text line's box in page pixels, with what it reads and the recogniser's score."""

    text: str = field(kw_only=True)
    score: float = field(kw_only=True)


# glibc keeps freed buffers below its (self-raising) mmap threshold for reuse, so a worker's resident
# memory ratchets up to the largest mix of OCR tensors it has seen. Buffers of 1 MB and more mapped on
# their own go back to the system when freed. Measured on text PDFs then scans in one worker: 2 MB peaks
# at 489 MB, 1 MB at 471 MB for 7 % more time, 512 KB at 464 MB for 30 % more (mapping is not free).
M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
MMAP_THRESHOLD = 1 << 20


def _return_large_buffers() -> None:
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc: nothing to tune
        return
    libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD)


@lru_cache(maxsize=1)
def engine():
    """The process's RapidOCR with the settings above, loaded on first use (onnxruntime is imported then)."""
    from rapidocr_onnxruntime import RapidOCR

    _return_large_buffers()
    # "max": never upscale a band to a minimum side, which is what costs memory on a wide, short image.
    return RapidOCR(
        det_limit_type="max",
        det_box_thresh=DET_BOX_THRESH,
        intra_op_num_threads=THREADS,
        inter_op_num_threads=1,  # the models are sequential graphs: an inter-op pool would only spin
    )


def warp(image: np.ndarray, quad: np.ndarray, turn: bool) -> np.ndarray:
    """The quadrilateral cut out upright; with ``turn`` a box at least 1.5 times as tall as wide is turned
    90 degrees, as RapidOCR's get_crop_img_list turns every such box (which makes a lone "0" an "o")."""
    w = max(1, int(max(np.linalg.norm(quad[0] - quad[1]), np.linalg.norm(quad[2] - quad[3]))))
    h = max(1, int(max(np.linalg.norm(quad[0] - quad[3]), np.linalg.norm(quad[1] - quad[2]))))
    target = np.array([[0, 0], [w, 0], [w, h], [0, h]], dtype=np.float32)
    matrix = cv2.getPerspectiveTransform(quad.astype(np.float32), target)
    out = cv2.warpPerspective(image, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE, flags=cv2.INTER_CUBIC)
    return np.rot90(out) if turn and h >= 1.5 * w else out


def vertical(quads: Sequence[np.ndarray]) -> list[bool]:
    """Boxes to turn: tall and narrow, and more than one line high (the median box is one line)."""
    heights = [float(max(np.linalg.norm(q[0] - q[3]), np.linalg.norm(q[1] - q[2]))) for q in quads]
    widths = [float(max(np.linalg.norm(q[0] - q[1]), np.linalg.norm(q[2] - q[3]))) for q in quads]
    line = statistics.median(heights) if heights else 0.0
    return [h >= 1.5 * w and h >= TALL_LINES * line for h, w in zip(heights, widths, strict=True)]


def detect_quads(gray: np.ndarray, band: int = BAND_HEIGHT, margin: int = BAND_MARGIN) -> list[np.ndarray]:
    """Text-line quadrilaterals of a grayscale page, in page pixels.

    The detector's memory grows with the pixels it sees (about 300 bytes a pixel), so it sees the page
    in horizontal bands at DET_SCALE. A band reaches ``margin`` beyond its core on both sides and keeps
    the lines centred in its core, so a line on a band edge is found whole, once.
    """
    detector = engine().text_det
    quads: list[np.ndarray] = []
    previous: list[np.ndarray] = []  # the band above's lines
    height = gray.shape[0]
    ink = np.median(gray[::SAMPLE, ::SAMPLE]) - INK_CONTRAST  # darker than the paper
    for top in range(0, height, band):
        lo, hi = max(0, top - margin), min(height, top + band + margin)
        if np.count_nonzero(gray[lo:hi:SAMPLE, ::SAMPLE] < ink) < BLANK_BAND_INK:
            previous = []
            continue  # blank paper, or specks: nothing to detect
        small = cv2.resize(gray[lo:hi], None, fx=DET_SCALE, fy=DET_SCALE, interpolation=cv2.INTER_AREA)
        found, _ = detector(cv2.cvtColor(small, cv2.COLOR_GRAY2BGR))
        here = []
        for quad in [] if found is None else found:
            quad = np.asarray(quad, np.float32) / DET_SCALE + np.float32([0, lo])
            # A line whose centre sits on the band edge is found by both bands, its centre a pixel
            # apart: kept twice, its digits would be read twice ("82" → "8282").
            in_core = top <= quad[:, 1].mean() < top + band
            if in_core and not any(_same_line(quad, other) for other in previous):
                here.append(quad)
        quads += here
        previous = here
    return quads


def _same_line(a: np.ndarray, b: np.ndarray) -> bool:
    """Do two quadrilaterals box the same text (their boxes overlap by SAME_LINE_IOU or more)?"""
    return quad_box(a).iou(quad_box(b)) >= SAME_LINE_IOU


def quad_box(quad: np.ndarray) -> Rect:
    """The axis-aligned box around a quadrilateral's corners."""
    return Rect(*quad.min(axis=0), *quad.max(axis=0))


def page_text_boxes(gray: np.ndarray, band: int = BAND_HEIGHT, margin: int = BAND_MARGIN) -> list[OcrBox]:
    """Every text line on a grayscale page, as axis-aligned boxes with the recogniser's score.

    Lines are found at low resolution (detect_quads) and read from the full-resolution page, each cut
    upright by us: only real vertical text is turned.
    """
    quads = detect_quads(gray, band, margin)
    read = read_lines([warp(gray, q, turn) for q, turn in zip(quads, vertical(quads), strict=True)])
    return [
        OcrBox(*map(float, (*q.min(axis=0), *q.max(axis=0))), text=text, score=score)
        for q, (text, score) in zip(quads, read, strict=True)
        if text.strip()
    ]


def read_lines(crops: Sequence[np.ndarray]) -> list[tuple[str, float]]:
    """Recognition alone on crops that each hold one line (a text line, a table cell), with its score.

    One crop at a time: a batch pads every line to the widest, and a paragraph line is 1,500 px wide.
    A crop whose free reading is a number, or a number's look-alike ("o" for 0, "一" for a minus, a lone
    round dot for a faint 0), is read again as a number (_decode_number), so the score is that of the
    digits chosen, not of the glyphs they were mistaken for. A reading at the narrowest width scored
    under NARROW_TRUST is made again at the next width (a "/" read as "1" with no room around it).
    """
    _, height, _ = engine().text_rec.rec_image_shape
    out = []
    for crop in crops:
        image = cv2.cvtColor(crop, cv2.COLOR_GRAY2BGR) if crop.ndim == 2 else crop
        width = rec_width(height * image.shape[1] / image.shape[0])
        text, score = _recognise(image, width)
        if width == REC_WIDTHS[0] and score < NARROW_TRUST:
            text, score = _recognise(image, REC_WIDTHS[1])
        out.append((text, score))
    return out


def _recognise(image: np.ndarray, width: int) -> tuple[str, float]:
    """One line's reading and score, the line padded to ``width`` at the recogniser's input height."""
    rec = engine().text_rec
    _, height, _ = rec.rec_image_shape
    probs = rec.session(rec.resize_norm_img(image, width / height)[np.newaxis].astype(np.float32))[0]
    text, score = _decode(probs, None)
    return _decode_number(probs) if reads_as_number(text) else (text, score)


def rec_width(width: float) -> int:
    """The recogniser's input width for a line ``width`` pixels long at its input height: the least
    REC_WIDTHS step that holds it (the line is padded to it), past the last step a multiple of
    REC_WIDTH_BEYOND (a fifth of it at most is padding)."""
    for step in REC_WIDTHS:
        if width <= step:
            return step
    return REC_WIDTH_BEYOND * math.ceil(width / REC_WIDTH_BEYOND)


def reads_as_number(text: str) -> bool:
    """Is this reading a number, perhaps through digit look-alikes? Text with any other glyph is not.
    A lone dot is a faint lone "0" whose crop is too narrow for the recogniser to tell (1-2 CTC steps)."""
    compact = text.replace(" ", "")
    if compact in _LONE_DOTS:
        return True
    return bool(compact) and set(compact) <= _NUMBER_GLYPHS and not _DIGIT_GLYPHS.isdisjoint(compact)


@lru_cache(maxsize=1)
def _edge_free_columns() -> np.ndarray:
    """Columns of _number_classes() that a number's first and last glyph cannot be."""
    return np.array([1 + NUMBER_CLASSES.index(ch) for ch in ".,"], np.intp)


@lru_cache(maxsize=1)
def _number_classes() -> np.ndarray:
    """The recogniser's class indices of CTC blank (0) and NUMBER_CLASSES."""
    index = engine().text_rec.postprocess_op.dict
    return np.array([0] + [index[ch] for ch in NUMBER_CLASSES], np.intp)


@lru_cache(maxsize=1)
def _lookalike_columns() -> list[tuple[int, np.ndarray]]:
    """(column of _number_classes(), the recogniser's classes of that digit's look-alikes) pairs."""
    index = engine().text_rec.postprocess_op.dict
    return [
        (1 + NUMBER_CLASSES.index(digit), np.array([index[ch] for ch in glyphs], np.intp))
        for digit, glyphs in DIGIT_LOOKALIKES.items()
    ]


def _decode_number(probs: np.ndarray) -> tuple[str, float]:
    """The free reading's glyphs, each read as its likeliest number character.

    The free argmax says where the glyphs are (its non-blank steps stay non-blank, blank steps may stay
    blank), and so does a sign likelier than SIGN_MIN before the first of them; NUMBER_CLASSES say what
    they are, a digit's look-alikes counting as that digit: the recogniser splits a round "0" between
    0, o, O and 〇, the more so the less context (padding) its crop has. A number neither starts nor
    ends with "." or ",", so the outer glyph steps choose among the others.
    """
    classes = _number_classes()
    glyphs = np.flatnonzero(probs[0].argmax(axis=1) != 0)
    index = engine().text_rec.postprocess_op.dict
    sign = np.maximum(probs[0, : glyphs[0], index["-"]], probs[0, : glyphs[0], index["+"]])
    glyphs = np.concatenate([np.flatnonzero(sign >= SIGN_MIN), glyphs])  # a short faint dash loses to blank
    allowed = probs[0][:, classes]
    for column, lookalikes in _lookalike_columns():
        allowed[:, column] += probs[0][:, lookalikes].sum(axis=1)
    allowed[glyphs, 0] = -1.0  # column 0 is the CTC blank
    allowed[np.ix_(glyphs[[0, -1]], _edge_free_columns())] = -1.0
    return _decode(allowed[np.newaxis], classes)


def _decode(scores: np.ndarray, classes: np.ndarray | None) -> tuple[str, float]:
    """The library's greedy CTC decode of one crop's (1, steps, columns) scores; column j is the class
    ``classes[j]`` (all classes in order when None)."""
    best = scores.argmax(axis=2)
    index = best if classes is None else classes[best]
    decode = engine().text_rec.postprocess_op.decode
    text, score = decode(index, scores.max(axis=2), is_remove_duplicate=True)[0]
    return str(text), float(score)
