"""Plain text: pdftotext output, tab-separated copies, Word-to-text dumps, OCR text."""

from __future__ import annotations

from nianbao.extraction.document import Document, TextBlock
from nianbao.extraction.readers.encoding import decode


def read_text(path: str, data: bytes) -> Document:
    return Document(path, "text", text_blocks(decode(data)))


def text_blocks(text: str) -> list[TextBlock]:
    """One block per non-empty line; a tab-separated line keeps its cells and their positions."""
    blocks = []
    for number, line in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), start=1):
        if not line.strip():
            continue
        cells = tuple(c.strip() for c in line.rstrip().split("\t")) if "\t" in line.rstrip() else None
        blocks.append(TextBlock(line.strip(), f"line {number}", cells))
    return blocks
