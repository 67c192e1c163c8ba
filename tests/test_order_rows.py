"""Rows found by order, rows not found, identity gaps and short rows: the structure a converter breaks.

The documents here are written the way PDF→Markdown converters print a table (invented numbers):
labels of merged and wrapped cells outside the table fragments, numbers-only rows in document order.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest

from nianbao.extraction.alignment import align_in_order, alternatives
from nianbao.extraction.label_lines import unglued
from nianbao.extraction.mapping import MappingSettings
from nianbao.extraction.pipeline import Extractor
from nianbao.models.calibration import ReviewPolicy
from nianbao.schema import load_schema

HEAD = """# 某某市某某区综合执法局2023年政府信息公开工作年度报告

本报告由某某区综合执法局根据《中华人民共和国政府信息公开条例》编制。

## 三、收到和处理政府信息公开申请情况

| （本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和） | 申请人情况 |  |  |  |  |  |  |
|---|---|---|---|---|---|---|---|
|  | 自然人 | 法人或其他组织 |  |  |  |  | 总计 |
|  |  | 商业企业 | 科研机构 | 社会公益组织 | 法律服务机构 | 其他 |  |
"""
COLUMNS = list(load_schema().sections["s3"].columns)


def _cells(values: list[int]) -> str:
    return " | ".join(str(v) for v in values)


def _row(label: str, values: list[int]) -> str:
    return f"| {label} | {_cells(values)} |\n|---|---|---|---|---|---|---|---|"


def _numbers(values: list[int]) -> str:
    return f"| {_cells(values)} |\n|---|---|---|---|---|---|---|"


def _extract(extractor, tmp_path: Path, body: str) -> dict:
    path = tmp_path / "report.md"
    path.write_text(HEAD + body, "utf-8")
    record = extractor.extract(path)
    assert record["error"] is None, record["error"]
    return record


def _flags(record: dict, kind: str) -> list[dict]:
    return [f for f in record["flags"] if f["kind"] == kind]


def _named(flag: dict) -> list[str]:
    return flag.get("fields") or [flag["field"]]


Z = [0] * 7
DETACHED = "\n".join(
    [
        _row("一、本年新收政府信息公开申请数量", [10, 2, 0, 0, 1, 0, 13]),
        _row("二、上年结转政府信息公开申请数量", [1, 0, 0, 0, 0, 0, 1]),
        "三、本年度办理结果",
        _row("（一）予以公开", [3, 1, 0, 0, 0, 0, 4]),
        "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
        _numbers([2, 0, 0, 0, 1, 0, 3]),
        "（三）不",
        "予公开",
        "1.属于国家秘密",
        "2.其他法律行政法规禁",
        "止公开",
        _numbers(Z),
        _numbers([1, 0, 0, 0, 0, 0, 1]),
        _row('3.危及"三安全一稳定"', Z),
        _numbers([1, 0, 0, 0, 0, 0, 1]),
        "4.保护第三方合法权",
        "益",
        _row("5.属于三类内部事务信息", Z),
        _row("6.属于四类过程性信息", Z),
        _row("7.属于行政执法案卷", Z),
        _row("8.属于行政查询事项", Z),
        "（四）无法提供",
        _row("1.本机关不掌握相关政府信息", [2, 1, 0, 0, 0, 0, 3]),
        _row("2.没有现成信息需要另行制作", Z),
        _row("3.补正后申请内容仍不明确", Z),
        "— 5 —",
        "（五）不予处理",
        "1.信访举报投诉类申请",
        "2.重复申请",
        _numbers(Z),
        _numbers([1, 0, 0, 0, 0, 0, 1]),
        _row("3.要求提供公开出版物", Z),
        _row("4.无正当理由大量反复申请", Z),
        _row("5.要求行政机关确认或重新出具已获取信息", Z),
        "（六）其他处理",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        _numbers(Z),
        _row("2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请", Z),
        _row("3.其他", Z),
        _row("（七）总计", [10, 2, 0, 0, 1, 0, 13]),
        _row("四、结转下年度继续办理", [1, 0, 0, 0, 0, 0, 1]),
        "",
    ]
)


def test_numbers_only_rows_between_labelled_rows_are_placed_by_order(extractor, tmp_path: Path) -> None:
    record = _extract(extractor, tmp_path, DETACHED)
    fields = record["fields"]
    expected = {
        "partial": [2, 0, 0, 0, 1, 0, 3],
        "withheld.state_secret": Z,
        "withheld.prohibited": [1, 0, 0, 0, 0, 0, 1],
        "withheld.third_party": [1, 0, 0, 0, 0, 0, 1],  # its label comes after its numbers
        "not_processed.petition": Z,
        "not_processed.duplicate": [1, 0, 0, 0, 0, 0, 1],
        "other.no_correction": Z,
    }
    for row, values in expected.items():
        assert [fields[f"s3.{row}.{c}"] for c in COLUMNS] == values, row
    assert not _flags(record, "source_inconsistent") and not _flags(record, "row_not_found")


def test_a_printed_row_that_no_label_places_is_not_a_confident_null(extractor, tmp_path: Path) -> None:
    # The 部分公开 row lost its label to a vertical header glued in front of it, and sits where no
    # free template row is left by order (between two adjacent labelled rows): its values are unplaced.
    lost = DETACHED.replace("（二）部分公开（区分处理的，只计这一情形，不计其他情形）\n", "").replace(
        _numbers([2, 0, 0, 0, 1, 0, 3]) + "\n", ""
    )
    lost = lost.replace(
        _row("二、上年结转政府信息公开申请数量", [1, 0, 0, 0, 0, 0, 1]),
        _row("申请人情况甲乙丙", [2, 0, 0, 0, 1, 0, 3])
        + "\n"
        + _row("二、上年结转政府信息公开申请数量", [1, 0, 0, 0, 0, 0, 1]),
    )
    record = _extract(extractor, tmp_path, lost)
    partial = [f"s3.partial.{c}" for c in COLUMNS]
    flagged = {k for f in _flags(record, "row_not_found") for k in _named(f)}
    assert set(partial) <= flagged
    # The one unknown per column is still inferred from the identities, and a person sees it.
    inferred = {f["field"] for f in _flags(record, "inferred")}
    assert all(record["fields"][k] is None or k in inferred for k in partial)
    policy = ReviewPolicy(threshold=0.0)
    assert all(policy.needs_review(record["confidence"][k], ["row_not_found"]) for k in partial)
    assert "s3.granted.total" not in flagged


def test_a_row_the_report_left_out_is_not_flagged_lost(extractor, tmp_path: Path) -> None:
    """No unplaced value rows: a missing row is the report's own omission, and its identity balances."""
    lines = [
        "（六）其他处理",
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        _numbers(Z),
    ]
    left_out = DETACHED.replace("\n".join(lines) + "\n", "")
    record = _extract(extractor, tmp_path, left_out)
    inferred = {f["field"] for f in _flags(record, "inferred")}
    assert {f"s3.other.no_correction.{c}" for c in COLUMNS} <= inferred  # one unknown per identity
    assert not _flags(record, "row_not_found") and not _flags(record, "identity_gap")


