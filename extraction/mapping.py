"""Rows → canonical cells: the trained mapper names labels, a joint assignment decodes them.

The mapper knows nothing of file formats: it sees rows of text pieces and value
slots (grid.Row), asks the field mapper what each text names, and decodes a
whole section at once, so that one noisy label cannot take a row its neighbour
owns (one canonical row per observed row, in the template's order when in doubt).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np
from scipy.optimize import linear_sum_assignment

from nianbao.extraction.columns import (
    ColumnReading,
    align_slots,
    chunk_starts,
    display_width,
    merge_header,
    merge_nested,
    under_header,
)
from nianbao.extraction.grid import Row, cell_where, is_numbered
from nianbao.extraction.identity_placement import LooseRow, place_by_identities
from nianbao.extraction.numbers import parse_value
from nianbao.extraction.order_rows import OrderPlacement, RunToPlace
from nianbao.extraction.printed_order import as_printed, printed_order
from nianbao.extraction.rows import (
    CellEvidence,
    HeaderCell,
    LabelHabit,
    LooseCells,
    MappingResult,
    RowDecision,
    RowObservation,
)
from nianbao.extraction.scorer import LabelScorer
from nianbao.schema import Schema, Section

_HEADING_MIN, _HEADING_MAX = 6, 40  # shorter lines are fragments of wrapped labels, not section titles
_SINGLE_ROW_TRUST = 0.95  # a one-row table's cells, known by width and not by a label
_SECTION_CUT = "\x00section"  # marks a section heading among the label lines between two data rows
_GROUP = re.compile(
    r"^\s*(?:[（(][一二三四五六七八九十]+[)）]|[一二三四五六七八九十]+、|[①-⑳])"
)  # （三） 四、 ③
_ITEM = re.compile(r"^\s*[（(]?\d+[)）、.．]")
_SENTENCE_END = re.compile(r"[。；;！？]$")
# Where a template numbering (二、 （三） 6.) starts after text: the start of a second, glued label
# (not the item number of 第二十条第（六）项).
_GLUED = re.compile(
    r"(?<=[\u4e00-\u9fff）)”])(?<!第)"
    r"(?=[（(]?[一二三四五六七八九十]+[)）、]|\d{1,2}[.．、]\s*[\u4e00-\u9fff]|[（(]\d{1,2}[)）]|[①-⑳])"
)


@dataclass(frozen=True)
class MappingSettings:
    """Every tunable of the decoder in one place; unknown keys are refused."""

    accept_row: float = 0.2  # least probability for a row label to take a canonical row
    order_weight: float = 0.6  # cost of a row far from its template position
    section_prior_other: float = 0.25  # weight of classes of another section than the heading says
    heading_min: float = 0.55  # least probability for a line to count as a section heading
    header_min: float = 0.5  # least probability for a text to count as a column header
    confident_label: float = 0.6  # a label this sure is not re-joined with earlier fragments
    max_join: int = 8  # most earlier fragments a wrapped label is re-joined from
    format_marker_weight: float = 4.0  # the template's 国办公开办函 number cited in the text
    format_year_weight: float = 3.0  # the report year falls in the years a template was in force
    format_concept_min: float = 0.8  # least probability for a row or header to count as structure
    format_structure_cap: int = 4  # most evidence that rows and headers of one template can add
    row_mass_floor: float = 0.1  # a label with less row-class mass than this keeps its low row probability
    # Rows placed by order (no label of their own, e.g. the numbers-only rows of a converted table):
    order_gain: float = 1.5  # what placing a row between its anchors is worth by itself
    order_label_weight: float = 2.0  # times the best probability that a label near the run names the row
    order_near_weight: float = 0.5  # times the probability that the text right beside the row names it
    order_width_weight: float = 0.5  # added when the row shows as many values as the template row's columns
    order_margin_scale: float = 1.5  # row probability = 1 - exp(-scale * margin of the placement)
    max_order_run: int = 40  # most rows one order placement aligns (its cost grows with the square)
    order_identity_weight: float = 1.0  # per identity of the section that a choice of placements makes hold
    identity_rounds: int = 2  # passes over a section's runs choosing each run's alignment by the identities
    near_lines: int = 12  # lines of loose text on either side of a row that may hold its label
    near_after_discount: float = 0.5  # text after a row names it less surely than text before it
    near_decay: float = 0.7  # per line between a text and the row, the weight of what it names
    close_label_share: float = 0.8  # of numbers-only rows with labels right before: the closest names it
    near_mass_floor: float = 0.5  # text beside a row names a row only as far as it reads as a row label
    foreign_row_min: float = 0.6  # a label this sure of a row of the other template leaves its row unfiled
    # Added to the cost of filing a labelled row that prints no value: where a row with values names the
    # same template row as surely, that one is the row (a wrapped label's tail, 另行制作 or 复申请, is
    # printed over blank cells), however the two stand in the order.
    blank_row_cost: float = 0.3
    glued_part_min: int = 2  # fewest characters of each label a glued line of two is cut into
    glued_line_max: int = 40  # longest line tried as two glued labels (longer: prose)
    # Most labelled rows one section's joint assignment weighs, the surest first: its cost matrix grows with
    # the square of their number (a report printed a thousand times over in one file), and a report's
    # section has a few dozen rows.
    max_assign_rows: int = 120
    # A second table of a section: value rows that surely name again this many of the rows filed surely,
    # and this share of them at least (a stray line or two that names a filed row is no table).
    duplicate_rows: int = 4
    duplicate_share: float = 0.5
    # Two neighbouring rows are read swapped where the report's labels name the second before the first,
    # at most this many named rows apart (printed_order).
    swap_reach: int = 3

    @classmethod
    def from_dict(cls, values: dict) -> MappingSettings:
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown mapping settings: {sorted(unknown)}")
        return cls(**values)


def _is_heading(row: Row) -> bool:
    text = row.label_text
    return (
        row.table is None
        and not row.sentence
        and _HEADING_MIN <= len(text) <= _HEADING_MAX
        and not _SENTENCE_END.search(text)
    )


class Decoder(ColumnReading, OrderPlacement):
    def __init__(self, scorer: LabelScorer, schema: Schema, settings: MappingSettings | None = None) -> None:
        self.scorer = scorer
        self.schema = schema
        self.settings = settings or MappingSettings()
        self._foreign: dict[tuple[str, frozenset[str]], np.ndarray] = {}
        self._named_columns: dict[tuple[str, str], tuple[str | None, float]] = {}

    # -- walk: rows → observations -------------------------------------------------------------
    def observe(
        self, rows: list[Row]
    ) -> tuple[list[RowObservation], list[HeaderCell], list[tuple[str, bool]]]:
        """The data rows as the decoder sees them, the column headers, and the canonical rows the
        report's labels surely name, in the order it prints them."""
        texts = {p.text for r in rows if not r.sentence for p in r.texts}
        texts.update(r.label_text for r in rows if not r.sentence)
        probs = dict(zip(texts, self.scorer.score(list(texts)), strict=True))
        observations: list[RowObservation] = []
        drafts: list[tuple] = []  # a data row with what it needs to become an observation
        all_headers: list[HeaderCell] = []
        pending: list[str] = []
        header_rows: list[list[HeaderCell | None]] = []
        header: list[HeaderCell] = []
        nested: list[HeaderCell] | None = None
        section: str | None = None
        header_fresh = False  # a data row has used the header rows gathered so far
        merged_for = False  # whether ``header`` was merged for positional rows
        header_broken = False  # other text came after them: in free text a new header starts
        since_row: list[str] = []  # label text since the last data row, wherever it may belong
        gaps: list[list[str]] = []  # per data row, the label text between it and the row before
        for row in rows:
            if row.sentence:
                pending.clear()
                continue
            under_header = bool(header_rows) and not header_fresh
            if not row.has_values and not self._blank_data_row(row, probs, under_header):
                if _is_heading(row):
                    concept, p = self.scorer.best(probs[row.label_text], "sec:")
                    if concept and p >= self.settings.heading_min:
                        section = None if concept == "sec:other" else concept[4:]
                        pending.clear()
                        since_row.append(_SECTION_CUT)
                        header, header_rows, nested = [], [], None
                        continue
                cells = [self._header_cell(p, row, probs[p.text]) for p in row.texts]
                found = [c for c in cells if c is not None]
                if found and 2 * len(found) >= len([p for p in row.texts if not p.copy]):
                    if header_fresh or (header_broken and not row.positional):
                        header_rows, header_fresh = [], False
                    header_broken = False
                    header_rows.append([c for p, c in zip(row.texts, cells, strict=True) if not p.copy])
                    all_headers.extend(found)
                    loose = [
                        p.text for p, c in zip(row.texts, cells, strict=True) if c is None and not p.copy
                    ]
                else:
                    loose = [p.text for p in row.texts if not p.copy]
                    header_broken = bool(header_rows)
                pending.extend(loose)
                since_row.extend(loose)
                continue
            # Merged for the kind of row that reads it: a lone line between header and grid rows does
            # not decide how the grid rows read the header.
            if header_rows and (not header_fresh or row.positional != merged_for):
                header = merge_header(header_rows, row.positional)
                nested = merge_nested(header_rows) if row.positional else None
                header_fresh, merged_for = True, row.positional
            candidates = self._label_candidates(row, pending, probs)
            if drafts and not since_row and _split_row(drafts[-1][0], row, self._names_nothing(row, probs)):
                # A converter split a row whose label cell wrapped: the label with blank cells, then
                # the values without a label (or under a piece of a merged heading). They are one row.
                blank, *_, candidates = drafts.pop()
                row = replace(row, texts=blank.texts)
                since_row = gaps.pop()
            drafts.append((row, header, nested, section, candidates))
            gaps.append(list(since_row))
            pending.clear()
            since_row.clear()
        gaps.append(since_row)
        # Text on either side of a row may name it when the row has no label of its own.
        most, reach = self.settings.max_join, self.settings.near_lines
        # (text, lines between it and the row): a label printed right beside a row names it most surely.
        # A section heading between a text and a row: the text belongs to another table.
        before = [
            [(t, 0) for t in c]
            + [(t, n_after) for t, _, n_after in _joins(_after_cut(gaps[k])[-reach:], most)]
            for k, (*_, c) in enumerate(drafts)
        ]
        after = [
            [(t, n_before) for t, n_before, _ in _joins(_before_cut(gaps[k + 1])[:reach], most)]
            for k in range(len(drafts))
        ]
        # The walk does not depend on which candidate wins, so all are scored in one batch.
        texts = list(dict.fromkeys(t for side in (*before, *after) for t, _ in side))
        named_rows = dict(zip(texts, self._named_rows(texts), strict=True))
        s = self.settings
        near, near_after, around = [], [], []
        for b, a in zip(before, after, strict=True):
            b_close, b_far = self._near(b, named_rows, s.near_decay)
            a_close, a_far = self._near(a, named_rows, s.near_decay)
            near.append(np.maximum(b_close, s.near_after_discount * a_close))
            near_after.append(np.maximum(a_close, s.near_after_discount * b_close))
            around.append(np.maximum(b_far, s.near_after_discount * a_far))
        listed = self._listed_labels([d[0] for d in drafts], gaps, probs)
        for k, ((row, header, nested, section, candidates), named, anywhere, named_after) in enumerate(
            zip(drafts, near, around, near_after, strict=True)
        ):
            label, label_probs = self._choose_label([listed[k]] if k in listed else candidates)
            own = k in listed or any(not p.copy for p in row.texts)
            observations.append(
                RowObservation(
                    len(observations),
                    label,
                    label_probs,
                    row,
                    header,
                    nested,
                    section,
                    own,
                    named,
                    anywhere,
                    bool(_after_cut(gaps[k])),
                    named_after,
                )
            )
        return observations, all_headers, self._named_in_order(gaps, probs)

    def _named_in_order(self, gaps: list[list[str]], probs: dict[str, np.ndarray]) -> list[tuple[str, bool]]:
        """The canonical rows (s3.withheld.secret) that label lines between data rows surely name, in
        the order the report prints them, each with whether its line is numbered: the tail of a wrapped
        label (复申请) or a line of prose names a row as surely as an unnumbered label does. Rows' own
        labels are left out: a converter prints the labels it tore away before or after their numbers,
        so how they interleave with the labels left in the table says nothing of the rows' order."""
        units = [
            (label, lines)
            for gap in gaps
            for label, lines in _wrapped_units(_unglued([line for line in gap if line != _SECTION_CUT]))
        ]
        self._score_new([t for label, lines in units for t in (label, *lines)], probs)
        named = []
        for label, lines in units:
            # A numbering over lines that are labels of their own (（三）不予公开 over its unnumbered items):
            # the lines name the rows.
            concept = self._sure_row(probs[label])
            if concept is not None:
                named.append((concept[4:], is_numbered(label)))
            else:
                named += [
                    (c[4:], is_numbered(line))
                    for line in lines
                    if (c := self._sure_row(probs[line])) is not None
                ]
        return named

    def _score_new(self, texts: list[str], probs: dict[str, np.ndarray]) -> None:
        """Add to ``probs`` the scores of the texts it lacks (labels joined from wrapped lines)."""
        missing = list(dict.fromkeys(t for t in texts if t not in probs))
        if missing:
            probs.update(zip(missing, self.scorer.score(missing), strict=True))

    def _sure_row(self, probs: np.ndarray) -> str | None:
        """The row class (row:s3.granted) a text surely names: it reads as a row label, and names that row
        with ``confident_label`` at least."""
        concept, p = self.scorer.best(probs, "row:")
        row_like = self.scorer.role_of(probs)[0] == "row"
        return concept if concept and p >= self.settings.confident_label and row_like else None

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
                and _bare_values(rows[end])
                and rows[end].table == rows[k].table
            ):
                end += 1
            n = end - k
            if _bare_values(rows[k]) and n >= 2:
                before = self._glued_cut(_wrapped_labels(_after_cut(gaps[k])), n, probs, nearest_last=True)
                after = self._glued_cut(_wrapped_labels(_before_cut(gaps[end])), n, probs, nearest_last=False)
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

    def _named_rows(self, texts: list[str]) -> np.ndarray:
        """Per text, the row classes it names (row classes only, renormalised where it reads as a row)."""
        if not texts:
            return np.zeros((0, len(self.scorer.classes)))
        masked = np.stack(self.scorer.score(texts)) * self.scorer.row_weights(None, 1.0)
        return masked / np.maximum(masked.sum(axis=1, keepdims=True), self.settings.near_mass_floor)

    def _near(
        self, texts: list[tuple[str, int]], named_rows: dict[str, np.ndarray], decay: float
    ) -> tuple[np.ndarray, np.ndarray]:
        """Per row class, the most any of ``texts`` names it: each text weighed by ``decay`` to the power
        of its distance in lines from the row, and unweighed."""
        if not texts:
            zero = np.zeros(len(self.scorer.classes))
            return zero, zero
        named = np.stack([named_rows[t] for t, _ in texts])
        weight = decay ** np.array([distance for _, distance in texts], dtype=float)
        return (named * weight[:, None]).max(axis=0), named.max(axis=0)

    def _names_nothing(self, row: Row, probs: dict[str, np.ndarray]) -> bool:
        """Does the row's own text read as no label, heading or header at all (办理结果, a piece of the
        merged 三、本年度办理结果 cell beside it)? Each of its own cells is asked: a row whose merged
        heading piece names nothing still has its label (予以公开) in the next cell."""
        own = [p.text for p in row.texts if not p.copy]
        return bool(own) and all(self.scorer.role_of(probs[text])[0] == "none" for text in own)

    def _blank_data_row(self, row: Row, probs: dict[str, np.ndarray], under_header: bool) -> bool:
        """A grid row whose cells are all blank under a label that surely names a row: its values
        are unstated (null), and its label must not be glued to the next row's. Or, without a label,
        right under its table's header (``under_header``: no data row has used it): a one-row table
        left blank (section 4's counts, all zero and printed as blanks) is a row found, not one lost."""
        if not (row.positional and row.values):
            return False
        if not row.label_text:
            return under_header and not row.texts
        return self._sure_row(probs[row.label_text]) is not None

    def _header_cell(self, piece, row: Row, probs: np.ndarray) -> HeaderCell | None:
        role, role_mass = self.scorer.role_of(probs)
        if role != "col":
            return None
        concept, p = self.scorer.best(probs, "col:")
        if concept is None or role_mass < self.settings.header_min:
            return None
        center = None if piece.offset is None else piece.offset + display_width(piece.text) / 2
        return HeaderCell(piece.text, piece.pos, row.chunk, probs, concept, p, center)

    def _label_candidates(self, row: Row, pending: list[str], probs: dict[str, np.ndarray]) -> list[str]:
        """The row's own label, and its re-joinings with wrapped fragments above it when it is unsure."""
        own_pieces = [p for p in row.texts if not p.copy]
        own = own_pieces[-1].text if own_pieces else ""
        candidates = []
        if own:
            candidates.append(own)
            if len(own_pieces) > 1:
                candidates.append(row.label_text)
        best_p = self.scorer.best(probs[own], "row:")[1] if own else 0.0
        if best_p < self.settings.confident_label:
            pending = _unglued(pending)
            for n in range(1, min(len(pending), self.settings.max_join) + 1):
                if _one_label(pending[-n:]):
                    candidates.append("".join(pending[-n:]) + own)
            # A label wrapped into many short lines: re-join from where its numbering starts.
            numbered = [i for i, text in enumerate(pending) if is_numbered(text)]
            if numbered and len(pending) - numbered[-1] > self.settings.max_join:
                candidates.append("".join(pending[numbered[-1] :]) + own)
        return candidates

    def _choose_label(self, candidates: list[str]) -> tuple[str, np.ndarray]:
        """The candidate that names a canonical row most surely."""
        if not candidates:
            return "", np.zeros(len(self.scorer.classes))
        scored = self.scorer.score(candidates)
        i = int(np.argmax([self.scorer.best(p, "row:")[1] for p in scored]))
        return candidates[i], scored[i]

    # -- format -----------------------------------------------------------------------------
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

    # -- decode: observations → cells ------------------------------------------------------------
    def decode(self, rows: list[Row], text: str, year: int | None) -> MappingResult:
        observations, headers, named = self.observe(rows)
        fmt, evidence = self.detect_format(text, observations, headers, year)
        return self._read(observations, fmt, evidence, self._label_habit(observations), named)

    def _label_habit(self, observations: list[RowObservation]) -> LabelHabit:
        """How the report most likely prints labels apart from their numbers. Where nearly every
        numbers-only row has label lines right before it, the closest label names the row and label
        lines between are rows left blank; where numbers-only rows come in runs (a converter printed a
        block of labels, then the block of their numbers), the labels around a run name its rows in
        order, however far. The identities may choose another habit per section (_place_by_habit)."""
        loose = [o.labelled_before for o in observations if not o.own and o.row.has_values]
        close = bool(loose) and sum(loose) >= self.settings.close_label_share * len(loose)
        return "before" if close else "around"

    def _read(
        self,
        observations: list[RowObservation],
        fmt: str,
        evidence: dict[str, float],
        habit: LabelHabit,
        named: list[tuple[str, bool]],
    ) -> MappingResult:
        """The observed rows read as the template's cells (``habit``: see _label_habit), each section's
        rows in the order the report prints them (``named``: see observe)."""
        result = MappingResult(fmt, evidence, {})
        floated = _floated_numbers(observations)
        floated_chunks = {c for _, chunks in floated for c in chunks}
        single_rows, by_section, unlabelled = self._split_sections(observations, fmt, floated_chunks)
        # Each section's rows in the order the report prints them, as far as its numbered labels show.
        reach = self.settings.swap_reach
        sections = {
            name: as_printed(
                s, fmt, printed_order(s.row_order(fmt), _of_section(named, name, numbered=True), reach)
            )
            for name, s in self.schema.sections.items()
        }
        decided = {
            name: self._in_order(self._assign(by_section.get(name, []), s, fmt), s, fmt)
            for name, s in sections.items()
        }
        for name, section in sections.items():
            self._flag_duplicate_table(by_section.get(name, []), decided[name], section, fmt, result)
        # Rows without a label of their own, and rows whose own label was refused, may still fit by order.
        labelled = {id(d.obs) for ds in decided.values() for d in ds}
        unplaced = {name: [o for o in by_section.get(name, []) if id(o) not in labelled] for name in sections}
        for obs in unlabelled:
            unplaced[self._loose_section(obs, decided, sections, fmt)].append(obs)
        # A row the other template's label names is left unfiled, not placed, unless the table prints the
        # rows that stand for it: then the label is a torn piece of a group's.
        answered = {name: self._answered_foreign(s, fmt, decided[name]) for name, s in sections.items()}
        for name in sections:
            unplaced[name] = [
                o
                for o in unplaced[name]
                if not (o.own and self._names_foreign(o.probs, fmt, excluded=answered[name]))
            ]
        placed: set[int] = set()
        loose: list[LooseCells] = []  # rows filed in order for want of cell positions
        for name, section in sections.items():
            to_place = RunToPlace(
                sorted(unplaced[name], key=lambda o: o.index), decided[name], fmt, habit, answered[name]
            )
            section, by_order, swap = self._place_in_printed_order(to_place, section)
            decided[name] += by_order
            placed.update(id(d.obs) for d in decided[name])
            doubted = self._order_doubts(by_order, section, to_place, _of_section(named, name), swap)
            starts = chunk_starts(decided[name], section, fmt)
            # One header that contradicts the template's column order puts the whole table's in doubt:
            # a continuation page repeats no header, but the converter moved its columns all the same.
            header_doubt = any(
                self._header_contradicts(d.obs, section, section.columns_of(fmt, d.concept))
                for d in decided[name]
            )
            for decision in decided[name]:
                if decision.concept in doubted:
                    _flag_order_doubt(decision, section, fmt, doubted[decision.concept], result)
                loose_row = self._emit_row(decision, section, fmt, starts, result, header_doubt)
                if loose_row is not None:
                    loose.append(loose_row)
            lost = [
                o for o in to_place.rows if id(o) not in placed and self._fits_section(o, section, to_place)
            ]
            result.unplaced[name] = len(lost)
            self._flag_rows_not_found(section, fmt, decided[name], lost, result)
        for name, section in sections.items():
            for obs in single_rows.get(name, []):
                loose_row = self._emit_single_row(obs, section, fmt, result)
                if loose_row is not None:
                    loose.append(loose_row)
                placed.add(id(obs))
        attached = _attach_floated(loose, floated, placed)
        self._place_loose(attached, fmt, result)
        self._doubt_rows_short_of(_unclaimed(floated, attached, placed), decided, fmt, result)
        for obs in observations:
            concept, p = self.scorer.best(obs.probs, "row:")
            if (
                concept
                and p > self.settings.foreign_row_min
                and not self._in_format(concept, fmt)
                and obs.row.has_values
                and id(obs) not in placed
            ):
                result.flags.append(
                    {
                        "field": concept[4:],
                        "kind": "unmapped_row",
                        "detail": f"row {obs.label!r} ({obs.row.where}) belongs to the other "
                        f"format's template; its values are not filed",
                    }
                )
        return result

    def _doubt_rows_short_of(
        self,
        floated: list[tuple[RowObservation, set[int]]],
        decided: dict[str, list[RowDecision]],
        fmt: str,
        result: MappingResult,
    ) -> None:
        """A lone number floated out of a table that no row took: a row of that table with a blank cell
        may be the one that lost it, its values shifted into the wrong columns; each such row is in doubt."""
        for lone, chunks in floated:
            number = next(v.text for v in lone.row.values if v.text)
            for name, decisions in decided.items():
                section = self.schema.sections[name]
                for decision in decisions:
                    if decision.obs.row.chunk not in chunks:
                        continue
                    keys = [
                        section.key(decision.concept, c) for c in section.columns_of(fmt, decision.concept)
                    ]
                    if all(k in result.cells for k in keys):
                        continue
                    why = (
                        f"a lone {number!r} floated out of its table ({lone.row.where}); this row has a blank"
                    )
                    result.flags += [{"field": k, "kind": "position_uncertain", "detail": why} for k in keys]

    def _in_format(self, concept: str, fmt: str) -> bool:
        section, _, row = concept[4:].partition(".")
        return row in self.schema.sections[section].row_order(fmt)

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
            if width_match and (concept is None or p < 0.9 or concept.startswith(f"row:{width_match}.")):
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
            {
                "fields": [section.key(row, column) for row, column in section.cells[fmt]],
                "kind": "duplicate_table",
                "detail": f"a second {section.name} table: row {obs.label!r} ({obs.row.where}) prints "
                f"{_printed(obs)}, the row read ({decision.obs.row.where}) {_printed(decision.obs)}",
            }
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

    def _emit_row(
        self,
        decision: RowDecision,
        section: Section,
        fmt: str,
        starts: dict[int | None, int],
        result: MappingResult,
        header_doubt: bool = False,
    ) -> LooseCells | None:
        """File the row's cells; a row whose values could not be placed by position is returned."""
        obs = decision.obs
        keys, slots, header, header_probs = self._row_slots(obs, section, fmt, decision.concept, starts)
        doubt = None
        if header is None and header_doubt:
            slots = [(slot, False) for slot, _ in slots]
            doubt = (
                "its header names the columns in another order than the template; placed in template order"
            )
        result.rows_found.add(f"{section.name}.{decision.concept}")
        p_col = min(header_probs) if header_probs else 0.97
        units = [_unit(h.text) for h in header or []]
        yuan = [unit == "元" for unit in units]
        label = obs.label if decision.margin is None else f"{section.rows[decision.concept]} (by order)"
        for key, h, unit in zip(keys, header, units, strict=True) if header else ():
            if unit == "torn":
                why = f"its header {h.text!r} is the tail of a wrapped unit: 元 or 万元 is unknown"
                result.flags.append({"field": key, "kind": "value_uncertain", "detail": why})
        if decision.margin is not None:
            result.order_margins[f"{section.name}.{decision.concept}"] = decision.margin
        confidence = decision.probability * p_col
        _file_cells(result, obs, keys, slots, confidence, label, yuan, doubt)
        return None if doubt is not None else _loose_cells(obs, keys, slots, label, confidence, yuan)

    def _row_slots(
        self, obs: RowObservation, section: Section, fmt: str, concept: str, starts: dict[int | None, int]
    ) -> tuple[list[str], list[tuple[object, bool]], list[HeaderCell] | None, list[float] | None]:
        """The row's keys and value slots when filed as ``concept``, with the header that placed them."""
        columns, header, header_probs = self._columns(obs, section, fmt, concept)
        slots = align_slots(obs.row, len(columns), header, starts.get(obs.row.chunk))
        return [section.key(concept, column) for column in columns], slots, header, header_probs

    def _row_values(
        self, obs: RowObservation, section: Section, fmt: str, concept: str, starts: dict[int | None, int]
    ) -> dict[str, int | float | None]:
        """The values the row would file as ``concept`` (for weighing placements by the identities)."""
        keys, slots, _, _ = self._row_slots(obs, section, fmt, concept, starts)
        return {
            key: None if slot is None else parse_value(slot.text, decimal=self.schema.is_decimal(key)).value
            for key, (slot, _) in zip(keys, slots, strict=True)
        }

    def _place_loose(self, loose: list[LooseCells], fmt: str, result: MappingResult) -> None:
        """Rows filed in order for want of positions: where the identities admit exactly one choice of
        columns for all of them, file their values there instead (flag ``placed_by_identities``)."""
        rows, problem = [], []
        for row in loose:
            pieces = [*row.values, *([row.floated] if row.floated is not None else [])]
            parsed = [parse_value(v.text, decimal=self.schema.is_decimal(row.keys[0])) for v in pieces]
            if all(p.exact and p.value is not None for p in parsed) and len(row.values) < len(row.keys):
                rows.append(row)
                numbers = tuple(p.value for p in parsed)
                floated = numbers[-1] if row.floated is not None else None
                problem.append(LooseRow(row.keys, numbers[: len(row.values)], floated))
        if not rows:
            return
        mine = {k for row in rows for k in row.keys}
        known = {}
        for key in self.schema.field_keys(fmt):
            if key in mine:
                continue
            # A field no cell was filed for counts as blank: were it a row that was lost, its values
            # would have to make the identities hold with the printed ones in another way too.
            cell = result.cells.get(key)
            known[key] = (
                None if cell is None else parse_value(cell.raw, decimal=self.schema.is_decimal(key)).value
            )
        reading = place_by_identities(problem, known, self.schema.identities[fmt])
        decided = {
            key
            for row, chosen in zip(rows, reading.columns, strict=True)
            if chosen is not None
            for key in row.keys
        }
        result.flags = [
            f for f in result.flags if not (f["kind"] == "position_uncertain" and f["field"] in decided)
        ]
        # With identities left broken (a value misread elsewhere), the columns are the best guess: filed
        # there, but halved in confidence and doubted like any row placed without positions.
        proven = reading.broken == 0
        doubt = None if proven else f"placed where the identities fit best; {reading.broken} stay broken"
        for row, chosen in zip(rows, reading.columns, strict=True):
            if chosen is None:
                continue
            for key in row.keys:
                result.cells.pop(key, None)
            slots = [(row.floated, proven)] * len(row.keys)  # a free column takes the floated value
            for column, piece in zip(chosen, row.values, strict=True):
                slots[column] = (piece, proven)
            _file_cells(result, row.obs, list(row.keys), slots, row.confidence, row.label, row.yuan, doubt)
            result.flags.extend(
                {
                    "field": row.keys[c],
                    "kind": "placed_by_identities",
                    "detail": f"row {row.label!r} ({row.obs.row.where}) printed {len(row.values)} values for "
                    f"{len(row.keys)} columns{_floated_note(row)}; "
                    + ("only these columns satisfy the table's identities" if proven else doubt),
                }
                for c in range(len(row.keys))
                if c in chosen or row.floated is not None
            )

    def _emit_single_row(
        self, obs: RowObservation, section: Section, fmt: str, result: MappingResult
    ) -> LooseCells | None:
        cells = section.cells[fmt]
        header = obs.header if obs.row.positional and len(obs.header) == len(cells) else None
        slots = align_slots(obs.row, len(cells), header, None)
        result.rows_found.update(f"{section.name}.{row}" for row, _ in cells)
        keys = [section.key(row, column) for row, column in cells]
        label = obs.label or "(one-row table)"
        _file_cells(result, obs, keys, slots, _SINGLE_ROW_TRUST, label)
        return _loose_cells(obs, keys, slots, label, _SINGLE_ROW_TRUST, [])


