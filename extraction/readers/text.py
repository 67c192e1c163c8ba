"""Plain text: pdftotext output, tab-separated copies, Word-to-text dumps, OCR text."""

from __future__ import annotations

from nianbao.extraction.document import Document, TextBlock
from nianbao.extraction.readers.encoding import decode


def read_text(path: str, data: bytes) -> Document:
    decoded = decode(data)
    return Document(path, "text", text_blocks(decoded.text), repaired=decoded.repaired)


def text_blocks(text: str) -> list[TextBlock]:
    """One block per line; a tab-separated line keeps its cells and their positions, a bare tab
    (an empty table cell in a Word dump) is kept, and empty lines only mark the next block."""
    blocks = []
    blank = False
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        if not line.strip(" \u3000\f"):
            blank = True
            continue
        cells = tuple(c.strip() for c in line.rstrip(" \u3000").split("\t")) if "\t" in line else None
        indent = len(line) - len(line.lstrip(" \u3000"))
        blocks.append(TextBlock(line.strip(), f"line {number}", cells, blank_before=blank, indent=indent))
        blank = False
    return blocks