def test_nulls_short_of_a_printed_total_are_an_identity_gap(extractor, tmp_path: Path) -> None:
    # The two 不予处理 rows and their labels are gone: the printed outcomes fall 1 short of the total.
    gap = DETACHED.replace("1.信访举报投诉类申请\n2.重复申请\n" + _numbers(Z) + "\n", "").replace(
        _numbers([1, 0, 0, 0, 0, 0, 1]) + "\n" + _row("3.要求提供公开出版物", Z),
        _row("3.要求提供公开出版物", Z),
    )
    record = _extract(extractor, tmp_path, gap)
    gaps = _flags(record, "identity_gap")
    named = {k for f in gaps for k in _named(f)}
    assert {"s3.not_processed.petition.total", "s3.not_processed.duplicate.total"} <= named
    assert {"s3.not_processed.petition.commercial"}.isdisjoint(named)  # that column balances
    assert all(record["fields"][k] is None for k in named)
    assert any("1 is missing" in f["detail"] for f in gaps)


def test_a_row_shorter_than_its_header_is_placed_with_doubt(extractor, tmp_path: Path) -> None:
    body = """
## 二、主动公开政府信息情况

12
| 第二十条第（一）项 |  |  |  |
|---|---|---|---|
| 信息内容 | 本年制发件数 | 本年废止件数 | 现行有效件数 |
| 规章 | 5 | 31 |
| 行政规范性文件 | 2 | 1 | 9 |
"""
    record = _extract(extractor, tmp_path, body)
    rules = [f"s2.rules.{c}" for c in ("new", "repealed", "in_force")]
    doubted = {f["field"] for f in _flags(record, "position_uncertain")}
    assert set(rules) <= doubted
    assert "s2.normative.new" not in doubted and record["fields"]["s2.normative.in_force"] == 9


