"""Synthetic 政府信息公开工作年度报告 with known gold labels, for testing the extractor on held-out variants.

Why: five real seeds cannot cover what real reports do (see shared/spec/real-world.md). Each report here is
drawn from one ``random.Random(seed)``: first the content — values that satisfy the schema's identities, then
realistic deviations (nulls, omitted blocks, a printed total that disagrees, the old （六） row, reworded or
misspelt labels, reordered rows/columns) — and then a list of blocks (headings, paragraphs, page marks,
tables) that one of the FORMS renders. All tables share one model, cells placed on a grid with row/column
spans, so the forms differ only in how they print that grid. Content draws come before any form-specific
draw, so one seed gives the same gold in every form.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import multiprocessing
import random
import re
import zipfile
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path

import docx
from docx.enum.text import WD_ALIGN_PARAGRAPH

from nianbao.evaluation.blocks import Block, Cell, Heading, Page, Para, Table, grid, place, shape, split
from nianbao.evaluation.converters import CONVERTERS
from nianbao.evaluation.converters import SUFFIXES as CONVERTED_SUFFIXES
from nianbao.evaluation.render_mdconv import md_heading, pipe_row, pipe_rule, render_mdconv
from nianbao.evaluation.render_pdf import DRAWN_LOOKS, EMBEDDED_FONTS, LOOK_WEIGHTS, PDF_LOOKS, render_pdf
from nianbao.evaluation.render_scan import render_scan
from nianbao.extraction.validation import validate
from nianbao.schema import Schema, Section, load_schema

FORMS = ("md", "html", "txt", "docx", "pdf", "scan", "mdconv", *CONVERTERS)
# How text reaches a user: pdftotext -layout, a tab-separated copy, a Word-to-text dump, OCR text.
TEXT_STYLES = ("layout", "tsv", "worddump", "ocr")
SUFFIX = {"md": ".md", "html": ".html", "txt": ".txt", "docx": ".docx", "pdf": ".pdf", "scan": ".pdf"}
SUFFIX["mdconv"] = ".md"
SUFFIX |= CONVERTED_SUFFIXES
# Renderings whose s3 header can show another column order (a real grid, not a stream of text).
GRID_RENDERINGS = ("md", "html", "tsv", "docx", "pdf", "scan")
# How a text PDF's tables are drawn, named in the gold's synth style ("pdf" alone is the ruled look).
PDF_STYLES = tuple(f"pdf-{look}" for look in PDF_LOOKS[1:])
# Scans of a look other than the ruled one: asked for by name only, so no seed's default scan changes.
SCAN_STYLES = ("scan-office",)
# The look is drawn from its own rng, so content and the ruled look's bytes are as before the looks came;
# this salt is one under which the kept set's (data/evalset/v1) PDF seeds all draw the ruled look.
PDF_LOOK_SALT = "pdf-look-15"
GENERATOR_VERSION = "2"  # bump when a seed would render differently; the evaluation set names it
YEARS = {"2021": (2021, 2025), "2019": (2019, 2020)}

Value = int | float | None

# ---------------------------------------------------------------- word lists (agencies, wording, noise)
PROVINCES = [
    "山东省",
    "浙江省",
    "江苏省",
    "河南省",
    "四川省",
    "湖北省",
    "广东省",
    "福建省",
    "安徽省",
    "湖南省",
]
CITIES = ["济宁市", "宁波市", "温州市", "洛阳市", "绵阳市", "宜昌市", "佛山市", "泉州市", "芜湖市", "岳阳市"]
COUNTIES = [
    "金乡县",
    "汶上县",
    "鄞州区",
    "嘉祥县",
    "曲阜市",
    "余姚市",
    "瑞安市",
    "新安县",
    "江油市",
    "枝江市",
    "南海区",
    "晋江市",
    "平江县",
    "任城区",
]
TOWNS = ["羊山", "胡集", "化雨", "马集", "高河", "石桥", "新华", "城关", "龙泉", "金城", "中都"]
PROV_DEPTS = [
    "发展和改革委员会",
    "教育厅",
    "科学技术厅",
    "工业和信息化厅",
    "民政厅",
    "司法厅",
    "财政厅",
    "人力资源和社会保障厅",
    "自然资源厅",
    "生态环境厅",
    "住房和城乡建设厅",
    "交通运输厅",
    "水利厅",
    "农业农村厅",
    "商务厅",
    "卫生健康委员会",
    "市场监督管理局",
    "人民政府办公厅",
]
LOCAL_DEPTS = [
    "人民政府办公室",
    "人民政府",
    "发展和改革局",
    "教育局",
    "公安局",
    "民政局",
    "司法局",
    "财政局",
    "人力资源和社会保障局",
    "自然资源和规划局",
    "住房和城乡建设局",
    "交通运输局",
    "农业农村局",
    "水务局",
    "商务局",
    "卫生健康局",
    "应急管理局",
    "市场监督管理局",
    "医疗保障局",
    "投资促进局",
    "退役军人事务局",
    "综合行政执法局",
    "投资促进服务中心",
]

CN = "〇一二三四五六七八九十"
CIRCLED = "①②③④⑤⑥⑦⑧⑨⑩"
NUM_RE = re.compile(r"^(?:(?P<l1>[一二三四五六七八九十])、|（(?P<l2>[一二三四五六七八九十])）|(?P<l3>\d+)\.)")
# numbering styles per level: official first, then dropped / renumbered / half-width
NUMBERING = {
    1: ["{cn}、", "{n}、", "{n}.", ""],
    2: ["（{cn}）", "({cn})", "({cn}) ", "（{n}）", "({n})", "{circ}", ""],
    3: ["{n}.", "{n}. ", "{n}、", "({n})", "（{n}）", "{circ}", ""],
}
HEAD_NUMS = ["{cn}、", "{n}、", "（{cn}）", "第{cn}部分 ", "{cn}. ", ""]
HALF = str.maketrans("（），：", "(),:")
FULLWIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
TYPOS = [
    ("废止", "度止"),
    ("结转", "结传"),
    ("自然人", "自然入"),
    ("公开", "公幵"),
    ("处理", "处埋"),
    ("申请", "申清"),
    ("不予", "不子"),
]
NULL_TOKENS = ["—", "/", "无", "", "——", "不涉及"]

# alternative wordings (the schema's official wording is always the first choice)
S2_ROW_EXTRA = {"normative": ["规范性文件"], "fees": ["行政事业性收费项目"]}
S2_COL_EXTRA = {
    "new": ["本年新制发件数", "本年制发数"],
    "repealed": ["本年废止数"],
    "in_force": ["现行有效数"],
    "decisions": ["处理决定数量", "本年处理决定数"],
    "change": ["本年增／减", "本年增减"],
    "fees.amount": ["本年收费金额（单位：万元）", "本年收费金额(万元)"],
    "procurement.amount": ["采购总金额"],
}
S2_COL_OFFICIAL = {"fees.amount": "本年收费金额（单位：万元）", "procurement.amount": "采购总金额（万元）"}
ARTICLE = {
    "rules": "一",
    "normative": "一",
    "licensing": "五",
    "other_services": "五",
    "penalty": "六",
    "coercion": "六",
    "fees": "八",
    "procurement": "九",
}  # 第二十条 item of each s2 row
ARTICLE_LABELS = ["第二十条第（{cn}）项", "第二十条第({cn})项", "第二十条第{cn}项"]
S3_ROW_EXTRA = {
    "new": ["本年新收申请数量", "本年新收政府信息公开申请"],
    "carried_over": ["上年结转申请数量", "上年结转政府信息公开申请"],
    "partial": ["部分公开", "部分公开（区分处理的只计这一情形，不计其他情形）"],
    "withheld.security_stability": ['危及"三安全一稳定"', "危及三安全一稳定"],
    "unavailable.not_held": ["本机关不掌握相关信息"],
    "other": ["其他处理情形"],
    "total": ["合计"],
    "carried_forward": ["结转下年度继续办理申请数量"],
}
S3_GROUPS = {
    "withheld": "（三）不予公开",
    "unavailable": "（四）无法提供",
    "not_processed": "（五）不予处理",
    "other": "（六）其他处理",
}
S3_BLOCK = ("三、本年度办理结果", ["本年度办理结果情况"])
S3_COL_EXTRA = {"social_welfare": ["社会组织"], "total": ["合计"]}
S3_NOTE = "（本列数据的勾稽关系为：第一项加第二项之和，等于第三项加第四项之和）"
OUTCOME_WEIGHT = {
    "granted": 6,
    "partial": 1.5,
    "unavailable.not_held": 3,
    "other.other": 1,
    "other": 1.2,
    "not_processed.duplicate": 0.6,
    "not_processed.petition": 0.6,
    "withheld.third_party": 0.4,
    "withheld.process": 0.4,
    "unavailable.needs_creation": 0.6,
    "unavailable.unclear": 0.5,
    "other.no_correction": 0.6,
}
S2_SCALE = {
    "rules": 2,
    "normative": 6,
    "licensing": 60,
    "other_services": 40,
    "penalty": 30,
    "coercion": 4,
    "fees": 8,
    "procurement": 12,
}
S4_EXTRA = {
    "suit_direct": ["行政诉讼（未经复议直接起诉）"],
    "suit_after_review": ["行政诉讼（复议后起诉）"],
    "upheld": ["维持"],
    "corrected": ["纠正"],
    "total": ["合计"],
}


# ---------------------------------------------------------------- per-document state
@dataclass
class Style:
    """Choices an agency makes once for its whole report."""

    numbering: dict[int, str]
    heading: str
    halfwidth: bool
    sep: bool
    fullwidth: bool
    signed: bool
    yuan: bool
    typo_rate: float
    wrap: bool
    vertical: bool
    wordy: float


@dataclass
class Doc:
    rng: random.Random
    schema: Schema
    form: str
    fmt: str
    year: int
    agency: str
    level: str
    profile: str
    style: Style
    values: dict[str, int | float] = field(default_factory=dict)  # what is printed as a number
    look: str = "ruled"  # how a text PDF draws its tables (render_pdf.PDF_LOOKS)
    gold: dict[str, Value] = field(default_factory=dict)
    nulls: dict[str, str] = field(default_factory=dict)  # key -> printed null token
    printed: dict[str, str] = field(default_factory=dict)
    omitted: set[str] = field(default_factory=set)  # s2 articles left out
    dropped: set[str] = field(default_factory=set)  # s3 rows left out, or "s4" for the whole table
    old_other: bool = False
    inconsistent: bool = False
    printed_labels: list[tuple[str, str]] = field(default_factory=list)  # (text as printed, concept)
    seed: int = 0  # the document's seed: a form with an rng of its own (mdconv) derives it from this

    def named(self, concept: str, text: str) -> str:
        """Note a printed label with the concept it names (training examples), and return it."""
        self.printed_labels.append((text, concept))
        return text

    def sec(self, name: str) -> Section:
        return self.schema.sections[name]

    def label(self, zh: str, extras: Sequence[str] = ()) -> str:
        """Official wording, or a variant: other body, renumbered, half-width, one OCR typo."""
        lvl, idx, body = split_number(zh)
        if extras and self.rng.random() < self.style.wordy:
            body = self.rng.choice(list(extras))
        if self.style.halfwidth:
            body = body.translate(HALF)
        prefix = self.style.numbering[lvl].format(cn=CN[idx], n=idx, circ=CIRCLED[idx - 1]) if lvl else ""
        return self.typo(prefix + body)

    def typo(self, text: str) -> str:
        if self.rng.random() >= self.style.typo_rate:
            return text
        options = [(a, b) for a, b in TYPOS if a in text]
        return text.replace(*self.rng.choice(options), 1) if options else text

    def wrapped(self, text: str) -> str:
        """A hard line break inside a long cell, as typed in Word."""
        if self.style.wrap and len(text) > 12 and self.rng.random() < 0.5:
            cut = self.rng.randint(8, len(text) - 3)
            return text[:cut] + "\n" + text[cut:]
        return text

    def vertical(self, text: str) -> str:
        return "\n".join(text) if self.style.vertical else text


def split_number(zh: str) -> tuple[int, int, str]:
    """("（三）不予公开") -> (2, 3, "不予公开"): numbering level, index and body."""
    m = NUM_RE.match(zh)
    if not m:
        return 0, 0, zh
    lvl = next(i for i in (1, 2, 3) if m.group(f"l{i}"))
    token = m.group(f"l{lvl}")
    return lvl, int(token) if lvl == 3 else CN.index(token), zh[m.end() :]


def _style(rng: random.Random, big: bool) -> Style:
    def pick(options: list[str]) -> str:
        return rng.choices(options, [6] + [1] * (len(options) - 1))[0]

    return Style(
        numbering={lvl: pick(p) for lvl, p in NUMBERING.items()},
        heading=pick(HEAD_NUMS),
        halfwidth=rng.random() < 0.2,
        sep=big and rng.random() < 0.6,
        fullwidth=rng.random() < 0.03,
        signed=rng.random() < 0.7,
        yuan=rng.random() < 0.06,
        typo_rate=0.0 if rng.random() < 0.7 else 0.1,
        wrap=rng.random() < 0.3,
        vertical=rng.random() < 0.2,
        wordy=rng.choice([0.0, 0.0, 0.2, 0.5]),
    )


LEVELS = ("province", "city", "county", "bureau", "street", "township")


def _agency(rng: random.Random) -> tuple[str, str]:
    """An agency of one of the LEVELS: a people's government, one of its bureaus, or a street/town office."""
    level = rng.choices(LEVELS, [1, 2, 3, 6, 2, 2])[0]
    if level in ("province", "city", "county"):
        place = rng.choice({"province": PROVINCES, "city": CITIES, "county": COUNTIES}[level])
        return place + rng.choice(
            ["人民政府", "人民政府", "人民政府办公厅" if level == "province" else "人民政府办公室"]
        ), level
    county = rng.choice(COUNTIES)
    if level == "bureau":
        if rng.random() < 0.3:
            return rng.choice(PROVINCES) + rng.choice(PROV_DEPTS), level
        return rng.choice([*CITIES, county]) + rng.choice(LOCAL_DEPTS[2:]), level
    kind = "街道办事处" if level == "street" else "镇人民政府"
    return county + rng.choice(TOWNS) + kind, level


