from nianbao.extraction.document import Document, GridCell, TableBlock, TextBlock
from nianbao.extraction.grid import document_rows
from nianbao.extraction.readers.text import text_blocks


def rows_of(text: str):
    return document_rows(Document("x.txt", "text", list(text_blocks(text))))


def test_stream_line_splits_label_and_values() -> None:
    [row] = rows_of("一、本年新收政府信息公开申请数量 3 0 0 0 0 0 3")
    assert row.label_text == "一、本年新收政府信息公开申请数量"
    assert [v.text for v in row.values] == ["3", "0", "0", "0", "0", "0", "3"]


def test_a_blank_marker_among_values_is_a_cell_and_after_a_label_a_word() -> None:
    [row] = rows_of("7.属于行政执法案卷 0 0 0 0 0 0 无")
    assert row.label_text == "7.属于行政执法案卷" and [v.text for v in row.values][-1] == "无"
    [row] = rows_of("③不予公开 1.属于国家秘密 0 无 0 0 0 0 0")
    assert len(row.values) == 7 and row.values[1].text == "无"
    [row] = rows_of("（四）无")
    assert row.label_text == "（四）无" and not row.values


def test_vertical_header_is_rejoined() -> None:
    rows = rows_of("科\n研\n机\n构\n总计")
    assert [r.label_text for r in rows] == ["科研机构", "总计"]


def test_word_dump_cells_form_rows() -> None:
    body = "\n".join(
        ["\t规章", "\t0", "\t1", "\t2"] * 6 + ["\t5.要求行政机关确认或重新", "出具已获取信息", "\t7"]
    )
    rows = rows_of(body)
    assert len(rows) == 7  # a label after values starts a row even without blank lines
    assert rows[1].label_text == "规章" and [v.text for v in rows[1].values] == ["0", "1", "2"]
    assert rows[-1].label_text == "5.要求行政机关确认或重新出具已获取信息"
    assert [v.text for v in rows[-1].values] == ["7"]


def test_word_dump_keeps_blank_cells_and_row_breaks() -> None:
    rows_text = [["\t行政许可", "\t3", "\t", "\t5"], ["\t\t", "\t行政处罚", "\t", "\t", "\t2"]] * 6
    rows = rows_of("\n\n".join("\n".join(r) for r in rows_text))
    assert len(rows) == 12
    assert [v.text for v in rows[0].values] == ["3", "", "5"]
    assert rows[1].label_text == "行政处罚" and [v.text for v in rows[1].values] == ["", "", "2"]


def test_tab_positions_keep_blank_cells() -> None:
    [row] = rows_of("\t\t\t\t\t0\t1\t0\t0\t1\t0\t0\t0\t0\t0")
    assert len(row.values) == 15 and row.values[5].text == "0" and not row.values[0].text


def test_torn_table_chunks_share_a_table_id() -> None:
    first = TableBlock([[GridCell("（一）予以公开"), GridCell("1")]], "t1")
    second = TableBlock([[GridCell("（二）部分公开"), GridCell("2")]], "t2")
    rows = document_rows(Document("x.md", "markdown", [first, TextBlock("— 3 —", "p"), second]))
    assert rows[0].table == rows[1].table and rows[0].chunk != rows[1].chunk
