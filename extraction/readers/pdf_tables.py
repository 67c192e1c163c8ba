"""Tables a text PDF does not rule with vector lines, read by camelot.

Why camelot only here: pdfplumber builds a ruled table's cells from the vector rules pdfminer already
parsed, for free; camelot's lattice parser renders the page and finds the rules in the image, which costs
several times a pdfminer parse. So lattice runs only on page regions whose rules are not vector — an image
under text — and stream only on regions that have no rules at all. Both come back in the shape the vector
path gives: a grid of GridCell with each cell's box in PDF points from the top of the page, a merged
cell's text on every position it covers, those positions marked as copies.
"""

from __future__ import annotations

import itertools
import math
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import cv2
import numpy as np
import pypdfium2

from nianbao.extraction.document import GridCell, PageBox
from nianbao.extraction.numbers import is_page_mark, is_value
from nianbao.extraction.readers.scan import capped_dpi

Box = tuple[float, float, float, float]  # x0, top, x1, bottom (PDF points, top-down)
LATTICE_DPI = 150  # enough for a rule one point wide; camelot's 300 costs four times the pixels
LATTICE_LINE_SCALE = 60  # shortest rule found is the page's size over this: a one-line row's side


@dataclass(frozen=True)
class FoundTable:
    box: Box
    grid: list[list[GridCell]]


def lattice_tables(data: bytes, number: int, height: float, areas: Sequence[Box]) -> list[FoundTable]:
    """Ruled tables of page ``number`` centred in one of ``areas``, rules found in the rendered page.

    The areas filter camelot's answer rather than go in as its ``table_areas``, whose bounds it would
    add as rules: a phantom row and column along an image's white margin.
    """
    found = []
    for table, box in _camelot(
        data, number, height, "lattice", backend=GrayRender(LATTICE_DPI), line_scale=LATTICE_LINE_SCALE
    ):
        centre = ((box[0] + box[2]) / 2, (box[1] + box[3]) / 2)
        if any(a[0] <= centre[0] <= a[2] and a[1] <= centre[1] <= a[3] for a in areas):
            found.append(FoundTable(box, camelot_grid(table.cells, number, height)))
    return found


@dataclass(frozen=True)
class GrayRender:
    """camelot's page renderer, at ``dpi`` and in gray: camelot 2.0's own renders every page at 300 dpi
    whatever its ``resolution``, in colour, and copies it twice — about 120 MB at its peak on A4, against
    about 30 MB here. camelot takes any object with ``convert`` (a PNG file) and uses ``to_array`` first."""

    dpi: int

    def to_array(self, pdf_path: str, page: int = 1) -> np.ndarray:
        pdf = pypdfium2.PdfDocument(pdf_path)
        try:
            rendered = pdf[page - 1]
            dpi = capped_dpi(*rendered.get_size(), self.dpi)
            gray = rendered.render(scale=dpi / 72, grayscale=True).to_numpy()
        finally:
            pdf.close()
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)  # camelot reads the page as OpenCV's BGR

    def convert(self, pdf_path: str, png_path: str, resolution: int = 0, page: int = 1) -> None:
        cv2.imwrite(png_path, self.to_array(pdf_path, page))


def _camelot(data: bytes, number: int, height: float, flavor: str, **options: object) -> list[tuple]:
    """(camelot table, its box top-down) for page ``number`` read by ``flavor``."""
    import camelot  # here: it imports matplotlib (~35 MB), which only image-ruled and unruled pages need

    with warnings.catch_warnings():  # camelot warns of pages without tables: an answer, not a fault
        warnings.simplefilter("ignore")
        tables = camelot.read_pdf(data, pages=str(number), flavor=flavor, suppress_stdout=True, **options)
    return [(t, (t._bbox[0], height - t._bbox[3], t._bbox[2], height - t._bbox[1])) for t in tables]


def camelot_grid(cells: list[list], page: int, height: float) -> list[list[GridCell]]:
    """Camelot's cells (PDF coordinates from the bottom, edge flags per side) → GridCells; a position
    without a left or top edge belongs to the merged cell reaching it from there."""
    rows, cols = len(cells), len(cells[0]) if cells else 0

    def origin(r: int, c: int) -> tuple[int, int]:
        while c > 0 and not cells[r][c].left:
            c -= 1
        while r > 0 and not cells[r][c].top:
            r -= 1
        return r, c

    def far_corner(r: int, c: int) -> tuple[int, int]:
        while c + 1 < cols and not cells[r][c + 1].left:
            c += 1
        while r + 1 < rows and not cells[r + 1][c].top:
            r += 1
        return r, c

    grid: list[list[GridCell]] = []
    for r in range(rows):
        out = []
        for c in range(cols):
            r0, c0 = origin(r, c)
            r1, c1 = far_corner(r0, c0)
            first, last = cells[r0][c0], cells[r1][c1]
            box = PageBox(page, first.x1, height - first.y2, last.x2, height - last.y1)
            out.append(GridCell(first.text.strip(), copy=(r0, c0) != (r, c), box=box))
        grid.append(out)
    return grid


