"""Blanks in scanned tables: a printed blank the reader measured is a row found; a column a label cell
runs across is no printed blank."""

from __future__ import annotations

from nianbao.extraction.columns import align_slots
from nianbao.extraction.document import Document, GridCell, TableBlock, TextBlock
from nianbao.extraction.grid import _cells_row, document_rows
from nianbao.extraction.readers.scan_cells import UNREAD_INK_TRUST
from nianbao.models.calibration import ReviewPolicy, flag_kinds_by_field
from nianbao.schema import load_schema

S4 = load_schema().sections["s4"]
RESULTS = ["结果维持", "结果纠正", "其他结果", "尚未审结", "总计"]


def _spanning(text: str, width: int) -> list[GridCell]:
    return [GridCell(text)] + [GridCell(text, copy=True) for _ in range(width - 1)]


def _s4_table(data_row: list[GridCell]) -> Document:
    """Section 4 as a scan reader hands it over: three header rows, then the one data row."""
    grid = [
        _spanning("行政复议", 5) + _spanning("行政诉讼", 10),
        [GridCell(t) for t in RESULTS] + _spanning("未经复议直接起诉", 5) + _spanning("复议后起诉", 5),
        [GridCell(t, copy=True) for t in RESULTS] + [GridCell(t) for t in RESULTS * 2],
        data_row,
    ]
    return Document(
        "report.pdf",
        "scan",
        [
            TextBlock("某某县自然资源局2023年政府信息公开工作年度报告", "line 1"),
            TextBlock("四、政府信息公开行政复议、行政诉讼情况", "line 2"),
            TableBlock(grid, "page 1 table 1"),
        ],
    )


def test_a_one_row_table_printed_blank_is_a_row_found(extractor) -> None:
    # An agency that prints its zeros as blanks leaves section 4's only data row blank: measured without
    # ink, the row was found and its cells are printed blanks, not a table that lost its row.
    document = _s4_table([GridCell("", ink=False) for _ in range(15)])
    mapping = extractor.decoder.decode(document_rows(document), document.text(), 2023)
    keys = [S4.key(r, c) for r, c in S4.cells[mapping.format]]
    assert all(mapping.cells[k].raw == "" and mapping.cells[k].ink is False for k in keys)
    assert {f"s4.{r}" for r, _ in S4.cells[mapping.format]} <= mapping.rows_found


def test_an_unmeasured_empty_grid_row_is_no_row(extractor) -> None:
    # The same grid row without a measurement (a gap between rules, as any reader but a scan's gives it).
    document = _s4_table([GridCell("") for _ in range(15)])
    mapping = extractor.decoder.decode(document_rows(document), document.text(), 2023)
    assert not any(k.startswith("s4.") for k in mapping.cells)
    assert not any(r.startswith("s4.") for r in mapping.rows_found)


def test_a_column_a_label_cell_runs_across_is_no_printed_blank() -> None:
    # The rule between 规章 and its first value went unseen: the label cell holds that 0 and covers its
    # column, so the row has no cell there at all.
    torn = _cells_row(
        [GridCell("规章0"), GridCell("规章0", copy=True), GridCell("0"), GridCell("6")], "r", 0, 0
    )
    slots = align_slots(torn, 3, None, start=1)
    assert slots[0] == (None, False)
    assert [(s.text, exact) for s, exact in slots[1:]] == [("0", True), ("6", True)]
    # A blank the row does print (its own cell, measured) is a printed blank.
    printed = _cells_row([GridCell("规章"), GridCell("", ink=False), GridCell("0"), GridCell("6")], "r", 0, 0)
    slots = align_slots(printed, 3, None, start=1)
    assert slots[0][1] is True and slots[0][0].measured_blank


