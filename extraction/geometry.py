"""One box type for every reader: ``Rect``, an axis-aligned box with y growing down the page.

Why one: the readers met boxes in five shapes (bare tuples in two orders, a box with its page, an OCR
box, a text run), each with its own copy of "is this point inside". The fields are pdfplumber's
``T_bbox`` (x0, top, x1, bottom), in PDF points on a page and in pixels on an image; ``top`` and
``bottom`` rather than y0 and y1 because pdfplumber and pdfminer use those for y measured up from the
page's foot, as camelot does (``flipped`` turns such a box over). Things that have a place (a cell on
a page, an OCR reading, a run of text) are Rects with their own fields added, as pdfplumber's objects
carry their bbox keys beside their text.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from typing import Self


@dataclass(frozen=True)
class Rect:
    x0: float
    top: float
    x1: float
    bottom: float

    @property
    def width(self) -> float:
        return self.x1 - self.x0

    @property
    def height(self) -> float:
        return self.bottom - self.top

    @property
    def centre_x(self) -> float:
        return (self.x0 + self.x1) / 2

    @property
    def centre_y(self) -> float:
        return (self.top + self.bottom) / 2

    def contains(self, x: float, y: float) -> bool:
        """Is the point inside the box, its edges included?"""
        return self.x0 <= x <= self.x1 and self.top <= y <= self.bottom

    def iou(self, other: Rect) -> float:
        """Intersection over union of the two boxes: 0 when they do not overlap."""
        w = min(self.x1, other.x1) - max(self.x0, other.x0)
        h = min(self.bottom, other.bottom) - max(self.top, other.top)
        if w <= 0 or h <= 0:
            return 0.0
        inter = w * h
        return float(inter / (self.width * self.height + other.width * other.height - inter))

    def scaled(self, factor: float) -> Self:
        """The box with every coordinate times ``factor`` (pixels to points: 72 / dpi); other fields kept."""
        return replace(
            self, x0=self.x0 * factor, top=self.top * factor, x1=self.x1 * factor, bottom=self.bottom * factor
        )

    def shifted(self, dy: float) -> Self:
        """The box moved ``dy`` down (a band's boxes placed on its page); other fields kept."""
        return replace(self, top=self.top + dy, bottom=self.bottom + dy)

    def flipped(self, height: float) -> Rect:
        """The box measured from the other edge of a page ``height`` tall: y up from the foot (camelot,
        pdfminer) to y down from the top, and back."""
        return Rect(self.x0, height - self.bottom, self.x1, height - self.top)


def bounding(rects: Iterable[Rect]) -> Rect:
    """The least box holding all of ``rects`` (at least one)."""
    rects = list(rects)
    return Rect(
        min(r.x0 for r in rects),
        min(r.top for r in rects),
        max(r.x1 for r in rects),
        max(r.bottom for r in rects),
    )


def centre_inside(obj: Mapping[str, float], box: Rect) -> bool:
    """Is the centre of a pdfplumber object (a char, a word, an image: its x0, top, x1 and bottom keys, a
    key it lacks counted as 0) inside ``box``?"""
    x = (obj.get("x0", 0) + obj.get("x1", 0)) / 2
    y = (obj.get("top", 0) + obj.get("bottom", 0)) / 2
    return box.contains(x, y)
