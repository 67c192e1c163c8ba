"""The block view of ``nianbao inspect`` for forms without page images (Markdown, HTML, text, Word): the
document's blocks in order, tables as tables and text lines as printed, each filed value marked."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterator

from nianbao.extraction.document import Block, Document, TableBlock, TextBlock
from nianbao.extraction.grid import cell_where, row_where
from nianbao.extraction.record import FieldEvidence
from nianbao.inspect_views import BlockView, Filed, RowView, Seg


def _slots(block: TextBlock) -> list[str]:
    """A text line's slots as the grid counts them: its cells (tabs), else its tokens."""
    return list(block.cells) if block.cells is not None else block.text.split()


def _line_parts(block: TextBlock) -> Iterator[tuple[str, int | None]]:
    """A text line as printed, each run with its slot (None: the blanks or tabs between slots)."""
    if block.cells is not None:
        for slot, cell in enumerate(block.cells):
            if slot:
                yield "\t", None
            yield cell, slot
        return
    for n, part in enumerate(re.split(r"(\S+)", block.text)):
        if part:
            yield part, (n // 2 if n % 2 else None)


def _is_dump_line(block: Block) -> bool:
    """A Word dump's one-cell line ("\\tcell"): a row's cells run over the lines after it (grid.py)."""
    return (
        isinstance(block, TextBlock)
        and block.cells is not None
        and block.cells[0] == ""
        and not any(block.cells[2:])
    )


def _text_slot(blocks: list[Block], at: dict[str, int], where: str, raw: str) -> tuple[int, int] | None:
    """Which block and slot of a text line a cell's place names; the slot must hold the raw text."""
    row, _, col = where.rpartition(" col ")
    if row not in at or not col.isdigit():
        return None
    first, pos = at[row], int(col) - 1
    candidates = [(first, pos)]
    if _is_dump_line(blocks[first]):  # the row's n-th cell is the n-th one-cell line from here
        lines = [i for i in range(first, len(blocks)) if _is_dump_line(blocks[i])]
        if pos < len(lines):
            candidates.insert(0, (lines[pos], 1))
    for index, slot in candidates:
        slots = _slots(blocks[index])
        if slot < len(slots) and (raw in slots[slot].split() or raw == slots[slot]):
            return index, slot
    return None


def _segs(text: str, keys: list[str], filed: dict[str, Filed], raws: dict[str, str]) -> list[Seg]:
    """A cell's text as runs: each field's own value where several were run into one cell."""
    if not keys:
        return [Seg(text)]
    tokens = text.split()
    if len(keys) > 1 and len(tokens) == len(keys):
        order = sorted(keys, key=lambda k: tokens.index(raws[k]) if raws[k] in tokens else len(tokens))
        runs = [Seg(t, filed[k]) for t, k in zip(tokens, order, strict=True)]
        return [s for run in runs for s in (run, Seg(" "))][:-1]
    return [Seg(text, filed[keys[0]]), *(Seg("", filed[k]) for k in keys[1:])]


def block_views(
    document: Document,
    filed: dict[str, Filed],
    evidence: dict[str, FieldEvidence],
    unfiled: set[str],
) -> tuple[list[BlockView], set[str]]:
    """The document's blocks in order: tables as tables, text lines with their filed tokens."""
    blocks = document.blocks
    at: dict[str, int] = {}
    for i, block in enumerate(blocks):
        if isinstance(block, TextBlock):
            at.setdefault(block.where, i)
    keys_at: dict[tuple[int, int] | str, list[str]] = defaultdict(list)
    for key, cell in evidence.items():
        slot = _text_slot(blocks, at, cell.where, cell.raw)
        keys_at[slot if slot is not None else cell.where].append(key)
    raws = {key: cell.raw for key, cell in evidence.items()}
    drawn: set[str] = set()
    views = []
    for i, block in enumerate(blocks):
        if isinstance(block, TableBlock):
            rows = []
            for r, cells in enumerate(block.grid):
                row = row_where(block, r)
                segs = []
                for c, cell in enumerate(cells):
                    keys = keys_at.get(cell_where(row, c), [])
                    drawn.update(keys)
                    segs.append(_segs(cell.text, keys, filed, raws))
                rows.append(RowView(row, segs, [cell.copy for cell in cells], row in unfiled))
            views.append(BlockView(block.where, True, rows))
            continue
        segs = [Seg(" " * block.indent)] if block.indent else []
        for text, slot in _line_parts(block):
            keys = [] if slot is None else keys_at.get((i, slot), [])
            drawn.update(keys)
            segs += _segs(text, keys, filed, raws)
        row = RowView(block.where, [segs], [False], block.where in unfiled and at[block.where] == i)
        views.append(BlockView(block.where, False, [row]))
    return views, drawn
