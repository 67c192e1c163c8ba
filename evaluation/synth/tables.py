"""The three statistics tables of a drawn report (s2 第二十条, s3 依申请公开, s4 复议诉讼) as placed grids.

Why apart from the narrative: the tables are what the extractor reads, and each deviation a real report
shows in them (one table per article, reordered columns, merged header cells, sub-rows swapped, vertical
headers, the litigation table in three shapes) is drawn here from the document rng, after the content.
Every label is noted with its concept (``Doc.named``): the field mapper's training data.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from nianbao.evaluation.synth.blocks import Block, Cell, Table, place
from nianbao.evaluation.synth.content import Doc
from nianbao.evaluation.synth.wording import (
    ARTICLE,
    ARTICLE_LABELS,
    HALF,
    S2_COL_EXTRA,
    S2_COL_OFFICIAL,
    S2_ROW_EXTRA,
    S3_BLOCK,
    S3_COL_EXTRA,
    S3_GROUPS,
    S3_NOTE,
    S3_ROW_EXTRA,
    S4_EXTRA,
    split_number,
)
from nianbao.schema import Section

# Renderings whose s3 header can show another column order (a real grid, not a stream of text).
GRID_RENDERINGS = ("md", "html", "tsv", "docx", "pdf", "scan")


def _nums(d: Doc, sec: Section, row: str, cols: Sequence[str], last_cs: int = 1) -> list[Cell]:
    cells = [Cell(d.printed[sec.key(row, c)], num=True) for c in cols]
    cells[-1].cs = last_cs
    return cells


def s2_tables(d: Doc) -> list[Block]:
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
                Cell(d.named(f"row:s2.{r}", d.words.label(sec.rows[r], S2_ROW_EXTRA.get(r, [])))),
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
    text = d.words.label(
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
        d.words.wrapped(S3_NOTE.translate(HALF) if d.style.halfwidth else S3_NOTE)
        if d.rng.random() < 0.85
        else ""
    )
    name = {
        c: d.named(f"col:s3.{c}", d.words.vertical(d.words.label(sec.columns[c], S3_COL_EXTRA.get(c, []))))
        for c in order
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
        [Cell(note, rs=3, cs=3), Cell(d.words.vertical("申请人情况"), cs=len(order))],
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


def s3_table(d: Doc) -> Table:
    sec, order = d.sec("s3"), _s3_columns(d)
    units = _s3_units(d)
    label = {
        r: d.named(f"row:s3.{r}", d.words.wrapped(d.words.label(sec.rows[r], S3_ROW_EXTRA.get(r, []))))
        for _, rows in units
        for r in rows
    }
    n_block = sum(len(rows) for kind, rows in units if kind != "top")
    body: list[list[Cell]] = []
    block = Cell(d.words.vertical(d.words.label(*S3_BLOCK)), rs=n_block)
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
                    lead.append(Cell(d.words.label(S3_GROUPS[kind]), rs=len(rows)))
                lead.append(Cell(label[r]))
            body.append(lead + _nums(d, sec, r, order))
    widths = [d.rng.randint(2, 4), d.rng.randint(3, 5), d.rng.randint(10, 16)] + [d.rng.randint(2, 4)] * 7
    return place(_s3_header(d, order) + body, head=3, widths=widths, kind="s3")


def s4_table(d: Doc) -> Table:
    """The template's one row of 15 cells under a 2-3 row header, or 3 rows x 5 columns."""
    sec, rng = d.sec("s4"), d.rng
    groups = sec.row_order(d.fmt)
    outs = sec.columns_of(d.fmt, groups[0])
    gname = {g: d.named(f"row:s4.{g}", d.words.label(sec.rows[g], S4_EXTRA.get(g, []))) for g in groups}
    oname = {
        o: d.words.vertical(d.words.wrapped(d.words.label(sec.columns[o], S4_EXTRA.get(o, [])))) for o in outs
    }
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