# ---------------------------------------------------------------- values and deviations
def _count(rng: random.Random, scale: int) -> int:
    return 0 if scale == 0 or rng.random() < 0.4 else rng.randint(0, scale)


def _money(rng: random.Random, scale: int) -> float:
    if scale == 0 or rng.random() < 0.6:
        return 0.0
    places = rng.choice([0, 1, 2, 2, 3, 4])
    return round(rng.randint(1, 2000 * scale) / 100, places)


def _s2_values(d: Doc) -> None:
    sec, big = d.sec("s2"), d.profile == "big"
    for row in sec.row_order(d.fmt):
        scale = S2_SCALE.get(row, 5) * (40 if big else 1)
        if row == "rules" and d.level not in ("province", "city", "bureau"):
            scale = 0
        made = _count(d.rng, scale)
        for col in sec.columns_of(d.fmt, row):
            key = sec.key(row, col)
            if d.schema.is_decimal(key):
                v: int | float = _money(d.rng, scale)
            elif col in ("new", "made", "prev_items"):
                v = made
            elif col in ("repealed", "published"):
                v = d.rng.randint(0, made) if col == "repealed" else made - d.rng.randint(0, min(made, 1))
            elif col in ("in_force", "total"):
                v = made + _count(d.rng, scale * 8)
            elif col == "change":
                v = d.rng.randint(-min(made, 4), 4) if scale else 0
            else:
                v = _count(d.rng, scale)
            d.values[key] = v