def _printed(obs: RowObservation) -> tuple[int | float | None, ...]:
    """The numbers a row prints, to tell two printings of one row apart."""
    return tuple(parse_value(v.text, decimal=True).value for v in obs.row.values if v.text)


def _of_section(named: list[tuple[str, bool]], section: str, numbered: bool = False) -> list[str]:
    """The rows of ``section`` among canonical rows named with their section (s3.withheld.secret), only
    those named by numbered labels if ``numbered``."""
    return [
        row.partition(".")[2]
        for row, by_number in named
        if row.partition(".")[0] == section and by_number >= numbered
    ]


def _flag_order_doubt(
    decision: RowDecision, section: Section, fmt: str, why: str, result: MappingResult
) -> None:
    """A row placed by order where the table gives reason to doubt that order (``why``): which row it is
    is not known (the identities cannot tell rows that add into the same totals)."""
    for column in section.columns_of(fmt, decision.concept):
        result.flags.append(
            {
                "field": section.key(decision.concept, column),
                "kind": "order_doubt",
                "detail": f"row at {decision.obs.row.where} was placed by order as "
                f"{section.rows[decision.concept]}, but {why}",
            }
        )


def _wrapped_labels(lines: list[str]) -> list[str]:
    """Label lines joined into labels: where labels are numbered, a label runs from its numbering to the
    next (a wrapped one spans lines); unnumbered, each line is one."""
    return [label for label, _ in _wrapped_units(lines)]


