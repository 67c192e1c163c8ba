"""Tables as real conversion tools print them: layout text whose columns stand where the page put them,
and Markdown whose cells hold several numbers (invented numbers, written the way the tools write)."""

from __future__ import annotations

from pathlib import Path

import pytest

from nianbao.extraction.readers.doubling import undouble
from nianbao.models.calibration import ReviewPolicy
from nianbao.schema import load_schema

TITLE = "某某县自然资源局2023年政府信息公开工作年度报告\n\n三、收到和处理政府信息公开申请情况\n\n"
# pdftotext -layout of a table whose 自然人 column the report printed second to last, its header
# wrapped over three lines; the values line up under their headers by character column.


def _line(*placed: tuple[int, str]) -> str:
    """A layout line: each text starting at its character column."""
    line = ""
    for column, text in placed:
        line = line.ljust(column) + text
    return line


LAYOUT = "\n".join(
    [
        _line((52, "申请人情况")),
        _line((50, "法人或其他组织"), (70, "自然")),
        _line((34, "商业"), (39, "科研"), (45, "社会公"), (56, "法律服"), (76, "总计")),
        _line((58, "其他"), (70, "人")),
        _line((34, "企业"), (39, "机构"), (45, "益组织"), (56, "务机构")),
        _line(
            (0, "一、本年新收政府信息公开申请数量"),
            (34, "2"),
            (39, "3"),
            (48, "0"),
            (55, "1"),
            (60, "0"),
            (70, "5"),
            (77, "11"),
        ),
        _line(
            (0, "二、上年结转政府信息公开申请数量"),
            (34, "0"),
            (39, "0"),
            (48, "0"),
            (55, "0"),
            (60, "0"),
            (70, "1"),
            (77, "1"),
        ),
        "",
    ]
)
COLUMNS = list(load_schema().sections["s3"].columns)


def _extract(extractor, tmp_path: Path, text: str, name: str = "report.md") -> dict:
    """The record of ``text`` written as a file ``name`` (its suffix decides how it is read)."""
    path = tmp_path / name
    path.write_text(text, "utf-8")
    return extractor.extract(path)


def test_layout_columns_follow_their_headers_across_the_page(extractor, tmp_path: Path) -> None:
    record = _extract(extractor, tmp_path, TITLE + LAYOUT, "report.txt")
    fields = record["fields"]
    assert [fields[f"s3.new.{c}"] for c in COLUMNS] == [5, 2, 3, 0, 1, 0, 11]
    assert [fields[f"s3.carried_over.{c}"] for c in COLUMNS] == [1, 0, 0, 0, 0, 0, 1]


def test_numbers_a_converter_ran_into_one_cell_are_read_apart(extractor, tmp_path: Path) -> None:
    table = (
        "| 信息内容 | 自然人 | 商业企业 科研机构 | 社会公益组织 法律服务机构 其他 | 总计 |\n"
        "| --- | --- | --- | --- | --- |\n"
        "| 一、本年新收政府信息公开申请数量 | 2,224 | 93 0 | 113 0 119 | 2,549 |\n"
        "| 二、上年结转政府信息公开申请数量 | 0 | 0 0 | 0 0 0 | 0 |\n"
    )
    fields = _extract(extractor, tmp_path, TITLE + table)["fields"]
    assert [fields[f"s3.new.{c}"] for c in COLUMNS] == [2224, 93, 0, 113, 0, 119, 2549]