def _s3_values(d: Doc) -> None:
    """Per applicant column: outcomes, then balance; the total column sums the applicants."""
    sec, rng = d.sec("s3"), d.rng
    rows = sec.row_order(d.fmt)
    cols = sec.columns_of(d.fmt, rows[0])
    applicants = [c for c in cols if c != "total"]
    outcomes = [r for r in rows if r not in ("new", "carried_over", "total", "carried_forward")]
    weights = [OUTCOME_WEIGHT.get(r, 0.15) for r in outcomes]
    big = d.profile == "big"
    for i, col in enumerate(applicants):  # the template's first applicant column is 自然人
        n = 0
        if d.profile != "zero" and rng.random() < (0.9 if i == 0 else 0.25):
            n = rng.randint(40, 2500 if i == 0 else 200) if big else rng.randint(1, 8)
        counts = Counter(rng.choices(outcomes, weights, k=n))
        total = sum(counts.values())
        carried = [rng.randint(0, min(total, 60 if big else 3)) if rng.random() < 0.3 else 0 for _ in "ab"]
        flow = {
            "carried_over": carried[0],
            "carried_forward": carried[1],
            "total": total,
            "new": total + carried[1] - carried[0],
        }
        for row in rows:
            d.values[sec.key(row, col)] = flow.get(row, counts[row])
    for row in rows:
        d.values[sec.key(row, "total")] = sum(d.values[sec.key(row, c)] for c in applicants)


def _s4_values(d: Doc) -> None:
    sec = d.sec("s4")
    for row in sec.row_order(d.fmt):
        active = d.profile != "zero" and d.rng.random() < 0.35
        parts = [c for c in sec.columns_of(d.fmt, row) if c != "total"]
        vals = {c: d.rng.randint(0, 12 if d.profile == "big" else 2) if active else 0 for c in parts}
        d.values.update({sec.key(row, c): v for c, v in vals.items()})
        d.values[sec.key(row, "total")] = sum(vals.values())


def _deviate(d: Doc) -> None:
    """Old （六） row, a missing s2 block, null cells, a printed total that disagrees — each drawn once."""
    rng, s2, s3 = d.rng, d.sec("s2"), d.sec("s3")
    sub_rows = [r for r in s3.row_order(d.fmt) if r.startswith("other.")]
    if rng.random() < 0.05 and sub_rows:
        d.old_other = True
        for col in s3.columns_of(d.fmt, sub_rows[0]):
            d.values[s3.key("other", col)] = sum(d.values[s3.key(r, col)] for r in sub_rows)
            d.gold.update({s3.key(r, col): None for r in sub_rows})
    if rng.random() < 0.08:
        d.omitted.add(rng.choice(sorted({ARTICLE[r] for r in s2.row_order(d.fmt)})))
        d.gold.update({s2.key(r, c): None for r, c in s2.cells[d.fmt] if ARTICLE[r] in d.omitted})
    if rng.random() < 0.04:  # an s3 outcome row or two left out of the table
        rows = [
            r for r in s3.row_order(d.fmt) if r.startswith(("withheld.", "unavailable.", "not_processed."))
        ]
        d.dropped.update(rng.sample(rows, rng.randint(1, 2)))
    if rng.random() < 0.03:  # the litigation table left out altogether
        d.dropped.add("s4")
    d.gold.update({k: None for k in d.gold if d.schema.section_of(k) in d.dropped or _row_of(k) in d.dropped})
    roll, printed = rng.random(), [k for k in d.values if d.gold.get(k, 0) is not None]
    if roll < 0.04:  # an agency that leaves every zero of s3/s4 blank
        d.nulls = {k: "" for k in printed if d.schema.section_of(k) in ("s3", "s4") and d.values[k] == 0}
    elif roll < 0.10:
        token = rng.choice(NULL_TOKENS)
        d.nulls = {k: token for k in rng.sample([k for k in printed if k in d.gold], rng.randint(1, 6))}
    d.gold.update({k: None for k in d.nulls if k in d.gold})
    if rng.random() < 0.05:
        lhs = sorted({k for i in d.schema.identities[d.fmt] for k in i.lhs if d.gold.get(k) is not None})
        if lhs:
            key = rng.choice(lhs)
            old = int(d.values[key])
            d.values[key] = d.gold[key] = 0 if old and rng.random() < 0.5 else old + rng.choice([1, 2, 10])
            d.inconsistent = True