def _wrapped_units(lines: list[str]) -> list[tuple[str, list[str]]]:
    """As _wrapped_labels, each label with the lines it was joined from."""
    if not any(is_numbered(line) for line in lines):
        return [(line, [line]) for line in lines]
    units: list[list[str]] = []
    for line in lines:
        if is_numbered(line) or not units:
            units.append([line])
        else:
            units[-1].append(line)
    return [("".join(unit), unit) for unit in units]


def _bare_values(row: Row) -> bool:
    """A table row of values without a label of its own."""
    return row.positional and row.has_values and not any(not p.copy for p in row.texts)


def _split_row(before: Row, row: Row, unnamed: bool) -> bool:
    """Is ``row`` (values, no label or one that names nothing: ``unnamed``) the rest of ``before`` (a
    label over blank cells) in one table?"""
    return (
        before.positional
        and before.table == row.table
        and not before.has_values
        and bool(before.label_text)
        and (_bare_values(row) or (row.positional and row.has_values and unnamed))
    )


def _loose_cells(
    obs: RowObservation,
    keys: list[str],
    slots: list[tuple[object, bool]],
    label: str,
    confidence: float,
    yuan: list[bool],
) -> LooseCells | None:
    """A row filed in order for want of cell positions, to be placed by the identities; else None."""
    if any(not exact for _, exact in slots) and any(s is not None for s, _ in slots):
        return LooseCells(tuple(keys), [v for v in obs.row.values if v.text], obs, label, confidence, yuan)
    return None


