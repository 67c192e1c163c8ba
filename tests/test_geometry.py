"""The one box type the readers share, and the readers' settings objects."""

from __future__ import annotations

import numpy as np
import pytest

from nianbao.extraction.document import PageBox
from nianbao.extraction.geometry import Rect, bounding, centre_inside
from nianbao.extraction.ocr import OcrBox, quad_box
from nianbao.extraction.readers.lattice import LatticeSettings
from nianbao.extraction.readers.pdf import PdfSettings
from nianbao.extraction.readers.scan import ScanSettings
from nianbao.extraction.readers.stream import StreamReader
from nianbao.extraction.readers.stream_text import StreamSettings


def test_a_rect_measures_itself() -> None:
    box = Rect(10, 20, 40, 60)
    assert (box.width, box.height, box.centre_x, box.centre_y) == (30, 40, 25, 40)
    assert box.contains(10, 60) and box.contains(25, 40) and not box.contains(9.9, 40)


def test_overlap_is_intersection_over_union() -> None:
    assert Rect(0, 0, 10, 10).iou(Rect(5, 0, 15, 10)) == pytest.approx(50 / 150)
    assert Rect(0, 0, 10, 10).iou(Rect(10, 0, 20, 10)) == 0.0  # touching edges share nothing


def test_camelot_boxes_turn_over_and_back() -> None:
    """camelot measures y up from the page's foot: on an A4 page 842 pt tall, its y 700-680 is 142-162."""
    from_foot = Rect(200, 680, 300, 700)
    assert from_foot.flipped(842) == Rect(200, 142, 300, 162)
    assert from_foot.flipped(842).flipped(842) == from_foot


def test_boxes_with_more_to_say_keep_it_when_moved() -> None:
    cell = PageBox(100, 200, 300, 400, page=3).scaled(72 / 200)
    assert cell == PageBox(36, 72, 108, 144, page=3)
    line = OcrBox(1, 2, 3, 4, text="无", score=0.9).shifted(10)
    assert (line.top, line.bottom, line.text, line.score) == (12, 14, "无", 0.9)


def test_the_box_around_boxes_and_around_a_quadrilateral() -> None:
    assert bounding([Rect(5, 1, 6, 2), Rect(0, 3, 2, 9)]) == Rect(0, 1, 6, 9)
    assert quad_box(np.array([[1, 2], [9, 3], [8, 7], [0, 6]])) == Rect(0, 2, 9, 7)


def test_a_pdfplumber_object_is_inside_by_its_centre() -> None:
    assert centre_inside({"x0": 8, "x1": 12, "top": 0, "bottom": 4}, Rect(10, 0, 20, 10))
    assert not centre_inside({"x0": 0, "x1": 12, "top": 0, "bottom": 4}, Rect(10, 0, 20, 10))


@pytest.mark.parametrize("settings", [LatticeSettings, StreamSettings, ScanSettings, PdfSettings])
def test_settings_refuse_unknown_keys(settings: type) -> None:
    with pytest.raises(TypeError):
        settings(no_such_setting=1)


def _word(text: str, x0: float, top: float) -> dict:
    return {"text": text, "x0": x0, "x1": x0 + 8 * len(text), "top": top, "bottom": top + 10}


def test_the_stream_reader_takes_its_settings() -> None:
    """Two lines of a label and its values are a table by default; not where three rows are asked for."""
    words = [_word(t, x, top) for top in (100, 115) for t, x in (("新收申请", 50), ("12", 300), ("3", 360))]
    [area] = StreamReader().areas(words)
    assert area.box.contains(300, 110) and len(area.separators) == 2
    assert StreamReader(StreamSettings(min_rows=3, min_values=9)).areas(words) == []
