"""Word .docx files: paragraphs and tables in body order, merged cells resolved."""

from __future__ import annotations

import io
import zipfile

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from nianbao.extraction.document import Block, Document, GridCell, ReadError, TableBlock, TextBlock


def _grid(table: Table) -> list[list[GridCell]]:
    # python-docx returns the same <w:tc> for every position a merged cell covers; holding the
    # elements in the set keeps lxml handing out the same proxy objects for them.
    seen: set = set()
    grid = []
    for row in table.rows:
        cells = []
        for cell in row.cells:
            cells.append(GridCell(cell.text.strip(), copy=cell._tc in seen))
            seen.add(cell._tc)
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
