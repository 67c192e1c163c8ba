"""The scans ``ocr_compare.py`` reads and what they really say: each synthesized scan rasterized, with the
text, lines and character positions of the very PDF it was printed from, and the numbers and labels its
gold prints.

Why a replay: the synthesizer's draws for the scan's seed are replayed (same seed, same embedded font) and
the replayed scan is checked byte for byte against ``build_report(seed, "scan")``, so the reference pages
line up one to one with the scanned ones.
"""

from __future__ import annotations

import io
import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pypdfium2 as pdfium
from pdfminer.high_level import extract_pages
from pdfminer.layout import LTChar, LTTextContainer, LTTextLine

from nianbao.evaluation.synth.blocks import Block, Table
from nianbao.evaluation.synth.content import Doc, draw
from nianbao.evaluation.synth.forms import build_report, pdf_of
from nianbao.evaluation.synth.layout import report_blocks
from nianbao.evaluation.synth.pdf_fonts import EMBEDDED_FONTS
from nianbao.evaluation.synth.render_scan import render_scan

CJK = re.compile(r"[\u4e00-\u9fff]")
# A number as printed: thousand-separated (1,234.5) or plain (1234.5); fullwidth digits are NFKC-folded.
NUMBER = re.compile(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\d)|\d+(?:\.\d+)?")


@dataclass
class RefLine:
    """A text line of the source PDF, in pixels at the raster dpi (before the scanner's skew)."""

    box: tuple[float, float, float, float]  # x0, y0 (top), x1, y1
    text: str
    chars: list[tuple[float, float, str]]  # centre x, centre y, character


@dataclass
class ScanDoc:
    """One synthesized scan, rasterized, with what it really says."""

    seed: int
    pages: list[str]  # PNG paths, one per page
    ref_lines: list[list[RefLine]]  # per page, in row-major order
    numbers: Counter[str]  # canonical numbers printed for the non-null gold fields
    labels: list[str]  # distinct CJK text of the table label cells
    raster_s: float

    @property
    def ref_pages(self) -> list[str]:
        return ["\n".join(ln.text for ln in lines) for lines in self.ref_lines]


def _source(seed: int) -> tuple[bytes, bytes, Doc, list[Block], dict]:
    """(scan, the text PDF it was printed from, drawn content, blocks, gold), replaying the scan form."""
    report = build_report(seed, "scan")
    d = draw(seed, "scan", None)
    blocks = report_blocks(d)
    pdf = pdf_of(blocks, d, d.rng.choice(EMBEDDED_FONTS))
    if render_scan(pdf, d.rng) != report.content:
        raise RuntimeError(f"seed {seed}: replayed scan differs; the synthesizer changed how scans are drawn")
    return report.content, pdf, d, blocks, report.gold


def _row_major(lines: list[RefLine]) -> list[RefLine]:
    """Lines as an OCR engine reads them: rows top down, each row left to right."""
    rows: list[list[RefLine]] = []
    for line in sorted(lines, key=lambda ln: (ln.box[1], ln.box[0])):
        first = rows[-1][0].box if rows else None
        if first and line.box[1] - first[1] < 0.5 * (first[3] - first[1]):
            rows[-1].append(line)
        else:
            rows.append([line])
    return [ln for row in rows for ln in sorted(row, key=lambda ln: ln.box[0])]


def page_lines(pdf: bytes, dpi: int) -> list[list[RefLine]]:
    """Lines per page; pdfminer's own order lists a table column by column, which no engine does."""
    k, pages = dpi / 72, []
    for layout in extract_pages(io.BytesIO(pdf)):
        top, lines = layout.height, []
        for ln in (ln for box in layout if isinstance(box, LTTextContainer) for ln in box):
            if isinstance(ln, LTTextLine):
                chars = [
                    ((c.x0 + c.x1) / 2 * k, (top - (c.y0 + c.y1) / 2) * k, c.get_text())
                    for c in ln
                    if isinstance(c, LTChar)
                ]
                box = (ln.x0 * k, (top - ln.y1) * k, ln.x1 * k, (top - ln.y0) * k)
                lines.append(RefLine(box, ln.get_text().strip(), chars))
        pages.append(_row_major(lines))
    return pages


def rasterize(pdf: bytes, dpi: int, out: Path) -> list[str]:
    """Pages as grey PNGs (lossless, so every engine sees the same pixels)."""
    doc = pdfium.PdfDocument(pdf)
    try:
        paths = []
        for i, page in enumerate(doc):
            path = out.with_name(f"{out.name}_p{i}.png")
            page.render(scale=dpi / 72, grayscale=True).to_pil().convert("L").save(path)
            paths.append(str(path))
        return paths
    finally:
        doc.close()


def canonical_numbers(text: str) -> Counter[str]:
    """Numbers in text, spelled one way: no thousand separators, no trailing decimal zeros."""
    out: Counter[str] = Counter()
    for m in NUMBER.finditer(unicodedata.normalize("NFKC", text)):
        token = m.group().replace(",", "")
        if "." in token:
            token = token.rstrip("0").rstrip(".") or "0"
        out[token] += 1
    return out


def make_doc(seed: int, dpi: int, tmp: Path) -> ScanDoc:
    scan, pdf, d, blocks, gold = _source(seed)
    started = time.perf_counter()
    pages = rasterize(scan, dpi, tmp / f"s{seed}")
    raster_s = time.perf_counter() - started
    ref_lines = page_lines(pdf, dpi)
    if len(ref_lines) != len(pages):
        raise RuntimeError(f"seed {seed}: {len(pages)} scanned pages but {len(ref_lines)} source pages")
    numbers: Counter[str] = Counter()
    for key, value in gold["fields"].items():
        if value is not None and key in d.printed:  # printed as a number, not a null token
            numbers += canonical_numbers(d.printed[key] or "")
    cells = (c.text for b in blocks if isinstance(b, Table) for c in b.cells if not c.num)
    labels = [t for t in dict.fromkeys("".join(CJK.findall(c)) for c in cells) if len(t) >= 2]
    return ScanDoc(seed, pages, ref_lines, numbers, labels, raster_s)
