"""The text PDF form of a synthesized report: ruled tables, torn across pages (render_scan scans it).

Why: most real 政府信息公开工作年度报告 are PDFs, either printed from an office suite or a government CMS
(a text layer, tables as ruled grids that break across pages, often a non-embedded Song font) or scanned
from paper (images only). Both renderers draw every choice from the caller's ``random.Random``, and every
writer runs in an invariant mode, so one rng state gives byte-identical files.

A text PDF's ``look`` is how its printer drew the tables (PDF_LOOKS): ruled by vector lines (the common
case), unruled (columns only by alignment), ruled by a raster image behind vector text (only an image
table finder sees the rules), drawn in a font without a Unicode map (text extraction yields "(cid:N)"),
or with every glyph drawn twice a fraction of a point apart (fake bold), or ruled as an office suite
prints it (grey header rows and section bands, a shaded label column, a thick outer border, text against
the rules).
"""

from __future__ import annotations

import functools
import io
import math
import random
import re
from dataclasses import dataclass, replace
from pathlib import Path

from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas

from nianbao.evaluation.blocks import Block, Cell, Heading, Page, Para, Table, shape, split

FONTS: tuple[str, ...] = ("wqy-zenhei", "uming", "STSong-Light")
EMBEDDED_FONTS: tuple[str, ...] = ("wqy-zenhei", "uming")  # the ones a scan can be printed with
FONT_WEIGHTS = (2, 1, 2)
# name -> (TrueType collection, subfont index, Debian package); uming.ttc's subfont 0 is "AR PL UMing CN"
TTF = {
    "wqy-zenhei": ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, "fonts-wqy-zenhei"),
    "uming": ("/usr/share/fonts/truetype/arphic/uming.ttc", 0, "fonts-arphic-uming"),
}
DRAWN_LOOKS = ("ruled", "unruled", "image-rules", "no-unicode", "fake-bold")
LOOK_WEIGHTS = (72, 12, 6, 5, 5)  # most printers rule tables with vector lines
# "office": ruled as Word and WPS print a report's tables (Shading). A ruled table with its own draw, after
# the look is drawn, so that the other looks' seeds keep their bytes.
PDF_LOOKS = (*DRAWN_LOOKS, "office")
BOLD_OFFSET = 0.3  # pt between the two strokes of a fake-bold glyph
RULE_DPI = 150  # of the raster image that carries an image-ruled table's lines
FOLIOS = ("— {n} —", "- {n} -", "第{n}页")
MIN_TABLE_SIZE = 5.0  # pt; a table that needs less than this overflows the margin instead
# a word, number or single character, with the opening punctuation that may not end a line before it
# and the closing punctuation that may not start a line after it
TOKEN_RE = re.compile(r"[（《「『“‘(]*(?:[0-9A-Za-z.,%/+-]+|.)[，。、；：？！）》」』”’,.;:)%]*")


@functools.cache
def _font(name: str) -> str:
    """Register a font with reportlab once per process; TrueType fonts are subset and embedded."""
    if name not in FONTS:
        raise ValueError(f"unknown font {name!r}; expected one of {FONTS}")
    if name in TTF:
        path, index, package = TTF[name]
        if not Path(path).is_file():
            raise FileNotFoundError(f"font {name!r} needs {path}: install the Debian package {package}")
        pdfmetrics.registerFont(TTFont(name, path, subfontIndex=index))
    else:
        pdfmetrics.registerFont(UnicodeCIDFont(name))  # a CID font reportlab never embeds
    return name


@functools.cache
def _unmapped_font(name: str) -> str:
    """A second registration of an embedded font, whose Unicode map :func:`_drop_unicode_maps` removes."""
    if name not in TTF:
        raise ValueError(f"only an embedded font can lose its Unicode map, not {name!r}")
    path, index, _ = TTF[_font(name)]
    font = TTFont(f"{name}-unmapped", path, subfontIndex=index)
    font.face.name += b"-Unmapped"  # reportlab shares one registration between fonts of one face name
    pdfmetrics.registerFont(font)
    return font.fontName


