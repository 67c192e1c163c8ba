"""The synthesizer's table model: cells placed on a grid with row/column spans, shared by every renderer.

Why one model: the input forms differ only in how they print the same grid (pipe table, HTML spans, Word
merges, ruled PDF cells), so a report's content is drawn once and its gold is the same in every form.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field, replace


@dataclass
class Cell:
    """One printed cell; ``r``/``c`` are filled by :func:`place` like an HTML table."""

    text: str
    rs: int = 1
    cs: int = 1
    num: bool = False
    r: int = 0
    c: int = 0


@dataclass
class Table:
    cells: list[Cell]
    head: int = 0  # header rows
    widths: list[int] = field(default_factory=list)  # wrap width per grid column (layout form)
    kind: str = ""


@dataclass
class Heading:
    text: str
    level: int  # 0 title, 1 section, 2 sub-section


@dataclass
class Para:
    text: str


@dataclass
class Page:
    text: str


Block = Heading | Para | Page | Table


def place(rows: list[list[Cell]], head: int, widths: list[int], kind: str) -> Table:
    """Give cells grid positions, skipping slots covered by earlier spans (the HTML algorithm)."""
    taken: set[tuple[int, int]] = set()
    for r, row in enumerate(rows):
        c = 0
        for cell in row:
            while (r, c) in taken:
                c += 1
            cell.r, cell.c = r, c
            taken.update((r + dr, c + dc) for dr in range(cell.rs) for dc in range(cell.cs))
            c += cell.cs
    return Table([cell for row in rows for cell in row], head, widths, kind)


def shape(t: Table) -> tuple[int, int]:
    return max(c.r + c.rs for c in t.cells), max(c.c + c.cs for c in t.cells)


def grid(t: Table, h: str, v: str) -> list[list[Cell]]:
    """Expand spans: each covered slot is dropped, left blank ("pad") or repeats the text ("smear")."""
    slots: dict[tuple[int, int], Cell] = {}
    for cell in t.cells:
        for dr, dc in itertools.product(range(cell.rs), range(cell.cs)):
            mode = (
                "origin"
                if dr == dc == 0
                else h
                if dr == 0
                else v
                if dc == 0
                else "drop"
                if h == "drop"
                else v
            )
            if mode != "drop":
                text = "" if mode == "pad" else cell.text
                slots[cell.r + dr, cell.c + dc] = replace(
                    cell, text=text, r=cell.r + dr, c=cell.c + dc, rs=1, cs=1
                )
    nrows, ncols = shape(t)
    return [[slots[r, c] for c in range(ncols) if (r, c) in slots] for r in range(nrows)]


def split(t: Table, at: int) -> tuple[Table, Table]:
    """Tear a table before row ``at``, as a page break does; spans crossing it leave blank cells below."""
    top, bottom = [], []
    for cell in t.cells:
        if cell.r < at:
            top.append(replace(cell, rs=min(cell.rs, at - cell.r)))
            if cell.r + cell.rs > at:
                bottom.append(replace(cell, r=0, rs=cell.r + cell.rs - at, text=""))
        else:
            bottom.append(replace(cell, r=cell.r - at))
    return replace(t, cells=top), replace(t, cells=bottom, head=0)
