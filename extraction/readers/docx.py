"""Word .docx files: paragraphs and tables in body order, merged cells resolved."""

from __future__ import annotations

import io
import zipfile

import docx
from docx.table import Table
from docx.text.paragraph import Paragraph

from nianbao.errors import CodedError, ErrorCode
from nianbao.extraction.document import Block, Document, GridCell, TableBlock, TextBlock

_W = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"
# A report's document.xml is well under a megabyte. python-docx holds up to 90 times the XML it parses
# (62 MB took 5.8 GB) and reads about 10,000 paragraphs a second (10 MB of empty ones: 48 s, 0.5 GB).
MAX_XML_BYTES = 10 * 1024 * 1024
MAX_MEMBER_BYTES = 50 * 1024 * 1024  # any member: an embedded page image is a few megabytes
_XML_SUFFIXES = (".xml", ".rels")


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


def _check_sizes(data: bytes) -> None:
    """Refuse a package whose members unpack to more than a report holds (a zip bomb), before python-docx
    unpacks and parses them; the sizes are the declared ones, which zipfile never reads past."""
    with zipfile.ZipFile(io.BytesIO(data)) as package:
        members = package.infolist()
    largest = max(members, key=lambda m: m.file_size, default=None)
    if largest is not None and largest.file_size > MAX_MEMBER_BYTES:
        raise CodedError(
            ErrorCode.E_TOO_LARGE,
            f"{largest.filename} unpacks to {largest.file_size} bytes, over {MAX_MEMBER_BYTES}",
        )
    xml = sum(m.file_size for m in members if m.filename.endswith(_XML_SUFFIXES))
    if xml > MAX_XML_BYTES:
        raise CodedError(
            ErrorCode.E_TOO_LARGE, f"the package's XML unpacks to {xml} bytes, over {MAX_XML_BYTES}"
        )


def read_docx(path: str, data: bytes) -> Document:
    try:
        _check_sizes(data)
        document = docx.Document(io.BytesIO(data))
    except (zipfile.BadZipFile, KeyError, ValueError) as exc:
        raise CodedError(
            ErrorCode.E_CORRUPT, f"not a readable .docx file ({exc.__class__.__name__}: {exc})"
        ) from exc
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
