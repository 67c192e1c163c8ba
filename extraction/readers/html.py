"""HTML pages (and the HTML tables inside OCR Markdown): text blocks and span-expanded tables."""

from __future__ import annotations

import re

import lxml.html
from lxml import etree

from nianbao.extraction.document import (
    Block,
    Document,
    GridCell,
    ReadError,
    TableBlock,
    TextBlock,
    expand_spans,
)
from nianbao.extraction.readers.encoding import decode

_SKIP = {"script", "style", "noscript", "head", "title", "template", "iframe"}
_BLOCK = {
    "p",
    "div",
    "br",
    "li",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "header",
    "footer",
    "blockquote",
    "pre",
    "tr",
    "dd",
    "dt",
    "center",
    "body",
}
_META_CHARSET = re.compile(rb"<meta[^>]+charset", re.I)


def _span(el: etree._Element, name: str) -> int:
    try:
        return max(1, min(int(str(el.get(name, "1")).strip() or 1), 200))
    except ValueError:
        return 1


def _cell_text(el: etree._Element) -> str:
    """Cell text with <br> and block children as line breaks, nested tables left out."""
    parts: list[str] = []

    def walk(node: etree._Element) -> None:
        if node.text:
            parts.append(node.text)
        for child in node:
            if isinstance(child.tag, str) and child.tag not in _SKIP and child.tag != "table":
                if child.tag in _BLOCK:
                    parts.append("\n")
                walk(child)
            if child.tail:
                parts.append(child.tail)

    walk(el)
    return "".join(parts).replace("\xa0", " ").strip()


def table_grid(table: etree._Element) -> list[list[GridCell]]:
    rows: list[list[tuple[str, int, int]]] = []
    for tr in table.iter("tr"):
        if _owner_table(tr) is not table:
            continue
        rows.append(
            [
                (_cell_text(td), _span(td, "rowspan"), _span(td, "colspan"))
                for td in tr
                if isinstance(td.tag, str) and td.tag in ("td", "th")
            ]
        )
    return expand_spans(rows)


def _owner_table(el: etree._Element) -> etree._Element | None:
    parent = el.getparent()
    while parent is not None and parent.tag != "table":
        parent = parent.getparent()
    return parent


def html_blocks(root: etree._Element, where_prefix: str = "") -> list[Block]:
    """Walk the tree in reading order; a table holding other tables is layout, not data."""
    blocks: list[Block] = []
    buffer: list[str] = []
    count = {"table": 0, "text": 0}

    def flush() -> None:
        text = "".join(buffer)
        buffer.clear()
        for line in text.replace("\xa0", " ").split("\n"):
            if line.strip():
                count["text"] += 1
                blocks.append(TextBlock(line.strip(), f"{where_prefix}text {count['text']}"))

    def walk(node: etree._Element) -> None:
        if not isinstance(node.tag, str) or node.tag in _SKIP:
            return
        if node.tag == "table" and next(node.iterdescendants("table"), None) is None:
            flush()
            count["table"] += 1
            grid = table_grid(node)
            if grid:
                blocks.append(TableBlock(grid, f"{where_prefix}table {count['table']}"))
            return
        if node.tag in _BLOCK:
            buffer.append("\n")
        if node.text:
            buffer.append(node.text)
        for child in node:
            walk(child)
            if child.tail:
                buffer.append(child.tail)
        if node.tag in _BLOCK or node.tag in ("td", "th"):
            buffer.append("\n")

    walk(root)
    flush()
    return blocks


def parse_html(text: str) -> etree._Element:
    try:
        return lxml.html.document_fromstring(text)
    except (etree.ParserError, ValueError) as exc:
        raise ReadError("E_PARSE", f"the HTML cannot be parsed ({exc})") from exc


def read_html(path: str, data: bytes) -> Document:
    # Decode ourselves: declared charsets on government sites are often wrong.
    text = decode(data)
    text = re.sub(r"<\?xml[^>]*\?>", "", text, count=1)
    return Document(path, "html", html_blocks(parse_html(text)))
