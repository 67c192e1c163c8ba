"""OCR of table cells: upright cuts that keep a lone digit upright, and digits-only decoding of numbers.

Crops are rendered here with a font a synthesized scan is printed with, so they carry no OCR of their own.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from nianbao.extraction.ocr import (
    BAND_HEIGHT,
    NARROW_TRUST,
    REC_WIDTHS,
    _decode,
    _decode_number,
    _recognise,
    detect_quads,
    engine,
    read_lines,
    reads_as_number,
    rec_width,
    vertical,
    warp,
)

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not FONT.exists(), reason="fonts-wqy-zenhei is not installed"),
]


def _crop(text: str, size: int = 30, blur: float = 0.0, ink: int = 0) -> np.ndarray:
    """The text drawn on white and cut to its ink with a few pixels of paper, as a cell crop is."""
    image = Image.new("L", (20 + size * (len(text) + 1), 2 * size), 255)
    ImageDraw.Draw(image).text((10, size // 3), text, font=ImageFont.truetype(str(FONT), size), fill=ink)
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur))
    pixels = np.array(image)
    rows, cols = np.flatnonzero((pixels < 200).any(axis=1)), np.flatnonzero((pixels < 200).any(axis=0))
    return pixels[max(0, rows[0] - 5) : rows[-1] + 6, max(0, cols[0] - 5) : cols[-1] + 6]


@pytest.mark.parametrize("text", ["0", "-3", "108", "7", "1,204", "+12"])
@pytest.mark.parametrize(("blur", "ink"), [(0.0, 0), (1.2, 150)])  # crisp, and a faint blurred scan
def test_a_number_cell_reads_as_its_digits(text: str, blur: float, ink: int) -> None:
    [(read, score)] = read_lines([_crop(text, blur=blur, ink=ink)])
    assert read == text
    assert 0.5 < score <= 1.0


@pytest.mark.parametrize(("printed", "number"), [("—3", "-3"), ("〇", "0"), ("1O8", "108")])
def test_look_alike_glyphs_are_decoded_as_digits(printed: str, number: str) -> None:
    """A dash, a CJK zero or a letter O where a digit is expected: the digits-only decode of the same
    probabilities gives the number, never the look-alike."""
    [(read, _)] = read_lines([_crop(printed)])
    assert read == number


def test_the_digit_decode_picks_the_best_number_class_at_each_step() -> None:
    """Probabilities whose best class is the letter "o" with "0" second, framed by blanks."""
    index = engine().text_rec.postprocess_op.dict
    steps = np.full((1, 5, len(engine().text_rec.postprocess_op.character)), 1e-4, np.float32)
    steps[0, [0, 4], 0] = 0.99  # blank
    steps[0, 1:4, index["o"]], steps[0, 1:4, index["0"]] = 0.6, 0.3
    assert _decode(steps, None) == ("o", pytest.approx(0.6))
    steps[0, 1, index["."]] = 0.95  # likelier than "0" where the glyph begins: no number starts with "."
    assert _decode_number(steps) == ("0", pytest.approx(0.9, abs=1e-3)), (
        "a digit's look-alikes count as the digit"
    )


def test_a_faint_minus_before_the_digits_is_kept() -> None:
    """A short dash the free reading gives to blank (0.41 against 0.51) is still the number's sign."""
    index = engine().text_rec.postprocess_op.dict
    steps = np.full((1, 6, len(engine().text_rec.postprocess_op.character)), 1e-4, np.float32)
    steps[0, :, 0] = 0.95
    steps[0, 1, 0], steps[0, 1, index["-"]] = 0.51, 0.41
    steps[0, 3, 0], steps[0, 3, index["3"]] = 0.02, 0.96
    assert _decode(steps, None)[0] == "3"
    assert _decode_number(steps)[0] == "-3"
    steps[0, 1, 0], steps[0, 1, index["-"]] = 0.9, 0.02  # no dash there: no sign made up
    assert _decode_number(steps)[0] == "3"


@pytest.mark.parametrize(
    ("text", "number"),
    [("o", True), ("1o8", True), ("一3", True), ("—", False), ("——", False), ("其他", False), ("3元", True)],
)
def test_what_reads_as_a_number(text: str, number: bool) -> None:
    assert reads_as_number(text) is number


