"""The image table finder (rules → grid → merged cells) and OCR clean-up, on drawn pages without OCR."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from nianbao.extraction.readers.ink_lines import text_rows
from nianbao.extraction.readers.scan import (
    ScanSettings,
    deskew,
    rule_masks,
    skew_degrees,
    table_boxes,
    table_grid,
)
from nianbao.extraction.readers.scan_cells import UNREAD_INK_TRUST, Grid, as_digits, grid_cells

pytestmark = pytest.mark.slow  # OCR, training, a browser, a server or workers: -m 'not slow' skips it

FONT = Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc")

SETTINGS = ScanSettings()


def _page(skew: float = 0.0) -> np.ndarray:
    """A white page with a 3x3 ruled table whose first column's lower two cells are merged, plus a
    stack of vertical text-like strokes inside a cell (not a rule) and a line of prose."""
    page = np.full((1400, 1000), 255, np.uint8)
    xs, ys = [100, 400, 650, 900], [300, 360, 420, 480]
    for x in xs:
        cv2.line(page, (x, ys[0]), (x, ys[-1]), 0, 2)
    cv2.line(page, (xs[0], ys[0]), (xs[-1], ys[0]), 0, 2)
    cv2.line(page, (xs[0], ys[1]), (xs[-1], ys[1]), 0, 2)
    cv2.line(page, (xs[1], ys[2]), (xs[-1], ys[2]), 0, 2)  # not across column 0: a merged cell
    cv2.line(page, (xs[0], ys[3]), (xs[-1], ys[3]), 0, 2)
    cv2.line(page, (520, 372), (520, 408), 0, 3)  # a tall stroke of a glyph, padded inside its cell
    cv2.putText(page, "report text line", (100, 200), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    if skew:
        matrix = cv2.getRotationMatrix2D((500, 700), skew, 1.0)
        page = cv2.warpAffine(page, matrix, (1000, 1400), borderValue=255)
    return page


@pytest.mark.parametrize("skew", [0.0, 1.2, -0.8])
def test_rules_grid_and_merged_cells(skew: float) -> None:
    page = deskew(_page(skew), SETTINGS)
    horizontal, vertical = rule_masks(page, SETTINGS)
    boxes = table_boxes(horizontal, vertical, SETTINGS)
    assert len(boxes) == 1
    grid = table_grid(horizontal, vertical, boxes[0], SETTINGS)
    assert len(grid.xs) == 4 and len(grid.ys) == 4, "a glyph's stroke is not a column rule"
    assert (1, 0, 3, 1) in grid.cells, "no rule between the lower two cells of column 0: one cell"
    assert len(grid.cells) == 8


@pytest.mark.parametrize("skew", [0.37, -1.9, 3.2])
def test_the_skew_is_measured_to_a_twentieth_of_a_degree(skew: float) -> None:
    """Each rule's slope is fitted through its pixels: the measure is far finer than a Hough angle step
    (0.2 degrees), and a page rotated back by it is level."""
    measured = skew_degrees(_page(skew), SETTINGS)
    assert measured is not None and abs(measured + skew) < 0.05
    assert abs(skew_degrees(deskew(_page(skew), SETTINGS), SETTINGS) or 0.0) < 0.05


def test_a_page_without_rules_has_no_table() -> None:
    page = np.full((800, 600), 255, np.uint8)
    cv2.putText(page, "just prose", (50, 100), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    horizontal, vertical = rule_masks(page, SETTINGS)
    assert table_boxes(horizontal, vertical, SETTINGS) == []


@pytest.mark.parametrize(
    ("ocr", "cell"),
    [
        ("o", "0"),
        ("1o", "10"),
        ("l2", "12"),
        ("0.", "0"),
        ("3.5", "3.5"),
        ("1,2O4", "1,204"),
        ("'o", "0"),  # a speck beside a lone zero
        ("12`", "12"),
        ("其他", "其他"),
    ],
)
def test_digit_lookalikes_in_a_number_cell(ocr: str, cell: str) -> None:
    assert as_digits(ocr) == cell


def _two_cells(left: str, right: str, rule: bool, gap: int = 6) -> tuple[np.ndarray, np.ndarray]:
    """Two cells side by side, each text ``gap`` pixels from the rule between them (or no rule: one
    cell), and the rules' mask; with a gap of 0 the left text touches the rule."""
    image, rules = Image.new("L", (420, 70), 255), Image.new("L", (420, 70), 0)
    draw, font = ImageDraw.Draw(image), ImageFont.truetype(str(FONT), 30)
    for canvas, ink in ((draw, 0), (ImageDraw.Draw(rules), 255)):
        canvas.rectangle((2, 2, 417, 67), outline=ink, width=2)
        if rule:
            canvas.line((210, 2, 210, 67), fill=ink, width=2)
    draw.text((209 - gap - draw.textlength(left, font=font), 18), left, font=font, fill=0)
    draw.text((216, 18), right, font=font, fill=0)
    return np.array(image), cv2.dilate(np.array(rules), np.ones((3, 3), np.uint8))


