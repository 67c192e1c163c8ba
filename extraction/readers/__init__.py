"""Backends: one reader per input form, each bytes → Document, chosen by content as well as name."""

from __future__ import annotations

import stat
from pathlib import Path

from nianbao.errors import CodedError, ErrorCode
from nianbao.extraction.document import Document
from nianbao.extraction.readers.docx import read_docx
from nianbao.extraction.readers.doubling import undouble
from nianbao.extraction.readers.encoding import decode
from nianbao.extraction.readers.html import read_html
from nianbao.extraction.readers.image import read_image
from nianbao.extraction.readers.markdown import looks_like_markdown, markdown_blocks
from nianbao.extraction.readers.pdf import PdfSettings, read_pdf
from nianbao.extraction.readers.text import text_blocks
from nianbao.extraction.suffixes import IMAGE_SUFFIXES, SUFFIXES

# Forms that never hold a report's tables, or need a converter we do not ship.
_UNSUPPORTED = {
    ".doc": "legacy Word .doc",
    ".xls": "spreadsheet",
    ".xlsx": "spreadsheet",
}


# What a path that is not a regular file is, for the message that refuses it.
_NOT_FILES = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
)


def cannot_read(exc: OSError) -> CodedError:
    return CodedError(ErrorCode.E_IO, f"cannot read the file ({exc.strerror or exc})")


def regular_size(path: Path) -> int:
    """The size of a regular file, symlinks followed. Anything else is refused (E_NOT_FILE) before it is
    opened: opening a FIFO waits for a writer, reading a device may never end."""
    try:
        mode = path.stat()
    except OSError as exc:
        raise cannot_read(exc) from exc
    if not stat.S_ISREG(mode.st_mode):
        kind = next((name for test, name in _NOT_FILES if test(mode.st_mode)), "not a regular file")
        raise CodedError(ErrorCode.E_NOT_FILE, f"{kind}, not a file to read")
    return mode.st_size


def is_pdf(data: bytes) -> bool:
    """A PDF by its header, whatever the file's name says."""
    return data[:1024].lstrip().startswith(b"%PDF")


def read(path: str | Path, data: bytes | None = None, settings: PdfSettings | None = None) -> Document:
    """Read one file; raise CodedError with a stable code when it cannot be read as a report. ``settings``
    tune the paged readers (PDF, and the scan settings for page images); their defaults when None."""
    settings = settings or PdfSettings()
    path = Path(path)
    if data is None:
        regular_size(path)
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise cannot_read(exc) from exc
    suffix = path.suffix.lower()
    if suffix in IMAGE_SUFFIXES:
        return read_image(str(path), data, settings.scan)
    if suffix in _UNSUPPORTED:
        raise CodedError(
            ErrorCode.E_UNSUPPORTED, f"{_UNSUPPORTED[suffix]} input ({suffix}) is not supported yet"
        )
    if is_pdf(data):
        return read_pdf(str(path), data, settings)
    if suffix == ".pdf":
        raise CodedError(ErrorCode.E_CORRUPT, "the .pdf file does not start with a PDF header")
    if data.startswith(b"PK\x03\x04"):
        if suffix != ".docx" and b"word/" not in data[:4096]:
            raise CodedError(ErrorCode.E_UNSUPPORTED, "a zip archive, not a report")
        return read_docx(str(path), data)
    if suffix == ".docx":
        raise CodedError(ErrorCode.E_CORRUPT, "the .docx file is not a zip package")
    decoded = decode(data)
    head = decoded.text[:2048].lower()
    if suffix in {".html", ".htm", ".shtml", ".xhtml"} or "<html" in head or "<!doctype html" in head:
        return read_html(str(path), data)
    text = undouble(decoded.text)  # fake bold copied as doubled characters
    if suffix in {".md", ".markdown"} or looks_like_markdown(text):
        return Document(str(path), "markdown", markdown_blocks(text), repaired=decoded.repaired)
    return Document(str(path), "text", text_blocks(text), repaired=decoded.repaired)


__all__ = ["SUFFIXES", "cannot_read", "read", "regular_size"]
