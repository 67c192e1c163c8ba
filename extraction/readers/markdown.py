"""Markdown from OCR and PDF tools: pipe tables, HTML <table> blocks, headings and prose."""

from __future__ import annotations

import re

from nianbao.extraction.document import Block, GridCell, TableBlock, TextBlock
from nianbao.extraction.readers.html import html_blocks, parse_html

_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_BR = re.compile(r"<br\s*/?>", re.I)
_DECORATION = re.compile(r"^\s*#{1,6}\s*|\*\*|__")


def _pipe_cells(line: str) -> list[str]:
    body = line.strip()
    body = body[1:] if body.startswith("|") else body
    body = body[:-1] if body.endswith("|") else body
    return [_BR.sub("\n", cell).replace("&nbsp;", " ").strip() for cell in re.split(r"(?<!\\)\|", body)]


def markdown_blocks(text: str) -> list[Block]:
    lines = text.splitlines()
    blocks: list[Block] = []
    table: list[list[str]] = []
    table_start = 0
    i = 0

    def close_table() -> None:
        if table:
            width = max(len(r) for r in table)
            grid = [
                [GridCell(c) for c in row] + [GridCell("", absent=True)] * (width - len(row)) for row in table
            ]
            blocks.append(TableBlock(grid, f"line {table_start}"))
            table.clear()

    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if stripped.startswith("|"):
            if not table:
                table_start = i + 1
            if not _SEPARATOR.match(stripped):
                table.append(_pipe_cells(stripped))
            i += 1
            continue
        close_table()
        if "<table" in stripped.lower():
            end = i
            while end < len(lines) and "</table>" not in lines[end].lower():
                end += 1
            chunk = "\n".join(lines[i : end + 1])
            blocks.extend(html_blocks(parse_html(chunk), where_prefix=f"line {i + 1} "))
            i = end + 1
            continue
        clean = _DECORATION.sub("", _BR.sub(" ", stripped)).strip()
        if clean:
            blocks.append(TextBlock(clean, f"line {i + 1}"))
        i += 1
    close_table()
    return blocks


def looks_like_markdown(text: str) -> bool:
    """Pipe tables or embedded HTML tables mark OCR Markdown, whatever the file is called."""
    pipe_rows = sum(1 for line in text.splitlines() if line.lstrip().startswith("|") and line.count("|") >= 3)
    return pipe_rows >= 3 or "<table" in text.lower()