def _two_cells_read(page: tuple[np.ndarray, np.ndarray], rule: bool) -> list[str]:
    cells = [(0, 0, 1, 1), (0, 1, 1, 2)] if rule else [(0, 0, 1, 2)]
    grid = Grid([2, 210, 417], [2, 67], cells)
    return [c.text for c in grid_cells(page[0], grid, page=1, dpi=200.0, rules=page[1])[0]]


@pytest.mark.skipif(not FONT.exists(), reason="fonts-wqy-zenhei is not installed")
@pytest.mark.parametrize("rule", [True, False])
def test_text_hard_against_a_rule_is_read_per_cell(rule: bool) -> None:
    """The detector boxes "商业科研" as one line over both cells; each cell's own crop does not."""
    read = [text.replace(" ", "") for text in _two_cells_read(_two_cells("商业", "科研", rule, gap=2), rule)]
    assert read == (["商业", "科研"] if rule else ["商业科研", "商业科研"])


@pytest.mark.skipif(not FONT.exists(), reason="fonts-wqy-zenhei is not installed")
def test_a_digit_touching_its_rule_is_read_without_the_rule() -> None:
    """Office layouts right-align numbers against the rule: boxed with it, a "0" reads as "01"."""
    assert _two_cells_read(_two_cells("0", "3", rule=True, gap=0), rule=True) == ["0", "3"]


@pytest.mark.skipif(not FONT.exists(), reason="fonts-wqy-zenhei is not installed")
def test_a_cell_read_as_latin_letters_is_ink_not_read() -> None:
    """A "0" half under a heavy border reads as "a" or "d": no value, and no blank to vouch for."""
    gray, rules = _two_cells("a", "3", rule=True)
    grid = Grid([2, 210, 417], [2, 67], [(0, 0, 1, 1), (0, 1, 1, 2)])
    left, right = grid_cells(gray, grid, page=1, dpi=200.0, rules=rules)[0]
    assert (left.text, left.ink, left.score) == ("", True, UNREAD_INK_TRUST)
    assert right.text == "3"


@pytest.mark.parametrize(
    ("profile", "lines"),
    [
        ("..##########....##########..", [(2, 12), (16, 26)]),  # two lines of a wrapped label
        ("..##....##..", [(2, 10)]),  # 二 alone: its strokes are one line
        ("..######.###..", [(2, 12)]),  # a faint stroke's gap inside a glyph
        ("..##....##....##########..", [(2, 10), (14, 24)]),  # 二's strokes, above a line
    ],
)
def test_a_cells_text_lines_are_its_runs_of_inked_rows(profile: str, lines: list) -> None:
    assert text_rows(np.array([ch == "#" for ch in profile]), height=10) == lines


def _blank_cells_page() -> tuple[np.ndarray, Grid, np.ndarray]:
    """A 1x3 ruled table of blank cells: the first clean, the second with its left rule drawn thick and
    bent into the cell (ink past the inset that is still the rule), the third with dust in it."""
    page = np.full((600, 1000), 255, np.uint8)
    xs, ys = [100, 400, 650, 900], [200, 300]
    for x in xs:
        cv2.line(page, (x, ys[0]), (x, ys[1]), 0, 2)
    for y in ys:
        cv2.line(page, (xs[0], y), (xs[-1], y), 0, 2)
    cv2.line(page, (xs[1] + 2, ys[0]), (xs[1] + 12, ys[1]), 0, 3)  # a rule that runs thick and slanted
    speckle = np.random.default_rng(0).random((20, 40)) < 0.1  # dust: ink, but no glyph
    page[240:260, 755:795][speckle] = 100
    horizontal, vertical = rule_masks(page, SETTINGS)
    grid = table_grid(horizontal, vertical, table_boxes(horizontal, vertical, SETTINGS)[0], SETTINGS)
    return page, grid, horizontal | vertical


def test_a_blank_cell_says_whether_its_crop_held_ink() -> None:
    page, grid, rules = _blank_cells_page()
    assert len(grid.cells) == 3
    cells = grid_cells(page, grid, page=1, dpi=200.0, rules=rules)[0]
    assert [c.text for c in cells] == ["", "", ""]
    # Clean, and clean once the rule's own pixels are left out: blanks the reader vouches for.
    assert [c.ink for c in cells[:2]] == [False, False]
    assert all(c.score == 1.0 for c in cells[:2])
    # Ink that reads as nothing: a blank only as sure as that reading.
    assert cells[2].ink is True and cells[2].score == UNREAD_INK_TRUST
    # Without the rule mask the thick rule would count as ink: the test can tell.
    assert grid_cells(page, grid, page=1, dpi=200.0, rules=np.zeros_like(rules))[0][1].ink is True
