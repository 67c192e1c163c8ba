"""What a reviewer looks at to decide a field: the page around the cell, or the source rows around it.

Files are opened only through a document row of the store (the path the batch or an upload recorded),
never through a path a client names. Page images are rendered server-side (pypdfium2 for PDFs, Pillow
for page images) and cropped to the cell's band of the page, the full width kept so the row's printed
label is in view, with the cell outlined.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from PIL import Image, ImageDraw

from nianbao.extraction.document import Document, TableBlock
from nianbao.extraction.readers import read
from nianbao.extraction.readers.image import IMAGE_SUFFIXES
from nianbao.extraction.readers.scan import ScanSettings, capped_dpi
from nianbao.store import FieldRow

POINTS_PER_INCH = 72
OUTLINE = (220, 30, 30)
# A field's location: "<block> row R col C" for table cells, "<block> col C" for a line of text.
LOCATION = re.compile(r"^(?P<block>.+?)(?: row (?P<row>\d+))? col (?P<col>\d+)$")


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
            return handle.read(1024).lstrip().startswith(b"%PDF")
    except OSError:
        return False


@lru_cache(maxsize=8)
def _page_image(path: str, mtime: float, page: int, dpi: float) -> tuple[Image.Image, float]:
    """A page as an RGB image and its pixels per PDF point; cached since a page holds many fields."""
    if Path(path).suffix.lower() in IMAGE_SUFFIXES:
        with Image.open(path) as image:
            image.seek(page - 1)
            # the scan reader's convention: the image's own dpi, else the scan settings' default
            own_dpi = float(image.info.get("dpi", (0, 0))[0]) or ScanSettings().dpi
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


def crop_png(path: Path, row: FieldRow, dpi: float, margin_pt: float) -> bytes:
    """The band of the page around the field's cell, the cell outlined, as PNG."""
    if not has_box(row):
        raise EvidenceMissing("the field has no page box")
    if not path.is_file():
        raise EvidenceMissing("the document's file is no longer where it was read")
    try:
        page, scale = _page_image(str(path), path.stat().st_mtime, row.page, dpi)
    except (OSError, EOFError, ValueError) as exc:  # Pillow's seek past the last frame, a broken file
        raise EvidenceMissing(f"the page cannot be rendered ({exc.__class__.__name__})") from exc
    top = max(0, int((row.top - margin_pt) * scale))
    bottom = min(page.height, int((row.bottom + margin_pt) * scale) + 1)
    band = page.crop((0, top, page.width, bottom))
    box = [row.x0 * scale, row.top * scale - top, row.x1 * scale, row.bottom * scale - top]
    ImageDraw.Draw(band).rectangle(box, outline=OUTLINE, width=2)
    out = io.BytesIO()
    band.save(out, format="PNG", optimize=True)
    return out.getvalue()


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
    found = LOCATION.match(row.location or "")
    if found is None or not path.is_file():
        return []
    document = _document(str(path), path.stat().st_mtime)
    block_at = next((i for i, b in enumerate(document.blocks) if b.where == found["block"]), None)
    if block_at is None:
        return []
    block, column = document.blocks[block_at], int(found["col"]) - 1
    if isinstance(block, TableBlock) and found["row"]:
        target = int(found["row"]) - 1
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
