"""Bytes → text for reports whose charset is declared wrongly or not at all."""

from __future__ import annotations

import codecs

from charset_normalizer import from_bytes

from nianbao.extraction.document import ReadError

# GB18030 is a superset of GBK and GB2312: one decoder serves all three.
_CANDIDATES = ("utf-8", "gb18030", "utf-16")


def decode(data: bytes) -> str:
    """Strict UTF-8 first (BOM-aware), then GB18030, then charset-normalizer's best guess."""
    if not data.strip():
        raise ReadError("E_EMPTY", "the file is empty")
    for bom, codec in (
        (codecs.BOM_UTF8, "utf-8-sig"),
        (codecs.BOM_UTF16_LE, "utf-16"),
        (codecs.BOM_UTF16_BE, "utf-16"),
    ):
        if data.startswith(bom):
            return data.decode(codec, errors="replace")
    if b"\x00" in data[:4096] and not data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise ReadError("E_BINARY", "the file is binary, not text")
    for codec in _CANDIDATES[:2]:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            continue
    best = from_bytes(data).best()
    if best is None:
        raise ReadError("E_ENCODING", "no text encoding fits the file")
    return str(best)
