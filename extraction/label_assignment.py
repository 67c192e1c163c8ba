"""Labelled rows → canonical rows: each section's rows decoded jointly (one canonical row per observed row,
the template's order as tie-breaker), rows of one-row tables known by their width, a second table of a
section flagged, and an unsure label out of order dropped for order placement to decide."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

from nianbao.extraction.columns import under_header
from nianbao.extraction.numbers import parse_value
from nianbao.extraction.record import Flag, FlagKind
from nianbao.extraction.rows import MappingResult, RowDecision, RowObservation
from nianbao.schema import Section


class LabelAssignment:
    """The decoder's assignment of labelled rows (a mixin of mapping.Decoder: uses its scorer, schema,
    settings and order_gains' _foreign_rows)."""

    def _split_sections(
        self, observations: list[RowObservation], fmt: str, floated_chunks: set[int]
    ) -> tuple[dict[str, list[RowObservation]], dict[str, list[RowObservation]], list[RowObservation]]:
        """Rows of one-row tables (by width; one value short where a lone number floated above its
        table), rows by the section their own label names, and rows without a label of their own,
        whose section their neighbours decide."""
        single: dict[str, list[RowObservation]] = {}
        by_section: dict[str, list[RowObservation]] = {}
        loose: list[RowObservation] = []
        widths = {name: len(s.cells[fmt]) for name, s in self.schema.sections.items() if s.single_row}
        for obs in observations:
            slots = under_header(obs)
            filled = [v for v in slots if v.text]
            printed = {len(filled), len(slots)}
            if obs.row.chunk in floated_chunks:
                printed.add(len(filled) + 1)
            width_match = next(
                (n for n, w in widths.items() if w in printed or self._heads_single(obs, n, w)),
                None,
            )
            if not (obs.row.has_values or obs.own or width_match):
                continue  # a blank row without a label is a row only as a one-row table
            concept, p = self.scorer.best(self._prior(obs), "row:")
            one_row = concept is None or p < self.settings.one_row_label_max
            if width_match and (one_row or concept.startswith(f"row:{width_match}.")):
                single.setdefault(width_match, []).append(obs)
            elif not obs.own:
                loose.append(obs)
            elif concept is not None:
                by_section.setdefault(concept[4:].partition(".")[0], []).append(obs)
        return single, by_section, loose

    def _heads_single(self, obs: RowObservation, section: str, width: int) -> bool:
        """A positional row under a header naming ``width`` columns, most of them ``section``'s:
        the one-row table with its blank trailing cells cut off."""
        header = obs.header
        if not obs.row.positional or len(header) != width:
            return False
        own = sum(1 for h in header if h.concept.startswith(f"col:{section}."))
        return 2 * own > width and all(v.pos <= header[-1].pos for v in obs.row.values)

    def _prior(self, obs: RowObservation) -> np.ndarray:
        """P(canonical row | label, section heading), given that a line holding values is a data row.

        Row classes only, renormalised: a short label such as "(3)其他" also reads as a column
        header, and that share of the mass says nothing against it being a row here.
        """
        weights = self.scorer.row_weights(obs.section_hint, self.settings.section_prior_other)
        probs = obs.probs * weights
        return probs / max(float(probs.sum()), self.settings.row_mass_floor)

    def _assign(self, observations: list[RowObservation], section: Section, fmt: str) -> list[RowDecision]:
        """Joint decoding of labelled rows: one canonical row per observed row, order as tie-breaker.
        Of more than ``max_assign_rows`` rows, only those that name a template row most surely (an equal
        share of the cap per template row, the first printed on a tie) take part."""
        concepts = section.row_order(fmt)
        names = [f"row:{section.name}.{c}" for c in concepts]
        known = [(j, self.scorer.index[name]) for j, name in enumerate(names) if name in self.scorer.index]
        if not observations or not known:
            return []
        priors = np.stack([self._prior(obs) for obs in observations])
        cap = self.settings.max_assign_rows
        if len(observations) > cap:
            surest = np.argsort(-priors[:, [i for _, i in known]], axis=0, kind="stable")
            kept = np.unique(surest[: max(1, cap // len(known))])  # in document order
            observations, priors = [observations[i] for i in kept], priors[kept]
        n, m = len(observations), len(concepts)
        cost = np.full((n, m + n), 1e3)
        slots, classes = (np.array(v) for v in zip(*known, strict=True))
        here = np.arange(n) / max(n - 1, 1)
        there = slots / max(m - 1, 1)
        order = self.settings.order_weight * np.abs(here[:, None] - there[None, :])
        blank = np.array([not obs.row.has_values for obs in observations])
        cost[:, slots] = (
            -np.log(np.maximum(priors[:, classes], 1e-9))
            + order
            + self.settings.blank_row_cost * blank[:, None]
        )
        # Left unfiled when no row fits, or when the label names a row of the other template.
        foreign = priors[:, self._foreign_rows(fmt)].max(axis=1, initial=0.0)
        cost[np.arange(n), m + np.arange(n)] = -np.log(np.maximum(self.settings.accept_row, foreign))
        rows_idx, cols_idx = linear_sum_assignment(cost)
        column = dict(known)
        return [
            RowDecision(observations[i], concepts[j], float(priors[i, column[j]]))
            for i, j in zip(rows_idx, cols_idx, strict=True)
            if j in column
        ]

    def _flag_duplicate_table(
        self,
        observations: list[RowObservation],
        decided: list[RowDecision],
        section: Section,
        fmt: str,
        result: MappingResult,
    ) -> None:
        """A second table of the section: value rows the assignment left whose labels surely name rows it
        filed surely (``duplicate_rows`` of them and ``duplicate_share`` at least). With other values in
        any, which table is the report's is for a person to say, so every field of the section is flagged
        ``duplicate_table``; a table printed twice over with the same values is no doubt."""
        s = self.settings
        filed = {f"row:{section.name}.{d.concept}": d for d in decided if d.probability >= s.confident_label}
        taken = {id(d.obs) for d in decided}
        rivals: list[tuple[RowObservation, RowDecision]] = []
        for obs in observations:
            concept, p = self.scorer.best(self._prior(obs), "row:")
            if id(obs) not in taken and obs.row.has_values and concept in filed and p >= s.confident_label:
                rivals.append((obs, filed[concept]))
        named_again = len({d.concept for _, d in rivals})
        if named_again < max(s.duplicate_rows, s.duplicate_share * len(filed)):
            return
        other = next(((o, d) for o, d in rivals if _printed(o) != _printed(d.obs)), None)
        if other is None:
            return
        obs, decision = other
        result.flags.append(
            Flag.on_fields(
                FlagKind.DUPLICATE_TABLE,
                [section.key(row, column) for row, column in section.cells[fmt]],
                f"a second {section.name} table: row {obs.label!r} ({obs.row.where}) prints "
                f"{_printed(obs)}, the row read ({decision.obs.row.where}) {_printed(decision.obs)}",
            )
        )

    def _in_order(self, decided: list[RowDecision], section: Section, fmt: str) -> list[RowDecision]:
        """Drop a row that an unsure label filed out of order among the surely labelled rows around it
        (a stray line of prose whose label half-names a row): its row is then left to order placement."""
        slot = {c: j for j, c in enumerate(section.row_order(fmt))}
        sure = sorted(
            (d.obs.index, slot[d.concept]) for d in decided if d.probability >= self.settings.confident_label
        )
        kept = []
        for d in decided:
            j = slot[d.concept]
            before = [s for i, s in sure if i < d.obs.index]
            after = [s for i, s in sure if i > d.obs.index]
            unsure = d.probability < self.settings.confident_label
            if unsure and ((before and before[-1] > j) or (after and after[0] < j)):
                continue
            kept.append(d)
        return kept


def _printed(obs: RowObservation) -> tuple[int | float | None, ...]:
    """The numbers a row prints, to tell two printings of one row apart."""
    return tuple(parse_value(v.text, decimal=True).value for v in obs.row.values if v.text)