def _row_of(key: str) -> str:
    """The row part of a field key: "s3.other.fee.total" -> "other.fee"."""
    return key.split(".", 1)[1].rsplit(".", 1)[0]


def _num_text(d: Doc, key: str, v: int | float) -> str:
    if d.schema.is_decimal(key):
        if d.style.yuan and v:
            return f"{round(v * 10000)}元"
        places = len(repr(float(v)).split(".")[1].rstrip("0"))
        return f"{v:.{places + (places < 4 and d.rng.random() < 0.2)}f}"
    text = f"{v:,}" if d.style.sep and abs(v) >= 1000 and d.rng.random() < 0.8 else str(v)
    if key.endswith(".change") and v > 0 and d.style.signed:
        text = "+" + text
    return text.translate(FULLWIDTH) if d.style.fullwidth else text


# ---------------------------------------------------------------- section tables
def _nums(d: Doc, sec: Section, row: str, cols: Sequence[str], last_cs: int = 1) -> list[Cell]:
    cells = [Cell(d.printed[sec.key(row, c)], num=True) for c in cols]
    cells[-1].cs = last_cs
    return cells


def _s2_tables(d: Doc) -> list[Block]:
    """第二十条 blocks, as one template table or one small table per block."""
    sec, rng = d.sec("s2"), d.rng
    blocks: list[tuple[str, list[str]]] = []
    for row in sec.row_order(d.fmt):
        if blocks and blocks[-1][0] == ARTICLE[row]:
            blocks[-1][1].append(row)
        else:
            blocks.append((ARTICLE[row], [row]))
    width = 1 + max(len(sec.columns_of(d.fmt, rows[0])) for _, rows in blocks)
    separate, art_label = rng.random() < 0.4, rng.choices(ARTICLE_LABELS, [6, 1, 1])[0]
    reorder = rng.random() < 0.1
    tables: list[list[list[Cell]]] = []
    for art, rows in blocks:
        cols = sec.columns_of(d.fmt, rows[0])
        w = 1 + len(cols) if separate else width
        heads = [Cell(_s2_head(d, rows[0], c)) for c in cols]
        heads[-1].cs = w - len(cols)
        if reorder:
            rng.shuffle(rows)
        body = [
            [
                Cell(d.named(f"row:s2.{r}", d.label(sec.rows[r], S2_ROW_EXTRA.get(r, [])))),
                *_nums(d, sec, r, cols, w - len(cols)),
            ]
            for r in rows
        ]
        if art in d.omitted:
            continue
        part = [[Cell(art_label.format(cn=art), cs=w)], [Cell("信息内容"), *heads], *body]
        if separate or not tables:
            tables.append(part)
        else:
            tables[-1].extend(part)
    return [place(rows, head=0, widths=[16] + [8] * 3, kind="s2") for rows in tables]


def _s2_head(d: Doc, row: str, col: str) -> str:
    sec = d.sec("s2")
    text = d.label(
        S2_COL_OFFICIAL.get(f"{row}.{col}", sec.columns[col]),
        S2_COL_EXTRA.get(f"{row}.{col}", S2_COL_EXTRA.get(col, [])),
    )
    if d.style.yuan and d.schema.is_decimal(sec.key(row, col)):  # amounts printed in 元: no 万元 header
        text = re.sub(r"[（(].*?[)）]", "", text)
    return d.named(f"col:s2.{col}", text)


def _s3_columns(d: Doc) -> list[str]:
    sec, rng = d.sec("s3"), d.rng
    cols = sec.columns_of(d.fmt, sec.row_order(d.fmt)[0])
    person, orgs, total = cols[0], cols[1:-1], cols[-1]
    roll = rng.random()
    if d.form not in GRID_RENDERINGS or roll > 0.12:
        return cols
    if roll < 0.04:
        return [total, *cols[:-1]]
    if roll < 0.08:
        return [person, *rng.sample(orgs, len(orgs)), total]
    return [*orgs, person, total]


def _s3_header(d: Doc, order: list[str]) -> list[list[Cell]]:
    sec = d.sec("s3")
    orgs = sec.columns_of(d.fmt, sec.row_order(d.fmt)[0])[1:-1]
    note = (
        d.wrapped(S3_NOTE.translate(HALF) if d.style.halfwidth else S3_NOTE) if d.rng.random() < 0.85 else ""
    )
    name = {
        c: d.named(f"col:s3.{c}", d.vertical(d.label(sec.columns[c], S3_COL_EXTRA.get(c, [])))) for c in order
    }
    row1: list[Cell] = []
    org = Cell(d.rng.choice(["法人或其他组织", "法人或其他组织", "法人或者其他组织"]), cs=0)
    for c in order:
        if c not in orgs:
            row1.append(Cell(name[c], rs=2))
            continue
        if org not in row1:
            row1.append(org)
        org.cs += 1
    return [
        [Cell(note, rs=3, cs=3), Cell(d.vertical("申请人情况"), cs=len(order))],
        row1,
        [Cell(name[c]) for c in order if c in orgs],
    ]


def _s3_units(d: Doc) -> list[tuple[str, list[str]]]:
    """Rows in template order, grouped: ("top", [row]), ("item", [row]) or (group, sub-rows)."""
    sec = d.sec("s3")
    units: list[tuple[str, list[str]]] = []
    for row in sec.row_order(d.fmt):
        if row in d.dropped:
            continue
        group = row.split(".")[0] if "." in row else ""
        if group == "other" and d.old_other:
            group, row = "", "other"
            if units[-1][1] == ["other"]:
                continue
        if group and units[-1][0] == group:
            units[-1][1].append(row)
        else:
            units.append((group or ("top" if split_number(sec.rows[row])[0] == 1 else "item"), [row]))
    if d.rng.random() < 0.1:  # two neighbouring sub-rows swapped, labels kept
        rows = d.rng.choice([u[1] for u in units if len(u[1]) > 1])
        i = d.rng.randrange(len(rows) - 1)
        rows[i], rows[i + 1] = rows[i + 1], rows[i]
    return units


def _s3_table(d: Doc) -> Table:
    sec, order = d.sec("s3"), _s3_columns(d)
    units = _s3_units(d)
    label = {
        r: d.named(f"row:s3.{r}", d.wrapped(d.label(sec.rows[r], S3_ROW_EXTRA.get(r, []))))
        for _, rows in units
        for r in rows
    }
    n_block = sum(len(rows) for kind, rows in units if kind != "top")
    body: list[list[Cell]] = []
    block = Cell(d.vertical(d.label(*S3_BLOCK)), rs=n_block)
    for kind, rows in units:
        for i, r in enumerate(rows):
            lead: list[Cell] = []
            if kind == "top":
                lead.append(Cell(label[r], cs=3))
            elif not any(block in b for b in body):
                lead.append(block)
            if kind == "item":
                lead.append(Cell(label[r], cs=2))
            elif kind != "top":
                if i == 0:
                    lead.append(Cell(d.label(S3_GROUPS[kind]), rs=len(rows)))
                lead.append(Cell(label[r]))
            body.append(lead + _nums(d, sec, r, order))
    widths = [d.rng.randint(2, 4), d.rng.randint(3, 5), d.rng.randint(10, 16)] + [d.rng.randint(2, 4)] * 7
    return place(_s3_header(d, order) + body, head=3, widths=widths, kind="s3")


