"""Rows without a label of their own placed by order between the labelled rows around them.

The alignment itself is ``alignment.align_in_order``; here are its gains (the order, the labels near a
run of rows, the row's width), the section a loose row belongs to, and ``row_not_found`` for template
rows a table lost.
"""

from __future__ import annotations

import numpy as np

from nianbao.extraction.alignment import align_in_order
from nianbao.extraction.columns import under_header
from nianbao.extraction.rows import MappingResult, RowDecision, RowObservation
from nianbao.schema import Section


class OrderPlacement:
    """The decoder's placement by order (a mixin of mapping.Decoder: uses its scorer, schema, settings)."""

    def _loose_section(
        self,
        obs: RowObservation,
        decided: dict[str, list[RowDecision]],
        sections: dict[str, Section],
        fmt: str,
    ) -> str:
        """The section of a row without a label: among the heading's and those of the labelled rows just
        before and after it, the one the text around it surely names, else the first of them."""
        before = max(
            ((d.obs.index, n) for n, ds in decided.items() for d in ds if d.obs.index < obs.index),
            default=None,
        )
        after = min(
            ((d.obs.index, n) for n, ds in decided.items() for d in ds if d.obs.index > obs.index),
            default=None,
        )
        candidates = [
            n for n in (obs.section_hint, before and before[1], after and after[1]) if n in sections
        ]
        if not candidates:
            return next(iter(sections))

        def named(name: str) -> float:
            rows = [self.scorer.index.get(f"row:{name}.{r}") for r in sections[name].row_order(fmt)]
            return max((float(obs.around[i]) for i in rows if i is not None), default=0.0)

        return max(candidates, key=lambda n: named(n) if named(n) >= self.settings.confident_label else 0.0)

    def _foreign_rows(self, fmt: str) -> np.ndarray:
        """Indices of row classes that are not rows of template ``fmt`` (e.g. 2019's single （六） row)."""
        if fmt not in self._foreign:
            self._foreign[fmt] = np.array(
                [
                    i
                    for i, c in enumerate(self.scorer.classes)
                    if c.startswith("row:") and not self._in_format(c, fmt)
                ],
                dtype=int,
            )
        return self._foreign[fmt]

    def _order_gain(
        self,
        obs: RowObservation,
        section: Section,
        fmt: str,
        concept: str,
        bag: np.ndarray | None = None,
        close: bool = False,
    ) -> float:
        """What filing a row without a label of its own as ``concept`` is worth (0: not allowed).

        ``bag``: row probabilities named by the labels around the row's block of numbers-only rows (a
        converter prints a block of labels before or after a block of numbers rows, so only the first
        row of the block has the labels beside it; the order decides which is which). Allowed for a row
        of two values or more (one, for a one-column row) where that text names ``concept``, or where the row
        shows as many values as the template row has columns (a lone value only as a table cell).
        """
        i = self.scorer.index.get(f"row:{section.name}.{concept}")
        beside = obs.near if close else obs.around  # close: the nearer a label, the more it names the row
        near = float(beside[i]) if i is not None else 0.0
        named = max(near, float(bag[i])) if i is not None and bag is not None else near
        filled = sum(1 for v in obs.row.values if v.text)
        width = len(section.columns_of(fmt, concept))
        # A row that printed one cell fewer than its table is wide lost a value, not a column.
        short = filled == width - 1 and any(v.absent for v in obs.row.values)
        fits = filled == width or len(under_header(obs)) == width or short
        # A lone number fits by width only as a table's cell: a loose one is a value floated out of a row.
        by_width = fits and (filled >= 2 or obs.row.positional)
        by_name = named >= self.settings.accept_row and filled >= min(2, width)
        # The text beside it names a row of the other template: it stays unfiled (unmapped_row).
        foreign = self._names_foreign(beside, fmt, above=named)
        if foreign or not (by_width or by_name):
            return 0.0
        s = self.settings
        return (
            s.order_gain
            + s.order_label_weight * named
            + s.order_near_weight * near
            + s.order_width_weight * fits
        )

    def _names_foreign(self, probs: np.ndarray, fmt: str, above: float = 0.0) -> bool:
        """The text names a row of the other template (2019's single （六）其他处理 in a 2021 report),
        surely and more than ``above``."""
        foreign = float(probs[self._foreign_rows(fmt)].max(initial=0.0))
        return foreign > max(self.settings.foreign_row_min, above)

    def _fits_section(self, obs: RowObservation, section: Section, fmt: str) -> bool:
        return any(self._order_gain(obs, section, fmt, c) > 0 for c in section.row_order(fmt))

    def _place_by_order(
        self, run: list[RowObservation], labelled: list[RowDecision], section: Section, fmt: str, close: bool
    ) -> list[RowDecision]:
        """Rows without a usable label (in document order) → the free template rows between the labelled
        rows around them, in the same order; a labelled row out of template order bounds nothing."""
        concepts = section.row_order(fmt)
        slot = {c: j for j, c in enumerate(concepts)}
        anchors = sorted((d.obs.index, slot[d.concept]) for d in labelled)
        taken = {j for _, j in anchors}
        groups: dict[tuple[int, int], list[RowObservation]] = {}
        for obs in run:
            lo = max(((i, j) for i, j in anchors if i < obs.index), default=(-1, -1))[1]
            hi = min(((i, j) for i, j in anchors if i > obs.index), default=(-1, len(concepts)))[1]
            groups.setdefault((lo, hi) if lo < hi else (-1, len(concepts)), []).append(obs)
        out: list[RowDecision] = []
        scale = self.settings.order_margin_scale
        for (lo, hi), items in groups.items():
            items = items[: self.settings.max_order_run]
            free = [j for j in range(lo + 1, hi) if j not in taken]
            bags = _block_bags(items)
            gains = np.array(
                [
                    [self._order_gain(o, section, fmt, concepts[j], bag, close) for j in free]
                    for o, bag in zip(items, bags, strict=True)
                ]
            )
            for placement in align_in_order(gains.reshape(len(items), len(free))):
                j = free[placement.slot]
                taken.add(j)
                p = 1.0 - float(np.exp(-scale * placement.margin))
                out.append(RowDecision(items[placement.item], concepts[j], p, placement.margin))
        return out

    def _flag_rows_not_found(
        self,
        section: Section,
        fmt: str,
        decided: list[RowDecision],
        lost: list[RowObservation],
        result: MappingResult,
    ) -> None:
        """Template rows missing from a table that has value rows nobody could place: a row may have
        been printed and lost, so its blanks are doubtful, not "not stated"."""
        if not decided or not lost:
            return
        found = {d.concept for d in decided}
        where = ", ".join(o.row.where for o in lost[:3])
        for concept in section.row_order(fmt):
            if concept in found:
                continue
            result.flags.append(
                {
                    "fields": [section.key(concept, c) for c in section.columns_of(fmt, concept)],
                    "kind": "row_not_found",
                    "detail": f"row {section.rows[concept]} not found while {len(lost)} value row(s) of "
                    f"this table were not placed ({where})",
                }
            )


def _block_bags(items: list[RowObservation]) -> list[np.ndarray]:
    """Per row, what the labels around its block name: a block is a run of numbers-only rows with no
    label line between them (a converter's fragment), its labels those printed before and after it."""
    blocks: list[list[RowObservation]] = []
    for obs in items:
        if not blocks or obs.labelled_before or obs.index != blocks[-1][-1].index + 1:
            blocks.append([])
        blocks[-1].append(obs)
    return [np.max([o.around for o in block], axis=0) for block in blocks for _ in block]