def _drop_unicode_maps(pdf: bytes, internal_name: str) -> bytes:
    """Rename /ToUnicode in the font dictionaries of one font's subsets (reportlab names them /F3+0, /F3+1,
    ...). The new key has the same length, so every xref offset stays right."""

    def unmap(match: re.Match[bytes]) -> bytes:
        return match[0].replace(b"/ToUnicode", b"/ToUnicodX")

    pattern = re.compile(rb"<<[^<>]*/Name " + re.escape(internal_name.encode()) + rb"\+\d+[^<>]*>>")
    return pattern.sub(unmap, pdf)


# ---------------------------------------------------------------- text measure
@functools.lru_cache(maxsize=8192)
def _wrap(text: str, font: str, size: float, width: float, indent: float = 0.0) -> tuple[str, ...]:
    """Greedy line breaking: CJK breaks between any two characters, Latin words and numbers stay whole.

    Explicit "\\n" breaks are kept; ``indent`` narrows the first line (a paragraph's two-character indent).
    """
    lines: list[str] = []
    for hard in text.split("\n"):
        line = ""
        for token in TOKEN_RE.findall(hard):
            room = width - (indent if not lines else 0.0)
            if line and pdfmetrics.stringWidth(line + token, font, size) > room:
                lines.append(line)
                line = ""
            line += token
        lines.append(line)
    return tuple(lines)


def _width(text: str, font: str, size: float) -> float:
    return max(pdfmetrics.stringWidth(line, font, size) for line in text.split("\n"))


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


def _office(st: Style, rng: random.Random) -> Style:
    """``st`` as an office suite prints tables: shaded, a thick border, cells padded so little that text
    touches the rules."""
    shading = Shading(
        head=rng.uniform(0.72, 0.9),
        band=rng.uniform(0.75, 0.92),
        labels=rng.uniform(0.86, 0.96) if rng.random() < 0.5 else None,
        border=rng.choice([1.5, 2.25, 3.0]),
    )
    return replace(st, pad=rng.uniform(0.3, 1.2), shading=shading)


def _fill(cell: Cell, t: Table, columns: int, shading: Shading) -> float | None:
    """The grey a cell is filled with, None where it is not."""
    if cell.r < t.head:
        return shading.head
    if cell.cs == columns and not cell.num:
        return shading.band
    return None if cell.num else shading.labels


def _style(rng: random.Random, font: str) -> Style:
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
    natural = _width(cell.text, font, size)
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


def _fit_table(t: Table, st: Style, avail: float) -> Fit:
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


def _line_height(size: float) -> float:
    return size * 1.3


def _lines(cell: Cell, font: str, fit: Fit, pad: float) -> tuple[str, ...]:
    if cell.num:
        return tuple(cell.text.split("\n"))
    return _wrap(cell.text, font, fit.size, sum(fit.widths[cell.c : cell.c + cell.cs]) - 2 * pad)


def _row_heights(t: Table, st: Style, fit: Fit) -> list[float]:
    """Each row as tall as its tallest wrapped cell; a row-spanning cell grows the rows it spans."""
    line = _line_height(fit.size)
    heights = [line + 2 * st.pad] * shape(t)[0]
    spans = []
    for cell in t.cells:
        need = len(_lines(cell, st.font, fit, st.pad)) * line + 2 * st.pad
        if cell.rs == 1:
            heights[cell.r] = max(heights[cell.r], need)
        else:
            spans.append((cell.r, cell.rs, need))
    for start, count, need in sorted(spans, key=lambda s: s[1]):
        short = need - sum(heights[start : start + count])
        for i in range(start, start + count):
            heights[i] += max(0.0, short) / count
    return heights


