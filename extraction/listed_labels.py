"""Labels a converter listed beside a run of numbers-only rows, one line per row (and two labels glued
into one of those lines cut apart): then the i-th line is the i-th row's own label."""

from __future__ import annotations

import numpy as np

from nianbao.extraction.grid import Row, is_numbered
from nianbao.extraction.label_lines import after_cut, bare_values, before_cut, wrapped_labels


class ListedLabels:
    """The decoder's reading of listed labels (a mixin of mapping.Decoder: uses its scorer, schema,
    settings, and row_observer's _sure_row and _score_new)."""

    def _listed_labels(
        self, rows: list[Row], gaps: list[list[str]], probs: dict[str, np.ndarray]
    ) -> dict[int, str]:
        """Labels a converter listed beside a run of numbers-only rows, one line per row: the i-th line
        is the i-th row's own label, in whatever order the report printed its rows. Taken only where
        exactly one side of the run (right before it or right after it) lists one confident row label
        per row, two rows or more, and no more (with both sides such a list, the run's side is
        unknown), and only for unnumbered labels naming rows out of the template's order."""
        out: dict[int, str] = {}
        k = 0
        while k < len(rows):
            end = k + 1
            while (
                end < len(rows)
                and not gaps[end]
                and bare_values(rows[end])
                and rows[end].table == rows[k].table
            ):
                end += 1
            n = end - k
            if bare_values(rows[k]) and n >= 2:
                before = self._glued_cut(wrapped_labels(after_cut(gaps[k])), n, probs, nearest_last=True)
                after = self._glued_cut(wrapped_labels(before_cut(gaps[end])), n, probs, nearest_last=False)
                sides = [
                    listed
                    for listed, beyond in ((before[-n:], before[:-n][-1:]), (after[:n], after[n : n + 1]))
                    if self._one_label_per_row(listed, n, probs)
                    and not self._one_label_per_row(beyond, 1, probs)
                ]
                if len(sides) == 1 and self._out_of_template_order(sides[0], probs):
                    out.update(zip(range(k, end), sides[0], strict=True))
            k = end
        return out

    def _glued_cut(
        self, lines: list[str], count: int, probs: dict[str, np.ndarray], nearest_last: bool
    ) -> list[str]:
        """``lines`` with those among the ``count`` nearest to a run of ``count`` rows (the last ones
        before it, or the first after it) that hold two glued labels (行政强制行政处罚) cut in two, where
        they do not already list one label per row: a converter may glue neighbouring rows' labels."""
        near, far = (lines[-count:], lines[:-count]) if nearest_last else (lines[:count], lines[count:])
        if self._one_label_per_row(near, count, probs):
            return lines
        cut = [piece for line in near for piece in self._glued_pair(line, probs) or (line,)]
        return far + cut if nearest_last else cut + far

    def _glued_pair(self, line: str, probs: dict[str, np.ndarray]) -> tuple[str, str] | None:
        """``line`` cut where both parts surely name two different rows of one section, the cut that
        names them most surely; None where no cut does."""
        s = self.settings
        if is_numbered(line) or len(line) > s.glued_line_max:
            return None
        cuts = [(line[:i], line[i:]) for i in range(s.glued_part_min, len(line) - s.glued_part_min + 1)]
        self._score_new([part for cut in cuts for part in cut], probs)
        best, surest = None, 0.0
        for head, tail in cuts:
            a, b = self._sure_row(probs[head]), self._sure_row(probs[tail])
            if a is None or b is None or a == b or a.split(".")[0] != b.split(".")[0]:
                continue
            sure = min(probs[head][self.scorer.index[a]], probs[tail][self.scorer.index[b]])
            if sure > surest:
                best, surest = (head, tail), sure
        return best

    def _out_of_template_order(self, labels: list[str], probs: dict[str, np.ndarray]) -> bool:
        """Do unnumbered labels name rows out of the template's order (行政规范性文件 before 规章)? Only
        then is a listed label needed: in order, order placement reads them as well and the identities
        may still correct it. A numbered list is not taken here: its numbers are the template's, and
        printed_order reads neighbouring rows it names the other way round as the report's order."""
        if any(is_numbered(label) for label in labels):
            return False
        concepts = [self.scorer.best(probs[label], "row:")[0][4:] for label in labels]
        section, _, _ = concepts[0].partition(".")
        order = [f"{section}.{r}" for r in self.schema.sections[section].rows]
        slots = [order.index(c) for c in concepts]
        return slots != sorted(slots)

    def _one_label_per_row(self, lines: list[str], count: int, probs: dict[str, np.ndarray]) -> bool:
        """``count`` lines, each surely naming a different canonical row of one section."""
        if len(lines) != count:
            return False
        self._score_new(lines, probs)
        named = [self.scorer.best(probs[line], "row:") for line in lines]
        concepts = {c for c, p in named if c is not None and p >= self.settings.confident_label}
        return len(concepts) == count and len({c.split(".")[0] for c in concepts}) == 1
