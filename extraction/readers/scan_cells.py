"""A ruled table's cells read from their own crops: the reader's step after the rules give the grid.

Why not the detector's boxes: it joins the texts of neighbouring cells where the rule between them is
faint or text nearly touches it ("商业科研" over two header cells: columns swapped without any identity
noticing), boxes a glyph with the rule it touches ("0" read as "01"), and misses faint lone digits. A
cell's crop, its rule pixels painted paper, has none of these; its text lines are plain runs of inked
rows. A blank cell says whether its crop held ink, so a blank can be vouched for.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from nianbao.extraction.document import GridCell, PageBox
from nianbao.extraction.geometry import Rect
from nianbao.extraction.ocr import INK_CONTRAST, read_lines
from nianbao.extraction.readers.ink_lines import CROP_MARGIN, MIN_INK_PIXELS, runs, text_rows, text_span


@dataclass(frozen=True)
class Grid:
    """A table's rule positions in page pixels; ``cells`` are (r0, c0, r1, c1) grid ranges after merging."""

    xs: list[int]
    ys: list[int]
    cells: list[tuple[int, int, int, int]]


def grid_cells(
    gray: np.ndarray, grid: Grid, page: int, dpi: float, rules: np.ndarray
) -> list[list[GridCell]]:
    """Each merged cell read from its own crop, line by line; covered grid positions marked as copies.
    A blank cell says whether its crop held ink beyond the ``rules`` (the page's rule mask)."""
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
        texts = [t for t in (text.strip() for text, _ in read) if t and not _MISREAD.fullmatch(t)]
        if texts:
            text, score = _reading("\n".join(texts), min(score for _, score in read))
        else:  # ink that reads as nothing is no blank the reader can vouch for: a faint glyph, a smudge
            text, score = "", UNREAD_INK_TRUST if found else 1.0
        r0, c0, r1, c1 = cell
        box = PageBox(grid.xs[c0], grid.ys[r0], grid.xs[c1], grid.ys[r1], page=page).scaled(points)
        ink = bool(found) if not text else None  # a blank measured: ink in it, or none
        for r, c in _positions_of(cell):
            out[r][c] = GridCell(text, copy=(r, c) != (r0, c0), score=score, box=box, ink=ink)
    return out


# The reader's trust in a blank where its crop holds ink that OCR read as nothing.
UNREAD_INK_TRUST = 0.2
# A line read as Latin letters alone, none of them a digit's look-alike, is ink OCR could not read: the
# tables print Chinese and numbers (a "0" half under a heavy border reads as "a", "d" or "C").
_MISREAD = re.compile(r"[A-Za-z'`·.]*[A-Za-z][A-Za-z'`·.]*")
RULE_CUT = 2  # pixels either side of a rule's centre left out of a cell's crop: about half a rule
_INSET = 4  # ink nearer a rule's centre than this is the rule's edge unless a glyph reaches farther in


def _cell_ink(
    gray: np.ndarray, grid: Grid, cell: tuple[int, int, int, int], rules: np.ndarray
) -> tuple[np.ndarray, np.ndarray] | None:
    """A cell's crop, its rules' pixels painted paper, and the crop's ink; None when nothing is written
    in it. Ink next to a rule (within _INSET of its centre) is a rule's edge the mask missed: left out
    of the ink, though kept in the crop for a glyph that reaches farther in (a "0" against the rule)."""
    r0, c0, r1, c1 = cell
    box = Rect(grid.xs[c0] + RULE_CUT, grid.ys[r0] + RULE_CUT, grid.xs[c1] - RULE_CUT, grid.ys[r1] - RULE_CUT)
    edge = _INSET - RULE_CUT
    if box.width <= 2 * edge or box.height <= 2 * edge:
        return None
    crop = _without_rules(gray, rules, box)
    ink = crop < np.median(crop) - INK_CONTRAST  # relative to the paper: scans differ in tone
    inside = np.zeros_like(ink)
    inside[edge:-edge, edge:-edge] = ink[edge:-edge, edge:-edge]
    return (crop, inside) if inside.sum() >= MIN_INK_PIXELS else None


def _line_height(inks: list[np.ndarray]) -> int:
    """A table's text line height: the median over its written cells of their tallest run of inked rows."""
    tallest = [max(b - a for a, b in runs(ink.any(axis=1))) for ink in inks]
    return int(np.median(tallest)) if tallest else 0


def cell_lines(crop: np.ndarray, ink: np.ndarray, height: int) -> list[np.ndarray]:
    """A written cell's text lines as crops, top to bottom: runs of inked rows joined while they fit in
    LINE_JOIN line ``height``s (a glyph's own gaps, a faint stroke), each cut to its ink, specks apart."""
    out = []
    for top, bottom in text_rows(ink.any(axis=1), height):
        span = text_span(ink[top:bottom], height)
        if span is not None:
            y0, x0 = max(0, top - CROP_MARGIN), max(0, span[0] - CROP_MARGIN)
            out.append(crop[y0 : bottom + CROP_MARGIN, x0 : span[1] + CROP_MARGIN])
    return out


def _without_rules(gray: np.ndarray, rules: np.ndarray, box: Rect) -> np.ndarray:
    """The page's crop in ``box`` (pixels), its rule pixels painted the crop's paper tone."""
    rows, cols = slice(box.top, box.bottom), slice(box.x0, box.x1)
    crop = gray[rows, cols].copy()
    rule = rules[rows, cols] > 0
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
