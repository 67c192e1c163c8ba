"""Bytes → text for reports whose charset is declared wrongly or not at all."""

from __future__ import annotations

import codecs
import re
from typing import NamedTuple

from charset_normalizer import from_bytes

from nianbao.errors import CodedError, ErrorCode

# GB18030 is a superset of GBK and GB2312: one decoder serves all three.
_CANDIDATES = ("utf-8", "gb18030")
# A file one bad byte away from a charset (a copy cut mid-character, a stray byte) is that charset with the
# bad bytes replaced, when at least this share of its non-ASCII characters decodes; a file in another
# charset fails on nearly all of them.
REPAIRABLE_SHARE = 0.99
SNIFF_BYTES = 4096  # of the file's start, where NUL bytes and a BOM-less UTF-16 are looked for
# UTF-16 without a BOM: NUL bytes are the high halves of ASCII characters. The reading in the right byte
# order is text (CJK, ASCII, punctuation, full-width forms); the wrong one is scattered over other scripts,
# and binary data read as UTF-16 holds control characters or unpaired surrogates.
UTF16_TEXT_SHARE = 0.9
_TEXTUAL = re.compile(r"[\t\n\r\f\x20-\x7e\u2000-\u206f\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
_REPLACEMENT = "\ufffd"


class Decoded(NamedTuple):
    text: str
    repaired: int = 0  # undecodable byte sequences replaced by U+FFFD


def decode(data: bytes) -> Decoded:
    """BOM first, then BOM-less UTF-16, strict UTF-8, GB18030, either with a few bad bytes replaced, and
    charset-normalizer's best guess last."""
    if not data.strip():
        raise CodedError(ErrorCode.E_EMPTY, "the file is empty")
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
    ):
        if data.startswith(bom):
            return _replaced(data[len(bom) :], codec)
    if b"\x00" in data[:SNIFF_BYTES]:
        return _utf16(data)
    tried = []
    for codec in _CANDIDATES:
        decoded = _replaced(data, codec)
        if not decoded.repaired:
            return decoded
        tried.append(decoded)
    repairable = next((d for d in tried if _nearly_all_decoded(d)), None)
    if repairable is not None:
        return repairable
    best = from_bytes(data).best()
    if best is None:
        raise CodedError(ErrorCode.E_ENCODING, "no text encoding fits the file")
    return Decoded(str(best))


def _replaced(data: bytes, codec: str) -> Decoded:
    """``data`` in ``codec``, its undecodable bytes replaced (a U+FFFD the file holds is not counted)."""
    text = data.decode(codec, errors="replace")
    return Decoded(text, text.count(_REPLACEMENT) - data.count(_REPLACEMENT.encode(codec)))


def _nearly_all_decoded(decoded: Decoded) -> bool:
    """At most a few of the text's non-ASCII characters are replacements."""
    non_ascii = len(decoded.text) - len(decoded.text.encode("ascii", errors="ignore"))
    return decoded.repaired <= (1 - REPAIRABLE_SHARE) * non_ascii


def _utf16(data: bytes) -> Decoded:
    """A file with NUL bytes: UTF-16 without a BOM in the byte order that reads as text, else binary."""
    for codec in ("utf-16-le", "utf-16-be"):
        head = codecs.getincrementaldecoder(codec)(errors="replace").decode(data[:SNIFF_BYTES])
        if head and len(_TEXTUAL.findall(head)) >= UTF16_TEXT_SHARE * len(head):
            return _replaced(data, codec)
    raise CodedError(ErrorCode.E_BINARY, "the file is binary, not text")
