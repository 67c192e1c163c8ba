"""The ``txt`` form's four styles: how a report's text reaches a user who copies it out of a file.

``layout`` is pdftotext -layout's reading order (wrapped label lines, then the row's numbers), ``tsv`` a
tab-separated copy of the grid, ``worddump`` a Word-to-text dump (one cell a line, stray bookmarks),
``ocr`` the layout text as an OCR engine reads it (look-alike glyphs, spaces between characters).
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable

from nianbao.evaluation.synth.blocks import Block, Cell, Page, Table, grid
from nianbao.evaluation.synth.content import Doc
from nianbao.evaluation.synth.layout import tear
from nianbao.evaluation.synth.wording import OCR_CONFUSIONS


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


def render_tsv(blocks: list[Block], d: Doc) -> bytes:
    return _crlf(d, _render_text(blocks, d, _tsv_table, "\n\n")).encode("utf-8")


def render_worddump(blocks: list[Block], d: Doc) -> bytes:
    return _crlf(d, _render_text(blocks, d, _worddump_table, "\n")).encode("utf-8")


def _layout_text(blocks: list[Block], d: Doc) -> str:
    sep = d.rng.choice(["\n", "\n\n"])
    return _render_text(tear(blocks, d.rng), d, _layout_table, sep, d.rng.randint(24, 38))


def render_layout(blocks: list[Block], d: Doc) -> bytes:
    return _layout_text(blocks, d).encode("utf-8")


_CJK = re.compile(r"[\u4e00-\u9fff]")


def _ocr_line(line: str, rng: random.Random, rate: float) -> str:
    """One text line as an OCR engine reads it: confusable glyphs, stray spaces between characters."""
    if not _CJK.search(line):
        return line
    chars = [OCR_CONFUSIONS.get(ch, ch) if rng.random() < rate else ch for ch in line]
    if rng.random() < 0.15:
        chars = [ch + " " if _CJK.match(ch) and rng.random() < 0.3 else ch for ch in chars]
    return "".join(chars)


def render_ocr(blocks: list[Block], d: Doc) -> bytes:
    rate = d.rng.choice([0.005, 0.01, 0.02])
    text = _layout_text(blocks, d)
    return "\n".join(_ocr_line(line, d.rng, rate) for line in text.split("\n")).encode("utf-8")


def _crlf(d: Doc, text: str) -> str:
    return text.replace("\n", "\r\n") if d.rng.random() < 0.2 else text
