"""Real conversion tools as noise sources: synthesized text PDFs read back by the tools users run.

The synthesizer's own imitations (``mdconv``, the ``layout`` text style) only show what we thought of.
A real converter shows what it does: markitdown (MIT; pdfminer.six and pdfplumber, offline, no model
download) tears a ruled table into fragments and runs neighbouring numbers into one cell; poppler's
``pdftotext -layout`` keeps the page's columns as runs of blanks. The forms ``pdf2md`` and ``pdf2txt`` are
a text PDF rendered as the ``pdf`` form does, then converted; their gold is the PDF's.

Both tools are optional: ``pip install 'nianbao[convert]'`` (markitdown) and Debian's ``poppler-utils``.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

TIMEOUT_S = 120  # one synthesized report converts in about a second


class ConverterMissing(RuntimeError):
    """The tool a converted form needs is not installed."""


def markitdown_markdown(pdf: bytes) -> bytes:
    """The PDF as markitdown prints it in Markdown."""
    try:
        from markitdown import MarkItDown
    except ImportError as e:
        raise ConverterMissing("form pdf2md needs markitdown: pip install 'nianbao[convert]'") from e
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "report.pdf"
        path.write_bytes(pdf)
        return MarkItDown(enable_plugins=False).convert(str(path)).text_content.encode("utf-8")


def pdftotext_layout(pdf: bytes) -> bytes:
    """The PDF as ``pdftotext -layout`` prints it."""
    tool = shutil.which("pdftotext")
    if tool is None:
        raise ConverterMissing("form pdf2txt needs pdftotext: apt-get install poppler-utils")
    done = subprocess.run(
        [tool, "-layout", "-enc", "UTF-8", "-", "-"],
        input=pdf,
        capture_output=True,
        timeout=TIMEOUT_S,
        check=True,
    )
    return done.stdout


CONVERTERS: dict[str, Callable[[bytes], bytes]] = {"pdf2md": markitdown_markdown, "pdf2txt": pdftotext_layout}
SUFFIXES = {"pdf2md": ".md", "pdf2txt": ".txt"}


def available(form: str) -> bool:
    """Whether the tool behind a converted form is installed."""
    if form == "pdf2txt":
        return shutil.which("pdftotext") is not None
    try:
        import markitdown  # noqa: F401
    except ImportError:
        return False
    return True
