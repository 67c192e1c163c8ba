"""Which template (2019 or 2021) a report fills: the 国办公开办函 number it cites, its year, and the rows and
columns only one template has."""

from __future__ import annotations

import re
from functools import cached_property

from nianbao.extraction.rows import HeaderCell, RowObservation


class FormatDetection:
    """The decoder's template decision (a mixin of mapping.Decoder: uses its scorer, schema and settings)."""

    def detect_format(
        self, text: str, observations: list[RowObservation], headers: list[HeaderCell], year: int | None
    ) -> tuple[str, dict[str, float]]:
        """2019 or 2021 template: the cited 国办公开办函 number, the report year, rows only one has.

        Structure counts distinct confident concepts, capped, so that stray fragments of prose read
        as column headers cannot outvote an explicit citation or the year.
        """
        weights = self.settings
        evidence = dict.fromkeys(self.schema.formats, 0.0)
        compact = re.sub(r"\s+", "", text)
        for fmt, markers in self.schema.format_markers.items():
            if any(m in compact for m in markers):
                evidence[fmt] += weights.format_marker_weight
        exclusive = self._exclusive_concepts
        seen = {c.concept for c in headers if c.prob >= weights.format_concept_min and len(c.text) >= 2}
        for obs in observations:
            concept, p = self.scorer.best(obs.probs, "row:")
            if p >= weights.format_concept_min:
                seen.add(concept)
        for fmt, concepts in exclusive.items():
            evidence[fmt] += min(len(seen & concepts), weights.format_structure_cap)
        if year is not None:
            evidence[self.schema.format_of_year(year)] += weights.format_year_weight
        fmt = max(evidence, key=lambda f: (evidence[f], f))
        return fmt, evidence

    @cached_property
    def _exclusive_concepts(self) -> dict[str, set[str]]:
        """Rows and columns that exist in one format only."""
        per_format: dict[str, set[str]] = {}
        for fmt in self.schema.formats:
            concepts: set[str] = set()
            for s in self.schema.sections.values():
                for r, c in s.cells[fmt]:
                    concepts.update({f"row:{s.name}.{r}", f"col:{s.name}.{c}"})
            per_format[fmt] = concepts
        return {
            fmt: concepts - set().union(*(v for f, v in per_format.items() if f != fmt))
            for fmt, concepts in per_format.items()
        }

    def _in_format(self, concept: str, fmt: str) -> bool:
        section, _, row = concept[4:].partition(".")
        return row in self.schema.sections[section].row_order(fmt)
