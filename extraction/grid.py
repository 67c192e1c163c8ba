"""Layout → rows: every table row or text line becomes a Row of text pieces and value slots.

This step knows table structure, not fields: it splits text lines into cells,
re-joins vertical one-character headers and wrapped Word-dump cells, keeps grid
positions (blank cells included) so that a missing value stays missing, and
gives the chunks of a table torn across pages one table id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from nianbao.extraction.document import Document, GridCell, TableBlock, TextBlock
from nianbao.extraction.numbers import is_page_mark, is_value

_NUMBERED = re.compile(r"^\s*(?:[（(]?[一二三四五六七八九十]+[)）、.．]|[（(]?\d+[)）、.．]|第[一二三四五六七八九十]+部分)")
_CJK = re.compile(r"^[\u4e00-\u9fff]$")


@dataclass(frozen=True)
class Piece:
    text: str
    pos: int
    copy: bool = False  # repeated from a spanning cell above or to the left


@dataclass
class Row:
    texts: list[Piece]
    values: list[Piece]  # value slots after the label; blank slots kept where positions are known
    where: str
    table: int | None = None  # rows of one logical table (torn chunks joined) share it
    chunk: int | None = None  # positions compare only within one chunk
    positional: bool = False
    sentence: bool = False  # prose, not a table line

    @property
    def has_values(self) -> bool:
        return any(v.text for v in self.values)

    @property
    def label_text(self) -> str:
        return "".join(p.text for p in self.texts if not p.copy)


@dataclass
class _State:
    table: int = 0
    chunk: int = 0
    rows: list[Row] = field(default_factory=list)


def _cells_row(cells: list[GridCell], where: str, table: int, chunk: int) -> Row:
    """A grid or tab row: label pieces before the first value, then every slot after the label."""
    first_value = next((i for i, c in enumerate(cells) if c.text and not c.copy and is_value(c.text)), None)
    texts: list[Piece] = []
    end = len(cells) if first_value is None else first_value
    last_text = -1
    for i in range(end):
        cell = cells[i]
        if cell.text and not is_value(cell.text):
            if not (texts and texts[-1].text == cell.text):  # a colspan repeats its text
                texts.append(Piece(cell.text, i, cell.copy))
            last_text = i
    values: list[Piece] = []
    if first_value is not None:
        for i in range(last_text + 1, len(cells)):
            cell = cells[i]
            text = cell.text if cell.text and not cell.copy and is_value(cell.text) else ""
            values.append(Piece(text, i))
    return Row(texts, values, where, table, chunk, positional=True)


def _stream_row(line: str, where: str) -> Row:
    """A text line: trailing number tokens are values, the rest is label text."""
    tokens = line.split()
    cut = len(tokens)
    while cut > 0 and is_value(tokens[cut - 1]) and tokens[cut - 1] not in ("无", "-"):
        cut -= 1
    if cut == len(tokens) and len(tokens) == 1 and is_value(tokens[0]):
        cut = 0
    texts = [Piece(t, i) for i, t in enumerate(tokens[:cut])]
    values = [Piece(t, i) for i, t in enumerate(tokens[cut:], start=cut)]
    sentence = bool(re.search(r"[。；;！？]|[，,].*[，,]", line)) and len(line) > 25
    return Row(texts, values, where, sentence=sentence)


def _is_cell_per_line(blocks: list[TextBlock]) -> bool:
    """Word-to-text dumps put every table cell on its own tab-indented line."""
    single = sum(1 for b in blocks if b.cells is not None and len([c for c in b.cells if c]) == 1
                 and b.cells[0] == "")
    return single >= 20 and single >= 0.3 * len(blocks)


def _text_rows(blocks: list[TextBlock]) -> Iterator[Row]:
    cell_per_line = _is_cell_per_line(blocks)
    previous: Row | None = None
    for block in blocks:
        if is_page_mark(block.text):
            continue
        if cell_per_line and block.cells is not None and len([c for c in block.cells if c]) == 1:
            cell = next(c for c in block.cells if c)
            if not is_value(cell):
                row = Row([Piece(cell, 0)], [], block.where)
            elif previous is not None and previous.values and not previous.texts:
                previous.values.append(Piece(cell, len(previous.values)))  # the next cell of one row
                continue
            else:
                row = Row([], [Piece(cell, 0)], block.where)
        elif cell_per_line and block.cells is None and previous is not None and not previous.has_values \
                and previous.texts and not _NUMBERED.match(block.text):
            last = previous.texts[-1]
            previous.texts[-1] = Piece(last.text + block.text, last.pos)
            continue
        elif block.cells is not None:
            row = _cells_row([GridCell(c) for c in block.cells], block.where, table=-1, chunk=-1)
            row.table = row.chunk = None
        else:
            row = _stream_row(block.text, block.where)
        previous = row
        yield row


def _join_vertical(rows: Iterable[Row]) -> Iterator[Row]:
    """Consecutive one-character lines are one header written vertically (申/请/人 → 申请人)."""
    run: list[Row] = []

    def flush() -> Iterator[Row]:
        if len(run) >= 2:
            yield Row([Piece("".join(r.texts[0].text for r in run), 0)], [], run[0].where)
        else:
            yield from run
        run.clear()

    for row in rows:
        if not row.values and len(row.texts) == 1 and _CJK.match(row.texts[0].text):
            run.append(row)
            continue
        yield from flush()
        yield row
    yield from flush()


def document_rows(document: Document) -> list[Row]:
    """All rows of a document in reading order."""
    state = _State()
    pending_text: list[TextBlock] = []
    last_was_table = False

    def flush_text() -> None:
        state.rows.extend(_join_vertical(_text_rows(pending_text)))
        pending_text.clear()

    for block in document.blocks:
        if isinstance(block, TextBlock):
            if last_was_table and is_page_mark(block.text):
                continue  # a page mark between two chunks of one table
            pending_text.append(block)
            last_was_table = False
            continue
        flush_text()
        state.chunk += 1
        if not last_was_table:
            state.table += 1
        last_was_table = True
        state.rows.extend(_table_rows(block, state.table, state.chunk))
    flush_text()
    return state.rows


def _table_rows(block: TableBlock, table: int, chunk: int) -> Iterator[Row]:
    for r, cells in enumerate(block.grid):
        if any(c.text for c in cells):
            yield _cells_row(cells, f"{block.where} row {r + 1}", table, chunk)
