"""Report meta (agency, year): the rules' readings of title, opening sentence, signature and page heading,
the sections pipeline's ner where they fall short, and ``meta_uncertain`` flags."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nianbao.extraction.meta import Meta, find_meta, reconcile, regions, same_agency
from nianbao.extraction.meta_ner import ner_meta
from nianbao.extraction.record import Flag
from nianbao.models.sections import SECTIONS_PIPELINE, SectionReader

HAS_NER = (SECTIONS_PIPELINE / "ner").is_dir()
needs_ner = pytest.mark.skipif(not HAS_NER, reason="sections pipeline has no trained ner")

OPENING = (
    "根据《中华人民共和国政府信息公开条例》（以下简称《条例》）和《中华人民共和国政府信息公开工作年度报告格式》"
    "要求编制。"
)
BODY = [
    "一、总体情况",
    "（一）主动公开情况",
    "全年主动公开政府信息312条，发布政策解读9篇。",
    "六、其他需要报告的事项",
    "无。",
]


CRUMBS = "您现在的位置：网站首页 > 信息公开 > 鹭江综合实验区 > 政府信息公开年报"


def read(lines: list[str]) -> tuple[Meta, list[dict]]:
    """What extraction does: the rules, and the ner only where their reading is doubtful."""
    rules = find_meta(lines)
    return reconcile(rules, ner_meta(SectionReader.load_ner(), lines) if HAS_NER and rules.doubtful else None)


def kinds(flags: list[Flag]) -> dict[str, str]:
    return {f.field: f.kind for f in flags}


# ---------------------------------------------------------------- the rules alone
def test_opening_sentence_alone_names_the_agency() -> None:
    lines = ["2023年政府信息公开工作年度报告", f"本报告由东港区城市管理综合执法局{OPENING}", *BODY]
    meta, flags = reconcile(find_meta(lines))
    assert meta == Meta("东港区城市管理综合执法局", 2023) and flags == []


def test_signature_alone_names_the_agency_and_its_date_is_not_the_year() -> None:
    lines = ["2023年度政府信息公开工作年度报告", "2023年，我镇坚持以公开为常态、不公开为例外。", *BODY]
    meta, flags = reconcile(find_meta([*lines, "白沙镇人民政府", "2024年1月15日"]))
    assert meta == Meta("白沙镇人民政府", 2023) and flags == []
    meta, _ = reconcile(
        find_meta([*lines, "白沙镇人民政府　二〇二四年一月十五日"])
    )  # on one line, in numerals
    assert meta == Meta("白沙镇人民政府", 2023)


def test_breadcrumb_alone_names_the_agency() -> None:
    lines = [
        "当前位置：首页 > 政务公开 > 部门信息公开 > 青山区卫生健康局 > 政府信息公开年报",
        "发布时间：2024-01-25　浏览次数：88",
        "2023年政府信息公开工作年度报告",
        *BODY,
    ]
    meta, flags = reconcile(find_meta(lines))
    assert meta == Meta("青山区卫生健康局", 2023) and flags == []


def test_year_is_the_reported_year_not_the_publication_date() -> None:
    lines = [
        "青山区人民政府政府信息公开工作年度报告",
        "发布时间：2024-01-25",
        "2023年，区政府扎实推进政务公开。",
    ]
    meta, flags = reconcile(find_meta([*lines, *BODY, "青山区人民政府", "2024年1月20日"]))
    assert meta == Meta("青山区人民政府", 2023) and flags == []
    # Only the publication date: the year before it, flagged.
    meta, flags = reconcile(find_meta([lines[0], lines[1], *BODY, "青山区人民政府", "2024年1月20日"]))
    assert meta.year == 2023 and kinds(flags) == {"meta.year": "meta_uncertain"}


def test_title_year_stands_over_the_statistics_period_and_the_difference_is_flagged() -> None:
    lines = [
        "青山区人民政府2023年政府信息公开工作年度报告",
        "本报告所列数据的统计期限自2022年1月1日起至2022年12月31日止。",
    ]
    meta, flags = reconcile(find_meta(lines))
    assert meta.year == 2023 and kinds(flags) == {"meta.year": "meta_uncertain"}
    assert "2022" in flags[0].detail


def test_abbreviation_kept_as_printed_and_not_a_disagreement() -> None:
    lines = ["市发改委2023年政府信息公开工作年度报告", f"本报告由市发展和改革委员会{OPENING}"]
    assert reconcile(find_meta(lines)) == (Meta("市发改委", 2023), [])
    assert same_agency("市发改委", "市发展和改革委员会") and same_agency(
        "中国（福建）自贸区", "中国(福建)自贸区"
    )
    assert not same_agency("甲市教育局", "乙县财政局")


def test_disagreeing_readings_keep_the_title_and_are_flagged() -> None:
    lines = ["甲市教育局2023年政府信息公开工作年度报告", f"本报告由乙县财政局{OPENING}", *BODY]
    meta, flags = reconcile(find_meta(lines))
    assert meta == Meta("甲市教育局", 2023)
    assert kinds(flags) == {"meta.agency": "meta_uncertain"} and "乙县财政局" in flags[0].detail


def test_unknown_agency_is_flagged() -> None:
    lines = ["政府信息公开工作年度报告", "2023年，我单位认真落实《条例》。", *BODY]
    meta, flags = read(lines)
    assert meta == Meta(None, 2023)
    assert kinds(flags) == {"meta.agency": "meta_uncertain"}


def test_a_cited_document_title_is_not_the_agency() -> None:
    """The title's 开 read as 幵 by OCR; 《中华人民共和国政府信息公开工作年度报告格式》 must not name it."""
    lines = [
        "鄞州区人民政府2024 年政府信息公幵工作年度报告",
        "本报告由鄞州区人民政府按照《中华人民共和国政府信息公开条例",
        "》（以下简称《条例》）和《中华人民共和国政府信息公开工作年",
        "度报告格式》要求编制。",
    ]
    assert reconcile(find_meta(lines))[0] == Meta("鄞州区人民政府", 2024)