# ---------------------------------------------------------------- unruled tables (camelot stream)
# Lengths below are in units of the text height, so they hold at any font size.
STREAM_MIN_ROWS = 2  # lines of values aligned in a column before text lines are read as a table
STREAM_MIN_VALUES = 3  # or this many values on one line under its header (a one-row table)
STREAM_HEAD_GAP = 3.0  # farthest a table's line (a header, a row) sits from the line next to it
STREAM_HEAD_OVERHANG = 3.0  # how far a header may reach past the values under it (narrow number columns)
STREAM_CELL_GAP = 0.5  # lines of one cell are this close; two cells are at least their padding apart
STREAM_SAME_LINE = 0.3  # words whose centres are this close in height are on one line
STREAM_ALIGN = 1.5  # points: two lines of one left-aligned or centred cell start or centre together
STREAM_CHAR_MARGIN = 0.5  # pdfminer's char_margin for camelot; 2.0 runs narrow columns' "0 0 0" into one line


@dataclass(frozen=True)
class _Piece:
    """A run of text on one line (or one vertical line of stacked characters), top-down coordinates."""

    text: str
    x0: float
    top: float
    x1: float
    bottom: float

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def middle(self) -> float:
        return (self.top + self.bottom) / 2

    @property
    def centre(self) -> float:
        return (self.x0 + self.x1) / 2


def _word_piece(word: dict) -> _Piece:
    return _Piece(word["text"], word["x0"], word["top"], word["x1"], word["bottom"])


def _text_lines(pieces: Iterable[_Piece]) -> list[list[_Piece]]:
    """Pieces grouped into visual lines, top to bottom, each left to right."""
    lines: list[list[_Piece]] = []
    for piece in sorted(pieces, key=lambda p: p.middle):
        line = lines[-1] if lines else None
        if line and abs(piece.middle - line[0].middle) <= STREAM_SAME_LINE * piece.height:
            line.append(piece)
        else:
            lines.append([piece])
    return [sorted(line, key=lambda p: p.x0) for line in lines]


def _values_of(line: list[_Piece]) -> list[_Piece] | None:
    """The values ending a table line (a label, then only values), or None for any other line."""
    if is_page_mark(" ".join(p.text for p in line)):
        return None
    first = next((i for i, p in enumerate(line) if is_value(p.text)), None)
    if first is None or not all(is_value(p.text) for p in line[first:]):
        return None
    return line[first:]


@dataclass(frozen=True)
class StreamArea:
    box: Box
    separators: list[float]  # x of each column bound: after the labels, then between value columns


@dataclass
class _Run:
    """Value lines read as one table: where its labels end (``label_end``) and its values start."""

    lines: list[int]
    values: list[_Piece]
    label_end: float
    value_start: float

    def above_type(self, line: list[_Piece]) -> bool:
        """Set larger than the values: a heading."""
        return max(p.height for p in line) > max(v.height for v in self.values) + 0.5

    def crossed_by(self, line: list[_Piece]) -> bool:
        """A word reaching from the labels into the values: prose, a heading or a title over the table."""
        return any(p.x0 < self.label_end and p.x1 > self.value_start for p in line)


