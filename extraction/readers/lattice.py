"""Tables ruled by an image under their text, read by camelot's lattice parser from the rendered page.

Why: a table pasted into a PDF as a picture of its rules, its text drawn over it, has no vector rules
for pdfplumber to build cells from. camelot finds the rules in the page image instead; the reader looks
only where an image wide enough to be a table's rules has text drawn over it (``areas``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np
import pdfplumber
import pypdfium2

from nianbao.extraction.document import GridCell, PageBox
from nianbao.extraction.geometry import Rect, centre_inside
from nianbao.extraction.readers.camelot_reader import CamelotReader, FoundTable, cells_box
from nianbao.extraction.readers.scan import capped_dpi


@dataclass(frozen=True)
class LatticeSettings:
    """Tunables of the lattice reader: where it looks and how finely it renders the page. Unknown keys
    are refused by the dataclass itself."""

    dpi: int = 150  # enough for a rule one point wide; camelot's 300 costs four times the pixels
    line_scale: int = 60  # shortest rule found is the page's size over this: a one-line row's side
    image_min_width: float = (
        0.2  # of the page width: a narrower image is a seal or a logo, not a table's rules
    )
    image_min_chars: int = 4  # characters drawn over an image before it may be a table's rules


@dataclass(frozen=True)
class LatticeReader(CamelotReader[Rect]):
    """Where a page's tables may be ruled by an image (``areas``), and the tables camelot's lattice
    parser reads there (``tables``)."""

    flavor = "lattice"
    settings: LatticeSettings = field(default_factory=LatticeSettings)

    def areas(self, page: pdfplumber.page.Page, ruled: Sequence[Rect]) -> list[Rect]:
        """Images wide enough to be a table's rules, with text drawn over them and no vector table
        (``ruled``) there."""
        areas = []
        for image in page.images:
            box = Rect(image["x0"], image["top"], image["x1"], image["bottom"])
            if box.width < self.settings.image_min_width * page.width or any(
                centre_inside(image, t) for t in ruled
            ):
                continue
            if sum(1 for ch in page.chars if centre_inside(ch, box)) >= self.settings.image_min_chars:
                areas.append(box)
        return areas

    def tables(self, data: bytes, number: int, height: float, areas: Sequence[Rect]) -> list[FoundTable]:
        """Ruled tables of page ``number`` centred in one of ``areas``, rules found in the rendered page.

        The areas filter camelot's answer rather than go in as its ``table_areas``, whose bounds it would
        add as rules: a phantom row and column along an image's white margin.
        """
        found = []
        render = GrayRender(self.settings.dpi)
        for table in self._camelot(data, number, backend=render, line_scale=self.settings.line_scale):
            around = cells_box(table)
            if around is None:
                continue
            box = around.flipped(height)
            if any(a.contains(box.centre_x, box.centre_y) for a in areas):
                found.append(FoundTable(box, camelot_grid(table.cells, number, height)))
        return found


@dataclass(frozen=True)
class GrayRender:
    """camelot's page renderer, at ``dpi`` and in gray: camelot 2.0's own renders every page at 300 dpi
    whatever its ``resolution``, in colour, and copies it twice — about 120 MB at its peak on A4, against
    about 30 MB here. camelot takes any object with ``convert`` (a PNG file) and uses ``to_array`` first."""

    dpi: int

    def to_array(self, pdf_path: str, page: int = 1) -> np.ndarray:
        pdf = pypdfium2.PdfDocument(pdf_path)
        try:
            rendered = pdf[page - 1]
            dpi = capped_dpi(*rendered.get_size(), self.dpi)
            gray = rendered.render(scale=dpi / 72, grayscale=True).to_numpy()
        finally:
            pdf.close()
        return cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)  # camelot reads the page as OpenCV's BGR

    def convert(self, pdf_path: str, png_path: str, resolution: int = 0, page: int = 1) -> None:
        cv2.imwrite(png_path, self.to_array(pdf_path, page))


def camelot_grid(cells: list[list], page: int, height: float) -> list[list[GridCell]]:
    """Camelot's cells (PDF coordinates from the bottom, edge flags per side) → GridCells; a position
    without a left or top edge belongs to the merged cell reaching it from there."""
    rows, cols = len(cells), len(cells[0]) if cells else 0

    def origin(r: int, c: int) -> tuple[int, int]:
        while c > 0 and not cells[r][c].left:
            c -= 1
        while r > 0 and not cells[r][c].top:
            r -= 1
        return r, c

    def far_corner(r: int, c: int) -> tuple[int, int]:
        while c + 1 < cols and not cells[r][c + 1].left:
            c += 1
        while r + 1 < rows and not cells[r + 1][c].top:
            r += 1
        return r, c

    grid: list[list[GridCell]] = []
    for r in range(rows):
        out = []
        for c in range(cols):
            r0, c0 = origin(r, c)
            r1, c1 = far_corner(r0, c0)
            first, last = cells[r0][c0], cells[r1][c1]
            box = PageBox(first.x1, height - first.y2, last.x2, height - last.y1, page=page)
            out.append(GridCell(first.text.strip(), copy=(r0, c0) != (r, c), box=box))
        grid.append(out)
    return grid
