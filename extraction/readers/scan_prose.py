"""A scanned page's text outside its tables: lines found from the ink itself, the detector only where
the ink does not say, and only the lines the record needs recognised.

Why: the text detector costs about half a second a page, and on a report's pages (one column of
printed lines on paper, deskewed) the lines are plain runs of inked rows with blank rows between them.
Where a run is taller than a line (a seal over the signature, a figure, lines that touch) the detector
reads that band as before. Past the document's first table, a paragraph's body lines are not
recognised (prose_lines): recognition is most of a scan's cost, and a long line costs the most.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from nianbao.extraction.geometry import Rect
from nianbao.extraction.ocr import INK_CONTRAST, OcrBox, page_text_boxes, read_lines
from nianbao.extraction.readers.ink_lines import (
    CROP_MARGIN,
    MIN_INK_PIXELS,
    SPECK,
    glyph_groups,
    is_speck,
    runs,
    text_rows,
)

# Wider than any stroke of printed text: the brightest pixel this near is the paper's tone.
PAPER_WINDOW_PT = 8.0
MIN_GLYPH_PT = 4.0  # printed text is at least this tall; shorter runs of inked rows are not a text line
# No printed glyph is taller: a taller mark is a rule, a scan's edge, a seal or a figure. A longer mark of
# a glyph's height is a rule or glyphs that touch (a bold heading's).
MAX_GLYPH_PT = 40.0
RULE_ASPECT = 10  # a mark this many times longer than thick is a rule or an edge, not text
# Of a line height: rows of ink this close are one line whatever its height (a large title glyph's
# parts, 告's strokes above its 口); lines this close that make a run too tall go to the detector.
GLYPH_SPLIT = 0.2
# A run of inked rows this many line heights tall holds more than one line (touching lines, a seal, a
# figure): the detector reads it, DETECTOR_MARGIN line heights above and below included.
TALL_RUN, DETECTOR_MARGIN = 2.2, 0.5
SEGMENT_GAP = 1.5  # of a line height: a blank this wide within a line parts two texts (a label and its value)
# Of the page width: a text line this long is a paragraph's body. A report's text runs over about three
# quarters of an A4 page; its longest headings (四、政府信息公开行政复议、行政诉讼情况 in 三号) over half.
BODY_WIDTH = 0.6


@dataclass(frozen=True)
class ProseLayout:
    """Where a page's text is: line segments grouped per line, and row bands (top, bottom) the profile
    could not split into lines."""

    lines: list[list[Rect]]
    bands: list[tuple[int, int]]


def page_ink(gray: np.ndarray, dpi: float) -> np.ndarray:
    """Ink pixels of a page: darker by INK_CONTRAST than the paper around them (the brightest pixel
    within PAPER_WINDOW_PT), so a scanner lid's grey edge or an uneven tone is paper, not ink."""
    side = max(3, round(PAPER_WINDOW_PT * dpi / 72)) | 1
    paper = cv2.dilate(gray, cv2.getStructuringElement(cv2.MORPH_RECT, (side, side)))
    return gray < cv2.subtract(paper, INK_CONTRAST)


def _marks(ink: np.ndarray, dpi: float) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """The text marks of ``ink`` (specks, rules and page edges left out), and the row ranges of marks
    taller than a glyph that are not rules (a seal, a figure, a handwritten signature)."""
    least, most = (max(2, round(pt * dpi / 72)) for pt in (MIN_GLYPH_PT * SPECK, MAX_GLYPH_PT))
    _, labels, stats, _ = cv2.connectedComponentsWithStats(ink.astype(np.uint8), connectivity=8)
    w, h = stats[:, cv2.CC_STAT_WIDTH], stats[:, cv2.CC_STAT_HEIGHT]
    long, short = np.maximum(w, h), np.minimum(w, h)
    rule = (long > most) & (long >= RULE_ASPECT * short)
    large = (h > most) & ~rule
    glyph = (long >= least) & ~rule & ~large & (stats[:, cv2.CC_STAT_AREA] >= MIN_INK_PIXELS)
    glyph[0] = large[0] = False
    top = stats[:, cv2.CC_STAT_TOP]
    return glyph[labels], [(int(top[i]), int(top[i] + h[i])) for i in np.flatnonzero(large)]


def prose_layout(ink: np.ndarray, dpi: float) -> ProseLayout:
    """Lines and undecided bands of a page's ``ink`` (tables already painted out)."""
    least = max(2, round(MIN_GLYPH_PT * dpi / 72))
    clean, bands = _marks(ink, dpi)
    profile = clean.any(axis=1)
    heights = [b - a for a, b in runs(profile) if b - a >= least]
    if not heights:
        return ProseLayout([], _joined(bands, least))
    height = int(np.median(heights))
    lines = []
    for top, bottom in text_rows(profile, height, GLYPH_SPLIT):
        if bottom - top < SPECK * height:
            continue  # a row of specks
        if bottom - top > TALL_RUN * height:
            bands.append((top, bottom))
            continue
        lines.append([Rect(x0, top, x1, bottom) for x0, x1 in _segments(ink[top:bottom], height)])
    bands = _joined(sorted(bands), height)
    return ProseLayout([line for line in lines if line and not _within(line[0].top, bands)], bands)


