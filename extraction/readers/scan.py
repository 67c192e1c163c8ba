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
    gray: np.ndarray, grid: Grid, boxes: list[OcrBox], page: int, dpi: float, rules: np.ndarray
) -> list[list[GridCell]]:
    """OCR boxes into the merged cells holding their centres, cells the detector missed recognised from
    their own crop; covered grid positions marked as copies. A blank cell says whether its crop held ink
    beyond the ``rules`` (the page's rule mask)."""
    owner = {(r, c): cell for cell in grid.cells for r, c in _positions_of(cell)}
    owned: dict[tuple[int, int, int, int], list[OcrBox]] = {cell: [] for cell in grid.cells}
    for box in split_at_rules(gray, grid, owner, boxes, rules):
        cx, cy = box.centre
        slot = (int(np.searchsorted(grid.ys, cy)) - 1, int(np.searchsorted(grid.xs, cx)) - 1)
        if slot in owner:
            owned[owner[slot]].append(box)
    owned = {cell: [b for b in members if not _speck(b)] or members for cell, members in owned.items()}
    read = {
        cell: _reading(join_lines(members), min((b.score for b in members), default=1.0))
        for cell, members in owned.items()
    }
    missed = [
        (cell, crop)
        for cell in grid.cells
        if not read[cell][0] and (crop := _inked_crop(gray, grid, cell, rules)) is not None
    ]
    for (cell, _), (text, score) in zip(missed, read_lines([crop for _, crop in missed]), strict=True):
        # Ink that reads as nothing is no blank the reader can vouch for: a faint glyph, a smudge.
        read[cell] = _reading(text, score) if text.strip() else ("", UNREAD_INK_TRUST)
    inked = {cell for cell, _ in missed}
    rows, cols = len(grid.ys) - 1, len(grid.xs) - 1
    out = [[GridCell("") for _ in range(cols)] for _ in range(rows)]
    points = 72 / dpi
    for cell, (text, score) in read.items():
        r0, c0, r1, c1 = cell
        box = PageBox(page, *(v * points for v in (grid.xs[c0], grid.ys[r0], grid.xs[c1], grid.ys[r1])))
        ink = (cell in inked) if not text else None  # a blank measured: ink in it, or none
        for r, c in _positions_of(cell):
            out[r][c] = GridCell(text, copy=(r, c) != (r0, c0), score=score, box=box, ink=ink)
    return out


# The reader's trust in a blank where its crop holds ink that OCR read as nothing.
UNREAD_INK_TRUST = 0.2
INK_CONTRAST = 50  # a pixel this much darker than the cell's paper (its median) is ink
MIN_INK_PIXELS = 12  # fewer ink pixels than this in a cell are specks, not a glyph
# A box reaching this far (in line heights) into the next cell holds text of both: a glyph is about one.
CROSSING = 0.5
_INSET = 4  # pixels of a cell's inside left out next to its rules
RULE_CUT = 2  # pixels either side of a rule's centre left out of a box cut at it: about half a rule


def split_at_rules(
    gray: np.ndarray, grid: Grid, owner: dict[tuple[int, int], tuple], boxes: list[OcrBox], rules: np.ndarray
) -> list[OcrBox]:
    """Boxes that cross a cell's rule, cut at the rule and read again piece by piece, the ``rules``
    mask's pixels left out.

    The detector joins text lines of neighbouring cells when the rule between them is faint or the
    text nearly touches it ("商业科研" over two header cells): assigned by its centre, such a box gives
    both texts to one cell and none to the other, so columns swap without any identity noticing. A
    glyph touching its cell's rule is boxed with the rule, which reads as one more glyph ("0" as "01"):
    such a box is one piece, read again without the rule.
    """
    kept: list[OcrBox] = []
    pieces: list[tuple[int, int, int, int]] = []
    for box in boxes:
        spans = _cell_spans(grid, owner, box)
        if spans in ([], [(round(box.x0), round(box.x1))]):
            kept.append(box)
            continue
        for x0, x1 in spans:
            if x1 - x0 > _INSET:
                pieces.append((x0, round(box.y0), x1, round(box.y1)))
    crops = [_without_rules(gray, rules, piece) for piece in pieces]
    read = read_lines(crops) if crops else []
    for (x0, y0, x1, y1), (text, score) in zip(pieces, read, strict=True):
        if text.strip():
            kept.append(OcrBox(text, x0, y0, x1, y1, score))
    return kept


def _cell_spans(grid: Grid, owner: dict[tuple[int, int], tuple], box: OcrBox) -> list[tuple[int, int]]:
    """The x ranges of ``box`` inside each merged cell of its row that it reaches into by more than
    CROSSING line heights, rules and their inset left out; one range for a box within one cell."""
    row = int(np.searchsorted(grid.ys, box.centre[1])) - 1
    reach = CROSSING * box.height
    spans: list[tuple[int, int]] = []
    last = None
    for col in range(len(grid.xs) - 1):
        cell = owner.get((row, col))
        left, right = max(box.x0, grid.xs[col]), min(box.x1, grid.xs[col + 1])
        if cell is None or right - left <= reach:
            continue
        # Clear of a rule it crosses; a box's own end stays where the detector put it.
        x0 = round(left) + (RULE_CUT if left > box.x0 else 0)
        x1 = round(right) - (RULE_CUT if right < box.x1 else 0)
        if cell == last:  # a merged cell: no rule to cut at
            spans[-1] = (spans[-1][0], x1)
        else:
            spans.append((x0, x1))
        last = cell
    return spans