def test_order_alignment_is_monotone_and_reports_margins() -> None:
    gains = np.array([[3.0, 3.0, 1.0], [1.0, 1.0, 1.0]])
    placements = align_in_order(gains)
    assert [(p.item, p.slot) for p in placements] in ([(0, 0), (1, 1)], [(0, 0), (1, 2)], [(0, 1), (1, 2)])
    # Two rows, two free template rows: order decides, and moving either costs the whole row.
    tight = align_in_order(np.ones((2, 2)))
    assert [(p.item, p.slot) for p in tight] == [(0, 0), (1, 1)]
    assert all(p.margin == pytest.approx(1.0) for p in tight)
    # Two rows, three slots, no label: the placement is a guess and its margin says so.
    loose = align_in_order(np.ones((2, 3)))
    assert min(p.margin for p in loose) == pytest.approx(0.0)
    assert align_in_order(np.zeros((2, 2))) == []


def test_alternatives_hold_the_best_alignment_through_every_pair() -> None:
    rng = np.random.default_rng(7)
    gains = np.where(rng.random((5, 6)) < 0.7, rng.random((5, 6)) * 3, 0.0)
    best_with: dict[tuple[int, int], float] = {}
    for n in range(1, 6):  # every monotone matching, by brute force
        for items in itertools.combinations(range(5), n):
            for slots in itertools.combinations(range(6), n):
                pairs = list(zip(items, slots, strict=True))
                if all(gains[p] > 0 for p in pairs):
                    for p in pairs:
                        best_with[p] = max(best_with.get(p, 0.0), sum(gains[q] for q in pairs))
    found = alternatives(gains)
    for pair, score in best_with.items():
        assert max(a.score for a in found if pair in a.pairs) == pytest.approx(score)


# The results part of a 2021 table printed with every label after its numbers-only row. Read by the
# closest label before each row (the habit of most such reports), every row is one off; only the
# identities (the total row, the columns' sums) say which habit this report has.
RESULT_LABELS = [
    "（一）予以公开",
    "（二）部分公开（区分处理的，只计这一情形，不计其他情形）",
    "1.属于国家秘密",
    "2.其他法律行政法规禁止公开",
    '3.危及"三安全一稳定"',
    "4.保护第三方合法权益",
    "5.属于三类内部事务信息",
    "6.属于四类过程性信息",
    "7.属于行政执法案卷",
    "8.属于行政查询事项",
    "1.本机关不掌握相关政府信息",
    "2.没有现成信息需要另行制作",
    "3.补正后申请内容仍不明确",
    "1.信访举报投诉类申请",
    "2.重复申请",
    "3.要求提供公开出版物",
    "4.无正当理由大量反复申请",
    "5.要求行政机关确认或重新出具已获取信息",
    "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
    "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
    "3.其他",
]
NOT_RESULTS = {"new", "carried_over", "total", "carried_forward"}


