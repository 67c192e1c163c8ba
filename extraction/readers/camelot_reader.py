"""What the two camelot readers share: lattice.py (tables ruled by an image) and stream.py (unruled
tables), as camelot's own parsers/base.py underlies its lattice.py and stream.py.

Why camelot only for these: pdfplumber builds a ruled table's cells from the vector rules pdfminer
already parsed, for free; camelot's lattice parser renders the page and finds the rules in the image,
which costs several times a pdfminer parse. So lattice runs only on page regions whose rules are not
vector (an image under text) and stream only on regions that have no rules at all. Both come back in
the shape the vector path gives: a grid of GridCell with each cell's box in PDF points from the top of
the page, a merged cell's text on every position it covers, those positions marked as copies.
"""

from __future__ import annotations

import warnings
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from nianbao.extraction.document import GridCell
from nianbao.extraction.geometry import Rect

Area = TypeVar("Area")


@dataclass(frozen=True)
class FoundTable:
    box: Rect  # PDF points from the top of the page
    grid: list[list[GridCell]]


class CamelotReader(ABC, Generic[Area]):
    """One camelot flavour run over one page's ``areas`` (where the reader found a table may be)."""

    flavor: ClassVar[str]

    @abstractmethod
    def tables(self, data: bytes, number: int, height: float, areas: Sequence[Area]) -> list[FoundTable]:
        """The tables camelot reads in ``areas`` of page ``number`` (1-based, ``height`` points tall)."""

    def _camelot(self, data: bytes, number: int, **options: object) -> list[Any]:
        """camelot's tables of page ``number``."""
        import camelot  # here: it imports matplotlib (~35 MB), which only image-ruled and unruled pages need

        with warnings.catch_warnings():  # camelot warns of pages without tables: an answer, not a fault
            warnings.simplefilter("ignore")
            return list(
                camelot.read_pdf(data, pages=str(number), flavor=self.flavor, suppress_stdout=True, **options)
            )


def cells_box(table: Any) -> Rect | None:
    """The box around a camelot table's cells, in camelot's coordinates (y up from the page's foot: its
    ``top`` is the lower edge); None for a table without cells. camelot 2.0 keeps the box its parser
    found only in the private ``Table._bbox``; its public cells are the grid it read inside that box."""
    cells = table.cells
    if not cells or not cells[0]:
        return None
    return Rect(cells[0][0].x1, cells[-1][0].y1, cells[0][-1].x2, cells[0][0].y2)