def _quad(x: float, y: float, w: float, h: float) -> np.ndarray:
    return np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], np.float32)


def test_a_lone_digit_box_is_cut_upright_and_reads_as_zero() -> None:
    """A detector's box round a lone "0" (tight at the sides, a line high) is taller than wide, like
    vertical text, but only one line high: it is not turned, and reads as 0."""
    page = np.full((200, 400), 255, np.uint8)
    digit = _crop("0")
    page[50 : 50 + digit.shape[0], 100 : 100 + digit.shape[1]] = digit
    rows, cols = np.flatnonzero((page < 200).any(axis=1)), np.flatnonzero((page < 200).any(axis=0))
    x, y, w, h = cols[0] - 2, rows[0] - 6, cols[-1] - cols[0] + 5, rows[-1] - rows[0] + 13
    assert h >= 1.5 * w, "the test needs a box RapidOCR's own cut would turn"
    quads = [_quad(x, y, w, h), _quad(10, 120, 300, h), _quad(10, 160, 200, h)]
    assert vertical(quads)[0] is False
    upright, turned = warp(page, quads[0], turn=False), warp(page, quads[0], turn=True)
    assert upright.shape == (h, w) and turned.shape == (w, h)
    assert read_lines([upright])[0][0] == "0"


def test_a_vertical_label_is_turned() -> None:
    line = 35.0
    quads = [_quad(0, 0, 30, 4 * line), _quad(50, 0, 300, line), _quad(50, 50, 200, line)]
    assert vertical(quads) == [True, False, False]


def test_the_recogniser_sees_a_few_input_widths_each_holding_its_line() -> None:
    widths = [rec_width(w) for w in range(1, 8000, 7)]
    assert all(got >= w for got, w in zip(widths, range(1, 8000, 7), strict=True))
    assert all(got <= max(64, 1.3 * w) for got, w in zip(widths, range(1, 8000, 7), strict=True))
    assert len({w for w in widths if w <= 3040}) <= 20, "each width is an onnxruntime shape, slow at first"


def test_an_unsure_reading_at_the_narrowest_width_is_made_again_with_more_room() -> None:
    """A lone "/" (a printed null) padded to 48 reads as "1" at about 0.5; at 64 it reads as "/". A lone
    "0" is sure at 48 and read once."""
    slash = np.full((30, 20), 235, np.uint8)
    cv2.line(slash, (16, 3), (3, 26), 110, 2, cv2.LINE_AA)
    narrow, wider = REC_WIDTHS[:2]
    assert rec_width(48 * 20 / 30) == narrow
    text, score = _recognise(cv2.cvtColor(slash, cv2.COLOR_GRAY2BGR), narrow)
    assert (text, score < NARROW_TRUST) == ("1", True)
    assert read_lines([slash]) == [_recognise(cv2.cvtColor(slash, cv2.COLOR_GRAY2BGR), wider)]
    assert read_lines([slash])[0][0] == "/"
    zero = _crop("0")
    assert rec_width(48 * zero.shape[1] / zero.shape[0]) == narrow
    assert _recognise(cv2.cvtColor(zero, cv2.COLOR_GRAY2BGR), narrow)[1] >= NARROW_TRUST


def test_a_line_on_a_band_edge_is_found_once() -> None:
    # The detector sees the page in bands; a line centred on the edge between two is in both bands'
    # margins, and each may find it with its centre a pixel to its own side. Kept twice, "82" is read
    # "8282". Lines a few pixels above and below the edge, so that some fall between the two readings.
    offsets = range(-4, 5)
    page = Image.new("L", (120 * len(offsets) + 100, 3 * BAND_HEIGHT), 255)
    font = ImageFont.truetype(str(FONT), 34)
    draw = ImageDraw.Draw(page)
    for i, dy in enumerate(offsets):
        top, bottom = draw.textbbox((0, 0), "82", font=font)[1::2]
        draw.text((50 + 120 * i, BAND_HEIGHT + dy - (top + bottom) / 2), "82", font=font, fill=0)
    quads = detect_quads(np.array(page.filter(ImageFilter.GaussianBlur(0.8))))
    on_edge = [q for q in quads if abs(q[:, 1].mean() - BAND_HEIGHT) < 20]
    assert len(on_edge) == len(offsets)