def stream_areas(words: list[dict], previous: list[float] | None = None) -> list[StreamArea]:
    """Page regions whose text lines look like an unruled table: several lines ending in values that
    align in columns, with the header lines above them. Cheap (words the page already has), so camelot
    runs only where this finds a table. ``previous``: the column bounds of the last table on the page
    before, for its continuation at the top of this page when no header is printed again."""
    lines = _text_lines(_word_piece(w) for w in words if w["text"].strip())
    runs: list[_Run] = []
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
                min(p.top for p in b) - max(p.bottom for p in a) > STREAM_HEAD_GAP * b[0].height
                for a, b in itertools.pairwise(between)
            )
            or any(run.crossed_by(line) or run.above_type(line) for line in between[1:-1])
            # a header over the values: the next table of a stack, with columns of its own
            or any(p.x0 >= run.label_end > -math.inf for line in between[1:-1] for p in line)
            # labels right of the run's labels, where it has values: a new table
            or (labels and labels[0].x0 >= (run.label_end if run.label_end > -math.inf else run.value_start))
        ):
            runs.append(_Run([i], list(values), label_end, values[0].x0))
            continue
        run.lines.append(i)
        run.values.extend(values)
        run.label_end = max(run.label_end, label_end)
        run.value_start = min(run.value_start, values[0].x0)
    areas = []
    end = -1  # the last line of the table above: the next one's header starts below it
    for run in runs:
        if len(run.lines) < STREAM_MIN_ROWS and len(run.values) < STREAM_MIN_VALUES:
            continue
        box, first, end = _stream_area(lines, run, end)
        header = [p for line in lines[first : run.lines[0]] for p in line]
        bounds = _header_bounds(run, header, lines)
        if bounds is None and not areas and previous and _fits(run, lines, previous):
            bounds = previous
        areas.append(StreamArea(box, bounds or _value_bounds(run, header)))
    return areas


def _fits(run: _Run, lines: list[list[_Piece]], bounds: list[float]) -> bool:
    """Every line of the run has its labels left of the first bound and one value per column."""
    for i in run.lines:
        values = _values_of(lines[i]) or []
        columns = [sum(1 for b in bounds if b <= v.centre) for v in values]
        if min(columns) < 1 or len(set(columns)) < len(columns):
            return False
    return run.label_end < bounds[0]


def _header_bounds(run: _Run, header: list[_Piece], lines: list[list[_Piece]]) -> list[float] | None:
    """Column bounds from the header's leaves (cells with no other header cell under them): each column
    starts just left of its leaf, wherever in the column its values sit (centred, right-aligned), and a
    column left blank in every row still counts. None when there is no header or it does not fit."""
    cells = [c for c in _cells(header, lambda p: 0) if min(p.x0 for p in c) >= run.label_end]
    boxes = [(min(p.x0 for p in c), min(p.top for p in c), max(p.x1 for p in c), max(p.bottom for p in c))
             for c in cells]  # fmt: skip
    leaves = sorted(
        b for b in boxes if not any(o[1] > b[3] and o[0] < b[2] and b[0] < o[2] for o in boxes if o is not b)
    )
    if not leaves or any(a[2] > b[0] for a, b in itertools.pairwise(leaves)):
        return None
    bounds = [b[0] - 0.5 for b in leaves]
    return bounds if _fits(run, lines, bounds) else None


def _value_bounds(run: _Run, header: list[_Piece]) -> list[float]:
    """Column bounds from the values alone: after the labels, then between value columns. Values
    centred in their columns are split half-way; right-aligned ones right after each column's values,
    else a centred header would fall into the column on its left. A column whose values end together
    but start apart is right-aligned, and so is a table with a header word between two columns' values.
    """
    extents: list[list[float]] = []
    right_aligned = False
    for x0, x1 in sorted((v.x0, v.x1) for v in run.values):
        if extents and x0 <= extents[-1][1]:
            right_aligned |= abs(x1 - extents[-1][1]) <= STREAM_ALIGN < abs(x0 - extents[-1][0])
            extents[-1][0], extents[-1][1] = min(extents[-1][0], x0), max(extents[-1][1], x1)
        else:
            extents.append([x0, x1])
    left = run.label_end if run.label_end > -math.inf else min(p.x0 for p in [*header, *run.values]) - 1
    gaps = list(zip([left] + [e[1] for e in extents[:-1]], [e[0] for e in extents], strict=True))
    right_aligned |= any(a < p.x0 and p.x1 < b for p in header for a, b in gaps)
    if right_aligned:
        return [a + (b - a) * 0.1 for a, b in gaps]
    return [(a + b) / 2 for a, b in gaps]