def _s4_table(d: Doc) -> Table:
    """The template's one row of 15 cells under a 2-3 row header, or 3 rows x 5 columns."""
    sec, rng = d.sec("s4"), d.rng
    groups = sec.row_order(d.fmt)
    outs = sec.columns_of(d.fmt, groups[0])
    gname = {g: d.named(f"row:s4.{g}", d.label(sec.rows[g], S4_EXTRA.get(g, []))) for g in groups}
    oname = {o: d.vertical(d.wrapped(d.label(sec.columns[o], S4_EXTRA.get(o, [])))) for o in outs}
    if d.style.wrap:
        oname = {o: n if "\n" in n else n[:2] + "\n" + n[2:] for o, n in oname.items()}
    oname = {o: d.named(f"col:s4.{o}", n) for o, n in oname.items()}
    roll = rng.random()
    if roll < 0.12:
        rows = [[Cell(""), *(Cell(oname[o]) for o in outs)]]
        rows += [[Cell(gname[g]), *_nums(d, sec, g, outs)] for g in groups]
        return place(rows, head=1, widths=[8] + [4] * 5, kind="s4")
    values = [c for g in groups for c in _nums(d, sec, g, outs)]
    n = len(outs)
    if roll < 0.35:
        rows = [
            [Cell(gname[g], cs=n) for g in groups],
            [Cell(oname[o]) for _ in groups for o in outs],
            values,
        ]
    else:
        suits = [g for g in groups if g.startswith("suit")]
        rows = [
            [Cell(gname[groups[0]], cs=n), Cell("行政诉讼", cs=n * len(suits))],
            [*(Cell(oname[o], rs=2) for o in outs), *(Cell(gname[g], cs=n) for g in suits)],
            [Cell(oname[o]) for _ in suits for o in outs],
            values,
        ]
    return place(rows, head=len(rows) - 1, widths=[rng.randint(2, 4)] * n * len(groups), kind="s4")


# ---------------------------------------------------------------- narrative
def _short(d: Doc) -> str:
    for place_name in (*PROVINCES, *CITIES, *COUNTIES):
        if d.agency.startswith(place_name):
            return place_name[-1] + d.agency[len(place_name) :]
    return "我单位"


def _title(d: Doc) -> str:
    y = f"{d.year} 年" if d.rng.random() < 0.3 else f"{d.year}年"
    full = f"{d.agency}{y}政府信息公开工作年度报告"
    kind = d.rng.choices(range(4), [5, 2, 2, 1])[0]
    if kind == 1:
        cut = d.rng.randint(len(d.agency) + len(y) + 2, len(full) - 3)
        return full[:cut] + "\n" + full[cut:]
    if kind == 2:
        return f"{d.agency}\n{y}政府信息公开工作年度报告"
    return f"{d.agency}关于{y}度政府信息公开工作年度报告" if kind == 3 else full


def _overview(d: Doc) -> list[tuple[str, str]]:
    rng, y, me = d.rng, d.year, _short(d)
    new = d.values[d.sec("s3").key("new", "total")]
    old = d.values[d.sec("s3").key("carried_over", "total")]
    parts = [
        (
            "主动公开情况",
            f"{y}年，{me}通过政府门户网站主动公开政府信息{rng.randint(8, 3000)}条（其中修订"
            f"{rng.randint(0, 30)}件），发布政策解读{rng.randint(0, 40)}篇，召开新闻发布会"
            f"{rng.randint(0, 12)}次，较上年增长{rng.randint(1, 60)}.{rng.randint(0, 9)}%。",
        ),
        (
            "依申请公开情况",
            f"{y}年共收到政府信息公开申请{new}件，上年结转{old}件，均在法定期限内答复。"
            if new
            else f"{y}年，{me}未收到政府信息公开申请。",
        ),
        (
            "政府信息管理情况",
            f"严格落实“三审三校”制度，全年开展保密审查{rng.randint(2, 200)}次，动态更新"
            f"主动公开目录{rng.randint(1, 6)}次。",
        ),
        (
            "政府信息公开平台建设情况",
            f"加强政府网站和政务新媒体建设，全年通过微信公众号发布信息{rng.randint(10, 900)}条。",
        ),
        (
            "监督保障情况",
            f"组织政务公开业务培训{rng.randint(1, 8)}次，参训{rng.randint(10, 300)}人次，"
            "将政务公开纳入年度绩效考核。",
        ),
    ]
    return [p for i, p in enumerate(parts) if i < 2 or rng.random() < 0.7]


def _heading(d: Doc, n: int, text: str) -> Heading:
    pattern = d.style.heading if d.rng.random() < 0.9 else d.rng.choice(HEAD_NUMS)
    return Heading(pattern.format(cn=CN[n], n=n) + text, 1)


def _blocks(d: Doc) -> list[Block]:
    rng, y = d.rng, d.year
    marker = d.schema.format_markers[d.fmt][0]
    fmt_ref = f"（国办公开办函{marker}）" if rng.random() < 0.6 else ""
    out: list[Block] = [
        Heading(_title(d), 0),
        Para(
            f"本报告由{d.agency}按照《中华人民共和国政府信息公开条例》（以下简称《条例》）和《中华人民共和国政府"
            f"信息公开工作年度报告格式》{fmt_ref}要求编制。本报告所列数据的统计期限自{y}年1月1日起至{y}年12月31日"
            f"止。如对本报告有疑问，请与{d.agency}联系（联系电话："
            f"0{rng.randint(310, 939)}-{rng.randint(2000000, 8999999)}）。"
        ),
        _heading(d, 1, "总体情况"),
    ]
    for i, (sub, text) in enumerate(_overview(d), 1):
        out += [Heading(f"（{CN[i]}）{sub}", 2), Para(text)]
    out += [
        _heading(d, 2, d.sec("s2").zh),
        *_s2_tables(d),
        _heading(d, 3, d.sec("s3").zh),
        _s3_table(d),
        _heading(d, 4, d.sec("s4").zh),
        *([] if "s4" in d.dropped else [_s4_table(d)]),
        _heading(d, 5, "存在的主要问题及改进情况"),
        Para(
            f"{y}年，{_short(d)}政府信息公开工作取得一定成效，但仍存在一些不足：一是公开内容的深度和广度"
            "有待拓展；二是政策解读形式较为单一。下一步，将进一步健全工作机制，提升公开质量。"
        ),
    ]
    if rng.random() < 0.8:
        out += [
            _heading(d, 6, "其他需要报告的事项"),
            Para(
                rng.choice(
                    [
                        "本年度未收取信息处理费。",
                        f"全年共承办人大代表建议{rng.randint(0, 40)}件、政协提案"
                        f"{rng.randint(0, 40)}件，办复率100%。",
                        "无。",
                    ]
                )
            ),
        ]
    out += [Para(d.agency), Para(f"{y + 1}年{rng.randint(1, 3)}月{rng.randint(1, 28)}日")]
    marks = [i for i in range(2, len(out) - 1) if rng.random() < 0.15]  # page marks between blocks
    for n, i in reversed(list(enumerate(marks, 2))):
        out.insert(i, Page(f"— {n} —"))
    return out


