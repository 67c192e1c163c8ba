"""Page images for ``nianbao inspect``: each page of a PDF or an image file as its reader saw it.

Why a module of its own: the overlay (inspect_overlay.py) is drawn in PDF points from the top-left,
the unit of ``PageBox``; this module owns how a page becomes pixels at that scale. A page read by OCR is
rendered at the scan resolution and deskewed exactly as the reader did before it is scaled down, so the
cells it found land on the ink they were read from. Pages are grayscale: the overlay's colours then stand out.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterator
from dataclasses import dataclass

import pdfplumber
import pypdfium2
from PIL import Image

from nianbao.extraction.document import PageBox
from nianbao.extraction.readers import is_pdf
from nianbao.extraction.readers.image import image_dpi, page_frames
from nianbao.extraction.readers.pdf import rasterize
from nianbao.extraction.readers.pdf_layers import Layer, text_layer
from nianbao.extraction.readers.scan import ScanSettings, deskew

PAGE_SCALE = 1.5  # pixels per PDF point in the page images: 108 dpi, an A4 page 893 px wide
POINTS_PER_INCH = 72


@dataclass(frozen=True)
class PageImage:
    """One page: its size in points, a PNG data URI, and the text lines of its text layer (none on a
    page read by OCR, whose lines carry no box)."""

    number: int
    width: float
    height: float
    uri: str
    lines: tuple[tuple[str, PageBox], ...] = ()


def page_images(data: bytes) -> Iterator[PageImage]:
    """The pages of a PDF or of an image file (every frame of a TIFF), one at a time."""
    yield from _pdf_pages(data) if is_pdf(data) else _image_pages(data)


def _data_uri(image: Image.Image, width: float, height: float) -> str:
    """``image`` scaled to PAGE_SCALE pixels per point, as a PNG data URI: no file beside the page."""
    size = (max(1, round(width * PAGE_SCALE)), max(1, round(height * PAGE_SCALE)))
    if image.size != size:
        image = image.resize(size, Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _text_lines(data: bytes) -> dict[int, tuple[tuple[str, PageBox], ...] | None]:
    """Per page, the text lines of its text layer as the PDF reader takes them; None for a page the
    reader sends to OCR (readers/pdf_layers.py decides, as it does for the reader)."""
    out: dict[int, tuple[tuple[str, PageBox], ...] | None] = {}
    with pdfplumber.open(io.BytesIO(data)) as pdf:
        for number, page in enumerate(pdf.pages, 1):
            layer = text_layer(page, data)
            if layer is Layer.OCR:
                out[number] = None
                continue
            read = page.dedupe_chars() if layer is Layer.DOUBLED else page
            lines = read.extract_text_lines(return_chars=False) if layer is not Layer.BLANK else []
            out[number] = tuple(
                (line["text"], PageBox(line["x0"], line["top"], line["x1"], line["bottom"], page=number))
                for line in lines
                if line["text"].strip()
            )
            page.flush_cache()
    return out


def _pdf_pages(data: bytes) -> Iterator[PageImage]:
    lines = _text_lines(data)
    pdf = pypdfium2.PdfDocument(data)
    try:
        for number in range(1, len(pdf) + 1):
            page = pdf[number - 1]
            width, height = page.get_size()
            found = lines.get(number)
            if found is None:  # read by OCR: the resolution and deskew of the reader, then scaled
                gray, dpi = next(rasterize(data, [number]))
                image = Image.fromarray(deskew(gray, ScanSettings(dpi=dpi)))
            else:
                image = page.render(scale=PAGE_SCALE, grayscale=True).to_pil().convert("L")
            page.close()
            yield PageImage(number, width, height, _data_uri(image, width, height), found or ())
    finally:
        pdf.close()


def _image_pages(data: bytes) -> Iterator[PageImage]:
    image = Image.open(io.BytesIO(data))
    dpi = image_dpi(image)
    settings = ScanSettings(dpi=dpi)
    for number, pixels in enumerate(page_frames(image), 1):
        gray = deskew(pixels, settings)
        height, width = (side * POINTS_PER_INCH / dpi for side in gray.shape)
        yield PageImage(number, width, height, _data_uri(Image.fromarray(gray), width, height))
