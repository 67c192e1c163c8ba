"""Text PDFs: ruled tables from the page's vector lines (pdfplumber), text lines around them.

Why pdfplumber: it finds a ruled table's cells from the drawn edges and knows which characters fall in
each, over pdfminer.six's text layer (embedded TrueType and non-embedded CID fonts alike). Scanned PDFs
have no text layer: their pages are rasterized (pypdfium2) and read by OCR (readers/scan.py).
"""

from __future__ import annotations

import io
from collections.abc import Iterator

import numpy as np
import pdfplumber
import pypdfium2
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.psparser import PSException
from pdfplumber.utils.exceptions import PdfminerException

from nianbao.extraction.document import Block, Document, GridCell, PageBox, ReadError, TableBlock, TextBlock
from nianbao.extraction.readers.scan import ScanSettings, read_scan

Box = tuple[float, float, float, float]  # x0, top, x1, bottom
MAX_PAGES = 300  # an annual report has a few pages; a longer PDF is something else, or an archive dump
SCAN = ScanSettings()


def read_pdf(path: str, data: bytes) -> Document:
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except (PdfminerException, PSException, PDFEncryptionError, PDFPasswordIncorrect) as exc:
        cause = exc.args[0] if isinstance(exc, PdfminerException) and exc.args else exc
        if isinstance(cause, PDFEncryptionError | PDFPasswordIncorrect):
            raise ReadError("E_ENCRYPTED", "the PDF is encrypted and cannot be opened") from exc
        raise ReadError("E_CORRUPT", f"not a readable PDF ({cause.__class__.__name__})") from exc
    blocks: list[Block] = []
    chars = 0
    with pdf:
        if not pdf.pages:
            raise ReadError("E_EMPTY", "the PDF has no pages")
        if len(pdf.pages) > MAX_PAGES:
            raise ReadError("E_TOO_LARGE", f"{len(pdf.pages)} pages is over the {MAX_PAGES}-page limit")
        for number, page in enumerate(pdf.pages, 1):
            chars += len(page.chars)
            blocks += _page_blocks(page, number)
            page.flush_cache()
    if not chars:  # a scan: no text layer at all
        return read_scan(path, rasterize(data), SCAN)
    return Document(path, "pdf", blocks)


def rasterize(data: bytes) -> Iterator[np.ndarray]:
    """Each page as a grayscale image at the scan resolution, one at a time to bound memory."""
    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise ReadError("E_CORRUPT", f"the PDF's pages cannot be rendered for OCR ({exc})") from exc
    try:
        for page in pdf:
            yield np.asarray(page.render(scale=SCAN.dpi / 72, grayscale=True).to_pil().convert("L"))
            page.close()
    finally:
        pdf.close()


def _page_blocks(page: pdfplumber.page.Page, number: int) -> list[Block]:
    """Tables and the text lines outside them, top to bottom."""
    tables = page.find_tables()
    boxes = [t.bbox for t in tables]
    placed: list[tuple[float, Block]] = [
        (t.bbox[1], TableBlock(span_grid(t.extract(), t.rows, number), f"page {number} table {i}"))
        for i, t in enumerate(tables, 1)
    ]
    outside = page.filter(lambda obj: not any(_inside(obj, box) for box in boxes)) if boxes else page
    for line in outside.extract_text_lines(return_chars=False):
        text = line["text"].strip()
        if text:
            placed.append((line["top"], TextBlock(text, f"page {number} y {round(line['top'])}")))
    return [block for _, block in sorted(placed, key=lambda p: p[0])]


def _inside(obj: dict, box: Box) -> bool:
    x = (obj.get("x0", 0) + obj.get("x1", 0)) / 2
    y = (obj.get("top", 0) + obj.get("bottom", 0)) / 2
    return box[0] <= x <= box[2] and box[1] <= y <= box[3]


def span_grid(texts: list[list[str | None]], rows: list, page: int) -> list[list[GridCell]]:
    """pdfplumber marks positions covered by a merged cell with None; give them the covering cell's text."""
    origins = [
        (box, text or "")
        for row, row_texts in zip(rows, texts, strict=True)
        for box, text in zip(row.cells, row_texts, strict=True)
        if box is not None
    ]
    grid: list[list[GridCell]] = []
    for row, row_texts in zip(rows, texts, strict=True):
        out = []
        for c, (box, text) in enumerate(zip(row.cells, row_texts, strict=True)):
            if box is not None:
                out.append(GridCell(text or "", box=PageBox(page, *box)))
                continue
            x = _column_x(rows, c)
            y = row.bbox[1] + 1
            cover = next((t for b, t in origins if b[0] <= x < b[2] and b[1] <= y < b[3]), "")
            out.append(GridCell(cover, copy=True))
        grid.append(out)
    return grid


def _column_x(rows: list, c: int) -> float:
    """A point just inside grid column ``c``, from any row that starts a cell there."""
    return next(row.cells[c][0] for row in rows if row.cells[c] is not None) + 1
