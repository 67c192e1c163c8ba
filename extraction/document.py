"""What readers produce: a document as blocks of text and tables, knowing nothing of fields."""

from __future__ import annotations

from dataclasses import dataclass, field

from nianbao.extraction.geometry import Rect


@dataclass(frozen=True)
class PageBox(Rect):
    """A region of a page: a Rect in PDF points from the top-left corner (pixels of scans converted) on
    1-based ``page``."""

    page: int = field(kw_only=True)


@dataclass(frozen=True)
class GridCell:
    """One grid position of a table. ``copy`` marks a position covered by a span of another cell."""

    text: str
    copy: bool = False
    score: float = 1.0  # the reader's confidence in the text: an OCR score, 1 for a born-digital file
    box: PageBox | None = None  # where on the page, for readers of paged forms (PDF, scans)
    absent: bool = False  # the row printed no cell here (fewer cells than the table is wide)
    # A blank cell whose crop a scan reader measured: ink in it (a glyph OCR could not read), or none (a
    # printed blank). None: not measured.
    ink: bool | None = None


@dataclass(frozen=True)
class TableBlock:
    grid: list[list[GridCell]]
    where: str  # provenance, e.g. "line 120" or "table 3"


@dataclass(frozen=True)
class TextBlock:
    text: str
    where: str
    cells: tuple[str, ...] | None = None  # set when the reader knows the line's cells (tabs)
    blank_before: bool = False  # an empty line came before it (a row break in a Word dump)
    indent: int = 0  # blanks before the text: in layout text (pdftotext -layout) where its column starts


Block = TextBlock | TableBlock


@dataclass
class Document:
    path: str
    form: str  # markdown, html, text, docx
    blocks: list[Block] = field(default_factory=list)
    repaired: int = 0  # undecodable byte sequences the text decoder replaced (readers/encoding.py)

    def text(self) -> str:
        """All text in reading order, for meta and format cues."""
        parts: list[str] = []
        for block in self.blocks:
            if isinstance(block, TextBlock):
                parts.append(block.text)
            else:
                parts.extend(" ".join(c.text for c in row if not c.copy) for row in block.grid)
        return "\n".join(parts)


_ABSENT = GridCell("", absent=True)


def expand_spans(rows: list[list[tuple[str, int, int]]]) -> list[list[GridCell]]:
    """HTML-style (text, rowspan, colspan) cells → a rectangular grid with covered positions marked."""
    grid: dict[tuple[int, int], GridCell] = {}
    width = 0
    for r, row in enumerate(rows):
        c = 0
        for text, rowspan, colspan in row:
            while (r, c) in grid:
                c += 1
            for dr in range(max(1, rowspan)):
                for dc in range(max(1, colspan)):
                    grid[(r + dr, c + dc)] = GridCell(text, copy=bool(dr or dc))
            c += max(1, colspan)
            width = max(width, c)
    height = max((r for r, _ in grid), default=-1) + 1
    return [[grid.get((r, c), _ABSENT) for c in range(width)] for r in range(height)]