def test_a_known_organ_shape_needs_no_ner_an_unfamiliar_one_does() -> None:
    assert not find_meta(["富春街道办事处2023年政府信息公开工作年度报告"]).doubtful
    assert find_meta(["云岭综合实验区2024年度政府信息公开工作年度报告"]).doubtful
    assert find_meta(["2024年度政府信息公开工作年度报告"]).doubtful


def test_regions_are_what_the_ner_reads() -> None:
    lines = [
        "首页 > 政务公开 > 年报",
        "# 白沙镇人民政府",
        "2023 年政府信息公开工作年度报告",
        *BODY,
        "白沙镇人民政府",
        "2024年1月15日",
    ]
    got = regions(lines)
    assert got["title"] == "白沙镇人民政府2023年政府信息公开工作年度报告"
    assert got["signature"] == "无。\n白沙镇人民政府\n2024年1月15日"
    assert got["page"] == "首页 > 政务公开 > 年报" and got["opening"] == ""


# ---------------------------------------------------------------- the ner: held-out shapes (综合实验区, 片区)
@needs_ner
@pytest.mark.parametrize(
    ("lines", "agency", "unconfirmed"),
    [
        (["云岭综合实验区2024年度政府信息公开工作年度报告", *BODY], "云岭综合实验区", False),
        (["2024年青澜综合实验区政府信息公开工作年度报告", *BODY], "青澜综合实验区", False),
        (
            [CRUMBS, "2023年政府信息公开工作年度报告", *BODY],
            "鹭江综合实验区",
            True,
        ),
        (["2023年政府信息公开工作年度报告", *BODY, "临川综合实验区", "2024年2月6日"], "临川综合实验区", True),
        (
            ["首页 > 政务公开 > 东湖片区 > 年度报告", "2022年度政府信息公开工作年度报告", *BODY],
            "东湖片区",
            True,
        ),
        (
            ["2023年度政府信息公开工作年度报告", *BODY, "滨江新区金沙片区", "2024年1月30日"],
            "滨江新区金沙片区",
            True,
        ),
        (
            ["2023年度政府信息公开工作年度报告", f"本报告由滨江新区金沙片区{OPENING}", *BODY],
            "滨江新区金沙片区",
            False,
        ),
    ],
)
def test_ner_reads_held_out_agency_shapes(lines: list[str], agency: str, unconfirmed: bool) -> None:
    """Title or opening: the rules' reading, confirmed by the ner (no flag). Breadcrumb or signature
    alone: the ner's reading of a name of no known organ shape, nothing to confirm it — right, but flagged."""
    meta, flags = read(lines)
    assert meta.agency == agency, regions(lines)
    if unconfirmed:
        assert kinds(flags) == {"meta.agency": "meta_uncertain"} and "no second reading" in flags[0].detail
    else:
        assert flags == []


@needs_ner
def test_ner_confirms_an_unfamiliar_title_agency_and_opening_containment_is_no_disagreement() -> None:
    lines = [
        "云岭综合实验区2024年度政府信息公开工作年度报告",
        f"本报告由云岭综合实验区管理委员会{OPENING}",
        *BODY,
    ]
    assert read(lines) == (Meta("云岭综合实验区", 2024), [])


@needs_ner
def test_whole_pipeline_reader_and_its_light_ner_loader_agree() -> None:
    lines = ["首页 > 政务公开 > 鹭江综合实验区 > 年度报告", "2023年政府信息公开工作年度报告", *BODY]
    assert ner_meta(SectionReader.load(), lines) == ner_meta(SectionReader.load_ner(), lines)


@needs_ner
def test_pipeline_card_records_how_the_ner_was_made() -> None:
    card = json.loads((SECTIONS_PIPELINE / "meta.json").read_text("utf-8"))["nianbao"]
    assert card["ner"]["held_out_markers"] == ["综合实验区", "片区"]
    assert set(card["ner"]["held_out_shapes"]).isdisjoint(card["ner"]["trained_shapes"])
    assert card["metrics"]["sections_ner_held_out_document"] >= 0.9


def test_extractor_flags_meta_uncertain(extractor, tmp_path: Path) -> None:
    path = tmp_path / "report.md"
    path.write_text(
        "\n".join(["# 甲市教育局2023年政府信息公开工作年度报告", f"本报告由乙县财政局{OPENING}", *BODY]),
        "utf-8",
    )
    record = extractor.extract(path)
    assert record["meta"]["agency"] == "甲市教育局" and record["meta"]["year"] == 2023
    assert {"field": "meta.agency", "kind": "meta_uncertain"}.items() <= next(
        f for f in record["flags"] if f.get("field") == "meta.agency"
    ).items()
    assert not any(f["kind"] == "meta_disagrees" for f in record["flags"])


@needs_ner
def test_extractor_reads_a_breadcrumb_only_agency_with_the_ner(extractor, tmp_path: Path) -> None:
    path = tmp_path / "page.html"
    body = "".join(f"<p>{line}</p>" for line in ["2023年政府信息公开工作年度报告", *BODY])
    path.write_text(f'<html><body><div class="nav">{CRUMBS}</div>{body}</body></html>', "utf-8")
    record = extractor.extract(path)
    assert record["error"] is None and record["meta"]["agency"] == "鹭江综合实验区"
    assert record["meta"]["year"] == 2023
    assert [f["kind"] for f in record["flags"] if f.get("field") == "meta.agency"] == ["meta_uncertain"]
