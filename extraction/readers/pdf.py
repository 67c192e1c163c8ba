"""Text PDFs: ruled tables from the page's vector lines (pdfplumber), text lines around them.

Why pdfplumber: it finds a ruled table's cells from the drawn edges and knows which characters fall in
each, over pdfminer.six's text layer (embedded TrueType and non-embedded CID fonts alike). Tables ruled
by an image instead of vector lines go to camelot's lattice parser (readers/lattice.py), tables without
rules to its stream parser (readers/stream.py). A page without a usable text layer (readers/pdf_layers.py)
— a scanned page, glyphs without a Unicode map — is rasterized (pypdfium2) and read by OCR
(readers/scan.py); the rest of the PDF keeps its text layer. How each of these reads is in
``PdfSettings``, handed down from ``read_pdf``.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

import numpy as np
import pdfplumber
import pypdfium2
from pdfminer.pdfdocument import PDFEncryptionError, PDFPasswordIncorrect
from pdfminer.psparser import PSException
from pdfplumber.utils.exceptions import PdfminerException

from nianbao.errors import CodedError, ErrorCode
from nianbao.extraction.document import Block, Document, GridCell, PageBox, TableBlock, TextBlock
from nianbao.extraction.geometry import Rect, centre_inside
from nianbao.extraction.readers.lattice import LatticeReader, LatticeSettings
from nianbao.extraction.readers.pdf_layers import Layer, text_layer
from nianbao.extraction.readers.scan import ScanSettings, capped_dpi, deskew, has_table, page_blocks
from nianbao.extraction.readers.stream import StreamReader
from nianbao.extraction.readers.stream_text import StreamSettings

MAX_PAGES = 300  # an annual report has a few pages; a longer PDF is something else, or an archive dump


@dataclass(frozen=True)
class PdfSettings:
    """How a PDF is read: its image-ruled tables (lattice), its unruled ones (stream), and its pages
    without a usable text layer (scan, rasterized at ``scan.dpi``). Unknown keys are refused by the
    dataclass itself."""

    lattice: LatticeSettings = field(default_factory=LatticeSettings)
    stream: StreamSettings = field(default_factory=StreamSettings)
    scan: ScanSettings = field(default_factory=ScanSettings)


def read_pdf(path: str, data: bytes, settings: PdfSettings | None = None) -> Document:
    settings = settings or PdfSettings()
    try:
        pdf = pdfplumber.open(io.BytesIO(data))
    except (PdfminerException, PSException, PDFEncryptionError, PDFPasswordIncorrect) as exc:
        cause = exc.args[0] if isinstance(exc, PdfminerException) and exc.args else exc
        if isinstance(cause, PDFEncryptionError | PDFPasswordIncorrect):
            raise CodedError(ErrorCode.E_ENCRYPTED, "the PDF is encrypted and cannot be opened") from exc
        raise CodedError(ErrorCode.E_CORRUPT, f"not a readable PDF ({cause.__class__.__name__})") from exc
    per_page: list[list[Block]] = []
    to_ocr: list[int] = []
    columns: list[float] | None = None  # the last unruled table's column bounds, for its continuation
    with pdf:
        if not pdf.pages:
            raise CodedError(ErrorCode.E_EMPTY, "the PDF has no pages")
        if len(pdf.pages) > MAX_PAGES:
            raise CodedError(
                ErrorCode.E_TOO_LARGE, f"{len(pdf.pages)} pages is over the {MAX_PAGES}-page limit"
            )
        for number, page in enumerate(pdf.pages, 1):
            layer = text_layer(page, data)
            if layer is Layer.OCR:
                to_ocr.append(number)
            read = page.dedupe_chars() if layer is Layer.DOUBLED else page
            blocks: list[Block] = []
            if layer in (Layer.TEXT, Layer.DOUBLED):
                blocks, columns = _page_blocks(read, number, data, columns, settings)
            else:
                columns = None
            per_page.append(blocks)
            page.flush_cache()
    if not to_ocr and not any(per_page):
        raise CodedError(ErrorCode.E_EMPTY, "the PDF's pages hold no text and nothing drawn to read")
    for number, (gray, dpi) in zip(to_ocr, rasterize(data, to_ocr, settings.scan.dpi), strict=True):
        scan = replace(settings.scan, dpi=dpi)
        above = has_table([block for blocks in per_page[: number - 1] for block in blocks])
        per_page[number - 1] = page_blocks(deskew(gray, scan), number, scan, above)
    # Read wholly by OCR, the document is a scan: its trust rules apply (pipeline.OCR_FORMS).
    form = "scan" if to_ocr and len(to_ocr) == len(per_page) else "pdf"
    return Document(path, form, [block for blocks in per_page for block in blocks])


def rasterize(
    data: bytes, numbers: Sequence[int] | None = None, dpi: float = ScanSettings().dpi
) -> Iterator[tuple[np.ndarray, float]]:
    """Pages (1-based ``numbers``, all by default) as grayscale images, one at a time to bound memory, each
    with its resolution: ``dpi`` (the scan resolution), lower for a page too large to render at it
    (capped_dpi)."""
    if numbers is not None and not numbers:
        return
    try:
        pdf = pypdfium2.PdfDocument(data)
    except pypdfium2.PdfiumError as exc:
        raise CodedError(ErrorCode.E_CORRUPT, f"the PDF's pages cannot be rendered for OCR ({exc})") from exc
    try:
        for number in numbers or range(1, len(pdf) + 1):
            page = pdf[number - 1]
            page_dpi = capped_dpi(*page.get_size(), dpi)
            yield np.asarray(page.render(scale=page_dpi / 72, grayscale=True).to_pil().convert("L")), page_dpi
            page.close()
    finally:
        pdf.close()


def _page_blocks(
    page: pdfplumber.page.Page, number: int, data: bytes, columns: list[float] | None, settings: PdfSettings
) -> tuple[list[Block], list[float] | None]:
    """Tables and the text lines outside them, top to bottom; and the column bounds of the page's last
    unruled table (``columns``: those of the page before)."""
    tables = page.find_tables()
    found = [(Rect(*t.bbox), span_grid(t.extract(), t.rows, number)) for t in tables]
    lattice, stream = LatticeReader(settings.lattice), StreamReader(settings.stream)
    areas = lattice.areas(page, [box for box, _ in found])
    if areas:
        found += [(t.box, t.grid) for t in lattice.tables(data, number, float(page.height), areas)]
    words = [w for w in page.extract_words() if not any(centre_inside(w, box) for box, _ in found)]
    unruled = stream.areas(words, columns)
    if unruled:
        found += [(t.box, t.grid) for t in stream.tables(data, number, float(page.height), unruled)]
    found.sort(key=lambda f: f[0].top)
    boxes = [box for box, _ in found]
    placed: list[tuple[float, Block]] = [
        (box.top, TableBlock(grid, f"page {number} table {i}")) for i, (box, grid) in enumerate(found, 1)
    ]
    outside = page.filter(lambda obj: not any(centre_inside(obj, box) for box in boxes)) if boxes else page
    for line in outside.extract_text_lines(return_chars=False):
        text = line["text"].strip()
        if text:
            placed.append((line["top"], TextBlock(text, f"page {number} y {round(line['top'])}")))
    blocks = [block for _, block in sorted(placed, key=lambda p: p[0])]
    return blocks, unruled[-1].separators if unruled else None


def span_grid(texts: list[list[str | None]], rows: list, page: int) -> list[list[GridCell]]:
    """pdfplumber marks positions covered by a merged cell with None; give them the covering cell's text."""
    origins = [
        (Rect(*box), text or "")
        for row, row_texts in zip(rows, texts, strict=True)
        for box, text in zip(row.cells, row_texts, strict=True)
        if box is not None
    ]
    grid: list[list[GridCell]] = []
    for row, row_texts in zip(rows, texts, strict=True):
        out = []
        for c, (box, text) in enumerate(zip(row.cells, row_texts, strict=True)):
            if box is not None:
                out.append(GridCell(text or "", box=PageBox(*box, page=page)))
                continue
            x = _column_x(rows, c)
            y = row.bbox[1] + 1
            cover = next((t for b, t in origins if b.x0 <= x < b.x1 and b.top <= y < b.bottom), "")
            out.append(GridCell(cover, copy=True))
        grid.append(out)
    return grid


def _column_x(rows: list, c: int) -> float:
    """A point just inside grid column ``c``, from any row that starts a cell there."""
    return next(row.cells[c][0] for row in rows if row.cells[c] is not None) + 1