def test_a_text_of_unmapped_glyphs_sends_every_field_to_review(extractor, tmp_path: Path) -> None:
    """A converter's output of a PDF whose fonts have no Unicode map: labels are (cid:N) codes and stray
    Latin letters, so whatever lands in a field was placed blind."""
    garbled = "(cid:6)²(cid:13)(cid:14)³‹(cid:27)´(cid:9)(cid:10) µ–—(cid:18)„"
    rows = "\n".join(f"| {garbled}{i} | 0 | 0 | 0 | 0 | 0 | 0 | 0 |" for i in range(20))
    record = _extract(extractor, tmp_path, TITLE + "| ¥ § | ¬ ¯ |\n| --- | --- |\n" + rows + "\n")
    flags = [f for f in record["flags"] if f["kind"] == "text_garbled"]
    assert len(flags) == 1 and set(flags[0]["fields"]) == set(record["fields"])
    policy = ReviewPolicy(threshold=0.0)  # whatever the confidence, the flag sends the field to a person
    assert all(policy.needs_review(c, ["text_garbled"]) for c in record["confidence"].values())


def test_fake_bold_copied_as_doubled_characters_is_undone() -> None:
    label = "一一、、本本年年新新收收政政府府信信息息公公开开申申请请数数量量"
    doubled = f"{label} | 77 | 00 | 1122 |\n（（七七））总总计计 | 77 |"
    assert undouble(doubled) == "一、本年新收政府信息公开申请数量 | 7 | 0 | 12 |\n（七）总计 | 7 |"
    plain = "一、本年新收政府信息公开申请数量 | 77 | 11 |\n行政许可 | 22 |"
    assert undouble(plain) == plain  # in a text that is not doubled, 77 is seventy-seven


S2 = "某某县自然资源局2023年政府信息公开工作年度报告\n\n二、主动公开政府信息情况\n\n"


@pytest.mark.parametrize("glue", ["\n", ""], ids=["a line each", "glued into one line"])
def test_labels_printed_apart_out_of_template_order_name_their_rows(
    extractor, tmp_path: Path, glue: str
) -> None:
    # The report lists 行政规范性文件 before 规章 and 行政强制 before 行政处罚; a converter printed the labels
    # above the numbers, a line each or each pair glued into one line.
    table = (
        "| 信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数 |\n"
        f"行政规范性文件{glue}规章\n"
        "| 3 | 0 | 14 |\n|---|---|---|\n| 1 | 0 | 2 |\n\n"
        f"| 信息内容 | 本年处理决定数量 |\n行政强制{glue}行政处罚\n| 5 |\n|---|\n| 22 |\n"
    )
    fields = _extract(extractor, tmp_path, S2 + table)["fields"]
    assert [fields[f"s2.normative.{c}"] for c in ("new", "repealed", "in_force")] == [3, 0, 14]
    assert [fields[f"s2.rules.{c}"] for c in ("new", "repealed", "in_force")] == [1, 0, 2]
    assert (fields["s2.coercion.decisions"], fields["s2.penalty.decisions"]) == (5, 22)


def test_a_row_split_at_its_wrapped_label_cell_is_one_row(extractor, tmp_path: Path) -> None:
    # A PDF→Markdown tool printed each row whose label cell wrapped as two: label over blank cells,
    # then the values without a label, the rest of the label after them.
    rows = [
        ("一、本年新收政府信息公开", "申请数量", [4, 1, 0, 0, 0, 0, 5]),
        ("二、上年结转政府信息公开", "申请数量", [1, 0, 0, 0, 0, 0, 1]),
    ]
    table = "".join(
        f"| {head} |  |  |  |  |  |  |  |\n| --- | --- | --- | --- | --- | --- | --- | --- |\n"
        f"|  | {' | '.join(map(str, values))} |\n{tail}\n"
        for head, tail, values in rows
    )
    fields = _extract(extractor, tmp_path, TITLE + table)["fields"]
    assert [fields[f"s3.new.{c}"] for c in COLUMNS] == [4, 1, 0, 0, 0, 0, 5]
    assert [fields[f"s3.carried_over.{c}"] for c in COLUMNS] == [1, 0, 0, 0, 0, 0, 1]


def _two_rows(blank: str, labels: str, values: list[int]) -> str:
    """A nine-column Markdown table: a row of two label cells over blank cells, then a row of two label
    cells (the second may be empty) and seven values."""
    return blank + "  |" * 7 + "\n" + "| --- " * 9 + "|\n" + f"{labels} | {' | '.join(map(str, values))} |\n"


