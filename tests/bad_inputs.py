"""Files that are not readable reports, each with the error code it must get; shared by the extractor's
and the batch runner's tests."""

from __future__ import annotations

import io
import struct
import zlib

from PIL import Image


def png_declaring(width: int, height: int) -> bytes:
    """A valid 1x1 PNG whose header claims another size: a decompression bomb's calling card."""
    buf = io.BytesIO()
    Image.new("L", (1, 1), 255).save(buf, "PNG")
    data = bytearray(buf.getvalue())
    ihdr = struct.pack(">II", width, height) + bytes(data[24:29])
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def image_pdf() -> bytes:
    """A scanned blank page: no text layer, nothing for OCR to read."""
    buf = io.BytesIO()
    Image.new("L", (600, 800), 255).save(buf, "PDF")
    return buf.getvalue()


def blank_pdf(pages: int) -> bytes:
    from reportlab.pdfgen import canvas

    buf = io.BytesIO()
    c = canvas.Canvas(buf, invariant=1)
    for _ in range(pages):
        c.showPage()
    c.save()
    return buf.getvalue()


# (file name, content, expected error code)
BAD_INPUTS: list[tuple[str, bytes, str]] = [
    ("empty.txt", b"", "E_EMPTY"),
    ("blank.md", b"   \n\n ", "E_EMPTY"),
    ("binary.txt", b"\x00\x01\x02garbage" * 50, "E_BINARY"),
    ("truncated.pdf", b"%PDF-1.7\n...", "E_CORRUPT"),
    ("cut.png", b"\x89PNG\r\n\x1a\n", "E_CORRUPT"),
    ("bomb.png", png_declaring(100_000, 100_000), "E_TOO_LARGE"),
    ("blank-scan.pdf", image_pdf(), "E_NOT_REPORT"),
    ("old.doc", b"\xd0\xcf\x11\xe0 legacy word", "E_UNSUPPORTED"),
    ("broken.docx", b"PK\x03\x04 not really a zip", "E_CORRUPT"),
    (
        "menu.html",
        "<html><body><p>欢迎访问本网站</p><table><tr><td>联系我们</td></tr></table></body></html>".encode(),
        "E_NOT_REPORT",
    ),
    ("notes.txt", "今天开会讨论了明年的工作计划。\n参会人员 12 人。\n".encode(), "E_NOT_REPORT"),
]