# ---------------------------------------------------------------- renderers
def _tear(blocks: list[Block], d: Doc) -> list[Block]:
    """Tear the s3 table across a page, as PDF conversions see it."""
    out: list[Block] = []
    for b in blocks:
        if isinstance(b, Table) and b.kind == "s3" and d.rng.random() < 0.35:
            top, bottom = split(b, d.rng.randint(b.head + 3, shape(b)[0] - 2))
            out += [top, Page(f"— {d.rng.randint(2, 6)} —"), bottom]
        else:
            out.append(b)
    return out


def _wrap(text: str, width: int) -> list[str]:
    return [line[i : i + width] for line in text.split("\n") for i in range(0, max(len(line), 1), width)]


def _layout_row(row: list[Cell], t: Table) -> list[str]:
    """pdftotext reading order: each label cell's wrapped lines, then the row's numbers on one line."""
    texts = [_wrap(c.text, sum(t.widths[c.c : c.c + c.cs]) or 12) for c in row if not c.num and c.text]
    nums = " ".join(c.text for c in row if c.num and c.text)
    if all(len(lines) == 1 for lines in texts):
        return [" ".join([lines[0] for lines in texts] + ([nums] if nums else []))]
    out: list[str] = []
    for lines in texts[:-1]:
        out += [*lines, ""]
    if len(texts[-1]) == 1 and nums:
        return [*out, f"{texts[-1][0]} {nums}"]
    return [*out, *texts[-1], *(["", nums] if nums else [])]


def _layout_table(t: Table, d: Doc) -> str:
    sep = d.rng.choice(["\n", "\n\n"])
    return sep.join("\n".join(_layout_row(row, t)) for row in grid(t, "drop", "drop") if row)


def _worddump_table(t: Table, d: Doc) -> str:
    def cell(c: Cell) -> str:
        mark = (
            f"[bookmark: _Hlk{d.rng.randint(10**7, 10**8)}]"
            if c.text and not c.num and d.rng.random() < 0.04
            else ""
        )
        return "\t" + mark + c.text

    return "\n\n".join("\n".join(map(cell, row)) for row in grid(t, "drop", "pad"))


def _tsv_table(t: Table, d: Doc) -> str:
    rows = grid(t, d.rng.choice(["drop", "drop", "pad"]), "pad")
    width = max(map(len, rows)) + (d.rng.random() < 0.5)
    return "\n".join(
        "\t".join([c.text.replace("\n", " ") for c in row] + [""] * (width - len(row))) for row in rows
    )


def _html_table(t: Table, blank: str) -> str:
    rows: list[list[str]] = [[] for _ in range(shape(t)[0])]
    for c in sorted(t.cells, key=lambda c: (c.r, c.c)):
        span = (f' rowspan="{c.rs}"' if c.rs > 1 else "") + (f' colspan="{c.cs}"' if c.cs > 1 else "")
        rows[c.r].append(
            f"<td{span}>{html.escape(c.text, quote=False).replace(chr(10), '<br/>') or blank}</td>"
        )
    return (
        '<table border="1" cellspacing="0">\n'
        + "\n".join(f"<tr>{''.join(r)}</tr>" for r in rows)
        + "\n</table>"
    )


def _md_table(t: Table, d: Doc) -> str:
    """MinerU: an HTML table block, or a pipe table with blanks or smeared text where cells were merged."""
    if d.rng.random() < 0.25:
        return _html_table(t, "")
    rows = [
        [c.text.replace("|", "\\|").replace("\n", "<br>") for c in row]
        for row in grid(t, d.rng.choice(["pad", "pad", "smear"]), d.rng.choice(["pad", "pad", "smear"]))
    ]
    if t.kind == "s3" and not t.head and d.rng.random() < 0.5:
        rows = [["", *row] for row in rows]  # continuation table shifted by an empty leading column
    width = max(map(len, rows))
    rows = [row + [""] * (width - len(row)) for row in rows]
    if (not t.head and d.rng.random() < 0.7) or d.rng.random() < 0.15:
        rows.insert(0, [""] * width)
    lines = [pipe_row(row) for row in rows]
    return "\n".join([lines[0], pipe_rule(width), *lines[1:]])


def _render_md(blocks: list[Block], d: Doc) -> bytes:
    keep_pages, out = d.rng.random() < 0.3, []
    for b in _tear(blocks, d):
        if isinstance(b, Heading):
            out += md_heading(b, d.rng)
        elif isinstance(b, Table):
            out.append(_md_table(b, d))
        elif isinstance(b, Para) or keep_pages:
            out.append(b.text)
    return ("\n\n".join(out) + "\n").encode("utf-8")


def _render_text(
    blocks: list[Block], d: Doc, table: Callable[[Table, Doc], str], sep: str, width: int = 0
) -> str:
    parts = []
    for b in blocks:
        if isinstance(b, Table):
            parts.append(table(b, d))
        elif isinstance(b, Page):
            parts.append(b.text + ("\n\f" if width else ""))
        else:
            parts.append(sep.join(_wrap(b.text, width)) if width and b.text else b.text)
    return sep.join(parts) + "\n"


def _render_tsv(blocks: list[Block], d: Doc) -> bytes:
    return _crlf(d, _render_text(blocks, d, _tsv_table, "\n\n")).encode("utf-8")


def _render_worddump(blocks: list[Block], d: Doc) -> bytes:
    return _crlf(d, _render_text(blocks, d, _worddump_table, "\n")).encode("utf-8")


def _layout_text(blocks: list[Block], d: Doc) -> str:
    sep = d.rng.choice(["\n", "\n\n"])
    return _render_text(_tear(blocks, d), d, _layout_table, sep, d.rng.randint(24, 38))


def _render_layout(blocks: list[Block], d: Doc) -> bytes:
    return _layout_text(blocks, d).encode("utf-8")


