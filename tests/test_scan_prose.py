"""A scanned page's text outside its tables: lines from the ink profile, the detector only for what the
profile cannot split, paragraph bodies past the first table left unread. Pages are drawn here."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from nianbao.extraction.readers.scan_prose import (
    BODY_WIDTH,
    MAX_GLYPH_PT,
    page_ink,
    prose_layout,
    prose_lines,
)

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
pytestmark = pytest.mark.skipif(not FONT.exists(), reason="fonts-wqy-zenhei is not installed")
DPI = 200.0
WIDTH, HEIGHT, SIZE = 1650, 1200, 33  # an A4 page's width at 200 dpi, 12 pt text
LEFT = 230
BODY = "本机关全年主动公开政府信息一千余条，其中规章与行政规范性文件均按规定及时发布并更新"
HEADING = "二、主动公开政府信息情况"


def _page(lines: list[tuple[int, int, str]], size: int = SIZE, bold: int = 0) -> Image.Image:
    """White paper with ``(x, y, text)`` lines drawn in black, their strokes ``bold`` pixels thicker."""
    page = Image.new("L", (WIDTH, HEIGHT), 255)
    draw, font = ImageDraw.Draw(page), ImageFont.truetype(str(FONT), size)
    for x, y, text in lines:
        draw.text((x, y), text, font=font, fill=0, stroke_width=bold, stroke_fill=0)
    return page


def _layout(page: Image.Image | np.ndarray):
    gray = np.asarray(page)
    return prose_layout(page_ink(gray, DPI), DPI)


def test_each_printed_line_is_one_run_of_inked_rows() -> None:
    layout = _layout(_page([(LEFT, 100, HEADING), (LEFT + 66, 170, BODY), (LEFT, 240, "无。")]))
    assert layout.bands == []
    assert [len(line) for line in layout.lines] == [1, 1, 1]
    tops = [line[0].top for line in layout.lines]
    assert tops == sorted(tops) and all(abs(t - y) < 12 for t, y in zip(tops, (100, 170, 240), strict=True))


def test_a_label_and_its_distant_value_are_two_texts_of_one_line() -> None:
    [line] = _layout(_page([(LEFT, 100, "行政许可"), (1200, 100, "28")])).lines
    assert len(line) == 2 and line[1].x0 > 1150


def test_a_bold_heading_whose_glyphs_touch_is_a_line_not_a_band_for_the_detector() -> None:
    """Glyphs thickened until they touch make one mark longer than any glyph but of a glyph's height:
    text, not a seal or a figure (the detector would cost a tenth of a second for it)."""
    gray = np.asarray(_page([(LEFT, 300, HEADING)], size=40, bold=3))
    _, _, stats, _ = cv2.connectedComponentsWithStats((gray < 128).astype(np.uint8))
    assert stats[1:, cv2.CC_STAT_WIDTH].max() > MAX_GLYPH_PT * DPI / 72  # the glyphs do touch
    layout = _layout(gray)
    assert layout.bands == []
    [[box]] = layout.lines
    assert abs(box.x0 - LEFT) < 12 and abs(box.top - 300) < 16 and box.x1 > LEFT + 400


def test_a_speck_before_a_line_and_a_scanners_grey_edge_are_no_text() -> None:
    gray = np.asarray(_page([(LEFT, 300, HEADING)])).copy()
    cv2.circle(gray, (LEFT - 14, 318), 3, 0, -1)  # a speck just before the first glyph
    gray[:, WIDTH - 60 :] = np.linspace(255, 110, 60).astype(np.uint8)  # a lid's shadow darkening to the edge
    [line] = _layout(gray).lines
    assert len(line) == 1
    assert line[0].x0 >= LEFT - 4 and line[0].x1 < WIDTH - 200


def test_a_seal_over_the_signature_is_left_to_the_detector() -> None:
    signature = [(1000, 600, "某某县人民政府"), (1000, 660, "2024年1月20日")]
    gray = np.asarray(_page([*signature, (LEFT, 300, HEADING)])).copy()
    cv2.circle(gray, (1120, 650), 130, 90, 6)  # a seal's ring, darker than the paper, over both lines
    layout = _layout(gray)
    assert [line[0].top for line in layout.lines] == [pytest.approx(300, abs=12)]
    [(top, bottom)] = layout.bands
    assert top <= 520 and bottom >= 780


def test_paragraph_bodies_past_the_first_table_are_not_read() -> None:
    """Below ``body_from`` a line as long as a paragraph's is skipped; a heading and a paragraph's short
    last line are still read, and above it every line is."""
    last = "提升公开质量。"
    lines = [(LEFT + 66, 100, BODY), (LEFT, 200, HEADING), (LEFT + 66, 300, BODY), (LEFT, 370, last)]
    gray = np.asarray(_page(lines))
    assert (len(BODY) * SIZE) / WIDTH >= BODY_WIDTH
    read = [" ".join(box.text for box in line) for line in prose_lines(gray, DPI, body_from=150)]
    assert len(read) == 3
    assert read[0].startswith("本机关全年") and read[1:] == [HEADING, last]
    assert len(prose_lines(gray, DPI)) == 4
