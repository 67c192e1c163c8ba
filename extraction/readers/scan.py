"""Scanned pages (image-only PDFs, PNG/JPEG/TIFF): deskew, ruled tables from the image, OCR text into cells.

Why from the image: a scan has no vector rules or text layer. The ruling lines are found by morphology
(long thin openings of the ink), the table grid from their positions, merged cells from the rules that
are missing between neighbouring grid cells, and OCR text boxes are assigned to the cell holding their
centre. Text outside tables becomes lines of prose. Each step is a small function over numpy arrays.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from nianbao.extraction.document import Block, Document, GridCell, PageBox, TableBlock, TextBlock
from nianbao.extraction.ocr import OcrBox, page_text_boxes, read_lines


@dataclass(frozen=True)
class ScanSettings:
    """Tunables of the image table finder, as fractions of the page so they hold at any resolution."""

    h_rule: float = 1 / 40  # shortest horizontal rule, of the page width
    v_rule: float = 1 / 80  # shortest vertical rule, of the page height
    merge_gap: float = 0.004  # rules closer than this (of the page size) are one rule
    cell_rule_cover: float = 0.5  # a cell border counts as drawn when this share of it is ink
    min_table: float = 0.1  # a table's grid spans at least this share of the page width
    max_skew_degrees: float = 5.0
    dpi: float = 200.0  # of the page images; scanned PDFs are rasterized at this resolution


# Pixels of one page, an image's or a PDF page's as rendered: an A4 page at 600 dpi is 35 Mpx; far beyond
# that is a decompression bomb, or a PDF page declared hundreds of inches wide.
MAX_PIXELS = 60_000_000


def capped_dpi(width_pt: float, height_pt: float, dpi: float) -> float:
    """``dpi``, lowered where a page of this size in PDF points would render to more than MAX_PIXELS (give
    or take the renderer's rounding of each side to whole pixels)."""
    pixels = width_pt * height_pt * (dpi / 72) ** 2
    return dpi if pixels <= MAX_PIXELS else dpi * math.sqrt(MAX_PIXELS / pixels)


@dataclass(frozen=True)
class Grid:
    """A table's rule positions in page pixels; ``cells`` are (r0, c0, r1, c1) grid ranges after merging."""

    xs: list[int]
    ys: list[int]
    cells: list[tuple[int, int, int, int]]


def read_scan(path: str, pages: Iterable[np.ndarray], settings: ScanSettings | None = None) -> Document:
    """Grayscale page images in reading order → a Document of OCR text lines and tables."""
    settings = settings or ScanSettings()
    blocks: list[Block] = []
    for number, page in enumerate(pages, 1):
        blocks += page_blocks(deskew(page, settings), number, settings)
    return Document(path, "scan", blocks)


CROSSED_RULES = 3  # a segment crossing this many rules is a rule, whether or not both its ends meet one
# Hough's angle step. A segment's angle is measured from its end points, so the step only decides which
# segments are found: 0.2 degrees finds the same rules as 0.1 (medians within 0.1 degree) with half the
# accumulator, which at 0.1 degrees is about 60 MB on an A4 page at 200 dpi, a scan worker's peak.
SKEW_THETA_STEP = np.pi / 900


def deskew(gray: np.ndarray, settings: ScanSettings) -> np.ndarray:
    """Rotate the page so its horizontal rules (or text lines) are level."""
    ink = _ink(gray)
    width = gray.shape[1]
    lines = cv2.HoughLinesP(
        _open(ink, (max(8, width // 30), 1)), 1, SKEW_THETA_STEP, 80, minLineLength=width // 8, maxLineGap=4
    )
    if lines is None:
        return gray
    angles = [np.degrees(np.arctan2(y1 - y0, x1 - x0)) for x0, y0, x1, y1 in lines.reshape(-1, 4)]
    angles = [a for a in angles if abs(a) <= settings.max_skew_degrees]
    if not angles:
        return gray
    angle = float(np.median(angles))
    if abs(angle) < 0.05:
        return gray
    h, w = gray.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(gray, matrix, (w, h), flags=cv2.INTER_LINEAR, borderValue=255)


def _ink(gray: np.ndarray) -> np.ndarray:
    """Dark strokes as 255 on 0, robust to uneven scan brightness."""
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 15)


def _open(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, size))


def rule_masks(gray: np.ndarray, settings: ScanSettings) -> tuple[np.ndarray, np.ndarray]:
    """Horizontal and vertical ruling lines: ink that survives a long thin opening, thickened by one pixel."""
    h, w = gray.shape
    ink = _ink(gray)
    horizontal = _open(ink, (max(8, int(w * settings.h_rule)), 1))
    vertical = _open(ink, (1, max(8, int(h * settings.v_rule))))
    grow = cv2.getStructuringElement(cv2.MORPH_RECT, (3, 3))
    horizontal, vertical = cv2.dilate(horizontal, grow), cv2.dilate(vertical, grow)
    # A rule ends on a crossing rule; a stroke of text (a stacked 丨, a long 一) touches none.
    return _ending_on(horizontal, vertical, True), _ending_on(vertical, horizontal, False)


def _ending_on(mask: np.ndarray, crossing: np.ndarray, horizontal: bool, reach: int = 4) -> np.ndarray:
    """Keep the segments of ``mask`` whose both ends meet ink of the crossing rules, or that cross
    CROSSED_RULES of them or more along their length: the outer rule of a table torn at the page's foot
    ends on none there, a stroke of a glyph crosses no rule."""
    near = cv2.dilate(crossing, cv2.getStructuringElement(cv2.MORPH_RECT, (2 * reach + 1, 2 * reach + 1))) > 0
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask)
    keep = np.zeros(count, bool)
    for i in range(1, count):
        x, y, w, h, _ = stats[i]
        if horizontal:
            ends = (near[y : y + h, x].any(), near[y : y + h, x + w - 1].any())
            along = near[y : y + h, x : x + w].any(axis=0)
        else:
            ends = (near[y, x : x + w].any(), near[y + h - 1, x : x + w].any())
            along = near[y : y + h, x : x + w].any(axis=1)
        crossed = int(along[0]) + int(np.count_nonzero(along[1:] & ~along[:-1]))  # runs of crossing ink
        keep[i] = all(ends) or crossed >= CROSSED_RULES
    return np.where(keep, 255, 0).astype(np.uint8)[labels]  # look up per label: no page-sized int64


def table_boxes(horizontal: np.ndarray, vertical: np.ndarray, settings: ScanSettings) -> list[tuple]:
    """Bounding boxes (x0, y0, x1, y1) of connected rule networks wide enough to be tables."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(cv2.bitwise_or(horizontal, vertical))
    width = horizontal.shape[1]
    boxes = [
        (x, y, x + w, y + h)
        for x, y, w, h, _ in stats[1:count]
        if w >= width * settings.min_table and h >= 10
    ]
    return sorted(boxes, key=lambda b: b[1])


def _positions(profile: np.ndarray, least: float, gap: int) -> list[int]:
    """Centres of runs where a projection profile reaches ``least``, runs closer than ``gap`` joined."""
    hits = np.flatnonzero(profile >= least)
    if hits.size == 0:
        return []
    runs: list[list[int]] = [[int(hits[0])]]
    for i in hits[1:]:
        if i - runs[-1][-1] <= gap:
            runs[-1].append(int(i))
        else:
            runs.append([int(i)])
    return [round((r[0] + r[-1]) / 2) for r in runs]


def table_grid(horizontal: np.ndarray, vertical: np.ndarray, box: tuple, settings: ScanSettings) -> Grid:
    """Rule positions inside a table box; merged cells where the rule between two grid cells is missing."""
    x0, y0, x1, y1 = box
    h_part, v_part = horizontal[y0:y1, x0:x1] > 0, vertical[y0:y1, x0:x1] > 0
    gap = max(3, int(horizontal.shape[1] * settings.merge_gap))
    # A rule shorter than the narrowest cell still counts: merged cells break lines into pieces.
    ys = [y0 + y for y in _positions(h_part.sum(axis=1), min(40, (x1 - x0) * 0.03), gap)]
    xs = [x0 + x for x in _positions(v_part.sum(axis=0), min(20, (y1 - y0) * 0.03), gap)]
    if len(xs) < 2 or len(ys) < 2:
        return Grid(xs, ys, [])
    return Grid(xs, ys, _merge_cells(horizontal, vertical, xs, ys, settings))


def _drawn(mask: np.ndarray, fixed: int, start: int, stop: int, along_x: bool, cover: float) -> bool:
    """Is the rule at ``fixed`` drawn over [start, stop) — along x for a horizontal rule, else along y?"""
    lo, hi = sorted((start, stop))
    inset = max(1, (hi - lo) // 8)  # corners belong to both rules
    band = slice(max(0, fixed - 2), fixed + 3)
    seg = mask[band, lo + inset : hi - inset] if along_x else mask[lo + inset : hi - inset, band]
    if seg.size == 0:
        return True
    return float((seg.max(axis=0 if along_x else 1) > 0).mean()) >= cover


def _merge_cells(
    horizontal: np.ndarray, vertical: np.ndarray, xs: list[int], ys: list[int], settings: ScanSettings
) -> list[tuple[int, int, int, int]]:
    """Union grid cells not separated by a drawn rule; each merged cell as its (r0, c0, r1, c1) range."""
    rows, cols = len(ys) - 1, len(xs) - 1
    parent = list(range(rows * cols))
    cover = settings.cell_rule_cover

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for r in range(rows):
        for c in range(cols):
            here = r * cols + c
            if c + 1 < cols and not _drawn(vertical, xs[c + 1], ys[r], ys[r + 1], False, cover):
                parent[find(here + 1)] = find(here)
            if r + 1 < rows and not _drawn(horizontal, ys[r + 1], xs[c], xs[c + 1], True, cover):
                parent[find(here + cols)] = find(here)
    groups: dict[int, list[tuple[int, int]]] = {}
    for r in range(rows):
        for c in range(cols):
            groups.setdefault(find(r * cols + c), []).append((r, c))
    cells = []
    for members in groups.values():
        rs, cs = [m[0] for m in members], [m[1] for m in members]
        cells.append((min(rs), min(cs), max(rs) + 1, max(cs) + 1))
    return sorted(cells)


def grid_cells(
    gray: np.ndarray, grid: Grid, page: int, dpi: float, rules: np.ndarray
) -> list[list[GridCell]]:
    """Each merged cell read from its own crop, line by line; covered grid positions marked as copies.
    A blank cell says whether its crop held ink beyond the ``rules`` (the page's rule mask).

    Why not the detector's boxes: it joins the texts of neighbouring cells where the rule between them
    is faint or text nearly touches it ("商业科研" over two header cells, columns swapped without any
    identity noticing), boxes a glyph with the rule it touches ("0" read as "01"), and misses faint
    lone digits; a cell's crop has none of these, and its text lines are plain rows of ink.
    """
    inked = {cell: _cell_ink(gray, grid, cell, rules) for cell in grid.cells}
    height = _line_height([ink for _, ink in filter(None, inked.values())])
    lines = {cell: [] if found is None else cell_lines(*found, height) for cell, found in inked.items()}
    crops = [crop for found in lines.values() for crop in found]
    readings = iter(read_lines(crops) if crops else [])
    rows, cols = len(grid.ys) - 1, len(grid.xs) - 1
    out = [[GridCell("") for _ in range(cols)] for _ in range(rows)]
    points = 72 / dpi
    for cell, found in lines.items():
        read = [next(readings) for _ in found]
        texts = [text.strip() for text, _ in read if text.strip() and not _MISREAD.fullmatch(text.strip())]
        if texts:
            text, score = _reading("\n".join(texts), min(score for _, score in read))
        else:  # ink that reads as nothing is no blank the reader can vouch for: a faint glyph, a smudge
            text, score = "", UNREAD_INK_TRUST if found else 1.0
        r0, c0, r1, c1 = cell
        box = PageBox(page, *(v * points for v in (grid.xs[c0], grid.ys[r0], grid.xs[c1], grid.ys[r1])))
        ink = bool(found) if not text else None  # a blank measured: ink in it, or none
        for r, c in _positions_of(cell):
            out[r][c] = GridCell(text, copy=(r, c) != (r0, c0), score=score, box=box, ink=ink)
    return out


# The reader's trust in a blank where its crop holds ink that OCR read as nothing.
UNREAD_INK_TRUST = 0.2
# A line read as Latin letters alone, none of them a digit's look-alike, is ink OCR could not read: the
# tables print Chinese and numbers (a "0" half under a heavy border reads as "a", "d" or "C").
_MISREAD = re.compile(r"[A-Za-z'`·.]*[A-Za-z][A-Za-z'`·.]*")
INK_CONTRAST = 50  # a pixel this much darker than the cell's paper (its median) is ink
MIN_INK_PIXELS = 12  # fewer ink pixels than this in a cell are specks, not a glyph
RULE_CUT = 2  # pixels either side of a rule's centre left out of a cell's crop: about half a rule
_INSET = 4  # ink nearer a rule's centre than this is the rule's edge unless a glyph reaches farther in
CROP_MARGIN = 4  # pixels of paper kept round a line's ink, as the recogniser saw lines in training
# Runs of inked rows that fit in this many line heights together are one line (二's strokes, a faint
# stroke's gap); two lines of a wrapped label, one line height each plus the leading, do not.
LINE_JOIN = 1.3
SPECK = 0.3  # of a line height: a mark smaller than this every way is a speck, not a glyph or a dash
GLYPH_GAP = 0.5  # of a line height: wider than the gaps within a number, narrower than a speck's usual


def _cell_ink(
    gray: np.ndarray, grid: Grid, cell: tuple[int, int, int, int], rules: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """A cell's crop, its rules' pixels painted paper, and the crop's ink; None when nothing is written
    in it. Ink next to a rule (within _INSET of its centre) is a rule's edge the mask missed: left out
    of the ink, though kept in the crop for a glyph that reaches farther in (a "0" against the rule)."""
    r0, c0, r1, c1 = cell
    box = (grid.xs[c0] + RULE_CUT, grid.ys[r0] + RULE_CUT, grid.xs[c1] - RULE_CUT, grid.ys[r1] - RULE_CUT)
    edge = _INSET - RULE_CUT
    if box[2] - box[0] <= 2 * edge or box[3] - box[1] <= 2 * edge:
        return None
    crop = _without_rules(gray, rules, box)
    ink = crop < np.median(crop) - INK_CONTRAST  # relative to the paper: scans differ in tone
    inside = np.zeros_like(ink)
    inside[edge:-edge, edge:-edge] = ink[edge:-edge, edge:-edge]
    return (crop, inside) if inside.sum() >= MIN_INK_PIXELS else None


def _line_height(inks: list[np.ndarray]) -> int:
    """A table's text line height: the median over its written cells of their tallest run of inked rows."""
    tallest = [max(b - a for a, b in _runs(ink.any(axis=1))) for ink in inks]
    return int(np.median(tallest)) if tallest else 0


def cell_lines(crop: np.ndarray, ink: np.ndarray, height: int) -> list[np.ndarray]:
    """A written cell's text lines as crops, top to bottom: runs of inked rows joined while they fit in
    LINE_JOIN line ``height``s (a glyph's own gaps, a faint stroke), each cut to its ink, specks apart."""
    out = []
    for top, bottom in _text_rows(ink.any(axis=1), height):
        span = _text_span(ink[top:bottom], height)
        if span is not None:
            y0, x0 = max(0, top - CROP_MARGIN), max(0, span[0] - CROP_MARGIN)
            out.append(crop[y0 : bottom + CROP_MARGIN, x0 : span[1] + CROP_MARGIN])
    return out


def _runs(flags: np.ndarray) -> list[list[int]]:
    """[start, stop) ranges of the True runs of a 1-d boolean array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return [[int(a), int(b)] for a, b in zip(edges[::2], edges[1::2], strict=True)]


def _text_rows(inked: np.ndarray, height: int) -> list[tuple[int, int]]:
    """(top, bottom) row ranges of text lines from a per-row "holds ink" profile: runs of inked rows,
    each joined to the line above while both fit in LINE_JOIN line ``height``s."""
    lines: list[list[int]] = []
    for run in _runs(inked):
        if lines and run[1] - lines[-1][0] <= LINE_JOIN * height:
            lines[-1][1] = run[1]
        else:
            lines.append(run)
    return [(a, b) for a, b in lines]


def _text_span(line: np.ndarray, height: int) -> tuple[int, int] | None:
    """The [start, stop) columns of a line's text: its inked columns in groups less than GLYPH_GAP line
    ``height``s apart (a number's digits and point), dots (_dot) left out."""
    groups: list[list[int]] = []
    for run in _runs(line.any(axis=0)):
        if groups and run[0] - groups[-1][1] < GLYPH_GAP * height:
            groups[-1][1] = run[1]
        else:
            groups.append(run)
    text = [g for g in groups if not _dot(line[:, g[0] : g[1]], height)]
    return (text[0][0], text[-1][1]) if text else None


def _dot(ink: np.ndarray, height: int) -> bool:
    """Is this ink a speck of scan noise: fewer than MIN_INK_PIXELS, or no side as long as SPECK line
    ``height``s (a glyph is about one line high, a dash about half a line wide)?"""
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    if ink.sum() < MIN_INK_PIXELS:
        return True
    return max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 < SPECK * height


def _without_rules(gray: np.ndarray, rules: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The page's crop in ``box`` (x0, y0, x1, y1), its rule pixels painted the crop's paper tone."""
    x0, y0, x1, y1 = box
    crop = gray[y0:y1, x0:x1].copy()
    rule = rules[y0:y1, x0:x1] > 0
    if rule.any() and not rule.all():
        crop[rule] = np.median(crop[~rule])
    return crop


def _positions_of(cell: tuple[int, int, int, int]) -> list[tuple[int, int]]:
    """The grid positions a merged cell covers, its own first."""
    r0, c0, r1, c1 = cell
    return [(r, c) for r in range(r0, r1) for c in range(c0, c1)]


LOOKALIKE_TRUST = 0.9
_LOOKALIKES = str.maketrans("oODlI|", "000111")
_LONE_ZERO = ("o", "O", "D", "。", "〇", "○")  # a cell of one round glyph in a number column
_DIGITISH = re.compile(r"^[0-9oODlI|,.，]+$")


_SPECK_MARKS = "'`‘’·"  # a speck beside a glyph reads as one of these


def as_digits(text: str) -> str:
    """A cell of digits and their OCR look-alikes ("o" for 0, "l" for 1) is a number: read it as one,
    a speck read as a mark before or after it left out."""
    compact = text.replace(" ", "").strip(_SPECK_MARKS)
    if compact in _LONE_ZERO:
        return "0"
    if _DIGITISH.match(compact) and any(ch.isdigit() for ch in compact):
        return compact.strip(".,，").translate(_LOOKALIKES)  # a speck read as a trailing dot
    return text


def _reading(text: str, score: float) -> tuple[str, float]:
    """A cell's OCR text and score; a number read through look-alike glyphs is trusted a little less."""
    digits = as_digits(text)
    return digits, score * (LOOKALIKE_TRUST if digits != text.replace(" ", "") else 1.0)


def group_lines(boxes: list[OcrBox]) -> list[list[OcrBox]]:
    """Boxes as lines, top to bottom; a box joins the line whose last box it overlaps vertically."""
    lines: list[list[OcrBox]] = []
    for box in sorted(boxes, key=lambda b: b.centre[1]):
        if lines and abs(box.centre[1] - lines[-1][-1].centre[1]) < box.height / 2:
            lines[-1].append(box)
        else:
            lines.append([box])
    return [sorted(line, key=lambda b: b.x0) for line in lines]


def _line_text(line: list[OcrBox]) -> str:
    return " ".join(b.text for b in line)


def page_blocks(gray: np.ndarray, number: int, settings: ScanSettings) -> list[Block]:
    """One page: tables from the rules, their cells read from their own crops; prose lines from the
    detector's boxes on the rest of the page (the tables painted paper, so it looks only there)."""
    horizontal, vertical = rule_masks(gray, settings)
    rules = horizontal | vertical
    placed: list[tuple[float, Block]] = []
    tables = []
    for i, box in enumerate(table_boxes(horizontal, vertical, settings), 1):
        grid = table_grid(horizontal, vertical, box, settings)
        if not grid.cells:
            continue
        tables.append(box)
        placed.append(
            (
                box[1],
                TableBlock(grid_cells(gray, grid, number, settings.dpi, rules), f"page {number} table {i}"),
            )
        )
    for line in group_lines(page_text_boxes(_painted(gray, tables))):
        top = min(b.y0 for b in line)
        text = _line_text(line).strip()
        if text:
            placed.append((top, TextBlock(text, f"page {number} y {round(top)}")))
    return [block for _, block in sorted(placed, key=lambda p: p[0])]


def _painted(page: np.ndarray, boxes: list[tuple]) -> np.ndarray:
    """A copy of ``page`` with the ``boxes`` painted its paper tone (``page`` itself when there are none)."""
    if not boxes:
        return page
    out, paper = page.copy(), np.median(page[::8, ::8])
    for x0, y0, x1, y1 in boxes:
        out[y0:y1, x0:x1] = paper
    return out
