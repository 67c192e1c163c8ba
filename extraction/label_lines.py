"""Label lines between data rows: where a wrapped label starts and ends, two labels a converter glued into
one line, and the section headings that cut them apart."""

from __future__ import annotations

import re

from nianbao.extraction.grid import Row, is_numbered

SECTION_CUT = "\x00section"  # marks a section heading among the label lines between two data rows
_GROUP = re.compile(
    r"^\s*(?:[（(][一二三四五六七八九十]+[)）]|[一二三四五六七八九十]+、|[①-⑳])"
)  # （三） 四、 ③
_ITEM = re.compile(r"^\s*[（(]?\d+[)）、.．]")
# Where a template numbering (二、 （三） 6.) starts after text: the start of a second, glued label
# (not the item number of 第二十条第（六）项).
_GLUED = re.compile(
    r"(?<=[\u4e00-\u9fff）)”])(?<!第)"
    r"(?=[（(]?[一二三四五六七八九十]+[)）、]|\d{1,2}[.．、]\s*[\u4e00-\u9fff]|[（(]\d{1,2}[)）]|[①-⑳])"
)


def wrapped_labels(lines: list[str]) -> list[str]:
    """Label lines joined into labels: where labels are numbered, a label runs from its numbering to the
    next (a wrapped one spans lines); unnumbered, each line is one."""
    return [label for label, _ in wrapped_units(lines)]


def wrapped_units(lines: list[str]) -> list[tuple[str, list[str]]]:
    """As wrapped_labels, each label with the lines it was joined from."""
    if not any(is_numbered(line) for line in lines):
        return [(line, [line]) for line in lines]
    units: list[list[str]] = []
    for line in lines:
        if is_numbered(line) or not units:
            units.append([line])
        else:
            units[-1].append(line)
    return [("".join(unit), unit) for unit in units]


def bare_values(row: Row) -> bool:
    """A table row of values without a label of its own."""
    return row.positional and row.has_values and not any(not p.copy for p in row.texts)


def after_cut(lines: list[str]) -> list[str]:
    """The lines after the last section heading among them."""
    cuts = [i for i, line in enumerate(lines) if line == SECTION_CUT]
    return lines[cuts[-1] + 1 :] if cuts else lines


def before_cut(lines: list[str]) -> list[str]:
    """The lines before the first section heading among them."""
    return lines[: lines.index(SECTION_CUT)] if SECTION_CUT in lines else lines


def joins(lines: list[str], most: int) -> list[tuple[str, int, int]]:
    """Every run of up to ``most`` consecutive lines joined (a wrapped label is one of them), with how
    many lines stand before and after it. Lines are first cut where a numbering starts inside them
    (two labels glued into one line by a converter)."""
    lines = unglued(lines)
    n = len(lines)
    return [
        ("".join(lines[a:b]), a, n - b)
        for a in range(n)
        for b in range(a + 1, min(a + most, n) + 1)
        if one_label(lines[a:b])
    ]


def unglued(lines: list[str]) -> list[str]:
    """Lines cut where a numbering starts inside them (two labels glued into one line by a converter)."""
    return [piece for line in lines for piece in _GLUED.split(line) if piece]


def one_label(lines: list[str]) -> bool:
    """Can these lines be one wrapped label? A numbering starts a label, so none but the first line
    starts one, except one item under its group's heading (（三）不予公开 / 1.属于国家秘密)."""
    numbered = [line for line in lines[1:] if is_numbered(line)]
    return not numbered or (
        len(numbered) == 1 and _GROUP.match(lines[0]) is not None and _ITEM.match(numbered[0]) is not None
    )
