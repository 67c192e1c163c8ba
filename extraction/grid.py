"""Layout → rows: every table row or text line becomes a Row of text pieces and value slots.

This step knows table structure, not fields: it splits text lines into cells,
re-joins vertical one-character headers and wrapped Word-dump cells, keeps grid
positions (blank cells included) so that a missing value stays missing, and
gives the chunks of a table torn across pages one table id.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from nianbao.extraction.document import Document, GridCell, PageBox, TableBlock, TextBlock
from nianbao.extraction.numbers import is_page_mark, is_value

_NUMBERED = re.compile(
    r"^\s*(?:[（(]?[一二三四五六七八九十]+[)）、.．]|[（(]?\d+[)）、.．]|[①-⑳]|第[一二三四五六七八九十]+部分)"
)
_CJK = re.compile(r"^[\u4e00-\u9fff]$")
_CJK_ANY = re.compile(r"[\u4e00-\u9fff]")
_VERTICAL_MARKS = frozenset("、.．（）()")
_OPENING = frozenset("（(")


def is_numbered(text: str) -> bool:
    """Starts with a template numbering (一、 （二） 3. 第四部分): the first line of a label."""
    return _NUMBERED.match(text) is not None


@dataclass(frozen=True)
class Piece:
    text: str
    pos: int
    copy: bool = False  # repeated from a spanning cell above or to the left
    score: float = 1.0  # the reader's confidence in the text (OCR)
    box: PageBox | None = None
    offset: int | None = None  # the character column where a layout line's token starts
    absent: bool = False  # a slot the row did not print (its table is wider): no position to trust
    shared: bool = False  # one of several values run into one cell: its column is known only by count
    ink: bool | None = None  # a blank cell a scan reader measured: ink in it, or none (GridCell.ink)

    @property
    def measured_blank(self) -> bool:
        """A blank cell whose crop was measured: a blank the reader can vouch for, or a glyph it missed."""
        return not self.text and self.ink is not None


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


_WORDLIKE_BLANKS = ("无", "-")  # blank-cell markers that also end a label or a sentence


def _cell_values(cell: GridCell) -> list[str] | None:
    """The values a cell holds: one, or several that a converter ran into one printed cell ("2,224 93");
    None for a cell that holds text. In an OCR reading a space inside a number is a stray gap, not a
    cell border, so its cell keeps one value."""
    tokens = cell.text.split()
    if len(tokens) > 1 and cell.score >= 1.0 and all(is_value(t) for t in tokens):
        return tokens
    return [cell.text] if is_value(cell.text) else None


def _cells_row(cells: list[GridCell], where: str, table: int, chunk: int) -> Row:
    """A grid or tab row: label pieces before the first value, then every slot after the label. A text
    past the first value is no label but a value its reader could not read as one (an OCR "：O"): it
    stays in its slot, to be filed and doubted, not taken for a printed blank."""
    held = [_cell_values(c) if c.text and not c.copy else None for c in cells]
    first_value = next((i for i, v in enumerate(held) if v is not None), None)
    texts: list[Piece] = []
    end = len(cells) if first_value is None else first_value
    last_text = -1
    for i in range(end):
        cell = cells[i]
        if cell.text and _cell_values(cell) is None:
            if not (texts and texts[-1].text == cell.text):  # a colspan repeats its text
                texts.append(Piece(cell.text, i, cell.copy))
            last_text = i
    values: list[Piece] = []  # blank slots too: a row of blank cells is a row of unstated values
    for i, c in enumerate(cells[last_text + 1 :], start=last_text + 1):
        found = held[i]
        if found is None and c.text and not c.copy:
            values.append(Piece(c.text, i, score=c.score, box=c.box))
        elif found is None:
            values.append(Piece("", i, score=c.score, box=c.box, absent=c.absent, ink=c.ink))
        elif len(found) == 1:
            values.append(Piece(c.text, i, score=c.score, box=c.box))
        else:
            values.extend(Piece(t, i, score=c.score, box=c.box, shared=True) for t in found)
    return Row(texts, values, where, table, chunk, positional=True)


def _stream_row(line: str, where: str, indent: int = 0) -> Row:
    """A text line: trailing number tokens are values, the rest is label text. Each token keeps its
    character column (``indent`` + its start in ``line``): in layout text, its table column."""
    found = list(re.finditer(r"\S+", line))
    tokens = [m.group() for m in found]
    offsets = [indent + m.start() for m in found]
    cut = len(tokens)
    while cut > 0 and _trailing_value(tokens, cut - 1):
        cut -= 1
    if cut == len(tokens) and len(tokens) == 1 and is_value(tokens[0]):
        cut = 0
    texts = [Piece(t, i, offset=offsets[i]) for i, t in enumerate(tokens[:cut])]
    values = [Piece(t, i, offset=offsets[i]) for i, t in enumerate(tokens[cut:], start=cut)]
    label = " ".join(tokens[:cut])
    # Commas alone do not make prose of a numbered line: template labels carry their own clauses
    # (（二）部分公开（区分处理的，只计这一情形，不计其他情形）).
    clauses = r"[。；;！？]" if is_numbered(label) else r"[。；;！？]|[，,].*[，,]"
    sentence = bool(_CJK_ANY.search(label) and re.search(clauses, label)) and len(line) > 25
    return Row(texts, values, where, sentence=sentence)


def _trailing_value(tokens: list[str], i: int) -> bool:
    """Is token i a value cell? "无" and "-" are blank cells among values ("0 无 0"), and words after
    text ("（四）无")."""
    if not is_value(tokens[i]):
        return False
    return tokens[i] not in _WORDLIKE_BLANKS or (i > 0 and is_value(tokens[i - 1]))


def _is_cell_per_line(blocks: list[TextBlock]) -> bool:
    """Word-to-text dumps put every table cell on its own tab-indented line."""
    single = [_one_cell(b) for b in blocks]
    filled = sum(1 for cell in single if cell)
    return filled >= 20 and sum(1 for cell in single if cell is not None) >= 0.3 * len(blocks)


def _one_cell(block: TextBlock) -> str | None:
    """The cell of a Word-dump line ("\tcell", or a bare tab for a blank cell), else None."""
    if block.cells is None or block.cells[0] != "" or any(block.cells[2:]):
        return None
    return block.cells[1] if len(block.cells) > 1 else ""


def _dump_rows(blocks: list[TextBlock]) -> Iterator[Row]:
    """Word-to-text dumps: one cell per tab-led line, blank cells as bare tabs, a blank line between
    table rows, and a line without the tab continuing the wrapped label cell above it.

    A label after a value also starts a row, for dumps that lost the blank lines.
    """
    cells: list[str] = []
    where = ""

    def flush() -> Iterator[Row]:
        if any(cells):
            yield _grid_line(cells, where)
        cells.clear()

    for block in blocks:
        cell = _one_cell(block)
        if block.blank_before or is_page_mark(block.text):
            yield from flush()
        if is_page_mark(block.text):
            continue
        if cell is not None:
            if cell and not is_value(cell) and any(c and is_value(c) for c in cells):
                yield from flush()
            if not cells:
                where = block.where
            cells.append(cell)
        elif (
            block.cells is None
            and cells
            and cells[-1]
            and not is_value(cells[-1])
            and not is_numbered(block.text)
        ):
            cells[-1] += block.text
        else:
            yield from flush()
            yield _line_row(block)
    yield from flush()


def _line_row(block: TextBlock) -> Row:
    if block.cells is None:
        return _stream_row(block.text, block.where, block.indent)
    return _grid_line(block.cells, block.where)


def _grid_line(cells: Sequence[str], where: str) -> Row:
    """Cells of one text line or dump row: positions hold within the row, not across the table."""
    row = _cells_row([GridCell(c) for c in cells], where, table=-1, chunk=-1)
    row.table = row.chunk = None
    return row


def _text_rows(blocks: list[TextBlock]) -> Iterator[Row]:
    if _is_cell_per_line(blocks):
        yield from _dump_rows(blocks)
        return
    for block in blocks:
        if block.text and not is_page_mark(block.text):
            yield _line_row(block)


def _single_char(row: Row) -> str | None:
    """The one character a row holds, when it is a piece of a vertically written header."""
    pieces = row.texts or row.values
    if len(pieces) != 1 or (row.texts and row.values) or len(pieces[0].text) != 1:
        return None
    char = pieces[0].text
    return char if _CJK.match(char) or char in _VERTICAL_MARKS or char.isdigit() else None


def _join_vertical(rows: Iterable[Row]) -> Iterator[Row]:
    """Consecutive one-character lines are one header written vertically (3/、/申/请 → 3、申请).

    A digit or numbering mark joins only inside a run that holds at least two CJK characters,
    and a digit only at the start of the run, so a lone value line stays a value.
    """
    run: list[tuple[Row, str]] = []

    def flush() -> Iterator[Row]:
        chars = [c for _, c in run]
        if sum(1 for c in chars if _CJK.match(c)) >= 2:
            yield Row([Piece("".join(chars), 0)], [], run[0][0].where)
        else:
            yield from (r for r, _ in run)
        run.clear()

    for row in rows:
        char = _single_char(row)
        if char is not None and not run and char in _VERTICAL_MARKS and char not in _OPENING:
            char = None  # a closing mark starts nothing: it ends a wrapped line above
        if char is not None and not (char.isdigit() and run):
            run.append((row, char))
            continue
        yield from flush()
        if char is not None:
            run.append((row, char))
        else:
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
    """The table's rows with text, and those a scan reader measured in every cell: a row printed blank
    (or with ink OCR could not read, a doubt for review), not a gap in the grid."""
    for r, cells in enumerate(block.grid):
        if any(c.text for c in cells) or (cells and all(c.ink is not None for c in cells)):
            yield _cells_row(cells, row_where(block, r), table, chunk)


def row_where(block: TableBlock, r: int) -> str:
    return f"{block.where} row {r + 1}"


def cell_where(row_where: str, pos: int) -> str:
    """Where a row's cell at grid position ``pos`` is, as evidence names it."""
    return f"{row_where} col {pos + 1}"


def unread_ink_rows(document: Document) -> list[tuple[set[str], set[str]]]:
    """Each table row holding ink OCR read as nothing: where its cells with that ink are, and where all
    its cells are. A row whose unread ink no field was filed from may have had its values put beside
    the cells they were read in (a glyph's stroke taken for a rule cuts a label cell short): a blank
    filed from it is no blank the reader can vouch for."""
    out = []
    for block in document.blocks:
        if not isinstance(block, TableBlock):
            continue
        for r, cells in enumerate(block.grid):
            row = row_where(block, r)
            ink = {cell_where(row, i) for i, c in enumerate(cells) if c.ink and not c.text}
            if ink:
                out.append((ink, {cell_where(row, i) for i in range(len(cells))}))
    return out