def _floated_numbers(observations: list[RowObservation]) -> list[tuple[RowObservation, set[int]]]:
    """Lone numbers printed outside a table, each with the table fragments (chunks) right before and
    after it: a converter floats the value of a cell it could not place out of its fragment."""
    out: list[tuple[RowObservation, set[int]]] = []
    previous: int | None = None  # the chunk of the last data row, when nothing but lone lines followed
    for k, obs in enumerate(observations):
        if obs.row.chunk is not None:
            previous = obs.row.chunk
            continue
        filled = [v for v in obs.row.values if v.text]
        if len(filled) != 1 or obs.own:
            previous = None
            continue
        following = observations[k + 1] if k + 1 < len(observations) else None
        near = {previous, following.row.chunk if following is not None else None} - {None}
        if near:
            out.append((obs, near))
        previous = None
    return out


def _attach_floated(
    loose: list[LooseCells], floated: list[tuple[RowObservation, set[int]]], placed: set[int]
) -> list[LooseCells]:
    """A floated number goes with the one row of the fragments beside it that lacks exactly one value
    (a number that some template row took as its own value stays with it)."""
    out = list(loose)
    for lone, chunks in floated:
        short = [
            k
            for k, row in enumerate(out)
            if row.obs.row.chunk in chunks and len(row.values) == len(row.keys) - 1 and row.floated is None
        ]
        if len(short) == 1 and id(lone) not in placed:
            piece = next(v for v in lone.row.values if v.text)
            out[short[0]] = replace(out[short[0]], floated=piece)
    return out


