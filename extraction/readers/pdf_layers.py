"""Is a PDF page's text layer usable? Which pages must be read by OCR, and which only need de-doubling.

Why per page: one PDF often mixes printed pages with scanned ones, or a table pasted in a font without a
Unicode map among pages that read fine. A page is OCRed when its characters do not say what is drawn:
no characters at all over drawn content, glyphs pdfminer can only name by CID ("(cid:123)"), private-use or
replacement characters, or text that is invisible over a page-sized image (another tool's OCR layer, which
we do not trust over our own reading). Characters drawn twice a fraction of a point apart (a printer's
fake bold) are real text and only need de-duplicating.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from enum import Enum

import pdfplumber
import pypdfium2
import pypdfium2.raw as pdfium_c

_CID = re.compile(r"^\(cid:\d+\)$")
UNMAPPED_FONT_SHARE = 0.2  # a font with this share of (cid:N) glyphs has no Unicode map at all
UNUSABLE_PAGE_SHARE = 0.1  # a page with more unusable characters than this is read by OCR
DOUBLED_PAGE_SHARE = 0.05  # a page with more doubled characters than this is de-duplicated
PAGE_IMAGE_COVER = 0.8  # an image over this share of the page is a scanned page
INVISIBLE = 3  # PDF text render mode: neither filled nor stroked


class Layer(Enum):
    TEXT = "text"
    DOUBLED = "doubled"  # usable once the second copy of each glyph is dropped
    OCR = "ocr"  # no usable text: read the page image
    BLANK = "blank"  # nothing drawn


def _unmapped(text: str) -> bool:
    return bool(_CID.match(text)) or any(ch == "\ufffd" or 0xE000 <= ord(ch) <= 0xF8FF for ch in text)


def unusable_share(chars: list[dict]) -> float:
    """Share of characters that do not name a Unicode character, counting every glyph of a font that
    lacks a Unicode map (its other codes come out as stray Latin letters, not as (cid:N))."""
    if not chars:
        return 0.0
    per_font = Counter(ch["fontname"] for ch in chars)
    cids = Counter(ch["fontname"] for ch in chars if _unmapped(ch["text"]))
    unmapped_fonts = {f for f, n in cids.items() if n >= UNMAPPED_FONT_SHARE * per_font[f]}
    bad = sum(1 for ch in chars if ch["fontname"] in unmapped_fonts or _unmapped(ch["text"]))
    return bad / len(chars)


def doubled_share(chars: list[dict]) -> float:
    """Share of characters drawn again within a point of an earlier copy of the same character."""
    seen: set[tuple[str, int, int]] = set()
    doubled = 0
    for ch in chars:
        text, top, x = ch["text"], round(ch["top"]), math.floor(ch["x0"])
        if any((text, top, x + d) in seen for d in (-1, 0, 1)):
            doubled += 1
        seen.add((text, top, x))
    return doubled / len(chars) if chars else 0.0


def _page_sized_image(page: pdfplumber.page.Page) -> bool:
    area = float(page.width * page.height)
    return any(
        (im["x1"] - im["x0"]) * (im["bottom"] - im["top"]) >= PAGE_IMAGE_COVER * area for im in page.images
    )


def _all_text_invisible(pdf: pypdfium2.PdfDocument, index: int) -> bool:
    """Every text object of the page drawn in render mode 3 (pdfminer does not keep the mode; pdfium does)."""
    page = pdf[index]
    try:
        modes = [
            pdfium_c.FPDFTextObj_GetTextRenderMode(obj.raw)
            for obj in page.get_objects(filter=[pdfium_c.FPDF_PAGEOBJ_TEXT])
        ]
    finally:
        page.close()
    return bool(modes) and all(mode == INVISIBLE for mode in modes)


def text_layer(page: pdfplumber.page.Page, data: bytes) -> Layer:
    """How to read one page; ``data`` is the whole PDF, opened with pdfium only for a page-sized image."""
    chars = page.chars
    if not chars:
        drawn = page.images or page.rects or page.lines or page.curves
        return Layer.OCR if drawn else Layer.BLANK
    if unusable_share(chars) > UNUSABLE_PAGE_SHARE:
        return Layer.OCR
    if _page_sized_image(page):  # rare: pay for a second parser only here
        pdf = pypdfium2.PdfDocument(data)
        try:
            if _all_text_invisible(pdf, page.page_number - 1):
                return Layer.OCR
        finally:
            pdf.close()
    return Layer.DOUBLED if doubled_share(chars) > DOUBLED_PAGE_SHARE else Layer.TEXT
