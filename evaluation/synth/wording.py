"""What a synthesized report says in words: agency names, the template's labels and their variants, and
one agency's way of printing them (numbering, half-width brackets, typos, wrapped and vertical cells).

Why apart from the content: the numbers and the gold are drawn once (content.py); how each label is
worded is drawn here, from the same document rng, so the extractor is tested on wording it has not seen.
The schema's official wording is always the first choice; the lists below are the deviations.
"""

from __future__ import annotations

import random
import re
from collections.abc import Sequence
from dataclasses import dataclass

# ---------------------------------------------------------------- agencies
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


# ---------------------------------------------------------------- numbering, look-alikes, nulls
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
# Glyphs an OCR engine mistakes for one another in report wording (right, misread).
OCR_CONFUSIONS = dict(
    zip("未人于予理开请转复己日业务总计数", "末入千子埋幵清传夏已曰亚各怠汁效", strict=True)
)

# ---------------------------------------------------------------- label variants
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
S4_EXTRA = {
    "suit_direct": ["行政诉讼（未经复议直接起诉）"],
    "suit_after_review": ["行政诉讼（复议后起诉）"],
    "upheld": ["维持"],
    "corrected": ["纠正"],
    "total": ["合计"],
}


# ---------------------------------------------------------------- one agency's way of printing labels
@dataclass(frozen=True)
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


def draw_style(rng: random.Random, big: bool) -> Style:
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


def split_number(zh: str) -> tuple[int, int, str]:
    """("（三）不予公开") -> (2, 3, "不予公开"): numbering level, index and body."""
    m = NUM_RE.match(zh)
    if not m:
        return 0, 0, zh
    lvl = next(i for i in (1, 2, 3) if m.group(f"l{i}"))
    token = m.group(f"l{lvl}")
    return lvl, int(token) if lvl == 3 else CN.index(token), zh[m.end() :]


@dataclass(frozen=True)
class Wording:
    """An agency's :class:`Style` applied to labels, each variant drawn from the document's rng."""

    rng: random.Random
    style: Style

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
