"""The ``html`` form: a report as a government site's article page (navigation, info line, footer), its
encoding right, missing or wrongly declared, the content sometimes inside a layout table.
"""

from __future__ import annotations

import html
import random

from nianbao.evaluation.synth.blocks import Block, Heading, Para, Table, shape
from nianbao.evaluation.synth.content import Doc
from nianbao.evaluation.synth.layout import title_of


def html_table(t: Table, blank: str) -> str:
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


def _charset(rng: random.Random) -> tuple[str, str | None]:
    """Bytes' real encoding and the declared one: right, missing, or wrong."""
    enc = rng.choice(["utf-8", "utf-8", "utf-8", "gbk", "gb18030"])
    roll = rng.random()
    if roll < 0.15:
        return enc, None
    if roll < 0.25:
        return enc, "gb2312" if enc == "utf-8" else "utf-8"
    return enc, enc if enc == "utf-8" else rng.choice([enc, "GBK", "gb2312"])


def render_html(blocks: list[Block], d: Doc) -> bytes:
    rng, blank = d.rng, d.rng.choice(["", "&nbsp;"])
    body = []
    for b in blocks:
        text = html.escape(getattr(b, "text", ""), quote=False).replace("\n", "<br/>")
        if isinstance(b, Table):
            body.append(html_table(b, blank))
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
    title = title_of(blocks, d.agency)
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
