"""The order a report prints a section's rows in, where its labels show it differs from the template's.

Order placement reads numbers-only rows in the template's order. A report that swapped two neighbouring
rows (保护第三方合法权益 printed before 危及"三安全一稳定") keeps its labels with them; once a converter has
torn the labels away from the numbers, only the order in which those labels are printed still says
which row is which, and the identities cannot tell (both rows add into the same totals).
"""

from __future__ import annotations

from dataclasses import replace
from itertools import pairwise

from nianbao.schema import Section


def printed_order(template: list[str], named: list[str], reach: int) -> list[str]:
    """``template`` with two neighbouring rows of one group swapped where the report names the second
    before the first (see _named_out_of_order). ``named``: rows in the order the report's labels name them."""
    order = list(template)
    i = 0
    while i < len(order) - 1:
        swapped = _named_out_of_order(order[i], order[i + 1], named, reach)
        if swapped:
            order[i], order[i + 1] = order[i + 1], order[i]
        i += 2 if swapped else 1
    return order


def contradicted(order: list[str], named: list[str], reach: int) -> list[tuple[str, str]]:
    """Neighbouring rows of ``order`` that ``named`` names the other way round: where that is weaker
    evidence than the swaps of printed_order rest on, neither row is known."""
    return [(a, b) for a, b in pairwise(order) if _named_out_of_order(a, b, named, reach)]


def _named_out_of_order(a: str, b: str, named: list[str], reach: int) -> bool:
    """Are rows ``a`` and ``b`` (a before b) of one group, each named exactly once (a row named twice,
    in a table and again in prose, orders nothing), ``b`` before ``a`` and at most ``reach`` names apart?"""
    if named.count(a) != 1 or named.count(b) != 1 or _group(a) != _group(b):
        return False
    return 0 < named.index(a) - named.index(b) <= reach


def anchored_swaps(order: list[str], anchored: set[str]) -> list[tuple[tuple[str, str], list[str]]]:
    """Each pair of neighbouring rows of one group of which exactly one is ``anchored`` (filed by its own
    label), with ``order`` where the two are swapped: only such a swap changes which rows are free
    between the anchors, and so how many numbers-only rows order placement can file."""
    out = []
    for i, (a, b) in enumerate(pairwise(order)):
        if _group(a) == _group(b) and (a in anchored) != (b in anchored):
            out.append(((a, b), [*order[:i], b, a, *order[i + 2 :]]))
    return out


def as_printed(section: Section, fmt: str, order: list[str]) -> Section:
    """``section`` with its rows of ``fmt`` in ``order`` (keys, columns and identities unchanged)."""
    if order == section.row_order(fmt):
        return section
    cells = tuple((row, column) for row in order for column in section.columns_of(fmt, row))
    return replace(section, cells={**section.cells, fmt: cells})


def _group(row: str) -> str:
    return row.rpartition(".")[0]
