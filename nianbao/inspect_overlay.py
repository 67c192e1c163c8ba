"""The page view of ``nianbao inspect`` for PDFs, scans and page images: each page image (inspect_pages.py)
with the reader's tables, cells and text lines, the rows nothing was filed from and the filed cells drawn
over it, in PDF points from the top-left scaled to the image's pixels."""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator

from nianbao.extraction.document import Document, PageBox, TableBlock
from nianbao.extraction.grid import cell_where, row_where
from nianbao.extraction.record import FieldEvidence
from nianbao.inspect_pages import PAGE_SCALE, page_images
from nianbao.inspect_views import Filed, Mark, PageView

_TEXT_WHERE = re.compile(r"page (\d+) y (-?\d+)$")  # a PDF reader's text line (readers/pdf.py)
MARK_LAYERS = {"table": 0, "cell": 1, "text": 1, "unfiled-row": 2, "filed": 3}  # filed cells drawn on top


def _union(boxes: Iterable[PageBox]) -> PageBox | None:
    boxes = list(boxes)
    if not boxes:
        return None
    return PageBox(
        min(b.x0 for b in boxes),
        min(b.top for b in boxes),
        max(b.x1 for b in boxes),
        max(b.bottom for b in boxes),
        page=boxes[0].page,
    )


def _mark(kind: str, box: PageBox, title: str, filed: Filed | None = None) -> Mark:
    return Mark(
        kind,
        box.x0 * PAGE_SCALE,
        box.top * PAGE_SCALE,
        (box.x1 - box.x0) * PAGE_SCALE,
        (box.bottom - box.top) * PAGE_SCALE,
        title,
        filed,
    )


def page_views(
    data: bytes,
    document: Document,
    filed: dict[str, Filed],
    evidence: dict[str, FieldEvidence],
    unfiled: set[str],
) -> tuple[list[PageView], set[str]]:
    """Each page image with the reader's tables, cells and text lines, unfiled rows and filed cells."""
    marks: dict[int, list[Mark]] = defaultdict(list)
    for block in document.blocks:
        if not isinstance(block, TableBlock):
            continue
        for page, box in _table_boxes(block):
            marks[page].append(_mark("table", box, block.where))
        for r, cells in enumerate(block.grid):
            row = row_where(block, r)
            for c, cell in enumerate(cells):
                if cell.box is not None and not cell.copy:
                    marks[cell.box.page].append(_mark("cell", cell.box, f"{cell_where(row, c)}: {cell.text}"))
            box = _union(c.box for c in cells if c.box is not None)
            if row in unfiled and box is not None:
                marks[box.page].append(_mark("unfiled-row", box, f"{row}: nothing filed from this row"))
    text_tops = {
        (int(m[1]), int(m[2])): b.where for b in document.blocks if (m := _TEXT_WHERE.match(b.where))
    }
    shared: dict[str, list[str]] = defaultdict(list)  # several fields read from one cell
    for key, cell in evidence.items():
        if cell.box is not None:
            shared[cell.where].append(key)
    pages, drawn = [], set()
    for image in page_images(data):
        for text, box in image.lines:
            where = text_tops.get((image.number, round(box.top)))
            if where is not None:
                marks[image.number].append(_mark("text", box, f"{where}: {text}"))
                if where in unfiled:
                    marks[image.number].append(_mark("unfiled-row", box, f"{where}: nothing filed from it"))
        for keys in shared.values():
            box = evidence[keys[0]].box
            if box is None or box.page != image.number:
                continue
            step = (box.x1 - box.x0) / len(keys)  # values run into one cell share it, left to right
            for i, key in enumerate(keys):
                part = PageBox(box.x0 + i * step, box.top, box.x0 + (i + 1) * step, box.bottom, page=box.page)
                marks[image.number].append(_mark("filed", part, filed[key].title, filed[key]))
                drawn.add(key)
        page_marks = sorted(marks[image.number], key=lambda m: MARK_LAYERS[m.kind])
        width, height = image.width * PAGE_SCALE, image.height * PAGE_SCALE
        pages.append(PageView(image.number, width, height, image.uri, page_marks))
    return pages, drawn


def _table_boxes(block: TableBlock) -> Iterator[tuple[int, PageBox]]:
    """The outline of a table on each page it has cells on."""
    by_page: dict[int, list[PageBox]] = defaultdict(list)
    for cells in block.grid:
        for cell in cells:
            if cell.box is not None:
                by_page[cell.box.page].append(cell.box)
    for page, boxes in by_page.items():
        box = _union(boxes)
        if box is not None:
            yield page, box