def _stream_area(lines: list[list[_Piece]], run: _Run, floor: int) -> tuple[Box, int, int]:
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
                    above[0].x0 < left - STREAM_HEAD_OVERHANG * height
                    or above[0].x1 > right + STREAM_HEAD_OVERHANG * height
                )
            )
            or run.above_type(above)
            or min(p.top for p in below) - max(p.bottom for p in above) > STREAM_HEAD_GAP * height
        ):
            break
        first -= 1
    while last + 1 < len(lines):  # rows left blank at the table's end, and a wrapped label's last line
        line, prev = lines[last + 1], lines[last]
        if (
            max(p.x1 for p in line) > run.value_start
            or is_page_mark(" ".join(p.text for p in line))
            or run.above_type(line)
            or min(p.top for p in line) - max(p.bottom for p in prev) > STREAM_HEAD_GAP * height
        ):
            break
        last += 1
    area = [p for line in lines[first : last + 1] for p in line]
    box = (min(p.x0 for p in area) - 1, min(p.top for p in area) - 1, max(p.x1 for p in area) + 1,
           max(p.bottom for p in area) + 1)  # fmt: skip
    return box, first, last


def stream_tables(data: bytes, number: int, height: float, areas: Sequence[StreamArea]) -> list[FoundTable]:
    """Unruled tables in ``areas`` of page ``number``, parsed by camelot's stream parser.

    The columns go in from the values' alignment: camelot's own guess takes the width of header text
    and of values spanning columns for columns of their own. Rows are rebuilt from the text lines'
    geometry (:func:`stream_grid`), which camelot's one-line rows do not keep.
    """
    tables = _camelot(
        data,
        number,
        height,
        "stream",
        table_areas=[f"{a.box[0]},{height - a.box[1]},{a.box[2]},{height - a.box[3]}" for a in areas],
        columns=[",".join(f"{x:.2f}" for x in a.separators) for a in areas],
        # Stacked characters are joined per cell by stream_grid; pdfminer's vertical lines would
        # also take the first characters of a wrapped label's lines.
        layout_kwargs={"char_margin": STREAM_CHAR_MARGIN, "detect_vertical": False},
    )
    found = []
    for table, box in tables:
        x0, y0, x1, y1 = table._bbox
        pieces = [
            _Piece(
                text.strip(),
                line.x0,
                height - line.y1,
                line.x1,
                height - line.y0,
            )
            for line in table.textlines
            if (text := line.get_text()).strip() and _within(line, x0, y0, x1, y1)
        ]
        grid = stream_grid(pieces, [float(c[0]) for c in table.cols[1:]], number)
        if grid:
            found.append(FoundTable(box, grid))
    return found


def _within(line, x0: float, y0: float, x1: float, y1: float) -> bool:
    x, y = (line.x0 + line.x1) / 2, (line.y0 + line.y1) / 2
    return x0 <= x <= x1 and y0 <= y <= y1


def _aligned(a: _Piece, b: _Piece) -> bool:
    """Two lines of one cell: left-aligned, centred or right-aligned together."""
    return min(abs(a.x0 - b.x0), abs(a.centre - b.centre), abs(a.x1 - b.x1)) <= STREAM_ALIGN


def _cells(pieces: list[_Piece], column) -> list[list[_Piece]]:
    """Lines of one multi-line cell joined: same column, aligned, no more than a line's leading apart."""
    blocks: list[list[_Piece]] = []
    for piece in sorted(pieces, key=lambda p: p.top):
        for block in reversed(blocks):
            last = block[-1]
            gap = piece.top - last.bottom
            if (
                column(last) == column(piece)
                and _aligned(last, piece)
                and -STREAM_CELL_GAP * piece.height <= gap <= STREAM_CELL_GAP * piece.height
            ):
                block.append(piece)
                break
        else:
            blocks.append([piece])
    return blocks


def _box(pieces: Sequence[_Piece], page: int) -> PageBox:
    return PageBox(
        page, min(p.x0 for p in pieces), min(p.top for p in pieces), max(p.x1 for p in pieces),
        max(p.bottom for p in pieces),
    )  # fmt: skip