def _unit(header: str) -> str | None:
    """The money unit a column header prints: "元", "万元", None (none), or "torn": a header that starts
    with 元 is the tail of a wrapped one (（单位：万 / 元）), whose 万 may be on the line above. A wrap
    inside the header's own cell (万 ending one of its lines, 元 starting the next) is 万元."""
    if "元" not in header:
        return None
    if header.lstrip().startswith("元"):
        return "torn"
    return "万元" if "万元" in "".join(header.split()) else "元"


def _unclaimed(
    floated: list[tuple[RowObservation, set[int]]], attached: list[LooseCells], placed: set[int]
) -> list[tuple[RowObservation, set[int]]]:
    """The floated numbers that neither a template row nor a row short of one value took."""
    taken = {id(row.floated) for row in attached if row.floated is not None}
    return [
        (lone, chunks)
        for lone, chunks in floated
        if id(lone) not in placed and not any(id(v) in taken for v in lone.row.values)
    ]


def _floated_note(row: LooseCells) -> str:
    if row.floated is None:
        return ""
    return f" and a lone {row.floated.text!r} floated above its table"


def _after_cut(lines: list[str]) -> list[str]:
    """The lines after the last section heading among them."""
    cuts = [i for i, line in enumerate(lines) if line == _SECTION_CUT]
    return lines[cuts[-1] + 1 :] if cuts else lines


