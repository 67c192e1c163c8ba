"""Unruled tables of a text PDF: found from the page's words, read by camelot's stream parser.

Why two steps: finding where a table is costs only the words pdfplumber already has (``areas``: lines
ending in values that align in columns, and the header lines above them), so camelot runs only there,
told the columns (``tables``). camelot's one-line rows do not keep a wrapped label or a stacked header;
the grid is rebuilt from its text lines' geometry (stream_grid.py).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from nianbao.extraction.geometry import Rect, bounding
from nianbao.extraction.numbers import is_page_mark, is_value
from nianbao.extraction.readers.camelot_reader import CamelotReader, FoundTable, cells_box
from nianbao.extraction.readers.stream_grid import stream_grid
from nianbao.extraction.readers.stream_text import (
    StreamSettings,
    TextRun,
    cell_blocks,
    text_lines,
    word_run,
)


def _values_of(line: list[TextRun]) -> list[TextRun] | None:
    """The values ending a table line (a label, then only values), or None for any other line."""
    if is_page_mark(" ".join(p.text for p in line)):
        return None
    first = next((i for i, p in enumerate(line) if is_value(p.text)), None)
    if first is None or not all(is_value(p.text) for p in line[first:]):
        return None
    return line[first:]


@dataclass(frozen=True)
class StreamArea:
    box: Rect  # PDF points from the top of the page
    separators: list[float]  # x of each column bound: after the labels, then between value columns


@dataclass
class _TableLines:
    """Value lines read as one table: where its labels end (``label_end``) and its values start."""

    lines: list[int]
    values: list[TextRun]
    label_end: float
    value_start: float

    def above_type(self, line: list[TextRun]) -> bool:
        """Set larger than the values: a heading."""
        return max(p.height for p in line) > max(v.height for v in self.values) + 0.5

    def crossed_by(self, line: list[TextRun]) -> bool:
        """A word reaching from the labels into the values: prose, a heading or a title over the table."""
        return any(p.x0 < self.label_end and p.x1 > self.value_start for p in line)


@dataclass(frozen=True)
class StreamReader(CamelotReader[StreamArea]):
    """Where a page's text lines look like an unruled table (``areas``), and the tables camelot's stream
    parser reads there (``tables``)."""

    flavor = "stream"
    settings: StreamSettings = field(default_factory=StreamSettings)

    def areas(self, words: list[dict], previous: list[float] | None = None) -> list[StreamArea]:
        """Page regions whose text lines look like an unruled table: several lines ending in values that
        align in columns, with the header lines above them. Cheap (words the page already has), so camelot
        runs only where this finds a table. ``previous``: the column bounds of the last table on the page
        before, for its continuation at the top of this page when no header is printed again."""
        lines = text_lines((word_run(w) for w in words if w["text"].strip()), self.settings)
        runs: list[_TableLines] = []
        for i, line in enumerate(lines):
            values = _values_of(line)
            if values is None:
                continue
            labels = [p for p in line if p not in values]
            label_end = max((p.x1 for p in labels), default=-math.inf)  # no labels: nothing to cross
            run = runs[-1] if runs else None
            between = lines[run.lines[-1] : i + 1] if run else []
            if (
                run is None
                # rows whose cells are all blank lie between two value lines: their labels keep the table
                # together, with the gaps of a table's rows, and no line reaching across its columns
                or any(
                    min(p.top for p in b) - max(p.bottom for p in a) > self.settings.head_gap * b[0].height
                    for a, b in itertools.pairwise(between)
                )
                or any(run.crossed_by(line) or run.above_type(line) for line in between[1:-1])
                # a header over the values: the next table of a stack, with columns of its own
                or any(p.x0 >= run.label_end > -math.inf for line in between[1:-1] for p in line)
                # labels right of the run's labels, where it has values: a new table
                or (
                    labels
                    and labels[0].x0 >= (run.label_end if run.label_end > -math.inf else run.value_start)
                )
            ):
                runs.append(_TableLines([i], list(values), label_end, values[0].x0))
                continue
            run.lines.append(i)
            run.values.extend(values)
            run.label_end = max(run.label_end, label_end)
            run.value_start = min(run.value_start, values[0].x0)
        areas = []
        end = -1  # the last line of the table above: the next one's header starts below it
        for run in runs:
            if len(run.lines) < self.settings.min_rows and len(run.values) < self.settings.min_values:
                continue
            box, first, end = self._area(lines, run, end)
            header = [p for line in lines[first : run.lines[0]] for p in line]
            bounds = self._header_bounds(run, header, lines)
            if bounds is None and not areas and previous and _fits(run, lines, previous):
                bounds = previous
            areas.append(StreamArea(box, bounds or self._value_bounds(run, header)))
        return areas

    def _header_bounds(
        self, run: _TableLines, header: list[TextRun], lines: list[list[TextRun]]
    ) -> list[float] | None:
        """Column bounds from the header's leaves (cells with no other header cell under them): each column
        starts just left of its leaf, wherever in the column its values sit (centred, right-aligned), and a
        column left blank in every row still counts. None when there is no header or it does not fit."""
        cells = [
            c
            for c in cell_blocks(header, lambda p: 0, self.settings)
            if min(p.x0 for p in c) >= run.label_end
        ]
        boxes = [bounding(c) for c in cells]

        def over_another(b: Rect) -> bool:
            return any(o.top > b.bottom and o.x0 < b.x1 and b.x0 < o.x1 for o in boxes if o is not b)

        leaves = sorted(
            (b for b in boxes if not over_another(b)), key=lambda b: (b.x0, b.top, b.x1, b.bottom)
        )
        if not leaves or any(a.x1 > b.x0 for a, b in itertools.pairwise(leaves)):
            return None
        bounds = [b.x0 - 0.5 for b in leaves]
        return bounds if _fits(run, lines, bounds) else None

    def _value_bounds(self, run: _TableLines, header: list[TextRun]) -> list[float]:
        """Column bounds from the values alone: after the labels, then between value columns. Values
        centred in their columns are split half-way; right-aligned ones right after each column's values,
        else a centred header would fall into the column on its left. A column whose values end together
        but start apart is right-aligned, and so is a table with a header word between two columns' values.
        """
        extents: list[list[float]] = []
        right_aligned = False
        for x0, x1 in sorted((v.x0, v.x1) for v in run.values):
            if extents and x0 <= extents[-1][1]:
                right_aligned |= abs(x1 - extents[-1][1]) <= self.settings.align < abs(x0 - extents[-1][0])
                extents[-1][0], extents[-1][1] = min(extents[-1][0], x0), max(extents[-1][1], x1)
            else:
                extents.append([x0, x1])
        left = run.label_end if run.label_end > -math.inf else min(p.x0 for p in [*header, *run.values]) - 1
        gaps = list(zip([left] + [e[1] for e in extents[:-1]], [e[0] for e in extents], strict=True))
        right_aligned |= any(a < p.x0 and p.x1 < b for p in header for a, b in gaps)
        if right_aligned:
            return [a + (b - a) * 0.1 for a, b in gaps]
        return [(a + b) / 2 for a, b in gaps]

    def _area(self, lines: list[list[TextRun]], run: _TableLines, floor: int) -> tuple[Rect, int, int]:
        """The run's lines, the header lines right above it (below line ``floor``) and the rows left blank
        below it; and the indexes of its first and last lines."""
        first, last = run.lines[0], run.lines[-1]
        body = [p for line in lines[first : last + 1] for p in line]
        left, right = min(p.x0 for p in body), max(p.x1 for p in body)
        height = max(p.height for p in body)
        while first - 1 > floor:
            above, below = lines[first - 1], lines[first]
            if (
                _values_of(above) is not None
                or run.crossed_by(above)
                or (  # one run of text off the columns: a heading or prose, not a header line's cells
                    len(above) == 1
                    and (
                        above[0].x0 < left - self.settings.head_overhang * height
                        or above[0].x1 > right + self.settings.head_overhang * height
                    )
                )
                or run.above_type(above)
                or min(p.top for p in below) - max(p.bottom for p in above) > self.settings.head_gap * height
            ):
                break
            first -= 1
        while last + 1 < len(lines):  # rows left blank at the table's end, and a wrapped label's last line
            line, prev = lines[last + 1], lines[last]
            if (
                max(p.x1 for p in line) > run.value_start
                or is_page_mark(" ".join(p.text for p in line))
                or run.above_type(line)
                or min(p.top for p in line) - max(p.bottom for p in prev) > self.settings.head_gap * height
            ):
                break
            last += 1
        around = bounding(p for line in lines[first : last + 1] for p in line)
        return Rect(around.x0 - 1, around.top - 1, around.x1 + 1, around.bottom + 1), first, last

    def tables(
        self, data: bytes, number: int, height: float, areas: Sequence[StreamArea]
    ) -> list[FoundTable]:
        """Unruled tables in ``areas`` of page ``number``, parsed by camelot's stream parser.

        The columns go in from the values' alignment: camelot's own guess takes the width of header text
        and of values spanning columns for columns of their own. Rows are rebuilt from the text lines'
        geometry (stream_grid), which camelot's one-line rows do not keep.
        """
        asked = [a.box.flipped(height) for a in areas]  # as camelot reads them: y up from the page's foot
        tables = self._camelot(
            data,
            number,
            table_areas=[f"{a.x0},{a.bottom},{a.x1},{a.top}" for a in asked],
            columns=[",".join(f"{x:.2f}" for x in a.separators) for a in areas],
            # Stacked characters are joined per cell by stream_grid; pdfminer's vertical lines would
            # also take the first characters of a wrapped label's lines.
            layout_kwargs={"char_margin": self.settings.char_margin, "detect_vertical": False},
        )
        found = []
        for table in tables:
            # The area the table was read in: the one around its cells, which camelot builds from the
            # text inside the area (camelot 2.0 keeps the area itself only in the private Table._bbox).
            cells = cells_box(table)
            area = cells and next((a for a in asked if a.contains(cells.centre_x, cells.centre_y)), None)
            if area is None:
                continue
            runs = [
                TextRun(line.x0, height - line.y1, line.x1, height - line.y0, text=text.strip())
                for line in table.textlines
                if (text := line.get_text()).strip()
                and area.contains((line.x0 + line.x1) / 2, (line.y0 + line.y1) / 2)
            ]
            grid = stream_grid(runs, [float(c[0]) for c in table.cols[1:]], number, self.settings)
            if grid:
                found.append(FoundTable(area.flipped(height), grid))
        return found


def _fits(run: _TableLines, lines: list[list[TextRun]], bounds: list[float]) -> bool:
    """Every line of the run has its labels left of the first bound and one value per column."""
    for i in run.lines:
        values = _values_of(lines[i]) or []
        columns = [sum(1 for b in bounds if b <= v.centre_x) for v in values]
        if min(columns) < 1 or len(set(columns)) < len(columns):
            return False
    return run.label_end < bounds[0]