def _within(row: int, bands: list[tuple[int, int]]) -> bool:
    return any(top <= row < bottom for top, bottom in bands)


def _segments(line: np.ndarray, height: int) -> list[tuple[int, int]]:
    """[x0, x1) column ranges of a line's texts: its glyph groups less than SEGMENT_GAP line heights
    apart. Specks before a text are left out, even one touching its first glyph's group; after it
    they may be its full stop or comma, which the recogniser reads (a stray speck reads as a dot)."""
    segments: list[list[int]] = []
    for a, b, speck in glyph_groups(line, height):
        if segments and a - segments[-1][1] < SEGMENT_GAP * height:
            segments[-1][1] = b
        elif not speck:
            segments.append([_first_glyph(line[:, a:b], height) + a, b])
    return [(a, b) for a, b in segments]


def _first_glyph(group: np.ndarray, height: int) -> int:
    """The first column of a glyph group past the specks (is_speck) it starts with."""
    columns = runs(group.any(axis=0))
    for start, stop in columns[:-1]:
        if not is_speck(group[:, start:stop], height):
            return start
    return columns[-1][0]


def _joined(bands: list[tuple[int, int]], height: int) -> list[tuple[int, int]]:
    """Bands widened by DETECTOR_MARGIN line heights, overlapping ones joined."""
    margin = round(DETECTOR_MARGIN * height)
    out: list[list[int]] = []
    for top, bottom in bands:
        top, bottom = max(0, top - margin), bottom + margin
        if out and top <= out[-1][1]:
            out[-1][1] = max(out[-1][1], bottom)
        else:
            out.append([top, bottom])
    return [(a, b) for a, b in out]


def body_lines(lines: list[list[Rect]], width: int) -> set[int]:
    """Indices of the paragraph body lines: one text at least BODY_WIDTH of the page ``width`` long."""
    return {i for i, line in enumerate(lines) if len(line) == 1 and line[0].width >= BODY_WIDTH * width}


def prose_lines(gray: np.ndarray, dpi: float, body_from: float | None = None) -> list[list[OcrBox]]:
    """A page's text lines (tables painted out), top to bottom, each as its boxes left to right.

    Below the row ``body_from`` (None: nowhere) paragraph body lines are not read (body_lines): it is
    given the first table's top, and past the tables a report's paragraphs (its problems and plans)
    carry no field, no meta and no figure the trust checks read; headings, notes, a paragraph's last
    line and the signature still are."""
    layout = prose_layout(page_ink(gray, dpi), dpi)
    skipped = set() if body_from is None else body_lines(layout.lines, gray.shape[1])
    wanted = [line for i, line in enumerate(layout.lines) if not (i in skipped and line[0].top >= body_from)]
    crops = [_crop(gray, box) for line in wanted for box in line]
    readings = iter(read_lines(crops) if crops else [])
    lines = [
        [
            OcrBox(b.x0, b.top, b.x1, b.bottom, text=text, score=score)
            for b, (text, score) in zip(line, readings, strict=False)
        ]
        for line in wanted
    ]
    for top, bottom in layout.bands:
        lines += group_lines([b.shifted(top) for b in page_text_boxes(gray[top:bottom])])
    lines = [[box for box in line if box.text.strip()] for line in lines]
    return sorted(filter(None, lines), key=lambda line: min(b.top for b in line))


def _crop(gray: np.ndarray, box: Rect) -> np.ndarray:
    """The page's pixels in ``box`` with CROP_MARGIN of paper round it, as the recogniser saw lines."""
    rows = slice(max(0, box.top - CROP_MARGIN), box.bottom + CROP_MARGIN)
    return gray[rows, max(0, box.x0 - CROP_MARGIN) : box.x1 + CROP_MARGIN]


def group_lines(boxes: list[OcrBox]) -> list[list[OcrBox]]:
    """Boxes as lines, top to bottom; a box joins the line whose last box it overlaps vertically."""
    lines: list[list[OcrBox]] = []
    for box in sorted(boxes, key=lambda b: b.centre_y):
        if lines and abs(box.centre_y - lines[-1][-1].centre_y) < box.height / 2:
            lines[-1].append(box)
        else:
            lines.append([box])
    return [sorted(line, key=lambda b: b.x0) for line in lines]