def _before_cut(lines: list[str]) -> list[str]:
    """The lines before the first section heading among them."""
    return lines[: lines.index(_SECTION_CUT)] if _SECTION_CUT in lines else lines


def _joins(lines: list[str], most: int) -> list[tuple[str, int, int]]:
    """Every run of up to ``most`` consecutive lines joined (a wrapped label is one of them), with how
    many lines stand before and after it. Lines are first cut where a numbering starts inside them
    (two labels glued into one line by a converter)."""
    lines = _unglued(lines)
    n = len(lines)
    return [
        ("".join(lines[a:b]), a, n - b)
        for a in range(n)
        for b in range(a + 1, min(a + most, n) + 1)
        if _one_label(lines[a:b])
    ]


def _unglued(lines: list[str]) -> list[str]:
    """Lines cut where a numbering starts inside them (two labels glued into one line by a converter)."""
    return [piece for line in lines for piece in _GLUED.split(line) if piece]


def _one_label(lines: list[str]) -> bool:
    """Can these lines be one wrapped label? A numbering starts a label, so none but the first line
    starts one, except one item under its group's heading (（三）不予公开 / 1.属于国家秘密)."""
    numbered = [line for line in lines[1:] if is_numbered(line)]
    return not numbered or (
        len(numbered) == 1 and _GROUP.match(lines[0]) is not None and _ITEM.match(numbered[0]) is not None
    )


