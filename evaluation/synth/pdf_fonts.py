"""Fonts of the text PDF form and text measured in them: registered with reportlab once per process.

Why apart: the page geometry (pdf_geometry.py) and the drawing (render_pdf.py) both measure text, and a
look without a Unicode map needs a second registration of an embedded font whose map is then dropped.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont

FONTS: tuple[str, ...] = ("wqy-zenhei", "uming", "STSong-Light")
EMBEDDED_FONTS: tuple[str, ...] = ("wqy-zenhei", "uming")  # the ones a scan can be printed with
FONT_WEIGHTS = (2, 1, 2)
# name -> (TrueType collection, subfont index, Debian package); uming.ttc's subfont 0 is "AR PL UMing CN"
TTF = {
    "wqy-zenhei": ("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc", 0, "fonts-wqy-zenhei"),
    "uming": ("/usr/share/fonts/truetype/arphic/uming.ttc", 0, "fonts-arphic-uming"),
}
# a word, number or single character, with the opening punctuation that may not end a line before it
# and the closing punctuation that may not start a line after it
TOKEN_RE = re.compile(r"[（《「『“‘(]*(?:[0-9A-Za-z.,%/+-]+|.)[，。、；：？！）》」』”’,.;:)%]*")


@functools.cache
def register_font(name: str) -> str:
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
def register_unmapped(name: str) -> str:
    """A second registration of an embedded font, whose Unicode map :func:`_drop_unicode_maps` removes."""
    if name not in TTF:
        raise ValueError(f"only an embedded font can lose its Unicode map, not {name!r}")
    path, index, _ = TTF[register_font(name)]
    font = TTFont(f"{name}-unmapped", path, subfontIndex=index)
    font.face.name += b"-Unmapped"  # reportlab shares one registration between fonts of one face name
    pdfmetrics.registerFont(font)
    return font.fontName


def drop_unicode_maps(pdf: bytes, internal_name: str) -> bytes:
    """Rename /ToUnicode in the font dictionaries of one font's subsets (reportlab names them /F3+0, /F3+1,
    ...). The new key has the same length, so every xref offset stays right."""

    def unmap(match: re.Match[bytes]) -> bytes:
        return match[0].replace(b"/ToUnicode", b"/ToUnicodX")

    pattern = re.compile(rb"<<[^<>]*/Name " + re.escape(internal_name.encode()) + rb"\+\d+[^<>]*>>")
    return pattern.sub(unmap, pdf)


# ---------------------------------------------------------------- text measure
@functools.lru_cache(maxsize=8192)
def wrap_text(text: str, font: str, size: float, width: float, indent: float = 0.0) -> tuple[str, ...]:
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


def text_extent(text: str, font: str, size: float) -> float:
    return max(pdfmetrics.stringWidth(line, font, size) for line in text.split("\n"))