def _title_of(blocks: list[Block], d: Doc) -> str:
    """The document title as one line, for an HTML <title> or PDF metadata."""
    return blocks[0].text.replace("\n", "") if isinstance(blocks[0], Heading) else d.agency


# Glyphs an OCR engine mistakes for one another in report wording (right, misread).
OCR_CONFUSIONS = dict(
    zip("未人于予理开请转复己日业务总计数", "末入千子埋幵清传夏已曰亚各怠汁效", strict=True)
)
_CJK = re.compile(r"[\u4e00-\u9fff]")


def _ocr_line(line: str, rng: random.Random, rate: float) -> str:
    """One text line as an OCR engine reads it: confusable glyphs, stray spaces between characters."""
    if not _CJK.search(line):
        return line
    chars = [OCR_CONFUSIONS.get(ch, ch) if rng.random() < rate else ch for ch in line]
    if rng.random() < 0.15:
        chars = [ch + " " if _CJK.match(ch) and rng.random() < 0.3 else ch for ch in chars]
    return "".join(chars)


def _render_ocr(blocks: list[Block], d: Doc) -> bytes:
    rate = d.rng.choice([0.005, 0.01, 0.02])
    text = _layout_text(blocks, d)
    return "\n".join(_ocr_line(line, d.rng, rate) for line in text.split("\n")).encode("utf-8")


def _crlf(d: Doc, text: str) -> str:
    return text.replace("\n", "\r\n") if d.rng.random() < 0.2 else text


def _charset(rng: random.Random) -> tuple[str, str | None]:
    """Bytes' real encoding and the declared one: right, missing, or wrong."""
    enc = rng.choice(["utf-8", "utf-8", "utf-8", "gbk", "gb18030"])
    roll = rng.random()
    if roll < 0.15:
        return enc, None
    if roll < 0.25:
        return enc, "gb2312" if enc == "utf-8" else "utf-8"
    return enc, enc if enc == "utf-8" else rng.choice([enc, "GBK", "gb2312"])


def _render_html(blocks: list[Block], d: Doc) -> bytes:
    rng, blank = d.rng, d.rng.choice(["", "&nbsp;"])
    body = []
    for b in blocks:
        text = html.escape(getattr(b, "text", ""), quote=False).replace("\n", "<br/>")
        if isinstance(b, Table):
            body.append(_html_table(b, blank))
        elif isinstance(b, Heading):
            body.append(
                f"<h{b.level + 1}>{text}</h{b.level + 1}>"
                if rng.random() < 0.5
                else f'<p style="text-align:center"><strong>{text}</strong></p>'
            )
        elif isinstance(b, Para):
            body.append(f'<p style="text-indent:2em">{text}</p>')
    content = "\n".join(body)
    if rng.random() < 0.3:
        content = f'<table width="100%" class="layout"><tr><td class="main">\n{content}\n</td></tr></table>'
    enc, declared = _charset(rng)
    meta = (
        ""
        if declared is None
        else rng.choice(
            [
                f'<meta charset="{declared}">',
                f'<meta http-equiv="Content-Type" content="text/html; charset={declared}">',
            ]
        )
    )
    title = _title_of(blocks, d)
    page = (
        f"<!DOCTYPE html>\n<html>\n<head>\n{meta}\n<title>{title}</title>\n</head>\n<body>\n"
        '<div class="nav"><a href="/">首页</a> &gt; <a href="/zwgk/">政务公开</a> &gt; '
        "政府信息公开年报</div>\n"
        f'<div class="info">发布时间：{d.year + 1}-01-{rng.randint(10, 31)}　来源：{d.agency}　'
        f'浏览次数：{rng.randint(50, 99999)}</div>\n<div class="article">\n{content}\n</div>\n'
        f'<div class="footer">主办单位：{d.agency}　网站标识码：{rng.randint(10**9, 10**10)}　'
        f"ICP备{rng.randint(10**7, 10**8)}号</div>\n</body>\n</html>\n"
    )
    return page.encode(enc)


def _render_docx(blocks: list[Block], d: Doc) -> bytes:
    doc = docx.Document()
    props = doc.core_properties
    props.author = props.last_modified_by = d.agency
    props.created = props.modified = datetime(d.year + 1, 1, 20)
    for b in blocks:
        if isinstance(b, Table):
            nrows, ncols = shape(b)
            table = doc.add_table(rows=nrows, cols=ncols)
            table.style = "Table Grid"
            slots = [row.cells for row in table.rows]  # before merging: Table.cell() is quadratic
            for c in b.cells:
                target = slots[c.r][c.c]
                if c.rs > 1 or c.cs > 1:
                    target = target.merge(slots[c.r + c.rs - 1][c.c + c.cs - 1])
                target.text = c.text
        elif isinstance(b, Heading) and d.rng.random() < 0.5:
            doc.add_heading(b.text, min(b.level, 3))
        elif isinstance(b, Heading | Para):
            p = doc.add_paragraph()
            p.add_run(b.text).bold = isinstance(b, Heading)
            if isinstance(b, Heading) and b.level == 0:
                p.alignment = WD_ALIGN_PARAGRAPH.CENTER
    buf = io.BytesIO()
    doc.save(buf)
    return _stable_zip(buf.getvalue())


def _stable_zip(data: bytes) -> bytes:
    """Re-pack with a fixed timestamp: zipfile stamps members with the current time."""
    src, out = zipfile.ZipFile(io.BytesIO(data)), io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(
                zipfile.ZipInfo(info.filename, (2000, 1, 1, 0, 0, 0)),
                src.read(info.filename),
                compress_type=zipfile.ZIP_DEFLATED,
            )
    return out.getvalue()


def _render_pdf(blocks: list[Block], d: Doc, font: str | None = None) -> bytes:
    return render_pdf(blocks, d.rng, title=_title_of(blocks, d), author=d.agency, font=font, look=d.look)


def _render_converted(convert: Callable[[bytes], bytes], blocks: list[Block], d: Doc) -> bytes:
    """A text PDF as the pdf form renders it, read back by a real conversion tool (converters.py)."""
    return convert(_render_pdf(blocks, d))


def _pdf_look(seed: int) -> str:
    return random.Random(f"{seed}/{PDF_LOOK_SALT}").choices(DRAWN_LOOKS, LOOK_WEIGHTS)[0]


def _render_scan(blocks: list[Block], d: Doc) -> bytes:
    """Printed with an embedded font (a scanner sees glyphs, whatever the PDF referenced), then scanned."""
    return render_scan(_render_pdf(blocks, d, d.rng.choice(EMBEDDED_FONTS)), d.rng)


RENDER: dict[str, Callable[[list[Block], Doc], bytes]] = {
    "md": _render_md,
    "html": _render_html,
    "tsv": _render_tsv,
    "layout": _render_layout,
    "worddump": _render_worddump,
    "ocr": _render_ocr,
    "docx": _render_docx,
    "pdf": _render_pdf,
    "scan": _render_scan,
    "mdconv": render_mdconv,  # its own module and rng: PDF→Markdown converters' torn tables
    **{form: partial(_render_converted, tool) for form, tool in CONVERTERS.items()},
}