def _file_cells(
    result: MappingResult,
    obs: RowObservation,
    keys: list[str],
    slots: list[tuple[object, bool]],
    confidence: float,
    label: str,
    yuan: list[bool] | None = None,
    doubt: str | None = None,
) -> None:
    """File each slot under its key; a slot placed by order alone is halved in confidence and flagged,
    and so is a column such a row left empty (its value may be the one the row did not print)."""
    filled = sum(1 for v in obs.row.values if v.text)
    why = doubt or (
        f"shows {filled} values for {len(keys)} columns; which column each stands in is not certain"
        if obs.row.positional
        else f"shows {filled} values for {len(keys)} columns and no cell positions; placed in order"
    )
    for i, (key, (slot, exact)) in enumerate(zip(keys, slots, strict=True)):
        if not exact and filled:
            result.flags.append(
                {
                    "field": key,
                    "kind": "position_uncertain",
                    "detail": f"row {label!r} ({obs.row.where}) {why}",
                }
            )
        if slot is None:
            continue
        where = cell_where(obs.row.where, slot.pos)
        result.cells[key] = CellEvidence(
            key,
            slot.text,
            where,
            label,
            confidence * slot.score * (1.0 if exact else 0.5),
            bool(yuan and yuan[i]),
            slot.box,
            slot.ink,
        )
