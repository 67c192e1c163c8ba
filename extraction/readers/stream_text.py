"""The text of an unruled table as the stream reader measures it: runs of text, the lines they form, the
multi-line cells they join into, and the settings those measures take.

Shared by the two steps of the stream reader: finding where a table is (stream.py) and rebuilding its
grid from what camelot read there (stream_grid.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from nianbao.extraction.document import PageBox
from nianbao.extraction.geometry import Rect, bounding


@dataclass(frozen=True)
class StreamSettings:
    """Tunables of the stream reader (unruled tables). Lengths are in units of the text height, so they
    hold at any font size, except ``align`` (points) and ``char_margin`` (pdfminer's unit). Unknown keys
    are refused by the dataclass itself."""

    min_rows: int = 2  # lines of values aligned in a column before text lines are read as a table
    min_values: int = 3  # or this many values on one line under its header (a one-row table)
    head_gap: float = 3.0  # farthest a table's line (a header, a row) sits from the line next to it
    head_overhang: float = 3.0  # how far a header may reach past the values under it (narrow number columns)
    cell_gap: float = 0.5  # lines of one cell are this close; two cells are at least their padding apart
    same_line: float = 0.3  # words whose centres are this close in height are on one line
    align: float = 1.5  # points: two lines of one left-aligned or centred cell start or centre together
    # pdfminer's char_margin for camelot; 2.0 runs narrow columns' "0 0 0" into one line
    char_margin: float = 0.5


@dataclass(frozen=True)
class TextRun(Rect):
    """A run of text on one line (or one vertical line of stacked characters), top-down coordinates."""

    text: str = field(kw_only=True)


def word_run(word: dict) -> TextRun:
    """A pdfplumber word as a run."""
    return TextRun(word["x0"], word["top"], word["x1"], word["bottom"], text=word["text"])


def text_lines(runs: Iterable[TextRun], settings: StreamSettings) -> list[list[TextRun]]:
    """Runs grouped into visual lines, top to bottom, each left to right."""
    lines: list[list[TextRun]] = []
    for run in sorted(runs, key=lambda r: r.centre_y):
        line = lines[-1] if lines else None
        if line and abs(run.centre_y - line[0].centre_y) <= settings.same_line * run.height:
            line.append(run)
        else:
            lines.append([run])
    return [sorted(line, key=lambda r: r.x0) for line in lines]


def aligned(a: TextRun, b: TextRun, settings: StreamSettings) -> bool:
    """Two lines of one cell: left-aligned, centred or right-aligned together."""
    return min(abs(a.x0 - b.x0), abs(a.centre_x - b.centre_x), abs(a.x1 - b.x1)) <= settings.align


def cell_blocks(
    runs: list[TextRun], column: Callable[[TextRun], int], settings: StreamSettings
) -> list[list[TextRun]]:
    """Lines of one multi-line cell joined: same column, aligned, no more than a line's leading apart."""
    blocks: list[list[TextRun]] = []
    for run in sorted(runs, key=lambda r: r.top):
        for block in reversed(blocks):
            last = block[-1]
            gap = run.top - last.bottom
            if (
                column(last) == column(run)
                and aligned(last, run, settings)
                and -settings.cell_gap * run.height <= gap <= settings.cell_gap * run.height
            ):
                block.append(run)
                break
        else:
            blocks.append([run])
    return blocks


def page_box(runs: Sequence[TextRun], page: int) -> PageBox:
    """The box around ``runs`` on page ``page``."""
    around = bounding(runs)
    return PageBox(around.x0, around.top, around.x1, around.bottom, page=page)