# ---------------------------------------------------------------- public API
@dataclass
class Report:
    """A rendered report with its gold record and what the gold cannot say (a broken identity)."""

    content: bytes
    gold: dict
    suffix: str
    inconsistent: bool
    old_other: bool


def _draw(seed: int, rendering: str, fmt: str | None) -> Doc:
    """A report's content: agency, values, deviations and printed cell texts, all from one seed."""
    rng, schema = random.Random(seed), load_schema()
    drawn = "2019" if rng.random() < 0.25 else "2021"
    fmt = fmt or drawn
    if fmt not in schema.formats:
        raise ValueError(f"unknown format {fmt!r}")
    agency, level = _agency(rng)
    year = rng.randint(*YEARS[fmt])
    profile = rng.choices(["zero", "small", "big"], [40, 45, 15])[0]
    d = Doc(rng, schema, rendering, fmt, year, agency, level, profile, _style(rng, profile == "big"))
    d.seed = seed
    _s2_values(d)
    _s3_values(d)
    _s4_values(d)
    d.gold = {k: d.values[k] for k in schema.field_keys(fmt)}
    _deviate(d)
    d.printed = {k: d.nulls.get(k) if k in d.nulls else _num_text(d, k, v) for k, v in d.values.items()}
    return d


def build_report(seed: int, form: str, fmt: str | None = None) -> Report:
    """Like :func:`make_report`, keeping the flags tests need. ``form`` may name a text style (``"tsv"``)
    or the look of a text PDF (``"pdf-unruled"``) or of a scan (``"scan-office"``)."""
    style = form if form in TEXT_STYLES else None
    look = form.partition("-")[2] if form in PDF_STYLES + SCAN_STYLES else None
    form = "txt" if style else form.partition("-")[0] if look else form
    if form not in FORMS:
        raise ValueError(
            f"unknown form {form!r}; expected one of {FORMS}, a text style {TEXT_STYLES} "
            f"or a look {PDF_STYLES + SCAN_STYLES}"
        )
    # Drawn off the content stream, so one seed gives the same gold in every form and style.
    rendering = style or (random.Random(f"{seed}/style").choice(TEXT_STYLES) if form == "txt" else form)
    d = _draw(seed, rendering, fmt)
    if form == "pdf" or form in CONVERTERS:
        d.look = look or _pdf_look(seed)
    elif form == "scan":
        d.look = look or "ruled"
    content = RENDER[rendering](_blocks(d), d)
    style = rendering if d.look == "ruled" else f"{'scan' if form == 'scan' else 'pdf'}-{d.look}"
    gold = gold_record(d, f"syn_{form}_{seed}{SUFFIX[form]}", form, style, seed, GENERATOR_VERSION)
    return Report(content, gold, SUFFIX[form], d.inconsistent, d.old_other)


def gold_record(d: Doc, document: str, form: str, style: str, seed: int, generator: str) -> dict:
    """The gold of a drawn report: what the contract asks of an extractor (printed values, plus the one
    cell an identity determines) and how the document was made."""
    stated = validate(d.gold, dict.fromkeys(d.gold, 1.0), d.schema, d.fmt).values
    fields = {k: (float(v) if v is not None and d.schema.is_decimal(k) else v) for k, v in stated.items()}
    return {
        "document": document,
        "meta": {"agency": d.agency, "year": d.year, "format": d.fmt},
        "fields": fields,
        "synth": {
            "form": form,
            "style": style,
            "seed": seed,
            "level": d.level,
            "profile": d.profile,
            "inconsistent": d.inconsistent,
            "generator": generator,
        },
    }


def printed_labels(corpus_seed: int, n: int) -> list[tuple[str, str]]:
    """(label as printed, concept) from n synthesized reports' tables: training data for the field mapper."""
    out: list[tuple[str, str]] = []
    for i in range(n):
        seed = document_seed(corpus_seed, "labels", i)
        d = _draw(seed, random.Random(seed).choice(GRID_RENDERINGS[:4] + TEXT_STYLES), None)
        _blocks(d)
        out += d.printed_labels
    return out


def make_report(seed: int, form: str, fmt: str | None = None) -> tuple[bytes, dict, str]:
    """Return (file content as bytes, gold dict, file suffix e.g. '.md')."""
    r = build_report(seed, form, fmt)
    return r.content, r.gold, r.suffix


def document_seed(corpus_seed: int, form: str, index: int) -> int:
    """Each document's own seed: a corpus is reproducible, and growing -n keeps the documents made before."""
    return random.Random(f"{corpus_seed}/{form}/{index}").getrandbits(31)


def gold_path(document: Path) -> Path:
    """NAME.gold.json beside NAME<suffix>."""
    return document.with_name(document.name.removesuffix(document.suffix) + ".gold.json")


def _write_one(job: tuple[Path, int, str]) -> Path:
    out_dir, doc_seed, form = job
    content, gold, _ = make_report(doc_seed, form)
    path = out_dir / gold["document"]
    path.write_bytes(content)
    gold_path(path).write_text(json.dumps(gold, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    return path


def write_corpus(out_dir: Path, n: int, forms: Sequence[str], seed: int, workers: int = 1) -> list[Path]:
    """Write n reports per form as NAME<suffix> + NAME.gold.json; return document paths in a fixed order.

    MANIFEST.json in the directory records each run (generator version, seed, forms, n) and every file's
    SHA-256, so a kept evaluation set can be checked for changes and remade.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = [(out_dir, document_seed(seed, form, i), form) for form in forms for i in range(n)]
    if workers <= 1 or len(jobs) < 8:
        paths = [_write_one(job) for job in jobs]
    else:
        with multiprocessing.get_context("spawn").Pool(workers) as pool:
            paths = pool.map(_write_one, jobs, chunksize=4)
    _record_run(out_dir, {"generator": GENERATOR_VERSION, "seed": seed, "forms": list(forms), "n": n}, paths)
    return paths


def _record_run(out_dir: Path, run: dict, paths: list[Path]) -> None:
    manifest_path = out_dir / "MANIFEST.json"
    manifest = json.loads(manifest_path.read_text("utf-8")) if manifest_path.is_file() else {}
    manifest.setdefault("runs", []).append(run)
    files = manifest.setdefault("files", {})
    for path in paths:
        for p in (path, gold_path(path)):
            files[p.name] = hashlib.sha256(p.read_bytes()).hexdigest()
    manifest["files"] = dict(sorted(files.items()))
    manifest_path.write_text(json.dumps(manifest, indent=1) + "\n", encoding="utf-8")