def _rows_that_fit(t: Table, st: Style, fit: Fit, room: float) -> int:
    """How many leading rows of ``t`` fit in ``room``, measured as the torn-off top part prints."""
    n, used = 0, 0.0
    for h in _row_heights(t, st, fit):
        if used + h > room:
            break
        n, used = n + 1, used + h
    while 0 < n < shape(t)[0] and sum(_row_heights(split(t, n)[0], st, fit)) > room:
        n -= 1  # a span cut by the break squeezes its text into fewer rows
    return n


def _with_head(t: Table, rest: Table) -> Table:
    """A continuation part with ``t``'s header rows printed again above it."""
    head = split(t, t.head)[0].cells
    return replace(t, cells=head + [replace(c, r=c.r + t.head) for c in rest.cells])


def _align(cell: Cell, lines: tuple[str, ...], head: int, st: Style) -> str:
    if cell.num:
        return st.num_align
    if cell.r < head or all(len(line) <= 1 for line in lines):
        return "centre"  # header cells, and vertical one-character-per-line labels
    return "left"


# ---------------------------------------------------------------- drawing
class Pages:
    """The canvas with a cursor: where the next line goes, turning the page when it would not fit."""

    def __init__(self, c: canvas.Canvas, st: Style, look: str = "ruled") -> None:
        self.c, self.st, self.n, self.look = c, st, 1, look
        self.y = self.top

    @property
    def top(self) -> float:
        return A4[1] - self.st.top

    @property
    def room(self) -> float:
        return self.y - self.st.bottom

    @property
    def fresh(self) -> bool:
        return self.y >= self.top

    def need(self, height: float) -> None:
        if height > self.room and not self.fresh:
            self.turn()

    def turn(self) -> None:
        st = self.st
        folio = st.folio.format(n=self.n)
        self.c.setFont(st.font, st.size - 1)
        self.c.drawCentredString(A4[0] / 2, st.bottom / 2, folio)
        self.c.showPage()
        self.n, self.y = self.n + 1, self.top


def _text(
    c: canvas.Canvas,
    x: float,
    y: float,
    s: str,
    font: str,
    size: float,
    bold: bool = False,
    twice: bool = False,
) -> None:
    """One line at baseline ``y``; bold is faked by fill+stroke, as Word does for a CJK font without one.
    ``twice``: the fake bold of other printers, every glyph drawn again a fraction of a point to the right."""
    for dx in (0.0, BOLD_OFFSET) if twice else (0.0,):
        c.saveState()  # the render mode and line width outlive the text object
        obj = c.beginText(x + dx, y)
        obj.setFont(font, size)
        if bold:
            c.setLineWidth(size * 0.03)
            obj.setTextRenderMode(2)
        obj.textOut(s)
        c.drawText(obj)
        c.restoreState()


def _draw_lines(
    pages: Pages, lines: tuple[str, ...], size: float, *, centre: bool, indent: float, bold: bool
) -> None:
    st, lead = pages.st, size * pages.st.leading
    for i, line in enumerate(lines):
        pages.need(lead)
        pages.y -= lead
        width = pdfmetrics.stringWidth(line, st.font, size)
        x = st.left + (st.text_width - width) / 2 if centre else st.left + (indent if i == 0 else 0.0)
        _text(pages.c, x, pages.y + (lead - size) / 2, line, st.font, size, bold, pages.look == "fake-bold")


def _lead_in(st: Style, b: Block | None) -> float:
    """The height of the start of ``b`` that must share a page with the heading above it."""
    line = st.size * st.leading
    if isinstance(b, Table):
        return sum(_row_heights(b, st, _fit_table(b, st, st.text_width))[: b.head + 1]) + st.size
    return 2 * line if isinstance(b, Para) else line if isinstance(b, Heading) else 0.0


