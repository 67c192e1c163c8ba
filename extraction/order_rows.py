"""Rows without a label of their own placed by order between the labelled rows around them.

The alignment itself is ``alignment.alternatives`` and its gains are ``order_gains``; here are the
runs it aligns, the choice among their alignments by the section's identities, the doubts about a
placement, and ``row_not_found`` for template rows a table lost.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cache

import numpy as np

from nianbao.extraction.alignment import Alignment, alternatives, margins, without_each
from nianbao.extraction.columns import chunk_starts
from nianbao.extraction.order_gains import OrderGains
from nianbao.extraction.printed_order import anchored_swaps, as_printed, contradicted
from nianbao.extraction.record import Flag, FlagKind
from nianbao.extraction.rows import MappingResult, RowDecision, RowObservation, RunToPlace
from nianbao.schema import Section


class OrderPlacement(OrderGains):
    """The decoder's placement by order (a mixin of mapping.Decoder: uses its scorer, schema, settings and
    cell_filing's _row_values)."""

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
                Flag.on_fields(
                    FlagKind.ROW_NOT_FOUND,
                    [section.key(concept, c) for c in section.columns_of(fmt, concept)],
                    f"row {section.rows[concept]} not found while {len(lost)} value row(s) of "
                    f"this table were not placed ({where})",
                )
            )


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
