"""A drawn report as a list of blocks: title, opening, headed narrative sections, the tables, signature.

Why: every form prints the same blocks (the table model is blocks.py), so the forms differ only in how
they print them. Narrative numbers agree with the tables (the applications received), so a reader that
checks prose against the tables has something to check. Page marks fall between blocks at random.
"""

from __future__ import annotations

import random

from nianbao.evaluation.synth.blocks import Block, Heading, Page, Para, Table, shape, split
from nianbao.evaluation.synth.content import Doc
from nianbao.evaluation.synth.tables import s2_tables, s3_table, s4_table
from nianbao.evaluation.synth.wording import CITIES, CN, COUNTIES, HEAD_NUMS, PROVINCES


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


def report_blocks(d: Doc) -> list[Block]:
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
        *s2_tables(d),
        _heading(d, 3, d.sec("s3").zh),
        s3_table(d),
        _heading(d, 4, d.sec("s4").zh),
        *([] if "s4" in d.dropped else [s4_table(d)]),
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


def tear(blocks: list[Block], rng: random.Random) -> list[Block]:
    """Tear the s3 table across a page, as PDF conversions see it."""
    out: list[Block] = []
    for b in blocks:
        if isinstance(b, Table) and b.kind == "s3" and rng.random() < 0.35:
            top, bottom = split(b, rng.randint(b.head + 3, shape(b)[0] - 2))
            out += [top, Page(f"— {rng.randint(2, 6)} —"), bottom]
        else:
            out.append(b)
    return out


def title_of(blocks: list[Block], agency: str) -> str:
    """The document title as one line, for an HTML <title> or PDF metadata."""
    return blocks[0].text.replace("\n", "") if isinstance(blocks[0], Heading) else agency
