"""The PDF forms of a synthesized report: the text PDF carries the report's text in the promised fonts,
tables are ruled and torn across pages, and its scan is image-only; both are reproducible from a seed."""

from __future__ import annotations

import io
import random

import numpy as np
import pypdfium2 as pdfium
import pytest
from pdfminer.high_level import extract_pages, extract_text
from pdfminer.layout import LTRect
from pdfminer.pdfdocument import PDFDocument
from pdfminer.pdfpage import PDFPage
from pdfminer.pdfparser import PDFParser
from pdfminer.pdftypes import resolve1

from nianbao.evaluation.synth.blocks import Block, Cell, Heading, Page, Para, Table, place
from nianbao.evaluation.synth.pdf_fonts import EMBEDDED_FONTS, FONTS
from nianbao.evaluation.synth.render_pdf import render_pdf
from nianbao.evaluation.synth.render_scan import render_scan

pytestmark = pytest.mark.slow  # OCR, training, a browser, a server or workers: -m 'not slow' skips it

AGENCY = "金乡县人民政府办公室"
TITLE = f"{AGENCY}2023年政府信息公开工作年度报告"
LABEL = "（三）不予公开"


def _s3(rows: int) -> Table:
    """An s3-like table: a vertical header, a 2x2 corner, a row-spanning block label, number columns."""
    head = [
        [
            Cell("（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）", rs=2, cs=2),
            Cell("申\n请\n人\n情\n况", cs=3),
        ],
        [Cell("自然人"), Cell("商业企业"), Cell("总计")],
    ]
    body = [
        [
            Cell(f"{i}. 属于三类内部事务信息的第{i}种情形"),
            *(Cell(str(v), num=True) for v in (i, 4800 + i, 4800 + 2 * i)),
        ]
        for i in range(1, rows + 1)
    ]
    body[0].insert(0, Cell(LABEL, rs=rows))
    return place(head + body, head=2, widths=[], kind="s3")


def _s4() -> Table:
    """The template's s4: three groups of five outcomes over one row of fifteen numbers."""
    outs = ["结果\n维持", "结果\n纠正", "其他\n结果", "尚未\n审结", "总计"]
    rows = [
        [Cell("行政复议", cs=5), Cell("未经复议直接起诉", cs=5), Cell("复议后起诉", cs=5)],
        [Cell(o) for _ in range(3) for o in outs],
        [Cell(str(12345 + i), num=True) for i in range(15)],
    ]
    return place(rows, head=2, widths=[], kind="s4")


def _report(rows: int = 4) -> list[Block]:
    return [
        Heading(TITLE, 0),
        Para(f"本报告由{AGENCY}按照《中华人民共和国政府信息公开条例》要求编制。" * 3),
        Heading("一、总体情况", 1),
        Heading("（一）依申请公开情况", 2),
        Page("— 2 —"),
        _s3(rows),
        Heading("四、政府信息公开行政复议、行政诉讼情况", 1),
        _s4(),
    ]


def _pdf(seed: int = 1, rows: int = 4, font: str | None = "wqy-zenhei") -> bytes:
    return render_pdf(_report(rows), random.Random(seed), title=TITLE, author=AGENCY, font=font)


def _text(pdf: bytes, pages: list[int] | None = None) -> str:
    """The text layer without whitespace: a wrapped title or label is still one string."""
    return "".join(extract_text(io.BytesIO(pdf), page_numbers=pages).split())


def _fonts(pdf: bytes) -> dict[str, bool]:
    """BaseFont -> whether the PDF embeds a font program for it."""
    out = {}
    for page in PDFPage.create_pages(PDFDocument(PDFParser(io.BytesIO(pdf)))):
        for ref in resolve1(page.resources.get("Font", {})).values():
            font = resolve1(ref)
            leaf = resolve1(resolve1(font["DescendantFonts"])[0]) if "DescendantFonts" in font else font
            descriptor = resolve1(leaf.get("FontDescriptor", {}))
            out[font["BaseFont"].name] = any(k in descriptor for k in ("FontFile", "FontFile2", "FontFile3"))
    return out


def _pages(pdf: bytes) -> int:
    return len(pdfium.PdfDocument(pdf))


@pytest.mark.parametrize("font", FONTS)
def test_text_pdf_carries_title_labels_and_numbers(font: str) -> None:
    pdf = _pdf(font=font)
    text = _text(pdf)
    assert TITLE in text and LABEL in text and "商业企业" in text
    assert "4801" in text and "12359" in text
    info = PDFDocument(PDFParser(io.BytesIO(pdf))).info[0]
    assert resolve1(info["Title"]).decode("utf-16") == TITLE


def test_same_seed_same_bytes() -> None:
    assert _pdf(seed=3, font=None) == _pdf(seed=3, font=None)
    assert len({_pdf(seed=s, font=None) for s in range(3)}) > 1


def test_truetype_fonts_are_embedded_and_stsong_is_not() -> None:
    for font in EMBEDDED_FONTS:
        fonts = _fonts(_pdf(font=font))
        assert fonts and all(fonts.values())
    assert _fonts(_pdf(font="STSong-Light")) == {"STSong-Light": False}


def test_unknown_font_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown font"):
        _pdf(font="SimSun")


def test_tables_are_ruled_within_the_page_width() -> None:
    pages = list(extract_pages(io.BytesIO(_pdf(font="uming"))))
    rects = [r for page in pages for r in page if isinstance(r, LTRect)]
    assert len(rects) == len(_s3(4).cells) + len(_s4().cells)  # one box per cell, a merged cell once
    assert max(r.x1 for r in rects) < pages[0].width - 50  # fifteen number columns inside the margin


def test_long_table_breaks_across_pages() -> None:
    long_pdf = _pdf(seed=5, rows=45)
    n = _pages(long_pdf)
    assert n >= 2
    first, rest = _text(long_pdf, [0]), _text(long_pdf, list(range(1, n)))
    assert "1.属于三类内部事务信息的第1种情形" in first and "第45种" not in first
    assert "45.属于三类内部事务信息的第45种情形" in rest
    assert all(
        any(mark in _text(long_pdf, [i]) for mark in (f"—{i + 1}—", f"-{i + 1}-", f"第{i + 1}页"))
        for i in range(n)
    )


def test_scan_is_image_only_and_reproducible() -> None:
    pdf = _pdf(seed=2, rows=25)
    scan = render_scan(pdf, random.Random(9))
    assert scan == render_scan(pdf, random.Random(9))
    assert _pages(scan) == _pages(pdf) >= 2
    assert _text(scan) == "" and b"/Font" not in scan
    assert b"/DCTDecode" in scan
    page = pdfium.PdfDocument(scan)[0]
    assert page.get_size() == pytest.approx((595.3, 841.9), abs=1)  # still A4
    grey = np.asarray(page.render(scale=0.5, grayscale=True).to_pil())
    assert (grey < 100).mean() > 0.001  # ink, not a blank page