def _draw_heading(pages: Pages, h: Heading, keep: float) -> None:
    """A heading, on a new page unless ``keep`` points of what follows fit below it."""
    st = pages.st
    size = st.size + (8 if h.level == 0 else 1.5 if h.level == 1 else 0)
    indent = 0.0 if h.level == 0 else 2 * st.size
    lines = _wrap(h.text, st.font, size, st.text_width, indent)
    pages.need(len(lines) * size * st.leading + st.size + keep)
    pages.y -= st.size * (0.8 if h.level == 0 else 0.4)
    _draw_lines(pages, lines, size, centre=h.level == 0, indent=indent, bold=True)
    pages.y -= st.size * (0.8 if h.level == 0 else 0.2)


def _draw_para(pages: Pages, p: Para) -> None:
    st = pages.st
    lines = _wrap(p.text, st.font, st.size, st.text_width, 2 * st.size)
    _draw_lines(pages, lines, st.size, centre=False, indent=2 * st.size, bold=False)


def _draw_grid(pages: Pages, t: Table, fit: Fit) -> None:
    """Every cell a ruled box (a merged cell is one box), text centred vertically; advances the cursor.

    The look decides how the boxes are drawn (vector lines, a raster image, not at all) and the text's font.
    """
    st, c, look = pages.st, pages.c, pages.look
    heights = _row_heights(t, st, fit)
    x0 = st.left + max(0.0, (st.text_width - sum(fit.widths)) / 2)
    xs = [x0 + sum(fit.widths[:i]) for i in range(len(fit.widths) + 1)]
    ys = [pages.y - sum(heights[:i]) for i in range(len(heights) + 1)]
    covered = {(cell.r + i, cell.c + j) for cell in t.cells for i in range(cell.rs) for j in range(cell.cs)}
    blanks = [Cell("", r=r, c=col) for r in range(len(heights)) for col in range(len(fit.widths))]
    cells = t.cells + [b for b in blanks if (b.r, b.c) not in covered]
    if look == "image-rules":
        _rule_image(c, [(xs[b.c], ys[b.r + b.rs], xs[b.c + b.cs], ys[b.r]) for b in cells], st.rule)
    c.setLineWidth(st.rule)
    c.setFont(_unmapped_font(st.font) if look == "no-unicode" else st.font, fit.size)
    line = _line_height(fit.size)
    if st.shading is not None:
        _shade(c, t, cells, xs, ys, st.shading)
    for cell in cells:
        left, right = xs[cell.c], xs[cell.c + cell.cs]
        top, bottom = ys[cell.r], ys[cell.r + cell.rs]
        if look not in ("unruled", "image-rules"):
            c.rect(left, bottom, right - left, top - bottom, stroke=1, fill=0)
        lines = _lines(cell, st.font, fit, st.pad)
        align = _align(cell, lines, t.head, st)
        y = top - (top - bottom - len(lines) * line) / 2
        for s in lines:
            y -= line
            base = y + line / 2 - 0.38 * fit.size  # the ideographic em box centred on the line
            for dx in (0.0, BOLD_OFFSET) if look == "fake-bold" else (0.0,):
                if align == "left":
                    c.drawString(left + st.pad + dx, base, s)
                elif align == "right":
                    c.drawRightString(right - st.pad + dx, base, s)
                else:
                    c.drawCentredString((left + right) / 2 + dx, base, s)
    if st.shading is not None:
        c.setLineWidth(st.shading.border)
        c.rect(xs[0], ys[-1], xs[-1] - xs[0], ys[0] - ys[-1], stroke=1, fill=0)
    pages.y = ys[-1]


def _shade(
    c: canvas.Canvas, t: Table, cells: list[Cell], xs: list[float], ys: list[float], shading: Shading
) -> None:
    """The office look's fills, under the rules and the text."""
    for cell in cells:
        grey = _fill(cell, t, len(xs) - 1, shading)
        if grey is not None:
            c.setFillGray(grey)
            c.rect(
                xs[cell.c],
                ys[cell.r + cell.rs],
                xs[cell.c + cell.cs] - xs[cell.c],
                ys[cell.r] - ys[cell.r + cell.rs],
                stroke=0,
                fill=1,
            )
    c.setFillGray(0)


