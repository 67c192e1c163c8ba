"""Fake bold in text a converter copied out of a PDF: each glyph printed twice over itself comes out
doubled ("予予以以公公开开", a 7 as "77"). A PDF read directly is de-doubled per page by its characters'
positions (pdf_layers.py); in text only the pattern is left, so a text is de-doubled only when nearly
all of its words are doubled (then "77" is 7, not seventy-seven)."""

from __future__ import annotations

import re

DOUBLED_WORD_SHARE = 0.9  # of the words of four or more characters with CJK in them
_CJK = re.compile(r"[\u4e00-\u9fff]")
_WORD = re.compile(r"[^\s|]+")


def _doubled(word: str) -> bool:
    return len(word) % 2 == 0 and word[0::2] == word[1::2]


def undouble(text: str) -> str:
    """``text`` with every doubled word halved, if nearly all of its CJK words are doubled; else as is."""
    words = [w for w in _WORD.findall(text) if len(w) >= 4 and _CJK.search(w)]
    if not words or sum(map(_doubled, words)) < DOUBLED_WORD_SHARE * len(words):
        return text
    return _WORD.sub(lambda m: m.group()[0::2] if _doubled(m.group()) else m.group(), text)
