"""What a reviewer looks at to decide a field: the page around the cell, or the source rows around it.

Files are opened only through a document row of the store (the path the batch or an upload recorded),
never through a path a client names. Page images are rendered server-side (pypdfium2 for PDFs, Pillow
for page images) and cropped to the cell's band of the page, the full width kept so the row's printed
label is in view, with the cell outlined. A column is named only in its table's header, often far above
the cell: where the header rows are known to be above the band (a PDF page with a text layer, whose ruled
tables pdfplumber finds), the page from the header's top down to the band is a second band, shown right
above the first, so the two read as one crop from the header to the cell. A scan, an image table or a table
continued from the page before has no header band.
"""

from __future__ import annotations

import io
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw

from nianbao.extraction.document import Document, TableBlock
from nianbao.extraction.readers import is_pdf, read
from nianbao.extraction.readers.image import image_dpi
from nianbao.extraction.readers.scan import capped_dpi
from nianbao.extraction.suffixes import IMAGE_SUFFIXES
from nianbao.store import FieldRow

log = logging.getLogger("nianbao.app")
POINTS_PER_INCH = 72
OUTLINE = (220, 30, 30)
OUTLINE_WIDTH = 2
HEADER_EPS_PT = 1.0  # a table whose top is this close to its first value row has no header on the page
HEADER_PAD_PT = 4.0  # page kept above the header's top: its rule


class EvidenceMissing(LookupError):
    """The field has no evidence of this kind, or its document's file is gone."""


def has_box(row: FieldRow) -> bool:
    return None not in (row.page, row.x0, row.top, row.x1, row.bottom)


def is_paged(path: Path) -> bool:
    """A form whose evidence is a page image: a PDF (by its header, whatever the name) or a page image."""
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return True
    try:
        with path.open("rb") as handle:
            return is_pdf(handle.read(1024))
    except OSError:
        return False


@lru_cache(maxsize=8)
def _page_image(path: str, mtime: float, page: int, dpi: float) -> tuple[Image.Image, float]:
    """A page as an RGB image and its pixels per PDF point; cached since a page holds many fields."""
    if Path(path).suffix.lower() in IMAGE_SUFFIXES:
        with Image.open(path) as image:
            image.seek(page - 1)
            # the scan reader's convention: the image's own dpi, else the scan settings' default
            own_dpi = image_dpi(image)
            frame = image.convert("RGB")
        points = POINTS_PER_INCH / own_dpi
        dpi = capped_dpi(frame.width * points, frame.height * points, dpi)  # never past the pixel cap
        scale = dpi / own_dpi
        frame = frame.resize((max(1, round(frame.width * scale)), max(1, round(frame.height * scale))))
        return frame, dpi / POINTS_PER_INCH
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(path)
    try:
        if not 1 <= page <= len(pdf):
            raise EvidenceMissing(f"page {page} is not in the document")
        pdf_page = pdf[page - 1]
        scale = capped_dpi(*pdf_page.get_size(), dpi) / POINTS_PER_INCH  # a huge page: a coarser render
        return pdf_page.render(scale=scale).to_pil().convert("RGB"), scale
    finally:
        pdf.close()


def _page(path: Path, page: int, dpi: float) -> tuple[Image.Image, float]:
    """The page as an RGB image (a copy: callers draw on it) and its pixels per PDF point."""
    if not path.is_file():
        raise EvidenceMissing("the document's file is no longer where it was read")
    try:
        image, scale = _page_image(str(path), path.stat().st_mtime, page, dpi)
    except (OSError, EOFError, ValueError) as exc:  # Pillow's seek past the last frame, a broken file
        raise EvidenceMissing(f"the page cannot be rendered ({exc.__class__.__name__})") from exc
    return image.copy(), scale


def _png(image: Image.Image) -> bytes:
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True)
    return out.getvalue()


def _box(row: FieldRow, scale: float, top: float = 0.0) -> list[float]:
    """The cell's box in pixels of an image of the page cut at ``top`` (pixels)."""
    return [row.x0 * scale, row.top * scale - top, row.x1 * scale, row.bottom * scale - top]


def _band(page: Image.Image, top: int, bottom: int) -> Image.Image:
    """The page's full width between two pixel rows (``bottom`` excluded), kept inside the page."""
    return page.crop((0, max(0, top), page.width, min(page.height, bottom)))


def _crop_top(row: FieldRow, scale: float, margin_pt: float) -> int:
    """The first pixel row of the cell's crop."""
    return max(0, int((row.top - margin_pt) * scale))


def crop_png(path: Path, row: FieldRow, dpi: float, margin_pt: float) -> bytes:
    """The band of the page around the field's cell, the cell outlined, as PNG."""
    if not has_box(row):
        raise EvidenceMissing("the field has no page box")
    page, scale = _page(path, row.page, dpi)
    top = _crop_top(row, scale, margin_pt)
    band = _band(page, top, int((row.bottom + margin_pt) * scale) + 1)
    ImageDraw.Draw(band).rectangle(_box(row, scale, top), outline=OUTLINE, width=OUTLINE_WIDTH)
    return _png(band)


