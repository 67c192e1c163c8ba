"""ner data for the sections pipeline: the beginnings and ends of small synthesized reports — page heading
(breadcrumb, 来源 line), title, opening sentence, signature — cut by `extraction.meta.regions` exactly as
extraction cuts a real document, one token per character, every mention of the agency labelled. Agency
names are composed from the parts in training/meta_patterns.json: invented place names at every level
(省 … 镇/街道, 新区, 开发区, 高新区 …) and organ parts (人民政府, 局, 委员会, 管委会, 办事处, 中心, 研究院 …,
abbreviations as printed, shapes with no organ part at all). Names containing a held-out marker (all
综合实验区 and 片区 names) are never trained on: their accuracy, reported apart, is the measure of generality.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass

from nianbao.extraction.meta import regions
from nianbao.training.config import TrainConfig
from nianbao.training.section_examples import LOOK_ALIKES

NER_OCR_RATE = 0.03  # per-character chance of an OCR look-alike (template text; the name at a third of it)
TRAINED_SHAPES = {  # shape → weight
    "government": 4,
    "department": 6,
    "abbreviation": 2,
    "town": 3,
    "town_bare": 1,
    "zone": 3,
    "zone_bare": 2,
    "zone_department": 1,
    "centre": 3,
    "institute": 1,
    "branch": 1,
}
HELD_OUT_SHAPES = {"comprehensive_zone": 1, "area_bureau": 1}  # 综合实验区 and 片区 names
_MARK = "〓"  # stands for the agency while the template text is made noisy


@dataclass(frozen=True)
class AgencyExample:
    text: str  # a region as extraction.meta.regions cuts it
    spans: tuple[tuple[int, int], ...]  # every mention of the agency
    agency: str
    source: str  # title, opening, signature, page
    shape: str


@dataclass(frozen=True)
class AgencyDoc:
    lines: list[str]
    agency: str
    shape: str
    examples: list[AgencyExample]


def meta_parts(config: TrainConfig) -> dict:
    return json.loads(config.path(config.sections.patterns).read_text("utf-8"))


def _chars(p: dict, rng: random.Random, k: int | None = None) -> str:
    """An invented place name: mostly characters of place names, a quarter any CJK character (a name may
    hold characters the training never showed; the ner must read them from their context)."""
    k = k or rng.choices((1, 2, 3), (1, 8, 2))[0]
    return "".join(
        rng.choice(p["place_chars"]) if rng.random() < 0.9 else chr(rng.randint(0x4E00, 0x9FA5))
        for _ in range(k)
    )


def _place(p: dict, rng: random.Random, level: str) -> str:
    suffix = rng.choice(p["levels"][level])
    k = rng.choices((1, 2, 3), (1, 8, 2))[0]
    return _chars(p, rng, 2 if k == 1 and suffix not in ("县", "市", "旗") else k) + suffix


def _seat(p: dict, rng: random.Random) -> str:
    """A place that has an administration: 省, 市, 县/区, sometimes with its parent before it."""
    level = rng.choices(("province", "city", "county"), (1, 3, 4))[0]
    name = _place(p, rng, level)
    if level == "county" and rng.random() < 0.3:
        name = _place(p, rng, "city") + name
    elif level == "city" and rng.random() < 0.15:
        name = _place(p, rng, "province") + name
    return name


def _zone(p: dict, rng: random.Random, zone: str | None = None) -> str:
    zone = zone or rng.choice(p["levels"]["zone"])
    if zone in ("自由贸易试验区", "自贸试验区") and rng.random() < 0.4:
        return f"中国（{_chars(p, rng, 2)}）{zone}"
    seat = _seat(p, rng) if rng.random() < 0.6 else ""
    if rng.random() < 0.15:  # a zone inside a zone: XX新区XX园区
        seat = _chars(p, rng, 2) + rng.choice(p["levels"]["zone"][:4])
    own = _chars(p, rng) if rng.random() < 0.7 or not seat else ""
    return seat + own + zone


def agency_name(p: dict, rng: random.Random, shape: str) -> str:
    """A name of one shape, from invented place names and the organ parts of meta_patterns.json."""
    seat = _seat(p, rng)
    if shape == "government":
        return seat + rng.choice(p["government"])
    if shape == "department":
        return seat + rng.choice(p["departments"])
    if shape == "abbreviation":  # kept as printed: 市发改委, 县卫健委
        return (rng.choice("市县区省") if rng.random() < 0.6 else seat) + rng.choice(p["abbreviations"])
    if shape in ("town", "town_bare"):
        kind = rng.choices(("镇", "乡", "街道"), (4, 1, 4))[0]
        town = (seat if rng.random() < 0.5 else "") + _chars(p, rng, 2) + kind
        return town if shape == "town_bare" else town + rng.choice(p["town_organs"][kind])
    if shape == "zone":
        return _zone(p, rng) + rng.choice(p["zone_organs"])
    if shape == "zone_bare":
        return _zone(p, rng)
    if shape == "zone_department":
        return _zone(p, rng) + rng.choice(("管委会", "管理委员会")) + rng.choice(p["zone_departments"])
    if shape == "centre":
        return seat + rng.choice(p["centres"])
    if shape == "institute":
        return seat + rng.choice(p["institutes"])
    if shape == "branch":
        if rng.random() < 0.25:
            return rng.choice(p["tax"]) + seat + "税务局"
        parent, branch = rng.choice(p["branches"])
        return _place(p, rng, "city") + parent + _chars(p, rng, 2) + branch
    if shape == "comprehensive_zone":  # held out
        organ = rng.choice(p["zone_organs"]) if rng.random() < 0.4 else ""
        return _zone(p, rng, "综合实验区") + organ
    if shape == "area_bureau":  # held out
        host = (
            _zone(p, rng, rng.choice(("自由贸易试验区", "自贸试验区")))
            if rng.random() < 0.4
            else _seat(p, rng)
        )
        return host + _chars(p, rng, 2) + rng.choice(p["area_organs"])
    raise ValueError(shape)


def _cn_number(n: int) -> str:
    digits = "〇一二三四五六七八九"
    return (
        (("" if n < 20 else digits[n // 10]) + "十" + ("" if n % 10 == 0 else digits[n % 10]))
        if n >= 10
        else digits[n]
    )


def _date(rng: random.Random, year: int) -> str:
    m, d = rng.randint(1, 4), rng.randint(1, 28)
    kind = rng.choices(range(4), (6, 2, 1, 1))[0]
    if kind == 0:
        return f"{year}年{m}月{d}日"
    if kind == 1:
        return f"{year}-{m:02d}-{d:02d}"
    if kind == 2:
        return f"{year}.{m}.{d}"
    return (
        "".join("〇一二三四五六七八九"[int(c)] for c in str(year)) + f"年{_cn_number(m)}月{_cn_number(d)}日"
    )


def _page_lines(rng: random.Random, year: int, named: bool) -> list[str]:
    sep = rng.choice((" > ", ">", " ＞ ", " › ", " » ", " → ", "＞", " >> "))
    crumbs = [
        rng.choice(("首页", "网站首页", "主页")),
        rng.choice(("政务公开", "信息公开", "政府信息公开", "政务公开专栏")),
    ]
    if rng.random() < 0.4:
        crumbs.append(
            rng.choice(("部门信息公开", "乡镇（街道）信息公开", "法定主动公开内容", "部门", "园区信息公开"))
        )
    if named:
        crumbs.append(_MARK)
    crumbs.append(
        rng.choice(("政府信息公开年报", "年度报告", "政府信息公开工作年度报告", "年报", "信息公开年报"))
    )
    lines = [rng.choice(("", "", "当前位置：", "您现在的位置：", "您的位置：")) + sep.join(crumbs)]
    if rng.random() < 0.5:
        source = f"　来源：{_MARK}" if named and rng.random() < 0.6 else ""
        lines.append(
            f"发布时间：{year + 1}-0{rng.randint(1, 3)}-{rng.randint(10, 28)}{source}"
            f"　浏览次数：{rng.randint(9, 9999)}"
        )
    return lines


_OPENINGS = (
    "本报告由{who}根据《中华人民共和国政府信息公开条例》（以下简称《条例》）和《中华人民共和国政府信息公开工作年度报告格式》要求编制。",
    "本报告由{who}按照《条例》和《国务院办公厅政府信息与政务公开办公室关于印发〈中华人民共和国政府信息公开工作年度报告格式〉的通知》（国办公开办函〔2021〕30号）要求编制。",
    "本报告是{who}依据《中华人民共和国政府信息公开条例》编制的{y}年度政府信息公开工作年度报告。",
    "根据《中华人民共和国政府信息公开条例》规定，现将{who}{y}年政府信息公开工作年度报告予以公布。",
    "按照《中华人民共和国政府信息公开条例》要求，特向社会公布{who}{y}年度政府信息公开工作年度报告。",
    "本年度报告由{who}编制，全文包括总体情况、主动公开政府信息情况等六部分。",
    "本报告由{who}结合本单位实际编制，现予公布。",
    "根据国务院办公厅政府信息与政务公开办公室《关于政府信息公开工作年度报告有关事项的通知》和{other}《关于做好{y}年度"
    "政府信息公开工作年度报告编制发布工作的通知》要求，现将{y}年{who}政府信息公开工作年度报告向社会公布。",
)
_OTHERS = ("我局", "本机关", "我单位", "本单位", "我委", "本中心", "我办", "我中心")


def _report_lines(rng: random.Random, named: set[str]) -> list[str]:
    """The head and tail of a report naming its agency (as _MARK) in the regions ``named``."""
    y = rng.randint(2014, 2025)
    lines = _page_lines(rng, y, "page" in named) if "page" in named or rng.random() < 0.25 else []
    year = rng.choice((f"{y}年", f"{y}年度", f"{y} 年", f"{y} 年度"))
    suffix = rng.choice(
        ("政府信息公开工作年度报告",) * 4
        + ("政府信息公开年度报告", "政府信息公开工作报告", "政务公开工作年度报告")
    )
    if "title" in named:
        title = rng.choice(
            (f"{_MARK}{year}{suffix}",) * 4
            + (
                f"{_MARK}关于{year}{suffix}",
                f"{year}{_MARK}{suffix}",
                f"{_MARK}{suffix}（{y}年度）",
                f"{_MARK}{suffix}",
            )
        )
    else:
        title = f"{year}{suffix}"
    lead = rng.choice(("", "", "# ", "## ", "**"))
    if rng.random() < 0.3 and _MARK in title:  # the name on a line of its own, or the title cut anywhere
        cut = title.index(_MARK) + 1 if rng.random() < 0.5 else rng.randint(1, len(title) - 1)
        lines += [lead + title[:cut], lead + title[cut:]]
    else:
        lines.append(lead + title)
    who = _MARK if "opening" in named else rng.choice(_OTHERS)
    if "opening" in named or rng.random() < 0.7:
        other = rng.choice(("市", "县", "区", "")) + rng.choice(
            ("政府办公室", "人民政府办公室", "政务公开办公室")
        )
        text = rng.choice(_OPENINGS).format(who=who, y=y, other=other)
        if rng.random() < 0.6:
            text += f"本报告所列数据的统计期限自{y}年1月1日起至{y}年12月31日止。"
        if rng.random() < 0.4:
            phone = f"0{rng.randint(310, 939)}-{rng.randint(2000000, 8999999)}"
            text += f"如对本报告有疑问，请与{who}联系（联系电话：{phone}）。"
        width = rng.randint(26, 40) if rng.random() < 0.3 else len(text)  # pdftotext wraps
        lines += [text[i : i + width] for i in range(0, len(text), width)]
    short = rng.choice(_OTHERS)
    lines += ["一、总体情况", f"{y}年，{short}认真贯彻落实《条例》，坚持以公开为常态、不公开为例外。"]
    lines += rng.choice(
        (
            ["六、其他需要报告的事项", "无。"],
            ["六、其他需要报告的事项", "本年度未收取信息处理费。"],
            ["三、存在的主要问题及改进情况"],
            [],
        )
    )
    date = _date(rng, y + 1)
    if "signature" in named:
        lines += [f"{_MARK}{rng.choice(('', ' ', '　'))}{date}"] if rng.random() < 0.2 else [_MARK, date]
    elif rng.random() < 0.5:
        lines.append(date)
    if rng.random() < 0.15:
        lines.append(rng.choice(("— 5 —", "- 3 -", "第 4 页")))
    return lines


def _noise(text: str, rng: random.Random, rate: float) -> str:
    return "".join(LOOK_ALIKES.get(ch, ch) if rng.random() < rate else ch for ch in text)


def agency_doc(p: dict, rng: random.Random, shapes: dict[str, int], held_out: bool = False) -> AgencyDoc:
    """One synthesized report's head and tail, and its regions labelled with the agency's mentions."""
    shape = rng.choices(list(shapes), list(shapes.values()))[0]
    agency = agency_name(p, rng, shape)
    while held_out != any(mark in agency for mark in p["held_out"]):
        agency = agency_name(p, rng, shape)
    sources = ("title", "opening", "signature", "page")
    named = {s for s, share in zip(sources, (0.75, 0.6, 0.45, 0.3), strict=True) if rng.random() < share}
    named = named or {rng.choice(sources)}
    agency = _noise(agency, rng, NER_OCR_RATE / 3)
    lines = [_noise(line, rng, NER_OCR_RATE).replace(_MARK, agency) for line in _report_lines(rng, named)]
    examples = []
    for source, text in regions(lines).items():
        if text:
            spans, at = [], text.find(agency)
            while at >= 0:
                spans.append((at, at + len(agency)))
                at = text.find(agency, at + len(agency))
            examples.append(AgencyExample(text, tuple(spans), agency, source, shape))
    return AgencyDoc(lines, agency, shape, examples)


def agency_docs(seed: int, n: int, config: TrainConfig, held_out: bool = False) -> list[AgencyDoc]:
    """Deterministic for a seed: n synthesized heads/tails of trained (or, ``held_out``, held-out) shapes."""
    p, rng = meta_parts(config), random.Random(seed)
    return [agency_doc(p, rng, HELD_OUT_SHAPES if held_out else TRAINED_SHAPES, held_out) for _ in range(n)]
