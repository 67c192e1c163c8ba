"""Text lines from the ink itself: runs of inked rows, cut to their glyphs, specks told apart.

Shared by the scan readers of table cells (scan_cells.py) and of the text around tables
(scan_prose.py). Each function takes a boolean ink mask (or its row profile) and a text line height in
pixels, so the same measures hold at any resolution.
"""

from __future__ import annotations

import numpy as np

MIN_INK_PIXELS = 12  # fewer ink pixels than this are specks, not a glyph
CROP_MARGIN = 4  # pixels of paper kept round a line's ink, as the recogniser saw lines in training
# Runs of inked rows that fit in this many line heights together are one line (二's strokes, a faint
# stroke's gap); two lines of a wrapped label, one line height each plus the leading, do not.
LINE_JOIN = 1.3
SPECK = 0.3  # of a line height: a mark smaller than this every way is a speck, not a glyph or a dash
GLYPH_GAP = 0.5  # of a line height: wider than the gaps within a number, narrower than a speck's usual


def runs(flags: np.ndarray) -> list[list[int]]:
    """[start, stop) ranges of the True runs of a 1-d boolean array."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], flags.astype(np.int8), [0]])))
    return [[int(a), int(b)] for a, b in zip(edges[::2], edges[1::2], strict=True)]


def text_rows(inked: np.ndarray, height: int, close: float = 0.0) -> list[tuple[int, int]]:
    """(top, bottom) row ranges of text lines from a per-row "holds ink" profile: runs of inked rows,
    each joined to the line above while both fit in LINE_JOIN line ``height``s, or while the blank
    between them is under ``close`` line heights."""
    lines: list[list[int]] = []
    for run in runs(inked):
        if lines and (run[1] - lines[-1][0] <= LINE_JOIN * height or run[0] - lines[-1][1] < close * height):
            lines[-1][1] = run[1]
        else:
            lines.append(run)
    return [(a, b) for a, b in lines]


def text_span(line: np.ndarray, height: int) -> tuple[int, int] | None:
    """The [start, stop) columns of a line's text: from its first glyph group to its last, specks
    (is_speck) left out."""
    text = [(a, b) for a, b, speck in glyph_groups(line, height) if not speck]
    return (text[0][0], text[-1][1]) if text else None


def glyph_groups(line: np.ndarray, height: int) -> list[tuple[int, int, bool]]:
    """(start, stop, is a speck) of a line's glyph groups: its inked columns in groups less than
    GLYPH_GAP line ``height``s apart (a number's digits and point), each told a speck (is_speck) or not."""
    groups: list[list[int]] = []
    for run in runs(line.any(axis=0)):
        if groups and run[0] - groups[-1][1] < GLYPH_GAP * height:
            groups[-1][1] = run[1]
        else:
            groups.append(run)
    return [(a, b, is_speck(line[:, a:b], height)) for a, b in groups]


def is_speck(ink: np.ndarray, height: int) -> bool:
    """Is this ink a speck of scan noise: fewer than MIN_INK_PIXELS, or no side as long as SPECK line
    ``height``s (a glyph is about one line high, a dash about half a line wide)?"""
    if ink.sum() < MIN_INK_PIXELS:
        return True
    rows, cols = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return max(rows[-1] - rows[0], cols[-1] - cols[0]) + 1 < SPECK * height