def test_a_blank_cell_with_ink_ocr_could_not_read_is_always_reviewed(extractor, monkeypatch) -> None:
    # A cell whose crop holds ink that reads as nothing (a faint glyph, one half under a heavy border) is
    # no blank anyone can vouch for: reviewed whatever the calibrator makes of it; measured blanks are not.
    import nianbao.extraction.pipeline as pipeline

    cells = [GridCell("", ink=False) for _ in range(15)]
    cells[0] = GridCell("", ink=True, score=UNREAD_INK_TRUST)
    monkeypatch.setattr(pipeline, "read", lambda path, data=None: _s4_table(cells))
    record = extractor.extract("report.pdf", b"scan")
    kinds = flag_kinds_by_field(record)
    unread, *blank = [S4.key(r, c) for r, c in S4.cells["2021"]]
    assert record["fields"][unread] is None and kinds[unread] == {"ink_unread"}
    assert ReviewPolicy(threshold=0.0).needs_review(1.0, kinds[unread])
    assert not any(kinds[k] for k in blank)


def test_a_cell_read_as_neither_a_number_nor_a_blank_is_no_printed_blank(extractor, monkeypatch) -> None:
    # OCR read a faint 0 with a speck before it as "：O": no number, no null marker. The cell is past the
    # row's first value, so it is no label either: its text stays in its slot and a person looks, even
    # where an identity fills the value.
    import nianbao.extraction.pipeline as pipeline

    cells = [GridCell("0", score=0.99) for _ in range(15)]
    cells[7] = GridCell("：O", score=0.6)
    monkeypatch.setattr(pipeline, "read", lambda path, data=None: _s4_table(cells))
    record = extractor.extract("report.pdf", b"scan")
    kinds = flag_kinds_by_field(record)
    keys = [S4.key(r, c) for r, c in S4.cells["2021"]]
    misread = keys[7]
    assert {"ink_unread", "inferred"} <= kinds[misread]  # its row's total gives the 0 it must have been
    assert ReviewPolicy(threshold=0.0).needs_review(1.0, kinds[misread])
    assert [record["fields"][k] for k in keys if k != misread] == [0] * 14


def _s2_page(decision_cells: list[GridCell]) -> Document:
    """Section 2's 行政处罚 / 行政强制 block as a scan reader hands it over: a label column of three grid
    columns, the counts' column of three merged."""
    label = _spanning("信息内容", 3)
    grid = [
        _spanning("第二十条第（六）项", 6),
        label + _spanning("本年处理决定数量", 3),
        _spanning("行政处罚", 2) + decision_cells,
        _spanning("行政强制", 3) + _spanning("1", 3),
    ]
    return Document(
        "report.pdf",
        "scan",
        [
            TextBlock("某某县自然资源局2023年政府信息公开工作年度报告", "line 1"),
            TextBlock("二、主动公开政府信息情况", "line 2"),
            TableBlock(grid, "page 1 table 1"),
        ],
    )


def test_a_blank_from_a_row_whose_unread_ink_no_field_took_is_reviewed(extractor, monkeypatch) -> None:
    # A stroke of 罚 touching both rules of its low row was taken for a column rule: the label cell is cut
    # short, a measured blank left beside it, and the value cell holds a "0" OCR could not read. Whichever
    # the mapper files, the blank is no blank anyone can vouch for.
    import nianbao.extraction.pipeline as pipeline

    unread = [GridCell("", ink=True, score=UNREAD_INK_TRUST)] + [
        GridCell("", copy=True, ink=True, score=UNREAD_INK_TRUST) for _ in range(2)
    ]
    cells = [GridCell("", ink=False), *unread]
    monkeypatch.setattr(pipeline, "read", lambda path, data=None: _s2_page(cells))
    record = extractor.extract("report.pdf", b"scan")
    kinds = flag_kinds_by_field(record)
    assert record["fields"]["s2.penalty.decisions"] is None
    assert "ink_unread" in kinds["s2.penalty.decisions"]
    assert record["fields"]["s2.coercion.decisions"] == 1 and not kinds["s2.coercion.decisions"]
