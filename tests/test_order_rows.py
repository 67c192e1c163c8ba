"""Rows found by order, rows not found, identity gaps and short rows: the structure a converter breaks.

The documents here are written the way PDF→Markdown converters print a table (invented numbers):
labels of merged and wrapped cells outside the table fragments, numbers-only rows in document order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nianbao.extraction.alignment import align_in_order
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