def header_png(path: Path, row: FieldRow, dpi: float, margin_pt: float, header: float) -> bytes:
    """The page from the header's top (``header``, PDF points) down to where the cell's crop begins, as
    PNG: shown above the crop, one band from the column's header to the cell. EvidenceMissing when the crop
    already shows the header."""
    if not has_box(row) or header - HEADER_PAD_PT >= row.top - margin_pt:
        raise EvidenceMissing("the cell's crop already shows its header")
    page, scale = _page(path, row.page, dpi)
    return _png(_band(page, int((header - HEADER_PAD_PT) * scale), _crop_top(row, scale, margin_pt)))


def page_png(
    path: Path, page: int, dpi: float, outlined: Iterable[tuple[FieldRow, tuple[int, int, int]]]
) -> bytes:
    """A whole page with the given fields' cells outlined, each in its colour, as PNG."""
    image, scale = _page(path, page, dpi)
    draw = ImageDraw.Draw(image)
    for row, colour in outlined:
        if has_box(row) and row.page == page:
            draw.rectangle(_box(row, scale), outline=colour, width=OUTLINE_WIDTH)
    return _png(image)


def _block(row: FieldRow) -> str | None:
    """The table (or line) a field's cell was read from: ``page 2 table 2`` of ``… row 5 col 7``."""
    return row.block if row.cell_col is not None else None


@lru_cache(maxsize=16)
def _tables(path: str, mtime: float, page: int) -> tuple[tuple[float, float, float, float], ...]:
    """The boxes (x0, top, x1, bottom in PDF points from the page's top, as the cells') of the ruled tables
    pdfplumber finds on a PDF page; none on a page without a text layer, or one pdfplumber cannot parse (the
    header is then not known: the band stays the cell's). Cached: a page holds many fields."""
    import pdfplumber

    try:
        with pdfplumber.open(path) as pdf:
            if not 1 <= page <= len(pdf.pages):
                return ()
            return tuple(tuple(table.bbox) for table in pdf.pages[page - 1].find_tables())
    except Exception as exc:  # pdfminer raises many kinds; none may take the crop down
        log.warning("no tables read from page %s of %s: %s", page, path, exc)
        return ()


def header_top(path: Path, row: FieldRow, siblings: Iterable[FieldRow]) -> float | None:
    """The top of the header rows of the table holding the field's cell (PDF points), or None when they
    are not known: no table found around the cell, or the table begins with its first value row on this
    page. ``siblings``: the fields of the same extraction, whose topmost cell of the same table on the
    same page is the first value row."""
    if not has_box(row) or path.suffix.lower() in IMAGE_SUFFIXES or not is_paged(path):
        return None
    block = _block(row)
    first_value = min(
        (f.top for f in siblings if has_box(f) and f.page == row.page and _block(f) == block), default=row.top
    )
    x, y = (row.x0 + row.x1) / 2, (row.top + row.bottom) / 2
    for x0, top, x1, bottom in _tables(str(path), path.stat().st_mtime, row.page):
        if x0 <= x <= x1 and top <= y <= bottom:
            return top if top < first_value - HEADER_EPS_PT else None
    return None


@dataclass(frozen=True)
class SourceRow:
    """A row of source text: its cells (one for a plain line), whether it is the field's, which cell."""

    cells: tuple[str, ...]
    target: bool = False
    marked: int | None = None  # index in ``cells`` of the field's value


@lru_cache(maxsize=8)
def _document(path: str, mtime: float) -> Document:
    return read(Path(path))


def source_rows(path: Path, row: FieldRow, context: int) -> list[SourceRow]:
    """The source rows around a text form's field, the field's own row marked; [] when not found."""
    if _block(row) is None or not path.is_file():
        return []
    document = _document(str(path), path.stat().st_mtime)
    block_at = next((i for i, b in enumerate(document.blocks) if b.where == row.block), None)
    if block_at is None:
        return []
    block, column = document.blocks[block_at], row.cell_col - 1
    if isinstance(block, TableBlock) and row.cell_row:
        target = row.cell_row - 1
        rows = block.grid[max(0, target - context) : target + context + 1]
        first = max(0, target - context)
        return [
            SourceRow(
                tuple("" if c.copy else c.text for c in cells),
                first + i == target,
                column if first + i == target and column < len(cells) else None,
            )
            for i, cells in enumerate(rows)
        ]
    out = []
    for i in range(max(0, block_at - context), min(len(document.blocks), block_at + context + 1)):
        near = document.blocks[i]
        if isinstance(near, TableBlock):
            continue
        cells = near.cells or (near.text,)
        # the value's cell is marked only where the reader knew the line's cells and it holds the value
        marked = column if near.cells and column < len(cells) and cells[column] == row.source_text else None
        out.append(SourceRow(tuple(cells), i == block_at, marked if i == block_at else None))
    return out
