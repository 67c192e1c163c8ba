"""What placing a row without a label of its own as a template row is worth: the order, the labels near
its run of rows and the row's width; which section such a row belongs to; and the rows of the other
template that a label may name instead (2019's single （六）其他处理 in a 2021 report)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from nianbao.extraction.columns import under_header
from nianbao.extraction.rows import RowDecision, RowObservation, RunToPlace
from nianbao.schema import Section


class OrderGains:
    """The gains of order placement (a mixin of mapping.Decoder: uses its scorer, schema, settings and
    format_detection's _in_format)."""

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

    def _foreign_rows(self, fmt: str, excluded: frozenset[str] = frozenset()) -> np.ndarray:
        """Indices of row classes that are not rows of template ``fmt`` (e.g. 2019's single （六） row),
        but for those ``excluded``: a group label that heads rows of ``fmt`` here, or a row this table
        cannot hold (see _answered_foreign)."""
        if (fmt, excluded) not in self._foreign:
            self._foreign[fmt, excluded] = np.array(
                [
                    i
                    for i, c in enumerate(self.scorer.classes)
                    if c.startswith("row:") and not self._in_format(c, fmt) and c not in excluded
                ],
                dtype=int,
            )
        return self._foreign[fmt, excluded]

    def _answered_foreign(self, section: Section, fmt: str, labelled: list[RowDecision]) -> frozenset[str]:
        """Classes of the other template's rows that this table cannot hold because it prints, by their
        own labels, the rows of ``fmt`` they stand for (2021's 其他处理 items for 2019's single （六）
        row). A label naming one of them here is a torn piece of a group's label (理 of 不予处理, of
        其他处理), and its row is one of the table's, not a row to leave unfiled."""
        found = {d.concept for d in labelled}
        answered = set()
        for i in self._foreign_rows(fmt):
            name, _, row = self.scorer.classes[i][4:].partition(".")
            if name == section.name and any(
                r.startswith(f"{row}.") or row.startswith(f"{r}.") for r in found
            ):
                answered.add(self.scorer.classes[i])
        return frozenset(answered)

    def _order_gain(
        self,
        obs: RowObservation,
        section: Section,
        concept: str,
        run: RunToPlace,
        bag: np.ndarray | None = None,
    ) -> float:
        """What filing a row without a label of its own as ``concept`` is worth (0: not allowed).

        ``bag``: row probabilities named by the labels around the row's block of numbers-only rows (a
        converter prints a block of labels before or after a block of numbers rows, so only the first
        row of the block has the labels beside it; the order decides which is which). Allowed for a row
        of two values or more (one, for a one-column row) where that text names ``concept``, or where the row
        shows as many values as the template row has columns (a lone value only as a table cell).
        """
        fmt = run.fmt
        i = self.scorer.index.get(f"row:{section.name}.{concept}")
        # Printed beside the row, the nearer a label, the more it names the row.
        beside = {"before": obs.near, "after": obs.near_after, "around": obs.around}[run.habit]
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
        # The text beside it names a row of the other template: it stays unfiled (unmapped_row). The
        # label heading this row's group (（六）其他处理) is no such text where the labels around name
        # the group's sub-rows too, or where the table prints them by their own labels (run.answered);
        # for a row of another group it still is.
        heading = self._group_heading(section, fmt, concept, beside, bag)
        group = f"row:{section.name}.{concept.rpartition('.')[0]}"
        # Judged by the text closest to the row: a label of the other template right before a run
        # of rows names its own row, however surely the run's other labels name this one.
        near_here = float(obs.near[i]) if i is not None else 0.0
        excluded = frozenset([heading] if heading else []) | (run.answered & {group})
        foreign = self._names_foreign(obs.near, fmt, above=near_here, excluded=excluded)
        if foreign or not (by_width or by_name):
            return 0.0
        s = self.settings
        return (
            s.order_gain
            + s.order_label_weight * named
            + s.order_near_weight * near
            + s.order_width_weight * fits
        )

    def _group_heading(
        self, section: Section, fmt: str, concept: str, beside: np.ndarray, bag: np.ndarray | None
    ) -> str | None:
        """The class of ``concept``'s group label (row:s3.other for other.no_correction) when the labels
        around a row name two or more rows of that group: then that label heads them here."""
        parent, _, _ = concept.rpartition(".")
        if not parent:
            return None
        named = beside if bag is None else np.maximum(beside, bag)
        group = [
            self.scorer.index.get(f"row:{section.name}.{r}")
            for r in section.row_order(fmt)
            if r.startswith(f"{parent}.")
        ]
        sure = sum(1 for i in group if i is not None and named[i] >= self.settings.accept_row)
        return f"row:{section.name}.{parent}" if sure >= 2 else None

    def _names_foreign(
        self, probs: np.ndarray, fmt: str, above: float = 0.0, excluded: frozenset[str] = frozenset()
    ) -> bool:
        """The text names a row of the other template (2019's single （六）其他处理 in a 2021 report),
        surely and more than ``above``; rows ``excluded`` do not count (see _foreign_rows)."""
        foreign = float(probs[self._foreign_rows(fmt, excluded)].max(initial=0.0))
        return foreign > max(self.settings.foreign_row_min, above)

    def _fits_section(self, obs: RowObservation, section: Section, run: RunToPlace) -> bool:
        """Could the row be one of the section's, read with the labels on both sides of it?"""
        around = replace(run, habit="around")
        return any(self._order_gain(obs, section, c, around) > 0 for c in section.row_order(run.fmt))

    def _names_other_templates_row(
        self, concept: str, bag: np.ndarray, section: Section, run: RunToPlace
    ) -> bool:
        """Do the labels around a row's block name the row of the other template that stands where
        ``concept``'s group stands (row:s3.other for other.no_correction), as a label must to take a
        row and more than they name ``concept``, and not two of the group's items (then that label is
        the group's heading)?"""
        parent = concept.rpartition(".")[0]
        i = self.scorer.index.get(f"row:{section.name}.{parent}")
        own = self.scorer.index.get(f"row:{section.name}.{concept}")
        fmt = run.fmt
        if not parent or i is None or own is None or i not in self._foreign_rows(fmt, run.answered):
            return False
        named = bag[i] >= self.settings.accept_row and bag[i] > bag[own]
        return named and self._group_heading(section, fmt, concept, bag, None) is None
