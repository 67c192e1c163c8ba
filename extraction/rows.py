"""What the decoder sees and decides: observed rows, their headers, filed rows and cells."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np

from nianbao.extraction.grid import Row
from nianbao.extraction.record import FieldEvidence, Flag


@dataclass(frozen=True)
class HeaderCell:
    """A column header; which column it names is decided per section (总计 heads columns of s3 and s4)."""

    text: str
    pos: int
    chunk: int | None
    probs: np.ndarray = field(repr=False)
    concept: str  # best "col:<section>.<column>" over all sections
    prob: float
    center: float | None = None  # in layout text, the character column of the header's middle

    @property
    def where(self) -> float:
        """Where the header stands across the table: its grid column, or its middle in layout text."""
        return self.pos if self.center is None else self.center


@dataclass
class RowObservation:
    """A data row as the decoder sees it."""

    index: int
    label: str
    probs: np.ndarray
    row: Row
    header: list[HeaderCell]
    header_nested: list[HeaderCell] | None  # the same header rows read by nesting, not by position
    section_hint: str | None
    own: bool = True  # the row prints a label of its own (else its label is only text near it)
    near: np.ndarray | None = field(default=None, repr=False)  # row probabilities of the text beside it
    around: np.ndarray | None = field(default=None, repr=False)  # the same, however far within near_lines
    labelled_before: bool = False  # label lines stand between it and the data row before it
    near_after: np.ndarray | None = field(default=None, repr=False)  # as near, the text after it first


# How a report prints labels apart from their numbers-only rows: the closest label before a row names
# it, the closest label after it, or the labels around a run of rows name its rows in order.
LabelHabit = Literal["before", "after", "around"]


@dataclass(frozen=True)
class RowDecision:
    """An observed row filed as a canonical row, by its own label or by order between labelled rows."""

    obs: RowObservation
    concept: str
    probability: float
    margin: float | None = None  # placed by order: how much worse the next best alignment is


@dataclass(frozen=True)
class RunToPlace:
    """A section's rows without a usable label (in document order) to be placed by order, the rows
    filed by their labels around them, the template and how the report prints labels apart."""

    rows: list[RowObservation]
    labelled: list[RowDecision]
    fmt: str
    habit: LabelHabit
    answered: frozenset[str] = frozenset()  # the other template's rows the table cannot hold


@dataclass(frozen=True)
class LooseCells:
    """A row filed in template order for want of cell positions, kept to be placed by the identities."""

    keys: tuple[str, ...]
    values: list  # the printed values (grid.Piece), in order
    obs: RowObservation
    label: str
    confidence: float
    yuan: list[bool]
    floated: object | None = None  # a lone number outside the table that may be the value it lacks


@dataclass
class MappingResult:
    format: str
    format_evidence: dict[str, float]
    cells: dict[str, FieldEvidence]
    flags: list[Flag] = field(default_factory=list)
    rows_found: set[str] = field(default_factory=set)  # "<section>.<row>" of every row filed, blank or not
    order_margins: dict[str, float] = field(default_factory=dict)  # "<section>.<row>" of rows placed by order
    unplaced: dict[str, int] = field(default_factory=dict)  # per section, value rows no template row took
