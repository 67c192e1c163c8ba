"""What a ``nianbao inspect`` page shows of one document, as the template (app/templates/inspect.html)
renders it: the filed fields with their colours, the page images with their marks, the blocks with their
runs of text."""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

from nianbao.errors import ErrorCode
from nianbao.extraction.record import FieldEvidence

# A field's colour: its section's hue, a shade per column, so neighbouring cells of a row differ.
SECTION_HUES = {"s2": 140, "s3": 210, "s4": 28}  # green, blue, orange
OTHER_HUE = 290
COLUMN_SHADES = (38, 50, 62)  # HSL lightness, percent
FILED_SATURATION = 80  # percent
FILED_ALPHA = 0.45  # the print shows through


def field_colour(key: str) -> str:
    """The overlay colour of a cell filed under ``key``."""
    hue = SECTION_HUES.get(key.split(".", 1)[0], OTHER_HUE)
    shade = COLUMN_SHADES[zlib.crc32(key.rsplit(".", 1)[-1].encode()) % len(COLUMN_SHADES)]
    return f"hsla({hue}, {FILED_SATURATION}%, {shade}%, {FILED_ALPHA})"


@dataclass(frozen=True)
class Filed:
    """A field filed from a cell: what its overlay shows on hover."""

    key: str
    colour: str
    title: str
    where: str


@dataclass(frozen=True)
class Mark:
    """Something drawn over a page image, in pixels; ``kind`` is its CSS class."""

    kind: str
    left: float
    top: float
    width: float
    height: float
    title: str
    filed: Filed | None = None


@dataclass(frozen=True)
class PageView:
    number: int
    width: float
    height: float
    uri: str
    marks: list[Mark]


@dataclass(frozen=True)
class Seg:
    """A run of a block's text, filed under a field or not."""

    text: str
    filed: Filed | None = None


@dataclass
class RowView:
    """A table row (a text block: one row of one cell) with its cells' runs."""

    where: str
    cells: list[list[Seg]]
    copies: list[bool]
    unfiled: bool = False


@dataclass
class BlockView:
    where: str
    table: bool
    rows: list[RowView]


@dataclass(frozen=True)
class UnfiledRow:
    where: str
    label: str
    values: str


@dataclass(frozen=True)
class FieldLine:
    key: str
    value: object
    confidence: float | None
    flags: str
    evidence: FieldEvidence | None


@dataclass
class Inspection:
    """Everything the page shows of one document."""

    name: str
    record: dict
    form: str | None = None
    pages: list[PageView] = field(default_factory=list)
    blocks: list[BlockView] = field(default_factory=list)
    unfiled: list[UnfiledRow] = field(default_factory=list)
    undrawn: list[Filed] = field(default_factory=list)
    fields: list[FieldLine] = field(default_factory=list)
    problem: str | None = None  # inspect's own failure after the extraction went through

    @property
    def error_code(self) -> str | None:
        return ErrorCode.of(self.record["error"] or self.problem)
