"""An unruled table's grid rebuilt from its text lines, the grid a ruled print of it gives.

Why rebuilt: camelot's stream parser gives one-line rows; a report's unruled table wraps its labels over
lines above and below their values, spans group labels over rows and stacks header cells. The lines'
geometry says which is which (stream_grid).
"""

from __future__ import annotations

from collections.abc import Callable

from nianbao.extraction.document import GridCell
from nianbao.extraction.numbers import is_value
from nianbao.extraction.readers.stream_text import StreamSettings, TextRun, cell_blocks, page_box, text_lines


def stream_grid(
    pieces: list[TextRun], separators: list[float], page: int, settings: StreamSettings
) -> list[list[GridCell]]:
    """An unruled table's lines → the grid a ruled print of it gives.

    A line of values is a row. The label area (left of the first value column) holds the rows' labels,
    each possibly wrapped over lines above and below its values, and group labels spanning several rows:
    a row's own label is the innermost label cell level with its values, the group labels around it
    go before it as spanned copies. Lines between rows (headers above the values, a title, a row whose
    cells are all blank) become rows of their own, each cell's lines joined, stacked header cells
    aligned on the bottom row so every column's most specific name is on the last header row.
    """

    def slot(p: TextRun) -> int:  # value column, 0-based; the label area is -1
        return sum(1 for s in separators if s <= p.centre_x) - 1

    values = [p for p in pieces if is_value(p.text) and slot(p) >= 0]
    if not values:
        return []
    rows = text_lines(values, settings)
    middles = [sum(p.centre_y for p in row) / len(row) for row in rows]
    texts = cell_blocks([p for p in pieces if p not in values], slot, settings)

    def level_with(block: list[TextRun]) -> list[int]:
        reach = settings.same_line * block[0].height
        top, bottom = min(p.top for p in block) - reach, max(p.bottom for p in block) + reach
        return [r for r, y in enumerate(middles) if top <= y <= bottom]

    own: dict[int, list[TextRun]] = {}
    groups: dict[int, list[list[TextRun]]] = {r: [] for r in range(len(rows))}
    in_row: dict[int, list[list[TextRun]]] = {r: [] for r in range(len(rows))}
    loose: list[list[TextRun]] = []
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

    def text(block: list[TextRun]) -> str:
        return "\n".join(p.text for p in block)

    units: list[tuple[float, int | list[TextRun]]] = [(y, r) for r, y in enumerate(middles)]
    units += [(min(p.top for p in b), b) for b in loose]
    units.sort(key=lambda u: u[0])
    grid: list[list[GridCell]] = []
    emitted: set[int] = set()
    band: list[list[TextRun]] = []
    for _, unit in [*units, (0.0, -1)]:
        if isinstance(unit, list):
            band.append(unit)
            continue
        if band:
            grid.extend(_band_rows(band, slot, depth, width, page, settings))
            band = []
        if unit < 0:
            break
        row: list[GridCell] = [GridCell("") for _ in range(width)]
        for i, block in enumerate(groups[unit]):
            row[i] = GridCell(text(block), copy=id(block) in emitted, box=page_box(block, page))
            emitted.add(id(block))
        if unit in own:
            block = own[unit]
            row[depth] = GridCell(text(block), copy=id(block) in emitted, box=page_box(block, page))
            emitted.add(id(block))
        for p in [*rows[unit], *(p for b in in_row[unit] for p in b)]:
            row[depth + 1 + slot(p)] = GridCell(p.text, box=page_box([p], page))
        grid.append(row)
    return grid


def _band_rows(
    band: list[list[TextRun]],
    slot: Callable[[TextRun], int],
    depth: int,
    width: int,
    page: int,
    settings: StreamSettings,
) -> list[list[GridCell]]:
    """Cells between value rows (headers, titles, all-blank rows) stacked per column, bottom-aligned:
    the lowest cell of every column lands on the band's last row, as a ruled header's leaves do. A
    header over several columns starts at the first it reaches into and is copied over the rest."""

    def at(x: float) -> int:
        return slot(TextRun(x, 0.0, x, 0.0, text=""))

    per_column: dict[int, list[tuple[list[TextRun], bool]]] = {}
    for block in sorted(band, key=lambda b: min(p.top for p in b)):
        first = slot(block[0])
        last = first
        if first >= 0:
            first = at(min(p.x0 for p in block) + settings.align)
            last = at(max(p.x1 for p in block) - settings.align)
        for col in range(first, last + 1):
            per_column.setdefault(col, []).append((block, col > first))
    height = max(len(blocks) for blocks in per_column.values())
    rows = [[GridCell("") for _ in range(width)] for _ in range(height)]
    for col, blocks in per_column.items():
        for i, (block, copy) in enumerate(blocks, height - len(blocks)):
            text = "\n".join(p.text for p in block)
            rows[i][depth + 1 + col] = GridCell(text, copy=copy, box=page_box(block, page))
    return rows
