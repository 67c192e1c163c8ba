"""Word .docx files: paragraphs and tables in body order, merged cells resolved."""

from __future__ import annotations

import io
import zipfile

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from nianbao.extraction.document import Block, Document, GridCell, ReadError, TableBlock, TextBlock

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def _cell_text(tc) -> str:
    paragraphs = ("".join(t.text or "" for t in p.iter(f"{_W}t")) for p in tc.iter(f"{_W}p"))
    return "\n".join(paragraphs).strip()


def _grid(table: Table) -> list[list[GridCell]]:
    """Rows of grid cells from the table XML: a gridSpan repeats the cell to its right and a
    vMerge continuation repeats the cell above, both marked as copies.

    Walks <w:tr>/<w:tc> directly: python-docx's ``row.cells`` resolves merges by XPath per cell,
    which made reading a report table most of the time spent on a .docx file.
    """
    grid: list[list[GridCell]] = []
    above: dict[int, str] = {}  # grid column -> text of the cell that starts there
    for tr in table._tbl.iterchildren(f"{_W}tr"):
        cells: list[GridCell] = []
        for tc in tr.iterchildren(f"{_W}tc"):
            column = len(cells)
            continued = tc.vMerge == "continue"
            text = above.get(column, "") if continued else _cell_text(tc)
            for offset in range(max(tc.grid_span, 1)):
                cells.append(GridCell(text, copy=continued or offset > 0))
                above[column + offset] = text
        grid.append(cells)
    return grid


def read_docx(path: str, data: bytes) -> Document:
    try:
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise ReadError("E_CORRUPT", f"not a readable .docx file ({exc.__class__.__name__}: {exc})") from exc
    blocks: list[Block] = []
    tables = 0
    for number, item in enumerate(document.iter_inner_content(), start=1):
        if isinstance(item, Paragraph):
            for line in item.text.splitlines():
                if line.strip():
                    blocks.append(TextBlock(line.strip(), f"paragraph {number}"))
        else:
            tables += 1
            blocks.append(TableBlock(_grid(item), f"table {tables}"))
    return Document(path, "docx", blocks)