def _labels_after_their_rows() -> tuple[str, dict[str, list[int]]]:
    """The document and, per s3 row, its values (all different, the identities kept)."""
    results = [r for r in load_schema().sections["s3"].row_order("2021") if r not in NOT_RESULTS]
    values: dict[str, list[int]] = {}
    lines = ["三、本年度办理结果"]
    for n, (row, label) in enumerate(zip(results, RESULT_LABELS, strict=True)):
        values[row] = [n + 2, 0, 0, 0, n % 3, 0, n + 2 + n % 3]
        lines += [_numbers(values[row]), label]
    total = [sum(v[c] for v in values.values()) for c in range(7)]
    values.update({"new": total, "total": total, "carried_over": Z, "carried_forward": Z})
    body = [_row("一、本年新收政府信息公开申请数量", total), _row("二、上年结转政府信息公开申请数量", Z)]
    body += [*lines, _numbers(total), "（七）总计", _row("四、结转下年度继续办理", Z), ""]
    return "\n".join(body), values


def test_the_identities_decide_which_numbers_row_a_label_names(extractor, tmp_path: Path) -> None:
    body, values = _labels_after_their_rows()
    fields = _extract(extractor, tmp_path, body)["fields"]
    assert {r: [fields[f"s3.{r}.{c}"] for c in COLUMNS] for r in values} == values
    # Without the identities the labels alone shift rows: the test can tell.
    blind = Extractor.load(settings=MappingSettings(order_identity_weight=0.0))
    fields = _extract(blind, tmp_path, body)["fields"]
    assert {r: [fields[f"s3.{r}.{c}"] for c in COLUMNS] for r in values} != values


def test_a_value_floated_out_of_its_row_fills_the_column_the_identities_leave(
    extractor, tmp_path: Path
) -> None:
    # The 部分公开 row printed six cells; its 自然人 value 2 floated above the fragment as a lone line.
    floated = DETACHED.replace(
        _numbers([2, 0, 0, 0, 1, 0, 3]), "2\n| 0 | 0 | 0 | 1 | 0 | 3 |\n|---|---|---|---|---|---|"
    )
    record = _extract(extractor, tmp_path, floated)
    assert [record["fields"][f"s3.partial.{c}"] for c in COLUMNS] == [2, 0, 0, 0, 1, 0, 3]
    placed = {f["field"] for f in _flags(record, "placed_by_identities")}
    assert {f"s3.partial.{c}" for c in COLUMNS} <= placed
    assert not any(f["field"].startswith("s3.partial.") for f in _flags(record, "position_uncertain"))


def test_a_lone_line_under_the_header_leaves_the_grid_reading_it_by_position(
    extractor, tmp_path: Path
) -> None:
    # The first row's label and its total printed apart as lines between the header and the grid: the
    # grid rows still read the stacked header by position (总计 last), not in the lines' order.
    first = _row("一、本年新收政府信息公开申请数量", [10, 2, 0, 0, 1, 0, 13])
    apart = "一、本年新收政府信息公开申请数量\n13\n| 10 | 2 | 0 | 0 | 1 | 0 |\n|---|---|---|---|---|---|"
    fields = _extract(extractor, tmp_path, DETACHED.replace(first, apart))["fields"]
    assert [fields[f"s3.new.{c}"] for c in COLUMNS] == [10, 2, 0, 0, 1, 0, 13]
    assert [fields[f"s3.granted.{c}"] for c in COLUMNS] == [3, 1, 0, 0, 0, 0, 4]


