"""Scanned pages (image-only PDFs, PNG/JPEG/TIFF): deskew, ruled tables from the image, OCR text.

Why from the image: a scan has no vector rules or text layer. The ruling lines are found by morphology
(long thin openings of the ink), the table grid from their positions, merged cells from the rules that
are missing between neighbouring grid cells; each cell is read from its own crop (scan_cells.py), the
text on the rest of the page line by line (scan_prose.py). Each step is a small function over numpy
arrays.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np

from nianbao.extraction.document import Block, Document, TableBlock, TextBlock
from nianbao.extraction.geometry import Rect
from nianbao.extraction.ocr import OcrBox
from nianbao.extraction.readers.scan_cells import Grid, grid_cells
from nianbao.extraction.readers.scan_prose import prose_lines


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


def read_scan(path: str, pages: Iterable[np.ndarray], settings: ScanSettings | None = None) -> Document:
    """Grayscale page images in reading order → a Document of OCR text lines and tables."""
    settings = settings or ScanSettings()
    blocks: list[Block] = []
    for number, page in enumerate(pages, 1):
        blocks += page_blocks(deskew(page, settings), number, settings, has_table(blocks))
    return Document(path, "scan", blocks)


CROSSED_RULES = 3  # a segment crossing this many rules is a rule, whether or not both its ends meet one
STROKE_GAP = 4  # pixels: a rule's stroke broken by a gap this short (a faint stretch) is one stroke
MIN_SKEW_DEGREES = 0.05  # a page skewed less is left as it is: the rotation would blur it for nothing


def deskew(gray: np.ndarray, settings: ScanSettings) -> np.ndarray:
    """Rotate the page so its horizontal rules are level."""
    angle = skew_degrees(gray, settings)
    if angle is None or abs(angle) < MIN_SKEW_DEGREES:
        return gray
    h, w = gray.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), angle, 1.0)
    return cv2.warpAffine(gray, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def skew_degrees(gray: np.ndarray, settings: ScanSettings) -> float | None:
    """The page's skew: the median slope of its long horizontal strokes (rules, underlines), each
    fitted by least squares through its pixels; None on a page without any.

    Why not a Hough transform: the strokes are already apart after the opening that finds them, and a
    fit through a stroke's thousands of pixels is exact where Hough's is its angle step, at a tenth of
    the time (Hough's accumulator scans every angle for every pixel)."""
    width = gray.shape[1]
    strokes = _close(_open(_ink(gray), (max(8, width // 30), 1)), (2 * STROKE_GAP + 1, 1))
    count, labels, stats, _ = cv2.connectedComponentsWithStats(strokes)
    angles = []
    for i in np.flatnonzero(stats[1:count, cv2.CC_STAT_WIDTH] >= width // 8) + 1:
        x, y, w, h = stats[i, :4]
        ys, xs = np.nonzero(labels[y : y + h, x : x + w] == i)
        angle = float(np.degrees(np.arctan(np.polyfit(xs, ys, 1)[0])))
        if abs(angle) <= settings.max_skew_degrees:
            angles.append(angle)
    return float(np.median(angles)) if angles else None


def _ink(gray: np.ndarray) -> np.ndarray:
    """Dark strokes as 255 on 0, robust to uneven scan brightness."""
    return cv2.adaptiveThreshold(gray, 255, cv2.ADAPTIVE_THRESH_MEAN_C, cv2.THRESH_BINARY_INV, 25, 15)


def _open(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.morphologyEx(mask, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, size))


def _close(mask: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    return cv2.morphologyEx(mask, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, size))


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


def table_boxes(horizontal: np.ndarray, vertical: np.ndarray, settings: ScanSettings) -> list[Rect]:
    """Bounding boxes (in pixels) of connected rule networks wide enough to be tables, top to bottom."""
    count, _, stats, _ = cv2.connectedComponentsWithStats(cv2.bitwise_or(horizontal, vertical))
    width = horizontal.shape[1]
    boxes = [
        Rect(x, y, x + w, y + h)
        for x, y, w, h, _ in stats[1:count]
        if w >= width * settings.min_table and h >= 10
    ]
    return sorted(boxes, key=lambda b: b.top)


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


def table_grid(horizontal: np.ndarray, vertical: np.ndarray, box: Rect, settings: ScanSettings) -> Grid:
    """Rule positions inside a table box; merged cells where the rule between two grid cells is missing."""
    x0, y0, x1, y1 = box.x0, box.top, box.x1, box.bottom
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


def _line_text(line: list[OcrBox]) -> str:
    return " ".join(b.text for b in line)


def page_blocks(
    gray: np.ndarray, number: int, settings: ScanSettings, tables_above: bool = False
) -> list[Block]:
    """One page: tables from the rules, their cells read from their own crops; text lines on the rest of
    the page (the tables painted paper), paragraph body lines past the document's first table (on this
    page, or above it with ``tables_above``) left unread (scan_prose.prose_lines)."""
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
                box.top,
                TableBlock(grid_cells(gray, grid, number, settings.dpi, rules), f"page {number} table {i}"),
            )
        )
    body_from = 0 if tables_above else (min(box.top for box in tables) if tables else None)
    for line in prose_lines(_painted(gray, tables), settings.dpi, body_from):
        top = min(b.top for b in line)
        text = _line_text(line).strip()
        if text:
            placed.append((top, TextBlock(text, f"page {number} y {round(top)}")))
    return [block for _, block in sorted(placed, key=lambda p: p[0])]


def has_table(blocks: list[Block]) -> bool:
    return any(isinstance(block, TableBlock) for block in blocks)


def _painted(page: np.ndarray, boxes: list[Rect]) -> np.ndarray:
    """A copy of ``page`` with the ``boxes`` painted its paper tone (``page`` itself when there are none)."""
    if not boxes:
        return page
    out, paper = page.copy(), np.median(page[::8, ::8])
    for box in boxes:
        out[box.top : box.bottom, box.x0 : box.x1] = paper
    return out
