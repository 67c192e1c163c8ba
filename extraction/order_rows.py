"""Rows without a label of their own placed by order between the labelled rows around them.

The alignment itself is ``alignment.alternatives``; here are its gains (the order, the labels near a
run of rows, the row's width), the section a loose row belongs to, and ``row_not_found`` for template
rows a table lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from nianbao.extraction.alignment import Alignment, alternatives, margins, without_each
from nianbao.extraction.columns import chunk_starts, under_header
from nianbao.extraction.printed_order import anchored_swaps, as_printed, contradicted
from nianbao.extraction.rows import LabelHabit, MappingResult, RowDecision, RowObservation
from nianbao.schema import Section

Number = int | float


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

    def _place_in_printed_order(
        self, run: RunToPlace, section: Section
    ) -> tuple[Section, list[RowDecision], tuple[str, str] | None]:
        """The run placed in the section's order; where that leaves rows of the run that fit the
        section unplaced, in the order with a labelled row and its neighbour swapped that places more of
        them and breaks no more identities, and the pair swapped. (A report that printed
        3.要求提供公开出版物 after 4.无正当理由大量反复申请 has two numbers-only rows between 1. and 3.,
        where the template has room for one: read in template order, every row after is one off.)"""
        placed, broken = self._place_by_habit(run, section)
        filed = {id(d.obs) for d in placed}
        if not any(id(o) not in filed and self._fits_section(o, section, run) for o in run.rows):
            return section, placed, None
        best: tuple[Section, list[RowDecision], tuple[str, str] | None] = (section, placed, None)
        for pair, order in anchored_swaps(section.row_order(run.fmt), {d.concept for d in run.labelled}):
            swapped = as_printed(section, run.fmt, order)
            decisions, swapped_broken = self._place_by_habit(run, swapped)
            if len(decisions) > len(best[1]) and swapped_broken <= broken:
                best = (swapped, decisions, pair)
        return best

    def _place_by_habit(self, run: RunToPlace, section: Section) -> tuple[list[RowDecision], int]:
        """The run placed under the report's likely label habit; where that leaves identities of the
        section broken, under the habit whose placement makes the most of them hold (the likely one
        on a tie): a report printing every label after its row reads, by the closest label before,
        one row off all the way down, and only the identities say so."""
        placed, broken = self._place_by_order(run, section)
        if not run.rows or broken == 0:
            return placed, broken
        readings = [(broken, placed)]
        for other in ("before", "after", "around"):
            if other != run.habit:
                decisions, other_broken = self._place_by_order(replace(run, habit=other), section)
                if len(decisions) >= len(placed):  # no printed row left out to make a total "hold"
                    readings.append((other_broken, decisions))
        fewest, decisions = min(readings, key=lambda r: r[0])
        return decisions, fewest

    def _place_by_order(self, run: RunToPlace, section: Section) -> tuple[list[RowDecision], int]:
        """Rows without a usable label (in document order) → the free template rows between the labelled
        rows around them, in the same order; a labelled row out of template order bounds nothing.

        Each run between anchors has its best alignment and its rivals (the best alignment through
        each possible pair, and without each pair of the best); of these, the choice whose values make
        the most identities (勾稽关系) of the section hold wins (a weight per identity added to the
        gains), and a placement's margin is what the best rival that moves it is worth less."""
        fmt, labelled = run.fmt, run.labelled
        concepts = section.row_order(fmt)
        problems = []
        for items, free in self._order_groups(run.rows, labelled, section, fmt):
            bags = _block_bags(items)
            gains = np.array(
                [
                    [self._order_gain(o, section, concepts[j], run, bag) for j in free]
                    for o, bag in zip(items, bags, strict=True)
                ]
            ).reshape(len(items), len(free))
            problems.append(_OrderProblem(items, free, gains, alternatives(gains)))
        problems = [p for p in problems if p.rivals]
        worth, broken = self._identity_worth(problems, labelled, section, fmt)
        chosen = [p.rivals[0] for p in problems]
        # The identities choose among readings that file as many rows as the best one: a printed row left
        # out would make a misprinted total "hold".
        choices = [[a for a in p.rivals if len(a.pairs) >= len(p.rivals[0].pairs)] for p in problems]
        for _ in range(self.settings.identity_rounds):
            for g, readings in enumerate(choices):
                chosen[g] = max(readings, key=lambda a: worth(_swap(chosen, g, a)))
        out: list[RowDecision] = []
        scale = self.settings.order_margin_scale
        for g, problem in enumerate(problems):
            # The rivals through every pair do not depend on the choice; those without a pair do.
            rivals = problem.rivals + without_each(problem.gains, chosen[g])
            value = {a.pairs: worth(_swap(chosen, g, a)) for a in rivals}
            for placement in margins(chosen[g], rivals, value):
                p = 1.0 - float(np.exp(-scale * placement.margin))
                concept = concepts[problem.free[placement.slot]]
                out.append(RowDecision(problem.items[placement.item], concept, p, placement.margin))
        return out, broken(chosen)

    def _order_groups(
        self, run: list[RowObservation], labelled: list[RowDecision], section: Section, fmt: str
    ) -> list[tuple[list[RowObservation], list[int]]]:
        """The run cut at the labelled rows: each part with the free template rows between its anchors."""
        concepts = section.row_order(fmt)
        slot = {c: j for j, c in enumerate(concepts)}
        anchors = sorted((d.obs.index, slot[d.concept]) for d in labelled)
        taken = {j for _, j in anchors}
        groups: dict[tuple[int, int], list[RowObservation]] = {}
        for obs in run:
            lo = max(((i, j) for i, j in anchors if i < obs.index), default=(-1, -1))[1]
            hi = min(((i, j) for i, j in anchors if i > obs.index), default=(-1, len(concepts)))[1]
            groups.setdefault((lo, hi) if lo < hi else (-1, len(concepts)), []).append(obs)
        # Runs between anchors out of order share free rows with the rest: narrowest bounds first, so
        # that no template row is offered to two runs.
        out = []
        for (lo, hi), items in sorted(groups.items(), key=lambda g: g[0][1] - g[0][0]):
            free = [j for j in range(lo + 1, hi) if j not in taken]
            taken.update(free)
            out.append((items[: self.settings.max_order_run], free))
        return out

    def _identity_worth(
        self, problems: list[_OrderProblem], labelled: list[RowDecision], section: Section, fmt: str
    ) -> tuple[Callable[[list[Alignment]], float], Callable[[list[Alignment]], int]]:
        """What a choice of alignments (one per problem) is worth: their gains, plus a weight per
        identity of the section that the values they file make hold; and how many they leave broken."""
        # Identities within one row (a row total) hold or break wherever the row is filed; counted, they
        # would only reward leaving a misprinted row out.
        identities = [
            i
            for i in self.schema.identities[fmt]
            if all(self.schema.section_of(k) == section.name for k in i.fields)
            and len({self.schema.row_of(k) for k in i.fields}) > 1
        ]
        weight = self.settings.order_identity_weight
        if not identities or weight == 0:
            return (lambda chosen: sum(a.score for a in chosen)), (lambda chosen: 0)
        concepts = section.row_order(fmt)
        best = [
            RowDecision(p.items[i], concepts[p.free[j]], 1.0) for p in problems for i, j in p.rivals[0].pairs
        ]
        starts = chunk_starts(labelled + best, section, fmt)
        keys = [section.key(r, c) for r, c in section.cells[fmt]]
        column = {k: n for n, k in enumerate(keys)}
        signs = np.zeros((len(identities), len(keys)))  # identity r holds when signs[r] @ values == 0
        for r, identity in enumerate(identities):
            for sign, side in ((1.0, identity.lhs), (-1.0, identity.rhs)):
                for key in side:
                    signs[r, column[key]] += sign
        base = np.zeros(len(keys))
        for d in labelled:
            for key, value in self._row_values(d.obs, section, fmt, d.concept, starts).items():
                base[column[key]] = value or 0

        @cache
        def row_filed(g: int, item: int, slot: int) -> tuple[list[int], list[float]]:
            problem = problems[g]
            row = self._row_values(problem.items[item], section, fmt, concepts[problem.free[slot]], starts)
            return [column[k] for k in row], [v or 0 for v in row.values()]

        @cache
        def filed(g: int, pairs: tuple[tuple[int, int], ...]) -> tuple[np.ndarray, np.ndarray]:
            """The columns and values a run's alignment files (a blank as 0, as the identities read it)."""
            where: list[int] = []
            what: list[float] = []
            for item, slot in pairs:
                w, v = row_filed(g, item, slot)
                where += w
                what += v
            return np.array(where, dtype=int), np.array(what, dtype=float)

        def holds(chosen: list[Alignment]) -> int:
            values = base.copy()
            for g, alignment in enumerate(chosen):
                where, what = filed(g, alignment.pairs)
                values[where] = what
            return int(np.count_nonzero(np.abs(signs @ values) < 1e-6))

        def worth(chosen: list[Alignment]) -> float:
            return sum(a.score for a in chosen) + weight * holds(chosen)

        return worth, lambda chosen: len(identities) - holds(chosen)

    def _order_doubts(
        self,
        by_order: list[RowDecision],
        section: Section,
        run: RunToPlace,
        named: list[str],
        swap: tuple[str, str] | None,
    ) -> dict[str, str]:
        """Rows placed by order whose place is in doubt, with why: two neighbouring rows the labels
        beside the table name the other way round (unnumbered: weaker evidence than printed_order's
        swaps rest on), or a pair read swapped only because the template's order left rows unplaced.
        Only where both rows were placed by order: a row's own label says which row it is. And a row
        placed in a group the other template prints as one row (2019's single （六）其他处理) where the
        labels around its block name that row and not the group's items."""
        fmt = run.fmt
        placed = {d.concept for d in by_order}
        doubts = {}
        for pair in contradicted(section.row_order(fmt), named, self.settings.swap_reach):
            if set(pair) <= placed:
                doubts.update(
                    dict.fromkeys(pair, "the labels beside the table name the rows in another order")
                )
        in_print = sorted(by_order, key=lambda d: d.obs.index)
        for decision, bag in zip(in_print, _block_bags([d.obs for d in in_print]), strict=True):
            if self._names_other_templates_row(decision.concept, bag, section, run):
                doubts[decision.concept] = "the labels beside it name the other template's row in its place"
        if swap is not None:
            why = (
                "the table has more rows than the template's order has room for; "
                f"read with {swap[0]} and {swap[1]} swapped"
            )
            doubts.update(dict.fromkeys(set(swap) & placed, why))
        return doubts

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
class _OrderProblem:
    """One run of rows between anchors, the free template rows it may take, and its alignments."""

    items: list[RowObservation]
    free: list[int]
    gains: np.ndarray
    rivals: list[Alignment]  # the best alignment first


def _swap(chosen: list[Alignment], g: int, alignment: Alignment) -> list[Alignment]:
    return [alignment if k == g else a for k, a in enumerate(chosen)]


def _block_bags(items: list[RowObservation]) -> list[np.ndarray]:
    """Per row, what the labels around its block name: a block is a run of numbers-only rows with no
    label line between them (a converter's fragment), its labels those printed before and after it."""
    blocks: list[list[RowObservation]] = []
    for obs in items:
        if not blocks or obs.labelled_before or obs.index != blocks[-1][-1].index + 1:
            blocks.append([])
        blocks[-1].append(obs)
    return [np.max([o.around for o in block], axis=0) for block in blocks for _ in block]