def stream_grid(pieces: list[_Piece], separators: list[float], page: int) -> list[list[GridCell]]:
    """An unruled table's lines → the grid a ruled print of it gives.

    A line of values is a row. The label area (left of the first value column) holds the rows' labels,
    each possibly wrapped over lines above and below its values, and group labels spanning several rows:
    a row's own label is the innermost label cell level with its values, the group labels around it
    go before it as spanned copies. Lines between rows (headers above the values, a title, a row whose
    cells are all blank) become rows of their own, each cell's lines joined, stacked header cells
    aligned on the bottom row so every column's most specific name is on the last header row.
    """

    def slot(p: _Piece) -> int:  # value column, 0-based; the label area is -1
        return sum(1 for s in separators if s <= p.centre) - 1

    values = [p for p in pieces if is_value(p.text) and slot(p) >= 0]
    if not values:
        return []
    rows = _text_lines(values)
    middles = [sum(p.middle for p in row) / len(row) for row in rows]
    texts = _cells([p for p in pieces if p not in values], slot)

    def level_with(block: list[_Piece]) -> list[int]:
        reach = STREAM_SAME_LINE * block[0].height
        top, bottom = min(p.top for p in block) - reach, max(p.bottom for p in block) + reach
        return [r for r, y in enumerate(middles) if top <= y <= bottom]

    own: dict[int, list[_Piece]] = {}
    groups: dict[int, list[list[_Piece]]] = {r: [] for r in range(len(rows))}
    in_row: dict[int, list[list[_Piece]]] = {r: [] for r in range(len(rows))}
    loose: list[list[_Piece]] = []
    for block in texts:
        level = level_with(block)
        if not level:
            loose.append(block)
        elif slot(block[0]) >= 0:
            in_row[level[0]].append(block)  # text among a row's values ("不适用")
        else:
            for r in level:
                groups[r].append(block)
    for r, blocks in groups.items():
        if blocks:
            inner = max(blocks, key=lambda b: min(p.x0 for p in b))
            own[r] = inner
            blocks.remove(inner)
    # A group label between its rows, level with none of them: left of the nearest row's own label.
    for block in list(loose):
        if slot(block[0]) >= 0:
            continue
        middle = (min(p.top for p in block) + max(p.bottom for p in block)) / 2
        r = min(range(len(rows)), key=lambda r: abs(middles[r] - middle))
        if r in own and max(p.x1 for p in block) < min(p.x0 for p in own[r]):
            groups[r].append(block)
            loose.remove(block)
    for blocks in groups.values():
        blocks.sort(key=lambda b: min(p.x0 for p in b))
    depth = max((len(b) for b in groups.values()), default=0)
    width = depth + 1 + len(separators)

    def text(block: list[_Piece]) -> str:
        return "\n".join(p.text for p in block)

    units: list[tuple[float, int | list[_Piece]]] = [(y, r) for r, y in enumerate(middles)]
    units += [(min(p.top for p in b), b) for b in loose]
    units.sort(key=lambda u: u[0])
    grid: list[list[GridCell]] = []
    emitted: set[int] = set()
    band: list[list[_Piece]] = []
    for _, unit in [*units, (0.0, -1)]:
        if isinstance(unit, list):
            band.append(unit)
            continue
        if band:
            grid.extend(_band_rows(band, slot, depth, width, page))
            band = []
        if unit < 0:
            break
        row: list[GridCell] = [GridCell("") for _ in range(width)]
        for i, block in enumerate(groups[unit]):
            row[i] = GridCell(text(block), copy=id(block) in emitted, box=_box(block, page))
            emitted.add(id(block))
        if unit in own:
            block = own[unit]
            row[depth] = GridCell(text(block), copy=id(block) in emitted, box=_box(block, page))
            emitted.add(id(block))
        for p in [*rows[unit], *(p for b in in_row[unit] for p in b)]:
            row[depth + 1 + slot(p)] = GridCell(p.text, box=_box([p], page))
        grid.append(row)
    return grid


def _band_rows(band: list[list[_Piece]], slot, depth: int, width: int, page: int) -> list[list[GridCell]]:
    """Cells between value rows (headers, titles, all-blank rows) stacked per column, bottom-aligned:
    the lowest cell of every column lands on the band's last row, as a ruled header's leaves do. A
    header over several columns starts at the first it reaches into and is copied over the rest."""

    def at(x: float) -> int:
        return slot(_Piece("", x, 0.0, x, 0.0))

    per_column: dict[int, list[tuple[list[_Piece], bool]]] = {}
    for block in sorted(band, key=lambda b: min(p.top for p in b)):
        first = slot(block[0])
        last = first
        if first >= 0:
            first = at(min(p.x0 for p in block) + STREAM_ALIGN)
            last = at(max(p.x1 for p in block) - STREAM_ALIGN)
        for col in range(first, last + 1):
            per_column.setdefault(col, []).append((block, col > first))
    height = max(len(blocks) for blocks in per_column.values())
    rows = [[GridCell("") for _ in range(width)] for _ in range(height)]
    for col, blocks in per_column.items():
        for i, (block, copy) in enumerate(blocks, height - len(blocks)):
            text = "\n".join(p.text for p in block)
            rows[i][depth + 1 + col] = GridCell(text, copy=copy, box=_box(block, page))
    return rows
