"""A report's own row order: neighbouring rows printed the other way round, after a converter tore
their labels from their numbers (invented numbers, in the converter's shape of test_order_rows)."""

from __future__ import annotations

from pathlib import Path

from test_order_rows import COLUMNS, DETACHED, Z, _extract, _flags, _numbers, _row

from nianbao.extraction.printed_order import anchored_swaps, as_printed, contradicted, printed_order
from nianbao.models.calibration import ReviewPolicy
from nianbao.schema import load_schema

ONE = [1, 0, 0, 0, 0, 0, 1]
TEMPLATE = ["new", "g.a", "g.b", "g.c", "h.a", "total"]


def _values(record: dict, row: str) -> list:
    return [record["fields"][f"s3.{row}.{c}"] for c in COLUMNS]


def _doubted(record: dict) -> set[str]:
    return {f["field"] for f in _flags(record, "order_doubt")}


def test_neighbours_named_the_other_way_round_are_swapped() -> None:
    assert printed_order(TEMPLATE, ["g.a", "g.c", "g.b"], reach=3) == [
        "new",
        "g.a",
        "g.c",
        "g.b",
        "h.a",
        "total",
    ]
    assert contradicted(TEMPLATE, ["g.a", "g.c", "g.b"], reach=3) == [("g.b", "g.c")]


def test_weak_order_evidence_changes_nothing() -> None:
    for named in (
        ["g.c", "g.b", "g.c"],  # named twice: a table and its prose
        ["h.a", "g.c"],  # rows of two groups
        ["g.c", "x", "y", "z", "w", "g.b"],  # too far apart
        ["g.b", "g.c"],  # in order
    ):
        assert printed_order(TEMPLATE, named, reach=3) == TEMPLATE, named
        assert contradicted(TEMPLATE, named, reach=3) == [], named


def test_only_a_swap_across_an_anchor_is_tried() -> None:
    swaps = anchored_swaps(TEMPLATE, {"g.b"})
    assert [pair for pair, _ in swaps] == [("g.a", "g.b"), ("g.b", "g.c")]
    assert swaps[1][1] == ["new", "g.a", "g.c", "g.b", "h.a", "total"]


def test_a_section_as_printed_keeps_its_keys() -> None:
    s3 = load_schema().sections["s3"]
    order = s3.row_order("2021")
    i = order.index("withheld.third_party")
    swapped = [*order[: i - 1], order[i], order[i - 1], *order[i + 1 :]]
    printed = as_printed(s3, "2021", swapped)
    assert printed.row_order("2021") == swapped and s3.row_order("2021") == order
    assert set(printed.cells["2021"]) == set(s3.cells["2021"])
    assert printed.columns_of("2021", "withheld.third_party") == s3.columns_of("2021", "withheld.third_party")
    assert as_printed(s3, "2021", order) is s3


def test_numbered_labels_out_of_order_give_the_reports_row_order(extractor, tmp_path: Path) -> None:
    # 3.补正后申请内容仍不明确 printed before 2.没有现成信息需要另行制作, both after their numbers.
    template_order = "\n".join(
        [
            _row("1.本机关不掌握相关政府信息", [2, 1, 0, 0, 0, 0, 3]),
            _row("2.没有现成信息需要另行制作", Z),
            _row("3.补正后申请内容仍不明确", Z),
        ]
    )
    swapped = "\n".join(
        [
            _row("1.本机关不掌握相关政府信息", [1, 1, 0, 0, 0, 0, 2]),
            _numbers(ONE),
            _numbers(Z),
            "3.补正后申请内容仍不明确",
            "2.没有现成信息需要另行制作",
        ]
    )
    record = _extract(extractor, tmp_path, DETACHED.replace(template_order, swapped))
    assert _values(record, "unavailable.unclear") == ONE
    assert _values(record, "unavailable.needs_creation") == Z
    assert not _doubted(record)


def test_unnumbered_labels_out_of_order_put_both_rows_in_review(extractor, tmp_path: Path) -> None:
    start = DETACHED.index("（三）不")
    end = DETACHED.index(_row("5.属于三类内部事务信息", Z))
    # 保护第三方合法权益 printed before 危及"三安全一稳定", the labels apart from the numbers.
    withheld = "\n".join(
        [
            "（三）不予公开",
            "属于国家秘密",
            "其他法律行政法规禁止公开",
            "保护第三方合法权益",
            _numbers(Z),
            _numbers(ONE),
            _numbers(ONE),
            _numbers(Z),
            '危及"三安全一稳定"',
            "",
        ]
    )
    record = _extract(extractor, tmp_path, DETACHED[:start] + withheld + DETACHED[end:])
    rows = ("withheld.security_stability", "withheld.third_party")
    doubted = {f"s3.{row}.{c}" for row in rows for c in COLUMNS}
    assert _doubted(record) == doubted
    policy = ReviewPolicy(threshold=0.0)
    assert all(policy.needs_review(1.0, ["order_doubt"]) for _ in doubted)
    assert _values(record, "withheld.prohibited") == ONE  # the rows around are read as before


def test_a_labelled_row_printed_after_its_neighbour_is_read_swapped(extractor, tmp_path: Path) -> None:
    # 3.要求提供公开出版物 printed after 4.无正当理由大量反复申请: two numbers rows between 1. and 3.
    legal = [0, 0, 0, 0, 1, 0, 1]
    template_order = DETACHED[DETACHED.index("1.信访举报投诉类申请") : DETACHED.index("（六）其他处理")]
    swapped = "\n".join(
        [
            _row("1.信访举报投诉类申请", Z),
            _numbers(ONE),
            _numbers(legal),
            _row("3.要求提供公开出版物", Z),
            _numbers(Z),
            "2.重复申请",
            "4.无正当理由大量反复申请",
            "5.要求行政机关确认或重新出具已获取信息",
            "",
        ]
    )
    body = DETACHED.replace(template_order, swapped)
    for label in ("一、本年新收政府信息公开申请数量", "（七）总计"):
        body = body.replace(_row(label, [10, 2, 0, 0, 1, 0, 13]), _row(label, [10, 2, 0, 0, 2, 0, 14]))
    record = _extract(extractor, tmp_path, body)
    assert _values(record, "not_processed.duplicate") == ONE
    assert _values(record, "not_processed.excessive") == legal
    assert _values(record, "not_processed.confirmation") == Z
    assert _doubted(record) == {f"s3.not_processed.excessive.{c}" for c in COLUMNS}


def test_a_table_in_template_order_is_not_doubted(extractor, tmp_path: Path) -> None:
    assert not _doubted(_extract(extractor, tmp_path, DETACHED))
