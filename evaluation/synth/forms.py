"""The forms a synthesized report comes in, and :func:`build_report`: one seed drawn, laid out, rendered.

Forms: ``md``, ``html``, ``txt`` (in one of TEXT_STYLES), ``docx``, ``pdf`` (in one of PDF_LOOKS), ``scan``
(the pdf printed and scanned), ``mdconv`` (a converter's torn Markdown) and the real converters' forms
(converters.py). Each form's renderer is a module of its own; this one only routes a seed to them.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from nianbao.evaluation.synth.blocks import Block
from nianbao.evaluation.synth.content import Doc, draw
from nianbao.evaluation.synth.converters import CONVERTERS
from nianbao.evaluation.synth.converters import SUFFIXES as CONVERTED_SUFFIXES
from nianbao.evaluation.synth.gold import gold_record
from nianbao.evaluation.synth.layout import report_blocks, title_of
from nianbao.evaluation.synth.pdf_fonts import EMBEDDED_FONTS
from nianbao.evaluation.synth.render_docx import render_docx
from nianbao.evaluation.synth.render_html import render_html
from nianbao.evaluation.synth.render_md import render_md
from nianbao.evaluation.synth.render_mdconv import render_mdconv
from nianbao.evaluation.synth.render_pdf import DRAWN_LOOKS, LOOK_WEIGHTS, PDF_LOOKS, render_pdf
from nianbao.evaluation.synth.render_scan import render_scan
from nianbao.evaluation.synth.render_text import render_layout, render_ocr, render_tsv, render_worddump

FORMS = ("md", "html", "txt", "docx", "pdf", "scan", "mdconv", *CONVERTERS)
# How text reaches a user: pdftotext -layout, a tab-separated copy, a Word-to-text dump, OCR text.
TEXT_STYLES = ("layout", "tsv", "worddump", "ocr")
SUFFIX = {"md": ".md", "html": ".html", "txt": ".txt", "docx": ".docx", "pdf": ".pdf", "scan": ".pdf"}
SUFFIX["mdconv"] = ".md"
SUFFIX |= CONVERTED_SUFFIXES
# How a text PDF's tables are drawn, named in the gold's synth style ("pdf" alone is the ruled look).
PDF_STYLES = tuple(f"pdf-{look}" for look in PDF_LOOKS[1:])
# Scans of a look other than the ruled one: asked for by name only, so no seed's default scan changes.
SCAN_STYLES = ("scan-office",)
# The look is drawn from its own rng, so content and the ruled look's bytes are as before the looks came;
# this salt is one under which the kept set's (data/evalset/v1) PDF seeds all draw the ruled look.
PDF_LOOK_SALT = "pdf-look-15"
GENERATOR_VERSION = "2"  # bump when a seed would render differently; the evaluation set names it


def pdf_of(blocks: list[Block], d: Doc, font: str | None = None) -> bytes:
    """The text PDF of a drawn report, in its look."""
    return render_pdf(
        blocks, d.rng, title=title_of(blocks, d.agency), author=d.agency, font=font, look=d.look
    )


def _render_converted(convert: Callable[[bytes], bytes], blocks: list[Block], d: Doc) -> bytes:
    """A text PDF as the pdf form renders it, read back by a real conversion tool (converters.py)."""
    return convert(pdf_of(blocks, d))


def _render_scan(blocks: list[Block], d: Doc) -> bytes:
    """Printed with an embedded font (a scanner sees glyphs, whatever the PDF referenced), then scanned."""
    return render_scan(pdf_of(blocks, d, d.rng.choice(EMBEDDED_FONTS)), d.rng)


RENDER: dict[str, Callable[[list[Block], Doc], bytes]] = {
    "md": render_md,
    "html": render_html,
    "tsv": render_tsv,
    "layout": render_layout,
    "worddump": render_worddump,
    "ocr": render_ocr,
    "docx": render_docx,
    "pdf": pdf_of,
    "scan": _render_scan,
    "mdconv": render_mdconv,  # its own module and rng: PDF→Markdown converters' torn tables
    **{form: partial(_render_converted, tool) for form, tool in CONVERTERS.items()},
}


def _pdf_look(seed: int) -> str:
    return random.Random(f"{seed}/{PDF_LOOK_SALT}").choices(DRAWN_LOOKS, LOOK_WEIGHTS)[0]


@dataclass
class Report:
    """A rendered report with its gold record and what the gold cannot say (a broken identity)."""

    content: bytes
    gold: dict
    suffix: str
    inconsistent: bool
    old_other: bool


def build_report(seed: int, form: str, fmt: str | None = None) -> Report:
    """Like :func:`make_report`, keeping the flags tests need. ``form`` may name a text style (``"tsv"``)
    or the look of a text PDF (``"pdf-unruled"``) or of a scan (``"scan-office"``)."""
    style = form if form in TEXT_STYLES else None
    look = form.partition("-")[2] if form in PDF_STYLES + SCAN_STYLES else None
    form = "txt" if style else form.partition("-")[0] if look else form
    if form not in FORMS:
        raise ValueError(
            f"unknown form {form!r}; expected one of {FORMS}, a text style {TEXT_STYLES} "
            f"or a look {PDF_STYLES + SCAN_STYLES}"
        )
    # Drawn off the content stream, so one seed gives the same gold in every form and style.
    rendering = style or (random.Random(f"{seed}/style").choice(TEXT_STYLES) if form == "txt" else form)
    if form == "pdf" or form in CONVERTERS:
        look = look or _pdf_look(seed)
    d = draw(seed, rendering, fmt, look or "ruled")
    content = RENDER[rendering](report_blocks(d), d)
    style = rendering if d.look == "ruled" else f"{'scan' if form == 'scan' else 'pdf'}-{d.look}"
    gold = gold_record(d, f"syn_{form}_{seed}{SUFFIX[form]}", form, style, seed, GENERATOR_VERSION)
    return Report(content, gold, SUFFIX[form], d.inconsistent, d.old_other)


def make_report(seed: int, form: str, fmt: str | None = None) -> tuple[bytes, dict, str]:
    """Return (file content as bytes, gold dict, file suffix e.g. '.md')."""
    r = build_report(seed, form, fmt)
    return r.content, r.gold, r.suffix