def test_text_before_a_section_heading_names_no_row_after_it(extractor, tmp_path: Path) -> None:
    # 结转下年度 is printed after its numbers, right before section 4's heading; the first row of
    # section 4 has lost its label to the header cells above it.
    end = _row("四、结转下年度继续办理", [1, 0, 0, 0, 0, 0, 1]) + "\n"
    assert end in DETACHED
    s4 = "\n".join(
        [
            _numbers([1, 0, 0, 0, 0, 0, 1]),
            "四、结转下年度继续办理",
            "## 四、政府信息公开行政复议、行政诉讼情况",
            "结果维持",
            "结果纠正",
            "其他结果",
            "尚未审结",
            "总计",
            "行政复议",
            "| 1 | 2 | 0 | 0 | 3 |\n|---|---|---|---|---|",
            "| 未经复议直接起诉 | 0 | 0 | 1 | 0 | 1 |\n|---|---|---|---|---|---|",
            "| 复议后起诉 | 0 | 0 | 0 | 0 | 0 |\n|---|---|---|---|---|---|",
            "",
        ]
    )
    fields = _extract(extractor, tmp_path, DETACHED.replace(end, s4))["fields"]
    assert [fields[f"s3.carried_forward.{c}"] for c in COLUMNS] == [1, 0, 0, 0, 0, 0, 1]
    review = ("upheld", "corrected", "other", "pending", "total")
    assert [fields[f"s4.review.{c}"] for c in review] == [1, 2, 0, 0, 3]


def test_a_group_label_over_numbers_rows_is_no_row_of_the_other_template(extractor, tmp_path: Path) -> None:
    # （六）其他处理 heads the 2021 template's three sub-rows (in 2019 it was one row of its own); here it
    # stands before their numbers, their own labels after them.
    sub = [[1, 0, 0, 0, 0, 0, 1], Z, [2, 0, 0, 0, 0, 0, 2]]
    labels = [
        "1.申请人无正当理由逾期不补正、行政机关不再处理其政府信息公开申请",
        "2.申请人逾期未按收费通知要求缴纳费用、行政机关不再处理其政府信息公开申请",
        "3.其他",
    ]
    start, end = DETACHED.index("（六）其他处理"), DETACHED.index(_row("（七）总计", [10, 2, 0, 0, 1, 0, 13]))
    body = DETACHED[:start] + "\n".join(["（六）其他处理", *map(_numbers, sub), *labels, DETACHED[end:]])
    for label in ("一、本年新收政府信息公开申请数量", "（七）总计"):  # the three rows add 3 applications
        body = body.replace(_row(label, [10, 2, 0, 0, 1, 0, 13]), _row(label, [13, 2, 0, 0, 1, 0, 16]))
    record = _extract(extractor, tmp_path, body)
    for row, values in zip(("no_correction", "unpaid_fee", "other"), sub, strict=True):
        assert [record["fields"][f"s3.other.{row}.{c}"] for c in COLUMNS] == values, row
    assert not _flags(record, "unmapped_row")


def test_row_of_a_key_keeps_dotted_rows() -> None:
    assert load_schema().row_of("s3.withheld.state_secret.total") == "s3.withheld.state_secret"


def test_the_reports_prose_checks_the_table(extractor, tmp_path: Path) -> None:
    agrees = (
        DETACHED + "\n五、存在的主要问题及改进情况\n\n2023年，本局共新收政府信息公开申请13件，上年结转1件。\n"
    )
    assert not _flags(_extract(extractor, tmp_path, agrees), "narrative_mismatch")
    record = _extract(
        extractor, tmp_path, agrees.replace("新收政府信息公开申请13件", "新收政府信息公开申请12件")
    )
    mismatch = _flags(record, "narrative_mismatch")
    assert [f["fields"] for f in mismatch] == [["s3.new.total"]] and "12" in mismatch[0]["detail"]
    assert ReviewPolicy(threshold=0.0).needs_review(
        record["confidence"]["s3.new.total"], ["narrative_mismatch"]
    )


def test_labels_glued_at_any_numbering_are_cut_apart() -> None:
    assert unglued(["①予以公开②部分公开", "果（1）予以公开（2）部分公开", "第二十条第（六）项"]) == [
        "①予以公开",
        "②部分公开",
        "果",
        "（1）予以公开",
        "（2）部分公开",
        "第二十条第（六）项",
    ]
