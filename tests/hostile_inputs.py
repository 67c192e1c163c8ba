"""Hostile inputs, built at test time from the bundled sample reports: files that once took gigabytes,
hung a run or lost a whole report for one bad byte (issue 17). Each generator is small on disk and fast."""

from __future__ import annotations

import io
import os
import re
import zipfile
from pathlib import Path

from nianbao.extraction.readers.docx import MAX_XML_BYTES

SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples"
TEXT_REPORT = SAMPLES / "syn_txt_1298476811.txt"  # UTF-8, 2021 template
HTML_REPORT = SAMPLES / "syn_html_589621445.html"  # UTF-8, one <table> per section
DOCX_REPORT = SAMPLES / "syn_docx_986702855.docx"
_S3_TABLE = re.compile(r"<table(?:(?!</table>).)*本年新收(?:(?!</table>).)*</table>", re.S)
_CELL_NUMBER = re.compile(r"<td>(\d+)</td>")


def repeated_report(copies: int) -> bytes:
    """One text report printed ``copies`` times over in one file."""
    return (TEXT_REPORT.read_bytes() + b"\n") * copies


def pdf_with_page(width: float, height: float, content: bytes) -> bytes:
    """A minimal PDF of one page ``width`` x ``height`` points drawing ``content`` (no text layer)."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 %g %g] /Contents 4 0 R >>" % (width, height),
        b"<< /Length %d >>\nstream\n%s\nendstream" % (len(content), content),
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def huge_page_pdf() -> bytes:
    """Under 500 bytes: one 14,400 x 14,400 pt page (PDF's largest) with a line drawn, so it is read by OCR;
    at the scan resolution it would render to 1.6 gigapixels."""
    return pdf_with_page(14_400, 14_400, b"10 w 100 100 m 14000 14000 l S")


def docx_bomb() -> bytes:
    """A real report's .docx whose document.xml is padded with empty paragraphs past the XML cap: tens of
    kilobytes that unpack to more than MAX_XML_BYTES."""
    original = zipfile.ZipFile(DOCX_REPORT)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as package:
        for member in original.infolist():
            data = original.read(member)
            if member.filename == "word/document.xml":
                body = data.index(b"<w:body>") + len(b"<w:body>")
                data = data[:body] + b"<w:p/>" * (MAX_XML_BYTES // 6 + 1) + data[body:]
            package.writestr(member, data)
    return out.getvalue()


def utf8_with_bad_byte() -> bytes:
    """The text report with one byte that is no UTF-8 put between two sentences of its opening."""
    data = TEXT_REPORT.read_bytes()
    between = data.index("要求编制。".encode()) + len("要求编制。".encode())
    return data[:between] + b"\xff" + data[between:]


def utf16_without_bom(byte_order: str) -> bytes:
    """The text report in UTF-16 (``byte_order`` "le" or "be") with no byte-order mark."""
    return TEXT_REPORT.read_text("utf-8").encode(f"utf-16-{byte_order}")


def deep_html(depth: int) -> bytes:
    """The HTML report with its whole body nested ``depth`` <div> levels deep."""
    page = HTML_REPORT.read_text("utf-8").replace("<body>", "<body>" + "<div>" * depth, 1)
    return page.replace("</body>", "</div>" * depth + "</body>", 1).encode()


def second_s3_table(changed: bool) -> bytes:
    """The HTML report with its section-3 table printed again right after it: with every count one higher
    when ``changed``, else the same table twice."""
    page = HTML_REPORT.read_text("utf-8")
    table = _S3_TABLE.search(page)
    assert table is not None, "the sample's section-3 table"
    again = table.group()
    if changed:
        again = _CELL_NUMBER.sub(lambda m: f"<td>{int(m.group(1)) + 1}</td>", again)
    return (page[: table.end()] + "\n<p>附表</p>\n" + again + page[table.end() :]).encode()


def fifo(path: Path) -> Path:
    """A named pipe at ``path``: opening it for reading waits for a writer, for ever if none comes."""
    os.mkfifo(path)
    return path