def test_a_split_row_under_a_piece_of_a_merged_heading_is_one_row(extractor, tmp_path: Path) -> None:
    # The values half of a split row carries a piece of the merged 三、本年度办理结果 cell beside it.
    values = [1, 0, 0, 2, 0, 0, 3]
    table = _two_rows("| 三、本年度 | 1.本机关不掌握相关政府 |", "| 办理结果 | ", values) + "信息\n"
    fields = _extract(extractor, tmp_path, TITLE + table)["fields"]
    assert [fields[f"s3.unavailable.not_held.{c}"] for c in COLUMNS] == values


@pytest.mark.parametrize("group", ["三 本 年 度 办 理 结 果 情 况", "三、本年度办理结果"])
def test_a_row_printed_blank_does_not_take_the_values_of_the_labelled_row_below(
    extractor, tmp_path: Path, group: str
) -> None:
    # 上年结转 is printed with blank cells; the row below starts with the merged group cell (read as a
    # vertical text or a heading, naming no row itself) and then its own label, 予以公开.
    granted = [0, 0, 0, 3, 0, 1, 4]
    table = _two_rows("| 二、上年结转政府信息公开申请数量 |  |", f"| {group} | 予以公开", granted)
    fields = _extract(extractor, tmp_path, TITLE + table)["fields"]
    assert [fields[f"s3.granted.{c}"] for c in COLUMNS] == granted
    assert all(fields[f"s3.carried_over.{c}"] is None for c in COLUMNS)


def test_glued_labels_in_template_order_keep_it(extractor, tmp_path: Path) -> None:
    table = "| 信息内容 | 本年处理决定数量 |\n行政处罚行政强制\n| 22 |\n|---|\n| 5 |\n"
    fields = _extract(extractor, tmp_path, S2 + table)["fields"]
    assert (fields["s2.penalty.decisions"], fields["s2.coercion.decisions"]) == (22, 5)


S4 = "某某县自然资源局2023年政府信息公开工作年度报告\n\n四、政府信息公开行政复议、行政诉讼情况\n\n"


def test_a_header_read_by_nesting_out_of_template_order_is_doubted(extractor, tmp_path: Path) -> None:
    # A PDF→Markdown tool put 结果维持 and 结果纠正 over two header rows, pieces of both in one cell:
    # read by nesting, the header names 纠正 first. Its values stand in the template's order.
    rule = "| --- " * 8 + "|\n"
    table = (
        "|  |  |  | 结果 纠正 | 其他 | 尚未 | 合计 |  |\n"
        + rule
        + "|  |  |  | 维持 | 结果 | 审结 |  |  |\n"
        + "|  |  | 行政复议 | 4 | 5 6 | 6 | 21 |  |\n"
    )
    record = _extract(extractor, tmp_path, S4 + table)
    review = [f"s4.review.{c}" for c in ("upheld", "corrected", "other", "pending", "total")]
    assert [record["fields"][k] for k in review] == [4, 5, 6, 6, 21]
    doubted = {f["field"] for f in record["flags"] if f["kind"] == "position_uncertain"}
    assert set(review) <= doubted