def _rule_image(c: canvas.Canvas, boxes: list[tuple[float, float, float, float]], rule: float) -> None:
    """The table's cell boxes as one grayscale image under the text, as a scanned form pasted into a page."""
    left, bottom = min(b[0] for b in boxes), min(b[1] for b in boxes)
    right, top = max(b[2] for b in boxes), max(b[3] for b in boxes)
    scale, margin = RULE_DPI / 72, 2.0
    size = (math.ceil((right - left + 2 * margin) * scale), math.ceil((top - bottom + 2 * margin) * scale))
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    width = max(1, round(rule * scale))

    def px(x: float, y: float) -> tuple[float, float]:
        return (x - left + margin) * scale, (top + margin - y) * scale

    for x0, y0, x1, y1 in boxes:
        draw.rectangle([px(x0, y1), px(x1, y0)], outline=0, width=width)
    c.drawInlineImage(
        image, left - margin, bottom - margin, right - left + 2 * margin, top - bottom + 2 * margin
    )


def _draw_table(pages: Pages, t: Table) -> None:
    """Print a table, tearing it at row boundaries where the page ends (never right after its header)."""
    st = pages.st
    fit = _fit_table(t, st, st.text_width)
    pages.y -= st.size * 0.5
    rest = t
    while True:
        n = _rows_that_fit(rest, st, fit, pages.room)
        if n <= rest.head and not pages.fresh:
            pages.turn()
            continue
        n = max(n, rest.head + 1)  # on a fresh page a part that does not fit still makes progress
        if n >= shape(rest)[0]:
            _draw_grid(pages, rest, fit)
            break
        top, bottom = split(rest, n)
        _draw_grid(pages, top, fit)
        pages.turn()
        rest = _with_head(t, bottom) if st.repeat_head and t.head else bottom
    pages.y -= st.size * 0.5


def render_pdf(
    blocks: list[Block],
    rng: random.Random,
    *,
    title: str,
    author: str,
    font: str | None = None,
    look: str = "ruled",
) -> bytes:
    """A4 text PDF with ruled tables, as an office suite or government CMS prints a report.

    ``Page`` blocks are ignored: the PDF makes its own pages, tearing tables where they end, so pass
    blocks whose tables are whole. ``font`` is drawn from ``rng`` when None; "STSong-Light" is not
    embedded, as in many government PDFs, so a viewer (and :func:`render_scan`) substitutes a font.
    ``look`` is one of PDF_LOOKS; "no-unicode" draws the tables in an embedded font whose Unicode map
    is dropped, so it needs an embedded font (drawn from EMBEDDED_FONTS when ``font`` is None).
    """
    if look not in PDF_LOOKS:
        raise ValueError(f"unknown look {look!r}; expected one of {PDF_LOOKS}")
    if font is None and look == "no-unicode":
        font = rng.choice(EMBEDDED_FONTS)
    name = _font(font or rng.choices(FONTS, FONT_WEIGHTS)[0])
    st = _style(rng, name)
    if look == "office":
        st = _office(st, rng)
    buf = io.BytesIO()
    c = canvas.Canvas(buf, pagesize=A4, invariant=1, initialFontName=name, initialFontSize=st.size)
    c.setTitle(title)
    c.setAuthor(author)
    pages = Pages(c, st, look)
    printed = [b for b in blocks if not isinstance(b, Page)]
    for b, after in zip(printed, [*printed[1:], None], strict=True):
        if isinstance(b, Heading):
            _draw_heading(pages, b, _lead_in(st, after))
        elif isinstance(b, Para):
            _draw_para(pages, b)
        elif isinstance(b, Table):
            _draw_table(pages, b)
    pages.turn()
    unmapped = c._doc.fontMapping.get(_unmapped_font(name)) if look == "no-unicode" else None
    c.save()
    return _drop_unicode_maps(buf.getvalue(), unmapped) if unmapped else buf.getvalue()
