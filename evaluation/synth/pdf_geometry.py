"""The text PDF form's geometry: a printer's drawn page style, and how a table's columns, font size and
row heights are fitted to the text width (pure arithmetic, no drawing).
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics

from nianbao.evaluation.synth.blocks import Cell, Table, shape, split
from nianbao.evaluation.synth.pdf_fonts import TOKEN_RE, text_extent, wrap_text

FOLIOS = ("— {n} —", "- {n} -", "第{n}页")
MIN_TABLE_SIZE = 5.0  # pt; a table that needs less than this overflows the margin instead


# ---------------------------------------------------------------- document style
@dataclass(frozen=True)
class Style:
    """What differs between two offices' printers: the drawn page geometry and typography."""

    font: str
    size: float  # body text, pt
    leading: float  # line height / size
    left: float
    right: float
    top: float
    bottom: float
    rule: float  # table line width, pt
    pad: float  # cell padding, pt
    table_size: float  # table text before fitting, pt
    num_align: str  # "centre" | "right"
    fill: bool  # narrow tables stretched to the text width, as Word's default table does
    repeat_head: bool  # header rows repeated on a continuation page
    folio: str  # page-number format
    shading: Shading | None = None  # the office look's fills and border

    @property
    def text_width(self) -> float:
        return A4[0] - self.left - self.right


@dataclass(frozen=True)
class Shading:
    """How Word and WPS print a report's table: grey fills (0 black, 1 white) behind the header rows,
    the rows that span the table (第二十条第（一）项 bands) and the label column, and a heavier border."""

    head: float
    band: float
    labels: float | None  # None: the label column is not shaded
    border: float  # outer rule width, pt


def office_style(st: Style, rng: random.Random) -> Style:
    """``st`` as an office suite prints tables: shaded, a thick border, cells padded so little that text
    touches the rules."""
    shading = Shading(
        head=rng.uniform(0.72, 0.9),
        band=rng.uniform(0.75, 0.92),
        labels=rng.uniform(0.86, 0.96) if rng.random() < 0.5 else None,
        border=rng.choice([1.5, 2.25, 3.0]),
    )
    return replace(st, pad=rng.uniform(0.3, 1.2), shading=shading)


def fill_grey(cell: Cell, t: Table, columns: int, shading: Shading) -> float | None:
    """The grey a cell is filled with, None where it is not."""
    if cell.r < t.head:
        return shading.head
    if cell.cs == columns and not cell.num:
        return shading.band
    return None if cell.num else shading.labels


def draw_style(rng: random.Random, font: str) -> Style:
    size = rng.choice([10.0, 10.5, 10.5, 11.0, 12.0])
    return Style(
        font=font,
        size=size,
        leading=rng.uniform(1.35, 1.8),
        left=rng.uniform(60, 90),
        right=rng.uniform(55, 85),
        top=rng.uniform(60, 95),
        bottom=rng.uniform(60, 85),
        rule=rng.choice([0.5, 0.5, 0.75, 1.0]),
        pad=rng.uniform(2, 5),
        table_size=size - rng.choice([0, 0, 0.5, 1.5]),
        num_align=rng.choice(["centre", "centre", "right"]),
        fill=rng.random() < 0.7,
        repeat_head=rng.random() < 0.25,
        folio=rng.choice(FOLIOS),
    )


# ---------------------------------------------------------------- table layout (pure)
@dataclass(frozen=True)
class Fit:
    """A table's printed geometry: font size and column widths, shared by every page it spans."""

    size: float
    widths: tuple[float, ...]


def _cell_range(cell: Cell, font: str, size: float, pad: float) -> tuple[float, float]:
    """(narrowest, natural) width: numbers never wrap; labels wrap, but not below two characters."""
    if not cell.text:
        return 2 * pad, 2 * pad
    natural = text_extent(cell.text, font, size)
    if cell.num:
        return natural + 2 * pad, natural + 2 * pad
    token = max(pdfmetrics.stringWidth(t, font, size) for t in TOKEN_RE.findall(cell.text) or [""])
    return max(token, min(natural, 2 * size)) + 2 * pad, natural + 2 * pad