# pdf2md of a 2021 table whose group labels （五）不予处理 and （六）其他处理 wrapped: the piece 理 stands
# beside one row of each group, and 理 alone reads as 2019's single 其他处理 row.
TORN_GROUP_LABELS = "\n".join(
    [
        "申请人情况",
        "| （本列数据的勾稽关系为：第一项加第二项 |     |     | 法人或其他组织 |     |     |     |",
        "| ------------------- | --- | --- | ------- | --- | --- | --- |",
        "| 之和，等于第三项加第四项之和）     |     | 自然人 |         |     |     | 总计  |",
        "|                     |     |     | 商业企 科研  | 社会公 | 法律服 |     |",
        "其他",
        "|                  |         |     | 业 机构 | 益组织 | 务机构 |     |",
        "| ---------------- | ------- | --- | ---- | --- | --- | --- |",
        "| 一、本年新收政府信息公开申请数量 |         | 3   | 0 0  | 0   | 0   | 0 3 |",
        "| 二、上年结转政府信息公开申请数量 |         | 0   | 0 0  | 0   | 0   | 0 0 |",
        "|                  | (一)予以公开 | 0   | 0 0  | 0   | 0   | 0 0 |",
        "|     | 1.信访举报投诉类申请      | 0   | 0 0 | 0   | 0   | 0 0 |",
        "| --- | ---------------- | --- | --- | --- | --- | --- |",
        "|     | 2.重复申请           | 0   | 0 0 | 0   | 0   | 0 0 |",
        "|     | (五)不 3.要求提供公开出版物 | 0   | 0 0 | 0   | 0   | 0 0 |",
        "予处",
        "4.无正当理由大量反复申",
        "|     | 理   | 2 | 0 0 | 0   | 0   | 0 2 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        "请",
        "5.要求行政机关确认或重",
        "|     |     | 0   | 0 0 | 0   | 0   | 0 0 |",
        "| --- | --- | --- | --- | --- | --- | --- |",
        "新出具已获取信息",
        "1.申请人无正当理由逾期",
        "|     | 不补正、行政机关不再处 | 0   | 0 0 | 0   | 0   | 0 0 |",
        "| --- | ----------- | --- | --- | --- | --- | --- |",
        "理其政府信息公开申请",
        "(六)其",
        "2.申请人逾期未按收费通",
        "他处",
        "知要求缴纳费用、行政机",
        "|     | 理   | 1   | 0 0 | 0 | 0   | 0 1 |",
        "| --- | --- | --- | --- | --- | --- | ----- |",
        "关不再处理其政府信息公",
        "开申请",
        "|     | 3.其他 | 0   | 0 0 | 0   | 0   | 0 0 |",
        "| --- | ---- | --- | --- | --- | --- | --- |",
        "— 2 —",
        "",
        "|             | (七)总计 |     | 3   | 0   | 0 0 | 0 0 | 3   |",
        "| ----------- | ----- | --- | --- | --- | --- | --- | --- |",
        "| 四、结转下年度继续办理 |       |     | 0   | 0   | 0 0 | 0 0 | 0   |",
    ]
)


def test_a_torn_piece_of_a_group_label_leaves_its_row_in_the_table(extractor, tmp_path: Path) -> None:
    # The table prints （六）'s items by their own labels, so it cannot hold 2019's single row: both
    # rows beside 理 are the table's (4.无正当理由大量反复申请, 2.申请人逾期未按收费通知…), not unfiled.
    record = _extract(extractor, tmp_path, TITLE + TORN_GROUP_LABELS + "\n")
    fields = record["fields"]
    assert [fields[f"s3.not_processed.excessive.{c}"] for c in COLUMNS] == [2, 0, 0, 0, 0, 0, 2]
    assert [fields[f"s3.other.unpaid_fee.{c}"] for c in COLUMNS] == [1, 0, 0, 0, 0, 0, 1]
    assert not [f for f in record["flags"] if f["kind"] == "unmapped_row"]


def _flagged(record: dict, kind: str) -> set[str]:
    return {f["field"] for f in record["flags"] if f["kind"] == kind}


