"""Narrative cross-check (extraction/narrative.py, data/narrative.yaml): figures restated in prose."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from nianbao.evaluation.synth.corpus import document_seed
from nianbao.evaluation.synth.forms import make_report
from nianbao.extraction.narrative import NarrativeFigure, cross_check, read_figures
from nianbao.extraction.narrative_grammar import load_grammar
from nianbao.extraction.readers import read
from nianbao.schema import load_schema

TITLE = "某某县自然资源局2023年政府信息公开工作年度报告"
HEADING = "（二）依申请公开情况"


def figures(*sentences: str, year: int | None = 2023) -> list[NarrativeFigure]:
    return read_figures([TITLE, HEADING, *sentences], year=year)


def kinds(*sentences: str, year: int | None = 2023) -> list[tuple[str, int]]:
    return [(f.kind, f.value) for f in figures(*sentences, year=year)]


def zeros(fmt: str = "2021") -> dict[str, int | float | None]:
    return dict.fromkeys(load_schema().field_keys(fmt), 0)


# ---------------------------------------------------------------- the grammar as data
def test_every_reading_names_fields_of_its_format() -> None:
    schema = load_schema()
    grammar = load_grammar()
    assert len(grammar.kinds) >= 15
    for kind in grammar.kinds:
        assert kind.readings, kind.name
        for fmt, alternatives in kind.readings.items():
            keys = set(schema.field_keys(fmt))
            for alternative in alternatives:
                assert alternative and set(alternative) <= keys, (kind.name, fmt, alternative)
    by_name = {k.name: k for k in grammar.kinds}
    assert len(by_name["withheld"].readings["2021"][0]) == 8  # the sum of the 8 不予公开 rows
    assert by_name["other"].readings["2019"] == (("s3.other.total",),)
    assert len(by_name["other"].readings["2021"][0]) == 3
    assert by_name["rules_made"].readings == {
        "2021": (("s2.rules.new",),),
        "2019": (("s2.rules.made",), ("s2.rules.published",)),
    }


# ---------------------------------------------------------------- reading figures
@pytest.mark.parametrize(
    ("sentence", "expected"),
    [
        (
            "2023年，本局共收到政府信息公开申请12件（其中上年结转2件），已全部办结。",
            [("received", 12), ("carried_over", 2)],
        ),
        (
            "本年度新收政府信息公开申请35件，上年结转3件，办结36件，其中予以公开20件，部分公开5件，"
            "不予公开2件，无法提供3件，不予处理4件，其他处理2件，结转下年度继续办理2件。",
            [
                ("new", 35),
                ("carried_over", 3),
                ("closed", 36),
                ("granted", 20),
                ("partial", 5),
                ("withheld", 2),
                ("unavailable", 3),
                ("not_processed", 4),
                ("other", 2),
                ("carried_forward", 2),
            ],
        ),
        ("全年新收到依申请公开申请十二件，其中同意公开两件。", [("new", 12), ("granted", 2)]),
        ("2023年，我局共接到30件政府信息公开申请，均在法定期限内答复。", [("received", 30)]),
        ("2023年，本机关共收到公民、法人和其他组织提出的政府信息公开申请17件。", [("received", 17)]),
        ("本年度依申请公开办理结果：予以公开：7件；部分公开：2件。", [("granted", 7), ("partial", 2)]),
        (
            "其中，9件予以公开，1件部分公开，另有1件正在办理中。",
            [("granted", 9), ("partial", 1), ("carried_forward", 1)],
        ),
        ("共办理政府信息公开申请21件，无下年度结转。", [("handled", 21), ("carried_forward", 0)]),
        ("本年度受理信息公开申请数量为5。", [("received", 5)]),
        ("因政府信息公开工作被申请行政复议1件、被提起行政诉讼0件。", [("review", 1), ("suit", 0)]),
        ("本年度未发生因政府信息公开引起的行政复议和行政诉讼。", [("review_suit", 0)]),
        ("全年未发生政府信息公开行政复议、行政诉讼案件。", [("review_suit", 0)]),
        ("本机关未被申请行政复议，也未被提起行政诉讼。", [("review", 0), ("suit", 0)]),
        ("行政复议和行政诉讼案件均为0件。", [("review_suit", 0)]),
        (
            "发生行政复议2起，其中未经复议直接起诉1起、复议后起诉1起。",
            [("review", 2), ("suit_direct", 1), ("suit_after_review", 1)],
        ),
        ("2023年，我委没有收到政府信息公开申请。", [("received", 0)]),
        ("2023年，未收到依申请公开事项.", [("received", 0)]),
        (
            "2023年，市政府制定规章2部，废止规章1件；印发行政规范性文件十五件，现行有效规范性文件86件。",
            [("rules_made", 2), ("rules_repealed", 1), ("normative_made", 15), ("normative_in_force", 86)],
        ),
    ],
)
def test_reads_restated_figures(sentence: str, expected: list[tuple[str, int]]) -> None:
    assert kinds(sentence) == expected


def test_lines_wrapped_mid_sentence_are_joined() -> None:
    lines = [TITLE, HEADING, "2023年，本局坚持依法依规办理，共收到政府信息公开申", "请7件，上年结转1件。"]
    found = read_figures(lines, year=2023)
    assert [(f.kind, f.value, f.line) for f in found] == [("received", 7, 3), ("carried_over", 1, 3)]
    assert found[0].sentence == "2023年，本局坚持依法依规办理，共收到政府信息公开申请7件，上年结转1件。"
    assert found[0].readings_for("2021") == (("s3.new.total",), ("s3.new.total", "s3.carried_over.total"))


@pytest.mark.parametrize(
    "sentence",
    [
        "2023年主动公开政府信息1234条，其中政策解读56条，规范性文件12条。",
        "依申请公开答复率100%，按时办结率98.5%，同比增长12.5%。",
        "本报告所列数据的统计期限自2023年1月1日起至2023年12月31日止。",
        "受理政府信息公开申请数量同比增加6件。",
        "较上年收到的政府信息公开申请减少3件。",
        "全年共承办人大代表建议38件、政协提案22件，已全部办复。",
        "网站全年访问量达12万次，政务公开专栏发布信息300余条。",
        "通过12345热线受理群众诉求1560件，办结1560件。",
        "受理行政许可申请1234件，办结1234件。",
        "召开新闻发布会3次，开展政务公开培训2次，参训120人次。",
        "2022年共收到政府信息公开申请8件。",  # another year
        "共收到政府信息公开申请30余件，近20件予以公开。",  # not exact
        "其中予以公开或部分公开59件。",  # two kinds together
        "全县共收到政府信息公开申请320件。",  # another scope
        "全年办理行政复议案件126件，行政诉讼案件88件。",  # others' cases
        "行政复议、行政诉讼各1件。",  # each, not the sum
        "其中通过网上平台收到申请9件，信函申请2件。",  # a breakdown
        "收到申请人补正材料3件。",
        "修订完善规章制度3项。",
        "2023年未收取信息处理费，未收到人大代表建议。",
        "一、本年新收政府信息公开申请数量 3 0 0 0 0 0 3",  # table rows
        "| 二、上年结转政府信息公开申请数量 | 1 | 0 | 0 | 0 | 0 | 0 | 1 |",
        "四、结转下年度继续办理\t2",
        "4.无正当理由大量反复申请",
    ],
)
def test_ignores_other_numbers(sentence: str) -> None:
    assert kinds(sentence) == []


def test_application_figures_need_an_application_context() -> None:
    elsewhere = ["2023年工作总结", "（一）主动公开情况", "全年办结36件，予以公开20件。"]
    assert read_figures(elsewhere, year=2023) == []
    assert kinds("全年办结36件，予以公开20件。") == [("closed", 36), ("granted", 20)]


def test_year_is_found_in_the_lines_when_not_given() -> None:
    assert kinds("2022年收到政府信息公开申请8件，2023年收到政府信息公开申请12件。", year=None) == [
        ("received", 12)
    ]


# ---------------------------------------------------------------- cross-checking
def test_agreement_counts_each_field_once_per_agreeing_figure() -> None:
    found = figures(
        "本年度新收政府信息公开申请35件，上年结转3件，办结36件，其中予以公开20件，结转下年度继续办理2件。",
        "全年新收政府信息公开申请35件。",  # the same figure twice counts once
    )
    values = {
        **zeros(),
        "s3.new.total": 35,
        "s3.carried_over.total": 3,
        "s3.total.total": 36,
        "s3.granted.total": 20,
        "s3.carried_forward.total": 2,
    }
    check = cross_check(found, values, "2021")
    assert check.flags == [] and check.unmatched == []
    assert check.agreement == {
        "s3.new.total": 1,
        "s3.carried_over.total": 1,
        "s3.total.total": 1,
        "s3.granted.total": 1,
        "s3.carried_forward.total": 1,
    }
    assert len(check.agreed) == 5


def test_mismatch_is_flagged_with_its_fields() -> None:
    found = figures("本年度新收政府信息公开申请12件。")
    check = cross_check(found, {**zeros(), "s3.new.total": 10}, "2021")
    assert [f.to_json() for f in check.flags] == [
        {
            "fields": ["s3.new.total"],
            "kind": "narrative_mismatch",
            "detail": "正文: 新收申请 12 件; 表格 s3.new.total = 10",
            "line": 2,
        }
    ]
    assert check.agreement == {"s3.new.total": -1}
    assert check.mismatched == found


def test_received_agrees_with_either_reading() -> None:
    found = figures("2023年共收到政府信息公开申请12件（其中上年结转2件）。")
    with_carried = {**zeros(), "s3.new.total": 10, "s3.carried_over.total": 2}
    only_new = {**zeros(), "s3.new.total": 12, "s3.carried_over.total": 2}
    for values in (with_carried, only_new):
        assert cross_check(found, values, "2021").flags == []
    check = cross_check(found, {**zeros(), "s3.new.total": 9, "s3.carried_over.total": 2}, "2019")
    assert [f.keys for f in check.flags] == [["s3.new.total", "s3.carried_over.total"]]
    assert check.flags[0].detail == (
        "正文: 收到申请 12 件; 表格 s3.new.total = 9 / s3.new.total + s3.carried_over.total = 11"
    )
    # 上年结转2件 agrees (+1); 收到12件 names it too and agrees with no reading (-1)
    assert check.agreement == {"s3.new.total": -1, "s3.carried_over.total": 0}


def test_sums_over_rows_and_blank_cells() -> None:
    found = figures("其中不予公开3件。")
    values = {**zeros(), "s3.withheld.state_secret.total": 1, "s3.withheld.third_party.total": 2}
    check = cross_check(found, values, "2021")
    assert check.flags == [] and len(check.agreement) == 8 and set(check.agreement.values()) == {1}
    blanks = dict.fromkeys((k for k in values if k.startswith("s3.withheld.")), None)
    more = {**values, **blanks, "s3.withheld.state_secret.total": 4}
    flagged = cross_check(found, more, "2021").flags
    assert flagged[0].keys == ["s3.withheld.state_secret.total"]
    assert flagged[0].detail == "正文: 不予公开 3 件; 表格 s3.withheld.*.total ≥ 4 (7 空白)"
    fewer = {**values, **blanks, "s3.withheld.state_secret.total": 1}
    check = cross_check(found, fewer, "2021")
    assert check.flags == [] and check.agreement == {} and check.unmatched == found


def test_blank_fields_are_unmatched_not_mismatched() -> None:
    found = figures("因政府信息公开被申请行政复议2件。")
    values = {**zeros(), "s4.review.total": None}
    check = cross_check(found, values, "2021")
    assert check.flags == [] and check.agreement == {} and check.unmatched == found


def test_stated_zero_checks_every_field_it_names() -> None:
    found = figures("全年未发生政府信息公开行政复议、行政诉讼案件。")
    assert cross_check(found, zeros(), "2021").agreement == {
        "s4.review.total": 1,
        "s4.suit_direct.total": 1,
        "s4.suit_after_review.total": 1,
    }
    flags = cross_check(found, {**zeros(), "s4.suit_after_review.total": 1}, "2021").flags
    assert flags[0].keys == ["s4.review.total", "s4.suit_direct.total", "s4.suit_after_review.total"]
    assert flags[0].detail.startswith("正文: 行政复议和行政诉讼 0 件; 表格 ")


def test_figures_without_a_reading_in_the_format_are_ignored() -> None:
    found = figures("2023年，市政府废止规章1件，其他处理2件。")
    assert [f.kind for f in found] == ["rules_repealed", "other"]
    check = cross_check(found, {**zeros("2019"), "s3.other.total": 2}, "2019")
    assert check.agreement == {"s3.other.total": 1} and check.flags == []


# ---------------------------------------------------------------- real and synthesized reports
def test_seed_reports_agree_with_their_gold(seeds: Path) -> None:
    found_any = 0
    for text in sorted(seeds.glob("*.txt")):
        gold = json.loads(text.with_name(text.stem + ".gold.json").read_text("utf-8"))
        lines = read(text).text().splitlines()
        found = read_figures(lines, year=gold["meta"]["year"])
        check = cross_check(found, gold["fields"], gold["meta"]["format"])
        assert check.flags == [], text.name
        assert len(check.agreed) + len(check.unmatched) == len({(f.kind, f.value) for f in found})
        found_any += bool(found)
    assert found_any == len(list(seeds.glob("*.txt")))  # each seed states its applications in words


def test_synthesized_reports_agree_with_their_gold() -> None:
    stated = 0
    for form, suffix in (("md", ".md"), ("txt", ".txt")):
        for i in range(8):
            content, gold, _ = make_report(document_seed(4243, form, i), form)
            lines = read(Path("report" + suffix), content).text().splitlines()
            found = read_figures(lines)
            check = cross_check(found, gold["fields"], gold["meta"]["format"])
            assert check.flags == [], (form, i, found)
            stated += len(found)
    assert stated >= 16


def test_fast_enough_for_a_report() -> None:
    lines = [TITLE, HEADING] + [
        "2023年，本局共收到政府信息公开申请12件（其中上年结转2件），办结12件，其中予以公开8件。",
        "加强政府网站和政务新媒体建设，全年通过微信公众号发布信息356条，同比增长12.5%。",
        "一、本年新收政府信息公开申请数量 10 0 0 0 0 0 10",
        "全年未发生政府信息公开行政复议、行政诉讼案件。",
    ] * 50
    read_figures(lines, year=2023)
    start = time.perf_counter()
    for _ in range(10):
        read_figures(lines, year=2023)
    assert (time.perf_counter() - start) / 10 < 0.05  # ~2 ms on one core; generous for a shared machine
