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

import io
import math
import random

from PIL import Image, ImageDraw
from reportlab.lib.pagesizes import A4
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfgen import canvas

from nianbao.evaluation.synth.blocks import Block, Cell, Heading, Page, Para, Table, shape, split
from nianbao.evaluation.synth.pdf_fonts import (
    EMBEDDED_FONTS,
    FONT_WEIGHTS,
    FONTS,
    drop_unicode_maps,
    register_font,
    register_unmapped,
    wrap_text,
)
from nianbao.evaluation.synth.pdf_geometry import (
    Fit,
    Shading,
    Style,
    alignment,
    cell_lines,
    draw_style,
    fill_grey,
    fit_table,
    line_height,
    office_style,
    row_heights,
    rows_that_fit,
    with_head,
)

DRAWN_LOOKS = ("ruled", "unruled", "image-rules", "no-unicode", "fake-bold")
LOOK_WEIGHTS = (72, 12, 6, 5, 5)  # most printers rule tables with vector lines
# "office": ruled as Word and WPS print a report's tables (Shading). A ruled table with its own draw, after
# the look is drawn, so that the other looks' seeds keep their bytes.
PDF_LOOKS = (*DRAWN_LOOKS, "office")
BOLD_OFFSET = 0.3  # pt between the two strokes of a fake-bold glyph
RULE_DPI = 150  # of the raster image that carries an image-ruled table's lines


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
        return sum(row_heights(b, st, fit_table(b, st, st.text_width))[: b.head + 1]) + st.size
    return 2 * line if isinstance(b, Para) else line if isinstance(b, Heading) else 0.0


def _draw_heading(pages: Pages, h: Heading, keep: float) -> None:
    """A heading, on a new page unless ``keep`` points of what follows fit below it."""
    st = pages.st
    size = st.size + (8 if h.level == 0 else 1.5 if h.level == 1 else 0)
    indent = 0.0 if h.level == 0 else 2 * st.size
    lines = wrap_text(h.text, st.font, size, st.text_width, indent)
    pages.need(len(lines) * size * st.leading + st.size + keep)
    pages.y -= st.size * (0.8 if h.level == 0 else 0.4)
    _draw_lines(pages, lines, size, centre=h.level == 0, indent=indent, bold=True)
    pages.y -= st.size * (0.8 if h.level == 0 else 0.2)


def _draw_para(pages: Pages, p: Para) -> None:
    st = pages.st
    lines = wrap_text(p.text, st.font, st.size, st.text_width, 2 * st.size)
    _draw_lines(pages, lines, st.size, centre=False, indent=2 * st.size, bold=False)


def _draw_grid(pages: Pages, t: Table, fit: Fit) -> None:
    """Every cell a ruled box (a merged cell is one box), text centred vertically; advances the cursor.

    The look decides how the boxes are drawn (vector lines, a raster image, not at all) and the text's font.
    """
    st, c, look = pages.st, pages.c, pages.look
    heights = row_heights(t, st, fit)
    x0 = st.left + max(0.0, (st.text_width - sum(fit.widths)) / 2)
    xs = [x0 + sum(fit.widths[:i]) for i in range(len(fit.widths) + 1)]
    ys = [pages.y - sum(heights[:i]) for i in range(len(heights) + 1)]
    covered = {(cell.r + i, cell.c + j) for cell in t.cells for i in range(cell.rs) for j in range(cell.cs)}
    blanks = [Cell("", r=r, c=col) for r in range(len(heights)) for col in range(len(fit.widths))]
    cells = t.cells + [b for b in blanks if (b.r, b.c) not in covered]
    if look == "image-rules":
        _rule_image(c, [(xs[b.c], ys[b.r + b.rs], xs[b.c + b.cs], ys[b.r]) for b in cells], st.rule)
    c.setLineWidth(st.rule)
    c.setFont(register_unmapped(st.font) if look == "no-unicode" else st.font, fit.size)
    line = line_height(fit.size)
    if st.shading is not None:
        _shade(c, t, cells, xs, ys, st.shading)
    for cell in cells:
        left, right = xs[cell.c], xs[cell.c + cell.cs]
        top, bottom = ys[cell.r], ys[cell.r + cell.rs]
        if look not in ("unruled", "image-rules"):
            c.rect(left, bottom, right - left, top - bottom, stroke=1, fill=0)
        lines = cell_lines(cell, st.font, fit, st.pad)
        align = alignment(cell, lines, t.head, st)
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
        grey = fill_grey(cell, t, len(xs) - 1, shading)
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
    fit = fit_table(t, st, st.text_width)
    pages.y -= st.size * 0.5
    rest = t
    while True:
        n = rows_that_fit(rest, st, fit, pages.room)
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
        rest = with_head(t, bottom) if st.repeat_head and t.head else bottom
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
    name = register_font(font or rng.choices(FONTS, FONT_WEIGHTS)[0])
    st = draw_style(rng, name)
    if look == "office":
        st = office_style(st, rng)
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
    unmapped = c._doc.fontMapping.get(register_unmapped(name)) if look == "no-unicode" else None
    c.save()
    return drop_unicode_maps(buf.getvalue(), unmapped) if unmapped else buf.getvalue()