def test_a_number_floated_out_of_a_table_puts_its_rows_with_a_blank_in_doubt(
    extractor, tmp_path: Path
) -> None:
    # A converter floated one value of the first row above the table and left that row a blank cell in
    # front: by position its other values land one column off.
    table = (
        "| 第二十条第（一）项 |  |  |  |\n|---|---|---|---|\n"
        "| 信息内容 | 本年制发件数 | 本年废止数 | 现行有效件数 |\n\n"
        "6\n\n|  | 6 | 2 |\n|---|---|---|\n| 2 | 1 | 13 |\n\n规范性文件\n规章\n"
    )
    record = _extract(extractor, tmp_path, S2 + table)
    doubted = _flagged(record, "position_uncertain")
    first = {f"s2.normative.{c}" for c in ("new", "repealed", "in_force")}
    assert first <= doubted
    assert [record["fields"][f"s2.rules.{c}"] for c in ("new", "repealed", "in_force")] == [2, 1, 13]
    assert not {f"s2.rules.{c}" for c in ("new", "repealed", "in_force")} & doubted


def test_a_header_that_lost_its_columns_does_not_reorder_them(extractor, tmp_path: Path) -> None:
    # PDF→Markdown text of a table whose 本年制发件数 and 现行有效件数 headers wrapped over two lines and
    # 本年废止数 did not: the header lines list the wrapped ones first, not in the columns' order.
    table = (
        "第二十条第（一）项\n本年制发件 现行有效件\n信息内容 本年废止数\n数 数\n"
        "规章 0 0 0\n行政规范性文件 3 1 44\n第二十条第（五）项\n"
    )
    record = _extract(extractor, tmp_path, S2 + table)
    normative = [f"s2.normative.{c}" for c in ("new", "repealed", "in_force")]
    assert [record["fields"][k] for k in normative] == [3, 1, 44]
    assert set(normative) <= _flagged(record, "position_uncertain")


def test_a_money_unit_torn_by_a_wrapped_header_is_in_doubt(extractor, tmp_path: Path) -> None:
    # pdftotext -layout of a header （单位：万元） wrapped after 万: the line above the values shows 元).
    lines = [
        "                  第二十条第（八）项",
        "                              本年收费金额(单位:万",
        "                  信息内容",
        "                              元)",
        "                  行政事业性收费         91.260",
        "",
    ]
    record = _extract(extractor, tmp_path, S2 + "\n".join(lines), "report.txt")
    assert record["fields"]["s2.fees.amount"] == 91.26
    assert "s2.fees.amount" in _flagged(record, "value_uncertain")


def test_a_money_unit_wrapped_inside_its_own_header_cell_is_wan_yuan(extractor, tmp_path: Path) -> None:
    # A Word table's header cell broke （单位：万元） after 万: one cell, 元） on its second line.
    rows = [
        ("第二十条第（八）项", ""),
        ("信息内容", "本年收费金额（单位：万<br>元）"),
        ("行政事业性收费", "150.07"),
    ]
    table = "".join(f"<tr><td>{label}</td><td>{cell}</td></tr>" for label, cell in rows)
    html = f"<html><body><p>{S2}</p><table>{table}</table></body></html>"
    record = _extract(extractor, tmp_path, html, "report.html")
    assert record["fields"]["s2.fees.amount"] == 150.07


def test_a_wrapped_labels_tail_over_blank_cells_does_not_take_its_row(extractor, tmp_path: Path) -> None:
    # The tool printed 2.没有现成信息需要另行制作 as three rows: the label's head over blank cells, the
    # values, and the tail 另行制作 over blank cells again, after the values.
    values = [2, 1, 0, 0, 0, 0, 3]
    rule = "| --- " * 9 + "|\n"
    blank = " |" * 7
    table = (
        "| 三、本年度 | 1.本机关不掌握相关政府信息 | 1 | 0 | 0 | 0 | 0 | 0 | 1 |\n"
        + rule
        + f"| （四）无法提供 | 2.没有现成信息需要 |{blank}\n"
        + f"|  |  | {' | '.join(map(str, values))} |\n"
        + f"| 办理结果 | 另行制作 |{blank}\n"
        + "|  | 3.补正后申请内容仍不明确 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |\n"
    )
    fields = _extract(extractor, tmp_path, TITLE + table)["fields"]
    assert [fields[f"s3.unavailable.needs_creation.{c}"] for c in COLUMNS] == values