def _without_rules(gray: np.ndarray, rules: np.ndarray, box: tuple[int, int, int, int]) -> np.ndarray:
    """The page's crop in ``box`` (x0, y0, x1, y1), its rule pixels painted the crop's paper tone."""
    x0, y0, x1, y1 = box
    crop = gray[y0:y1, x0:x1].copy()
    rule = rules[y0:y1, x0:x1] > 0
    if rule.any() and not rule.all():
        crop[rule] = np.median(crop[~rule])
    return crop


def _speck(box: OcrBox) -> bool:
    """A box read as one mark that is neither a glyph of text nor a sign ("?", "·", "'"): scan noise the
    detector's low threshold also finds. Beside real text in a cell it is dropped, a dash is kept."""
    text = box.text.strip()
    return len(text) == 1 and not text.isalnum() and text not in "-+—－"


def _positions_of(cell: tuple[int, int, int, int]) -> list[tuple[int, int]]:
    """The grid positions a merged cell covers, its own first."""
    r0, c0, r1, c1 = cell
    return [(r, c) for r in range(r0, r1) for c in range(c0, c1)]


LOOKALIKE_TRUST = 0.9
_LOOKALIKES = str.maketrans("oODlI|", "000111")
_LONE_ZERO = ("o", "O", "D", "。", "〇", "○")  # a cell of one round glyph in a number column
_DIGITISH = re.compile(r"^[0-9oODlI|,.，]+$")


def as_digits(text: str) -> str:
    """A cell of digits and their OCR look-alikes ("o" for 0, "l" for 1) is a number: read it as one."""
    compact = text.replace(" ", "")
    if compact in _LONE_ZERO:
        return "0"
    if _DIGITISH.match(compact) and any(ch.isdigit() for ch in compact):
        return compact.strip(".,，").translate(_LOOKALIKES)  # a speck read as a trailing dot
    return text


def _reading(text: str, score: float) -> tuple[str, float]:
    """A cell's OCR text and score; a number read through look-alike glyphs is trusted a little less."""
    digits = as_digits(text)
    return digits, score * (LOOKALIKE_TRUST if digits != text.replace(" ", "") else 1.0)


def _inked_crop(
    gray: np.ndarray, grid: Grid, cell: tuple[int, int, int, int], rules: np.ndarray
) -> np.ndarray | None:
    """The cell's inside, clear of its rules (and of the ``rules`` mask's pixels: a rule that bends or
    runs thick reaches past the inset), or None when nothing is written in it."""
    r0, c0, r1, c1 = cell
    pad = _INSET
    inside = np.s_[grid.ys[r0] + pad : grid.ys[r1] - pad, grid.xs[c0] + pad : grid.xs[c1] - pad]
    crop = gray[inside]
    if crop.size == 0:
        return None
    ink = crop < np.median(crop) - INK_CONTRAST  # relative to the paper: scans differ in tone
    ink &= rules[inside] == 0
    if ink.sum() < MIN_INK_PIXELS:
        return None
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    m = 4
    return crop[max(0, rows[0] - m) : rows[-1] + m + 1, max(0, cols[0] - m) : cols[-1] + m + 1]


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


def join_lines(boxes: list[OcrBox]) -> str:
    return "\n".join(_line_text(line) for line in group_lines(boxes))


def page_blocks(gray: np.ndarray, number: int, settings: ScanSettings) -> list[Block]:
    """One page: OCR boxes, tables from the rules, prose lines from the boxes outside every table."""
    boxes = page_text_boxes(gray)
    horizontal, vertical = rule_masks(gray, settings)
    rules = horizontal | vertical
    placed: list[tuple[float, Block]] = []
    claimed: set[int] = set()
    for i, box in enumerate(table_boxes(horizontal, vertical, settings), 1):
        grid = table_grid(horizontal, vertical, box, settings)
        if not grid.cells:
            continue
        inside = [b for b in boxes if box[0] <= b.centre[0] <= box[2] and box[1] <= b.centre[1] <= box[3]]
        claimed.update(id(b) for b in inside)
        placed.append(
            (
                box[1],
                TableBlock(
                    grid_cells(gray, grid, inside, number, settings.dpi, rules),
                    f"page {number} table {i}",
                ),
            )
        )
    for line in group_lines([b for b in boxes if id(b) not in claimed]):
        top = min(b.y0 for b in line)
        text = _line_text(line).strip()
        if text:
            placed.append((top, TextBlock(text, f"page {number} y {round(top)}")))
    return [block for _, block in sorted(placed, key=lambda p: p[0])]