def _spread(spans: list[tuple[int, int, float]], base: list[float]) -> list[float]:
    """Widen spanned slots so each span (start, count, need) fits, in proportion to what they hold."""
    out = list(base)
    for start, count, need in sorted(spans, key=lambda s: s[1]):
        have = sum(out[start : start + count])
        if need > have:
            for i in range(start, start + count):
                share = out[i] / have if have else 1 / count
                out[i] += (need - have) * share
    return out


def _columns(t: Table, font: str, size: float, pad: float) -> tuple[list[float], list[float]]:
    """Each column's narrowest and natural width, as HTML auto table layout computes them."""
    ncols = shape(t)[1]
    lo, hi = [size + 2 * pad] * ncols, [size + 2 * pad] * ncols
    spans_lo, spans_hi = [], []
    for cell in t.cells:
        a, b = _cell_range(cell, font, size, pad)
        if cell.cs == 1:
            lo[cell.c], hi[cell.c] = max(lo[cell.c], a), max(hi[cell.c], b)
        else:
            spans_lo.append((cell.c, cell.cs, a))
            spans_hi.append((cell.c, cell.cs, b))
    lo = _spread(spans_lo, lo)
    hi = [max(h, m) for h, m in zip(_spread(spans_hi, hi), lo, strict=True)]
    return lo, hi


def fit_table(t: Table, st: Style, avail: float) -> Fit:
    """Column widths for ``avail`` points, shrinking the font until the narrowest layout fits.

    Labels take the slack (they are the columns with most text to wrap), number columns stay narrow.
    """
    size = st.table_size
    lo, hi = _columns(t, st.font, size, st.pad)
    while sum(lo) > avail and size > MIN_TABLE_SIZE:
        size = max(MIN_TABLE_SIZE, round(size * 0.97 * avail / sum(lo), 2))
        lo, hi = _columns(t, st.font, size, st.pad)
    if sum(hi) <= avail:
        scale = avail / sum(hi) if st.fill else 1.0
        return Fit(size, tuple(w * scale for w in hi))
    k = max(0.0, (avail - sum(lo)) / (sum(hi) - sum(lo)))
    return Fit(size, tuple(a + (b - a) * k for a, b in zip(lo, hi, strict=True)))


def line_height(size: float) -> float:
    return size * 1.3


def cell_lines(cell: Cell, font: str, fit: Fit, pad: float) -> tuple[str, ...]:
    if cell.num:
        return tuple(cell.text.split("\n"))
    return wrap_text(cell.text, font, fit.size, sum(fit.widths[cell.c : cell.c + cell.cs]) - 2 * pad)


def row_heights(t: Table, st: Style, fit: Fit) -> list[float]:
    """Each row as tall as its tallest wrapped cell; a row-spanning cell grows the rows it spans."""
    line = line_height(fit.size)
    heights = [line + 2 * st.pad] * shape(t)[0]
    spans = []
    for cell in t.cells:
        need = len(cell_lines(cell, st.font, fit, st.pad)) * line + 2 * st.pad
        if cell.rs == 1:
            heights[cell.r] = max(heights[cell.r], need)
        else:
            spans.append((cell.r, cell.rs, need))
    for start, count, need in sorted(spans, key=lambda s: s[1]):
        short = need - sum(heights[start : start + count])
        for i in range(start, start + count):
            heights[i] += max(0.0, short) / count
    return heights


def rows_that_fit(t: Table, st: Style, fit: Fit, room: float) -> int:
    """How many leading rows of ``t`` fit in ``room``, measured as the torn-off top part prints."""
    n, used = 0, 0.0
    for h in row_heights(t, st, fit):
        if used + h > room:
            break
        n, used = n + 1, used + h
    while 0 < n < shape(t)[0] and sum(row_heights(split(t, n)[0], st, fit)) > room:
        n -= 1  # a span cut by the break squeezes its text into fewer rows
    return n


def with_head(t: Table, rest: Table) -> Table:
    """A continuation part with ``t``'s header rows printed again above it."""
    head = split(t, t.head)[0].cells
    return replace(t, cells=head + [replace(c, r=c.r + t.head) for c in rest.cells])


def alignment(cell: Cell, lines: tuple[str, ...], head: int, st: Style) -> str:
    if cell.num:
        return st.num_align
    if cell.r < head or all(len(line) <= 1 for line in lines):
        return "centre"  # header cells, and vertical one-character-per-line labels
    return "left"
