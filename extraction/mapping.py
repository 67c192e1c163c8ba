"""Rows → canonical cells: the trained mapper names labels, a joint assignment decodes them.

The mapper knows nothing of file formats: it sees rows of text pieces and value
slots (grid.Row), asks the field mapper what each text names, and decodes a
whole section at once, so that one noisy label cannot take a row its neighbour
owns (one canonical row per observed row, in the template's order when in doubt).
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy.optimize import linear_sum_assignment

from nianbao.extraction.alignment import align_in_order
from nianbao.extraction.document import PageBox
from nianbao.extraction.grid import Row, is_numbered
from nianbao.extraction.identity_placement import LooseRow, place_by_identities
from nianbao.extraction.numbers import parse_value
from nianbao.models.field_mapper import FieldMapper, normalize_label
from nianbao.schema import Schema, Section

ROLES = ("row", "col", "sec")
_HEADING_MIN, _HEADING_MAX = 6, 40  # shorter lines are fragments of wrapped labels, not section titles
_SENTENCE_END = re.compile(r"[。；;！？]$")
# Where a template numbering (二、 （三） 6.) starts after text: the start of a second, glued label
# (not the item number of 第二十条第（六）项).
_GLUED = re.compile(
    r"(?<=[\u4e00-\u9fff）)”])(?<!第)(?=[（(]?[一二三四五六七八九十]+[)）、]|\d{1,2}[.．、]\s*[\u4e00-\u9fff])"
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
    order_gain: float = 1.0  # what placing a row between its anchors is worth by itself
    order_label_weight: float = 2.0  # times the best probability that a label near the run names the row
    order_near_weight: float = 0.5  # times the probability that the text right beside the row names it
    order_width_weight: float = 0.5  # added when the row shows as many values as the template row's columns
    order_margin_scale: float = 1.5  # row probability = 1 - exp(-scale * margin of the placement)
    max_order_run: int = 40  # most rows one order placement aligns (its cost grows with the square)
    near_lines: int = 12  # lines of loose text on either side of a row that may hold its label
    near_after_discount: float = 0.5  # text after a row names it less surely than text before it
    near_decay: float = 0.7  # per line between a text and the row, the weight of what it names
    close_label_share: float = 0.8  # of numbers-only rows with labels right before: the closest names it
    near_mass_floor: float = 0.5  # text beside a row names a row only as far as it reads as a row label
    foreign_row_min: float = 0.6  # a label this sure of a row of the other template leaves its row unfiled

    @classmethod
    def from_dict(cls, values: dict) -> MappingSettings:
        unknown = set(values) - set(cls.__dataclass_fields__)
        if unknown:
            raise ValueError(f"unknown mapping settings: {sorted(unknown)}")
        return cls(**values)


class LabelScorer:
    """The field mapper behind a cache: report labels repeat from document to document."""

    def __init__(self, model: FieldMapper) -> None:
        self.model = model
        self.classes = [str(c) for c in model.classes_]
        self.index = {c: i for i, c in enumerate(self.classes)}
        self.role = np.array([c.split(":", 1)[0] if ":" in c else "none" for c in self.classes])
        self._cache: dict[str, np.ndarray] = {}
        self._weights: dict[tuple[str | None, float], np.ndarray] = {}
        self._role_names = (*ROLES, "none")
        self._role_matrix = np.stack([self.role == r for r in self._role_names], axis=1).astype(float)
        self._masks: dict[str, np.ndarray] = {}
        self._indices: dict[str, np.ndarray] = {}

    def score(self, texts: Sequence[str]) -> list[np.ndarray]:
        keys = [normalize_label(t) for t in texts]
        missing = list(dict.fromkeys(k for k in keys if k not in self._cache))
        if missing:
            for key, probs in zip(missing, self.model.predict_proba(missing), strict=True):
                self._cache[key] = probs
            if len(self._cache) > 200_000:
                self._cache.clear()
        return [self._cache[k] for k in keys]

    def role_of(self, probs: np.ndarray) -> tuple[str, float]:
        """The role (row/col/sec/none) with most probability mass, and that mass."""
        masses = probs @ self._role_matrix
        j = int(masses.argmax())
        return self._role_names[j], float(masses[j])

    def clear_cache(self) -> None:
        """Forget scored labels (the benchmark measures extraction without them)."""
        self._cache.clear()

    def row_weights(self, section: str | None, other_section: float) -> np.ndarray:
        """Weights that keep row classes only, those of another ``section`` scaled by ``other_section``."""
        key = (section, other_section)
        if key not in self._weights:
            self._weights[key] = np.array(
                [
                    0.0
                    if role != "row"
                    else 1.0
                    if section is None or c.startswith(f"row:{section}.")
                    else other_section
                    for c, role in zip(self.classes, self.role, strict=True)
                ]
            )
        return self._weights[key]

    def mask(self, prefix: str) -> np.ndarray:
        """Which classes start with ``prefix`` (cached: asked for every label)."""
        if prefix not in self._masks:
            self._masks[prefix] = np.char.startswith(np.array(self.classes), prefix)
        return self._masks[prefix]

    def best(self, probs: np.ndarray, prefix: str) -> tuple[str | None, float]:
        if prefix not in self._indices:
            self._indices[prefix] = np.flatnonzero(self.mask(prefix))
        indices = self._indices[prefix]
        if not indices.size:
            return None, 0.0
        i = int(indices[probs[indices].argmax()])
        return self.classes[i], float(probs[i])


@dataclass(frozen=True)
class HeaderCell:
    """A column header; which column it names is decided per section (总计 heads columns of s3 and s4)."""

    text: str
    pos: int
    chunk: int | None
    probs: np.ndarray = field(repr=False)
    concept: str  # best "col:<section>.<column>" over all sections
    prob: float
    center: float | None = None  # in layout text, the character column of the header's middle

    @property
    def where(self) -> float:
        """Where the header stands across the table: its grid column, or its middle in layout text."""
        return self.pos if self.center is None else self.center


@dataclass
class RowObservation:
    """A data row as the decoder sees it."""

    index: int
    label: str
    probs: np.ndarray
    row: Row
    header: list[HeaderCell]
    header_nested: list[HeaderCell] | None  # the same header rows read by nesting, not by position
    section_hint: str | None
    own: bool = True  # the row prints a label of its own (else its label is only text near it)
    near: np.ndarray | None = field(default=None, repr=False)  # row probabilities of the text beside it
    around: np.ndarray | None = field(default=None, repr=False)  # the same, however far within near_lines
    labelled_before: bool = False  # label lines stand between it and the data row before it


@dataclass(frozen=True)
class RowDecision:
    """An observed row filed as a canonical row, by its own label or by order between labelled rows."""

    obs: RowObservation
    concept: str
    probability: float
    margin: float | None = None  # placed by order: how much worse the next best alignment is


@dataclass(frozen=True)
class _LooseCells:
    """A row filed in template order for want of cell positions, kept to be placed by the identities."""

    keys: tuple[str, ...]
    values: list  # the printed values (grid.Piece), in order
    obs: RowObservation
    label: str
    confidence: float
    yuan: list[bool]


@dataclass(frozen=True)
class CellEvidence:
    key: str
    raw: str
    where: str
    label: str
    probability: float  # of the label → row and slot → column decisions, times the reader's trust in the text
    unit_yuan: bool = False
    box: PageBox | None = None  # the cell on its page, for paged inputs


@dataclass
class MappingResult:
    format: str
    format_evidence: dict[str, float]
    cells: dict[str, CellEvidence]
    sections_seen: set[str]
    flags: list[dict] = field(default_factory=list)
    rows_found: set[str] = field(default_factory=set)  # "<section>.<row>" of every row filed, blank or not
    order_margins: dict[str, float] = field(default_factory=dict)  # "<section>.<row>" of rows placed by order
    unplaced: dict[str, int] = field(default_factory=dict)  # per section, value rows no template row took


def _is_heading(row: Row) -> bool:
    text = row.label_text
    return (
        row.table is None
        and not row.sentence
        and _HEADING_MIN <= len(text) <= _HEADING_MAX
        and not _SENTENCE_END.search(text)
    )


class Decoder:
    def __init__(self, scorer: LabelScorer, schema: Schema, settings: MappingSettings | None = None) -> None:
        self.scorer = scorer
        self.schema = schema
        self.settings = settings or MappingSettings()
        self._foreign: dict[str, np.ndarray] = {}
        self._named_columns: dict[tuple[str, str], tuple[str | None, float]] = {}

    # -- walk: rows → observations -------------------------------------------------------------
    def observe(self, rows: list[Row]) -> tuple[list[RowObservation], list[HeaderCell]]:
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
        header_broken = False  # other text came after them: in free text a new header starts
        since_row: list[str] = []  # label text since the last data row, wherever it may belong
        gaps: list[list[str]] = []  # per data row, the label text between it and the row before
        for row in rows:
            if row.sentence:
                pending.clear()
                continue
            if not row.has_values and not self._blank_data_row(row, probs):
                if _is_heading(row):
                    concept, p = self.scorer.best(probs[row.label_text], "sec:")
                    if concept and p >= self.settings.heading_min:
                        section = None if concept == "sec:other" else concept[4:]
                        pending.clear()
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
            if header_rows and not header_fresh:
                header = _merge_header(header_rows, row.positional)
                nested = _merge_nested(header_rows) if row.positional else None
                header_fresh = True
            candidates = self._label_candidates(row, pending, probs)
            drafts.append((row, header, nested, section, candidates))
            gaps.append(list(since_row))
            pending.clear()
            since_row.clear()
        gaps.append(since_row)
        # Text on either side of a row may name it when the row has no label of its own.
        most, reach = self.settings.max_join, self.settings.near_lines
        # (text, lines between it and the row): a label printed right beside a row names it most surely.
        before = [
            [(t, 0) for t in c] + [(t, n_after) for t, _, n_after in _joins(gaps[k][-reach:], most)]
            for k, (*_, c) in enumerate(drafts)
        ]
        after = [
            [(t, n_before) for t, n_before, _ in _joins(gaps[k + 1][:reach], most)]
            for k in range(len(drafts))
        ]
        # The walk does not depend on which candidate wins, so all are scored in one batch.
        self.scorer.score([t for texts in (*before, *after) for t, _ in texts])
        s = self.settings
        near, around = [], []
        for b, a in zip(before, after, strict=True):
            near.append(
                np.maximum(self._near(b, s.near_decay), s.near_after_discount * self._near(a, s.near_decay))
            )
            around.append(np.maximum(self._near(b), s.near_after_discount * self._near(a)))
        for k, ((row, header, nested, section, candidates), named, anywhere) in enumerate(
            zip(drafts, near, around, strict=True)
        ):
            label, label_probs = self._choose_label(candidates)
            own = any(not p.copy for p in row.texts)
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
                    bool(gaps[k]),
                )
            )
        return observations, all_headers

    def _near(self, texts: list[tuple[str, int]], decay: float = 1.0) -> np.ndarray:
        """Per row class, the most any of ``texts`` names it (row classes only, renormalised), each text
        weighed by ``decay`` to the power of its distance in lines from the row."""
        weights = self.scorer.row_weights(None, 1.0)
        out = np.zeros(len(self.scorer.classes))
        for probs, (_, distance) in zip(self.scorer.score([t for t, _ in texts]), texts, strict=True):
            masked = probs * weights
            named = masked / max(float(masked.sum()), self.settings.near_mass_floor)
            out = np.maximum(out, decay**distance * named)
        return out

    def _blank_data_row(self, row: Row, probs: dict[str, np.ndarray]) -> bool:
        """A grid row whose cells are all blank under a label that surely names a row: its values
        are unstated (null), and its label must not be glued to the next row's."""
        if not (row.positional and row.values and row.label_text):
            return False
        role, _ = self.scorer.role_of(probs[row.label_text])
        p = self.scorer.best(probs[row.label_text], "row:")[1]
        return role == "row" and p >= self.settings.confident_label

    def _header_cell(self, piece, row: Row, probs: np.ndarray) -> HeaderCell | None:
        role, role_mass = self.scorer.role_of(probs)
        if role != "col":
            return None
        concept, p = self.scorer.best(probs, "col:")
        if concept is None or role_mass < self.settings.header_min:
            return None
        center = None if piece.offset is None else piece.offset + _display_width(piece.text) / 2
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
            for n in range(1, min(len(pending), self.settings.max_join) + 1):
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
        observations, headers = self.observe(rows)
        fmt, evidence = self.detect_format(text, observations, headers, year)
        return self._read(observations, fmt, evidence, close=self._labels_close(observations))

    def _labels_close(self, observations: list[RowObservation]) -> bool:
        """How the report prints labels apart from their numbers. Where nearly every numbers-only row has
        label lines right before it, the closest label names the row and label lines between are rows
        left blank; where numbers-only rows come in runs (a converter printed a block of labels, then
        the block of their numbers), the labels around a run name its rows in order, however far."""
        loose = [o.labelled_before for o in observations if not o.own and o.row.has_values]
        return bool(loose) and sum(loose) >= self.settings.close_label_share * len(loose)

    def _read(
        self, observations: list[RowObservation], fmt: str, evidence: dict[str, float], close: bool
    ) -> MappingResult:
        """The observed rows read as the template's cells (``close``: see _labels_close)."""
        result = MappingResult(fmt, evidence, {}, set())
        single_rows, by_section, unlabelled = self._split_sections(observations, fmt)
        sections = self.schema.sections
        decided = {
            name: self._in_order(self._assign(by_section.get(name, []), s, fmt), s, fmt)
            for name, s in sections.items()
        }
        # Rows without a label of their own, and rows whose own label was refused, may still fit by order.
        labelled = {id(d.obs) for ds in decided.values() for d in ds}
        unplaced = {name: [o for o in by_section.get(name, []) if id(o) not in labelled] for name in sections}
        for obs in unlabelled:
            unplaced[self._loose_section(obs, decided, sections, fmt)].append(obs)
        for name in sections:  # a row the other template's label names is left unfiled, not placed
            unplaced[name] = [o for o in unplaced[name] if not (o.own and self._names_foreign(o.probs, fmt))]
        placed: set[int] = set()
        loose: list[_LooseCells] = []  # rows filed in order for want of cell positions
        for name, section in sections.items():
            run = sorted(unplaced[name], key=lambda o: o.index)
            decided[name] += self._place_by_order(run, decided[name], section, fmt, close)
            placed.update(id(d.obs) for d in decided[name])
            starts = _chunk_starts(decided[name], section, fmt)
            # One header that contradicts the template's column order puts the whole table's in doubt:
            # a continuation page repeats no header, but the converter moved its columns all the same.
            header_doubt = any(
                self._header_contradicts(d.obs, section, section.columns_of(fmt, d.concept))
                for d in decided[name]
            )
            for decision in decided[name]:
                loose_row = self._emit_row(decision, section, fmt, starts, result, header_doubt)
                if loose_row is not None:
                    loose.append(loose_row)
            lost = [o for o in run if id(o) not in placed and self._fits_section(o, section, fmt)]
            result.unplaced[name] = len(lost)
            self._flag_rows_not_found(section, fmt, decided[name], lost, result)
        for name, section in sections.items():
            for obs in single_rows.get(name, []):
                self._emit_single_row(obs, section, fmt, result)
                placed.add(id(obs))
        self._place_loose(loose, fmt, result)
        for obs in observations:
            concept, p = self.scorer.best(obs.probs, "row:")
            if (
                concept
                and p > self.settings.foreign_row_min
                and not self._in_format(concept, fmt)
                and obs.row.has_values
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

    def _in_format(self, concept: str, fmt: str) -> bool:
        section, _, row = concept[4:].partition(".")
        return row in self.schema.sections[section].row_order(fmt)

    def _split_sections(
        self, observations: list[RowObservation], fmt: str
    ) -> tuple[dict[str, list[RowObservation]], dict[str, list[RowObservation]], list[RowObservation]]:
        """Rows of one-row tables (by width), rows by the section their own label names, and rows
        without a label of their own, whose section their neighbours decide."""
        single: dict[str, list[RowObservation]] = {}
        by_section: dict[str, list[RowObservation]] = {}
        loose: list[RowObservation] = []
        widths = {name: len(s.cells[fmt]) for name, s in self.schema.sections.items() if s.single_row}
        for obs in observations:
            slots = _under_header(obs)
            filled = [v for v in slots if v.text]
            width_match = next(
                (
                    n
                    for n, w in widths.items()
                    if w in (len(filled), len(slots)) or self._heads_single(obs, n, w)
                ),
                None,
            )
            concept, p = self.scorer.best(self._prior(obs), "row:")
            if width_match and (concept is None or p < 0.9 or concept.startswith(f"row:{width_match}.")):
                single.setdefault(width_match, []).append(obs)
            elif not obs.own:
                loose.append(obs)
            elif concept is not None:
                by_section.setdefault(concept[4:].partition(".")[0], []).append(obs)
        return single, by_section, loose

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

    def _assign(self, observations: list[RowObservation], section: Section, fmt: str) -> list[RowDecision]:
        """Joint decoding of labelled rows: one canonical row per observed row, order as tie-breaker."""
        if not observations:
            return []
        concepts = section.row_order(fmt)
        names = [f"row:{section.name}.{c}" for c in concepts]
        known = [(j, self.scorer.index[name]) for j, name in enumerate(names) if name in self.scorer.index]
        n, m = len(observations), len(concepts)
        priors = np.stack([self._prior(obs) for obs in observations])
        cost = np.full((n, m + n), 1e3)
        if known:
            slots, classes = (np.array(v) for v in zip(*known, strict=True))
            here = np.arange(n) / max(n - 1, 1)
            there = slots / max(m - 1, 1)
            order = self.settings.order_weight * np.abs(here[:, None] - there[None, :])
            cost[:, slots] = -np.log(np.maximum(priors[:, classes], 1e-9)) + order
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

        ``bag``: row probabilities named by the text around the whole run of such rows (a converter
        prints a block of labels before or after a block of numbers rows, so only the first row of the
        block has the labels beside it; the order decides which is which). Allowed for a row of two
        values or more (one, for a one-column row) where that text names ``concept``, or where the row
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
        fits = filled == width or len(_under_header(obs)) == width or short
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
            bag = np.max([o.around for o in items], axis=0)
            gains = np.array(
                [[self._order_gain(o, section, fmt, concepts[j], bag, close) for j in free] for o in items]
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

    def _columns(
        self, obs: RowObservation, section: Section, fmt: str, row_concept: str
    ) -> tuple[list[str], list[HeaderCell] | None, list[float] | None]:
        """Column order of this row: the header's when it names the template's columns, else the template's.

        The header read by position comes first; a copy that dropped the blank cells of merged
        headers (a table copied from a web page) shifts positions, and is read by nesting instead.
        """
        template = section.columns_of(fmt, row_concept)
        in_layout = self._layout_order(obs, section, template)
        if in_layout is not None and in_layout != template:
            return in_layout, None, None
        for header in (obs.header, obs.header_nested or []):
            named = [(h, *self._column_of(h, section)) for h in header]
            named = [(h, c, p) for h, c, p in named if c is not None]
            names = [c for _, c, _ in named]
            if named and set(template) <= set(names) and len(set(names)) == len(names):
                kept = [(h, c, p) for h, c, p in named if c in template]
                return [c for _, c, _ in kept], [h for h, _, _ in kept], [p for _, _, p in kept]
        return template, None, None

    def _placed_headers(self, obs: RowObservation, section: Section, template: list[str]) -> list[tuple]:
        """(where across the table, template index, probability) of each header naming a column of
        ``template``: grid columns in tables, character columns in layout text (else none)."""
        if not obs.row.positional and any(h.center is None for h in obs.header):
            return []
        named = [(h, *self._column_of(h, section)) for h in obs.header]
        placed = sorted((h.where, template.index(c), p) for h, c, p in named if c in template)
        if not obs.row.positional and len({round(w) for w, _, _ in placed}) < len({j for _, j, _ in placed}):
            return []  # text with one cell per line (or a single space between cells) keeps no columns
        return placed

    def _header_contradicts(self, obs: RowObservation, section: Section, template: list[str]) -> bool:
        """The row's header names columns of the section in another order than the template's, or two in
        one cell (a converter that moved or merged header cells): the template's order is then a guess."""
        named = self._placed_headers(obs, section, template)
        return any(a[1] > b[1] or (a[0] == b[0] and a[1] != b[1]) for a, b in itertools.pairwise(named))

    def _layout_order(self, obs: RowObservation, section: Section, template: list[str]) -> list[str] | None:
        """In layout text, the columns in the order their headers stand across the page, when every column
        is named (by its surest fragment: wrapped headers are printed over several lines)."""
        if obs.row.positional:
            return None
        where: dict[int, tuple[float, float]] = {}
        for position, j, p in self._placed_headers(obs, section, template):
            if p > where.get(j, (0.0, -1.0))[1]:
                where[j] = (position, p)
        if len(where) < len(template) or len({w for w, _ in where.values()}) < len(template):
            return None
        return [template[j] for j in sorted(where, key=lambda j: where[j][0])]

    def _column_of(self, cell: HeaderCell, section: Section) -> tuple[str | None, float]:
        """The column of ``section`` a header names, with its probability among that section's columns."""
        key = (cell.text, section.name)
        if key not in self._named_columns:
            if len(self._named_columns) > 100_000:
                self._named_columns.clear()
            self._named_columns[key] = self._name_column(cell, section)
        return self._named_columns[key]

    def _name_column(self, cell: HeaderCell, section: Section) -> tuple[str | None, float]:
        prefix = f"col:{section.name}."
        mass = float(cell.probs[self.scorer.mask(prefix)].sum())
        concept, top = self.scorer.best(cell.probs, prefix)
        if concept is None or mass <= 0:
            return None, 0.0
        p = top / mass
        if p < self.settings.header_min or mass < 0.05:
            return None, 0.0
        return concept[len(prefix) :], p

    def _emit_row(
        self,
        decision: RowDecision,
        section: Section,
        fmt: str,
        starts: dict[int | None, int],
        result: MappingResult,
        header_doubt: bool = False,
    ) -> _LooseCells | None:
        """File the row's cells; a row whose values could not be placed by position is returned."""
        obs = decision.obs
        columns, header, header_probs = self._columns(obs, section, fmt, decision.concept)
        slots = _align(obs.row, len(columns), header, starts.get(obs.row.chunk))
        doubt = None
        if header is None and header_doubt:
            slots = [(slot, False) for slot, _ in slots]
            doubt = (
                "its header names the columns in another order than the template; placed in template order"
            )
        result.sections_seen.add(section.name)
        result.rows_found.add(f"{section.name}.{decision.concept}")
        p_col = min(header_probs) if header_probs else 0.97
        yuan = ["元" in h.text and "万元" not in h.text for h in header or []]
        keys = [section.key(decision.concept, column) for column in columns]
        label = obs.label if decision.margin is None else f"{section.rows[decision.concept]} (by order)"
        if decision.margin is not None:
            result.order_margins[f"{section.name}.{decision.concept}"] = decision.margin
        confidence = decision.probability * p_col
        _file_cells(result, obs, keys, slots, confidence, label, yuan, doubt)
        filled = [s for s, _ in slots if s is not None]
        if doubt is None and any(not exact for _, exact in slots) and filled:
            return _LooseCells(
                tuple(keys), [v for v in obs.row.values if v.text], obs, label, confidence, yuan
            )
        return None

    def _place_loose(self, loose: list[_LooseCells], fmt: str, result: MappingResult) -> None:
        """Rows filed in order for want of positions: where the identities admit exactly one choice of
        columns for all of them, file their values there instead (flag ``placed_by_identities``)."""
        rows, values = [], []
        for row in loose:
            parsed = [parse_value(v.text, decimal=self.schema.is_decimal(row.keys[0])) for v in row.values]
            if all(p.exact and p.value is not None for p in parsed) and len(parsed) < len(row.keys):
                rows.append(row)
                values.append(tuple(p.value for p in parsed))
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
        problem = [LooseRow(row.keys, v) for row, v in zip(rows, values, strict=True)]
        columns = place_by_identities(problem, known, self.schema.identities[fmt])
        if columns is None:
            return
        result.flags = [
            f for f in result.flags if not (f["kind"] == "position_uncertain" and f["field"] in mine)
        ]
        for row, chosen in zip(rows, columns, strict=True):
            for key in row.keys:
                result.cells.pop(key, None)
            slots = [(None, True)] * len(row.keys)
            for column, piece in zip(chosen, row.values, strict=True):
                slots[column] = (piece, True)
            _file_cells(result, row.obs, list(row.keys), slots, row.confidence, row.label, row.yuan)
            result.flags.extend(
                {
                    "field": row.keys[c],
                    "kind": "placed_by_identities",
                    "detail": f"row {row.label!r} ({row.obs.row.where}) printed {len(row.values)} values for "
                    f"{len(row.keys)} columns; only these columns satisfy the table's identities",
                }
                for c in chosen
            )

    def _emit_single_row(
        self, obs: RowObservation, section: Section, fmt: str, result: MappingResult
    ) -> None:
        cells = section.cells[fmt]
        header = obs.header if obs.row.positional and len(obs.header) == len(cells) else None
        slots = _align(obs.row, len(cells), header, None)
        result.sections_seen.add(section.name)
        result.rows_found.update(f"{section.name}.{row}" for row, _ in cells)
        keys = [section.key(row, column) for row, column in cells]
        _file_cells(result, obs, keys, slots, 0.95, obs.label or "(one-row table)")


def _display_width(text: str) -> int:
    """Character columns a text fills in layout output: a CJK character is set twice as wide."""
    return sum(2 if "\u3000" <= ch <= "\uffff" else 1 for ch in text)


def _joins(lines: list[str], most: int) -> list[tuple[str, int, int]]:
    """Every run of up to ``most`` consecutive lines joined (a wrapped label is one of them), with how
    many lines stand before and after it. Lines are first cut where a numbering starts inside them
    (two labels glued into one line by a converter)."""
    lines = [piece for line in lines for piece in _GLUED.split(line) if piece]
    n = len(lines)
    return [("".join(lines[a:b]), a, n - b) for a in range(n) for b in range(a + 1, min(a + most, n) + 1)]


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
    why = doubt or f"shows {filled} values for {len(keys)} columns and no cell positions; placed in order"
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
        where = f"{obs.row.where} col {slot.pos + 1}"
        result.cells[key] = CellEvidence(
            key,
            slot.text,
            where,
            label,
            confidence * slot.score * (1.0 if exact else 0.5),
            bool(yuan and yuan[i]),
            slot.box,
        )


def _merge_header(header_rows: list[list[HeaderCell | None]], positional: bool) -> list[HeaderCell]:
    """Stacked header rows: per position, the lowest row's name (the most specific one)."""
    if not positional:
        return [c for row in header_rows for c in row if c is not None]
    cells = [c for row in header_rows for c in row if c is not None]
    # A header line printed outside the table (a converter floats a wrapped header cell out) has word
    # positions, not grid columns: it cannot say where its column stands among the table's.
    if any(c.chunk is not None for c in cells):
        cells = [c for c in cells if c.chunk is not None]
    by_pos: dict[tuple[int | None, int], HeaderCell] = {(c.chunk, c.pos): c for c in cells}
    return sorted(by_pos.values(), key=lambda c: c.pos)


def _merge_nested(header_rows: list[list[HeaderCell | None]]) -> list[HeaderCell]:
    """Stacked header rows by nesting: the one group cell among or right beside the named cells
    (法人或其他组织, unnamed) stands for all of the next row's cells, whatever their positions."""
    leaves = header_rows[0]
    for lower in header_rows[1:]:
        named = [i for i, c in enumerate(leaves) if c is not None]
        groups = [
            i for i, c in enumerate(leaves) if c is None and named and named[0] - 1 <= i <= named[-1] + 1
        ]
        # The group read as a column (法人或者其他组织 → 其他组织): a cell below repeats its name.
        if not groups:
            below = {c.concept for c in lower if c is not None}
            groups = [i for i, c in enumerate(leaves) if c is not None and c.concept in below]
        if len(groups) == 1:
            g = groups[0]
            leaves = [*leaves[:g], *lower, *leaves[g + 1 :]]
        else:
            leaves = lower
    return [c for c in leaves if c is not None]


def _under_header(obs: RowObservation) -> list:
    """The row's value slots, without blank ones right of its header's last cell (a trailing tab)."""
    slots = obs.row.values
    same_chunk = [h.pos for h in obs.header if h.chunk == obs.row.chunk]
    if not obs.row.positional or not same_chunk:
        return slots
    end = max(same_chunk)
    return [v for v in slots if v.pos <= end or v.text]


def _chunk_starts(decided: list[RowDecision], section: Section, fmt: str) -> dict[int | None, int]:
    """Per table chunk, where complete rows start their values: the grid for rows that lost cells."""
    starts: dict[int | None, Counter] = {}
    for decision in decided:
        obs = decision.obs
        filled = [v for v in obs.row.values if v.text]
        if obs.row.positional and filled and len(filled) == len(section.columns_of(fmt, decision.concept)):
            starts.setdefault(obs.row.chunk, Counter())[filled[0].pos] += 1
    return {chunk: counter.most_common(1)[0][0] for chunk, counter in starts.items()}


def _align(row: Row, k: int, header: list[HeaderCell] | None, start: int | None) -> list[tuple[object, bool]]:
    """Value slots → k columns: by count when it fits, by grid position when cells are missing."""
    slots = row.values
    if len(slots) > k and not any(s.text for s in slots[k:]):
        slots = slots[:k]  # blank padding after the row's last column
    filled = [v for v in slots if v.text]
    blank = [(None, True)] * k
    if any(s.shared for s in row.values):  # values run into shared cells: their columns go by count only
        return [(s, True) for s in filled] if len(filled) == k else _in_order(filled, k)
    if len(filled) < k and any(s.absent for s in row.values):  # the row printed fewer cells than its table
        return _in_order(filled, k)
    if len(slots) == k:
        return [(s if s.text else None, True) for s in slots]
    if len(filled) == k:
        return [(s, True) for s in filled]
    trimmed = _trim_blanks(slots)
    if len(trimmed) == k:
        return [(s if s.text else None, True) for s in trimmed]
    if row.positional and filled:
        if start is None and header and header[0].chunk == row.chunk:
            start = header[0].pos
        if start is not None:
            out = list(blank)
            for s in filled:
                if 0 <= s.pos - start < k:
                    out[s.pos - start] = (s, True)
            if any(o[0] is not None for o in out):
                return out
    return _in_order(filled, k)


def _in_order(filled: list, k: int) -> list[tuple[object, bool]]:
    """Fewer or more values than columns and nothing to place them by: keep the order, doubt it."""
    return [(filled[i], False) if i < len(filled) else (None, False) for i in range(k)]


def _trim_blanks(slots: list) -> list:
    start, end = 0, len(slots)
    while start < end and not slots[start].text:
        start += 1
    while end > start and not slots[end - 1].text:
        end -= 1
    return slots[start:end]
