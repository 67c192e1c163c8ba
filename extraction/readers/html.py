"""HTML pages (and the HTML tables inside OCR Markdown): text blocks and span-expanded tables."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

import lxml.html
from lxml import etree

from nianbao.errors import CodedError, ErrorCode
from nianbao.extraction.document import (
    Block,
    Document,
    GridCell,
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


def _traverse(
    root: etree._Element, descend: Callable[[etree._Element], bool]
) -> Iterator[tuple[str, etree._Element | str]]:
    """("open", element), ("text", text) and ("close", element) in document order, into the elements
    ``descend`` admits; a loop, not recursion, so a page nested thousands of levels deep is read too."""
    todo: list[tuple[str, etree._Element | str]] = [("open", root)]
    while todo:
        kind, item = todo.pop()
        yield kind, item
        if kind != "open" or not descend(item):
            continue
        later: list[tuple[str, etree._Element | str]] = [("text", item.text)] if item.text else []
        for child in item:
            later.append(("open", child))
            if child.tail:
                later.append(("text", child.tail))
        later.append(("close", item))
        todo.extend(reversed(later))


def _read_inside(node: etree._Element) -> bool:
    return isinstance(node.tag, str) and node.tag not in _SKIP


def _cell_text(el: etree._Element) -> str:
    """Cell text with <br> and block children as line breaks, nested tables left out."""
    parts: list[str] = []

    def inside(node: etree._Element) -> bool:
        return node is el or (_read_inside(node) and node.tag != "table")

    for kind, item in _traverse(el, inside):
        if kind == "text":
            parts.append(item)
        elif kind == "open" and item is not el and inside(item) and item.tag in _BLOCK:
            parts.append("\n")
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

    def leaf_table(node: etree._Element) -> bool:
        return node.tag == "table" and next(node.iterdescendants("table"), None) is None

    for kind, item in _traverse(root, lambda node: _read_inside(node) and not leaf_table(node)):
        if kind == "text":
            buffer.append(item)
        elif not _read_inside(item):
            continue
        elif kind == "close":
            if item.tag in _BLOCK or item.tag in ("td", "th"):
                buffer.append("\n")
        elif leaf_table(item):
            flush()
            count["table"] += 1
            grid = table_grid(item)
            if grid:
                blocks.append(TableBlock(grid, f"{where_prefix}table {count['table']}"))
        elif item.tag in _BLOCK:
            buffer.append("\n")
    flush()
    return blocks


def parse_html(text: str) -> etree._Element:
    """The page's tree, nested up to libxml2's limit for huge documents (its default stops at 256 levels
    and silently drops what lies deeper); a page nested deeper still is refused, not read in part."""
    parser = lxml.html.HTMLParser(huge_tree=True)
    try:
        root = lxml.html.document_fromstring(text, parser=parser)
    except (etree.ParserError, ValueError) as exc:
        raise CodedError(ErrorCode.E_PARSE, f"the HTML cannot be parsed ({exc})") from exc
    if any(e.type == etree.ErrorTypes.ERR_RESOURCE_LIMIT for e in parser.error_log):
        raise CodedError(ErrorCode.E_TOO_LARGE, "the HTML is nested deeper than the parser's limit")
    return root


def read_html(path: str, data: bytes) -> Document:
    # Decode ourselves: declared charsets on government sites are often wrong.
    decoded = decode(data)
    text = re.sub(r"<\?xml[^>]*\?>", "", decoded.text, count=1)
    return Document(path, "html", html_blocks(parse_html(text)), repaired=decoded.repaired)
