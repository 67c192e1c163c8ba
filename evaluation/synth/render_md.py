"""The ``md`` form: a report as MinerU-style PDF→Markdown prints it (pipe tables with merged cells blank or
smeared, some tables as HTML blocks, tables torn at a page), and the Markdown pieces the mdconv form shares.
"""

from __future__ import annotations

import random

from nianbao.evaluation.synth.blocks import Block, Heading, Para, Table, grid
from nianbao.evaluation.synth.content import Doc
from nianbao.evaluation.synth.layout import tear
from nianbao.evaluation.synth.render_html import html_table


def pipe_row(texts: list[str]) -> str:
    return "| " + " | ".join(texts) + " |"


def pipe_rule(width: int) -> str:
    return "|" + "---|" * width


def md_heading(b: Heading, rng: random.Random) -> list[str]:
    """A heading as ATX lines: the title at level 1, sections one to three levels deeper."""
    depth = b.level + (1 if b.level == 0 else rng.randint(1, 3))
    return ["#" * min(depth + i, 4) + " " + line for i, line in enumerate(b.text.split("\n"))]


def md_table(t: Table, d: Doc) -> str:
    """MinerU: an HTML table block, or a pipe table with blanks or smeared text where cells were merged."""
    if d.rng.random() < 0.25:
        return html_table(t, "")
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


def render_md(blocks: list[Block], d: Doc) -> bytes:
    keep_pages, out = d.rng.random() < 0.3, []
    for b in tear(blocks, d.rng):
        if isinstance(b, Heading):
            out += md_heading(b, d.rng)
        elif isinstance(b, Table):
            out.append(md_table(b, d))
        elif isinstance(b, Para) or keep_pages:
            out.append(b.text)
    return ("\n\n".join(out) + "\n").encode("utf-8")
