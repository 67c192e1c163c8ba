"""The decoder's walk over a document's rows: which lines are section headings, column headers or
label fragments, and each data row as an observation with its label, header, section and the text
around it that may name it."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import NamedTuple

import numpy as np

from nianbao.extraction.columns import display_width, merge_header, merge_nested
from nianbao.extraction.grid import Row, is_numbered
from nianbao.extraction.label_lines import (
    SECTION_CUT,
    after_cut,
    bare_values,
    before_cut,
    joins,
    one_label,
    unglued,
    wrapped_units,
)
from nianbao.extraction.rows import HeaderCell, RowObservation

_HEADING_MIN, _HEADING_MAX = 6, 40  # shorter lines are fragments of wrapped labels, not section titles
_SENTENCE_END = re.compile(r"[。；;！？]$")


@dataclass(frozen=True)
class Observed:
    """What ``observe`` makes of a document's rows."""

    rows: list[RowObservation]  # the data rows, in document order
    headers: list[HeaderCell]  # every column header cell met (for the format's evidence)
    named_in_order: list[tuple[str, bool]]  # canonical rows the label lines surely name (_named_in_order)


class _Draft(NamedTuple):
    """A data row with what the walk knew when it met it, before the text around it is weighed."""

    row: Row
    header: list[HeaderCell]
    nested: list[HeaderCell] | None
    section: str | None
    candidates: list[str]  # its own label and its re-joinings with fragments above it


@dataclass
class WalkState:
    """What the walk over the rows carries from one row to the next."""

    section: str | None = None  # the section the last heading named (None: not known or "other")
    header_rows: list[list[HeaderCell | None]] = field(default_factory=list)  # the column header rows met
    header: list[HeaderCell] = field(default_factory=list)  # ``header_rows`` merged for the last data row
    nested: list[HeaderCell] | None = None  # the same header rows read by nesting
    header_fresh: bool = False  # a data row has used the header rows gathered so far
    merged_for: bool = False  # whether ``header`` was merged for positional rows
    header_broken: bool = False  # other text came after them: in free text a new header starts
    pending: list[str] = field(default_factory=list)  # label fragments a row's label may be re-joined from
    since_row: list[str] = field(default_factory=list)  # label text since the last data row
    # Per data row, the label text between it and the data row before (and, last, the text after them all).
    gaps: list[list[str]] = field(default_factory=list)
    drafts: list[_Draft] = field(default_factory=list)  # the data rows met
    headers: list[HeaderCell] = field(default_factory=list)  # every header cell met


class RowObserving:
    """The decoder's walk (a mixin of mapping.Decoder: uses its scorer and settings)."""

    def observe(self, rows: list[Row]) -> Observed:
        """The data rows as the decoder sees them, the column headers, and the canonical rows the
        report's labels surely name, in the order it prints them."""
        texts = {p.text for r in rows if not r.sentence for p in r.texts}
        texts.update(r.label_text for r in rows if not r.sentence)
        probs = dict(zip(texts, self.scorer.score(list(texts)), strict=True))
        walk = WalkState()
        for row in rows:
            self._step(walk, row, probs)
        walk.gaps.append(walk.since_row)
        drafts, gaps = walk.drafts, walk.gaps
        # Text on either side of a row may name it when the row has no label of its own.
        most, reach = self.settings.max_join, self.settings.near_lines
        # (text, lines between it and the row): a label printed right beside a row names it most surely.
        # A section heading between a text and a row: the text belongs to another table.
        before = [
            [(t, 0) for t in d.candidates]
            + [(t, n_after) for t, _, n_after in joins(after_cut(gaps[k])[-reach:], most)]
            for k, d in enumerate(drafts)
        ]
        after = [
            [(t, n_before) for t, n_before, _ in joins(before_cut(gaps[k + 1])[:reach], most)]
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
        listed = self._listed_labels([d.row for d in drafts], gaps, probs)
        observations: list[RowObservation] = []
        for k, (draft, named, anywhere, named_after) in enumerate(
            zip(drafts, near, around, near_after, strict=True)
        ):
            label, label_probs = self._choose_label([listed[k]] if k in listed else draft.candidates)
            own = k in listed or any(not p.copy for p in draft.row.texts)
            observations.append(
                RowObservation(
                    len(observations),
                    label,
                    label_probs,
                    draft.row,
                    draft.header,
                    draft.nested,
                    draft.section,
                    own,
                    named,
                    anywhere,
                    bool(after_cut(gaps[k])),
                    named_after,
                )
            )
        return Observed(observations, walk.headers, self._named_in_order(gaps, probs))

    def _step(self, walk: WalkState, row: Row, probs: dict[str, np.ndarray]) -> None:
        """One row of the walk: a sentence, a section heading, a header or label line, or a data row."""
        if row.sentence:
            walk.pending.clear()
            return
        under_header = bool(walk.header_rows) and not walk.header_fresh
        if not row.has_values and not self._blank_data_row(row, probs, under_header):
            if _is_heading(row):
                concept, p = self.scorer.best(probs[row.label_text], "sec:")
                if concept and p >= self.settings.heading_min:
                    walk.section = None if concept == "sec:other" else concept[4:]
                    walk.pending.clear()
                    walk.since_row.append(SECTION_CUT)
                    walk.header, walk.header_rows, walk.nested = [], [], None
                    return
            cells = [self._header_cell(p, row, probs[p.text]) for p in row.texts]
            found = [c for c in cells if c is not None]
            if found and 2 * len(found) >= len([p for p in row.texts if not p.copy]):
                if walk.header_fresh or (walk.header_broken and not row.positional):
                    walk.header_rows, walk.header_fresh = [], False
                walk.header_broken = False
                walk.header_rows.append([c for p, c in zip(row.texts, cells, strict=True) if not p.copy])
                walk.headers.extend(found)
                loose = [p.text for p, c in zip(row.texts, cells, strict=True) if c is None and not p.copy]
            else:
                loose = [p.text for p in row.texts if not p.copy]
                walk.header_broken = bool(walk.header_rows)
            walk.pending.extend(loose)
            walk.since_row.extend(loose)
            return
        # Merged for the kind of row that reads it: a lone line between header and grid rows does
        # not decide how the grid rows read the header.
        if walk.header_rows and (not walk.header_fresh or row.positional != walk.merged_for):
            walk.header = merge_header(walk.header_rows, row.positional)
            walk.nested = merge_nested(walk.header_rows) if row.positional else None
            walk.header_fresh, walk.merged_for = True, row.positional
        candidates = self._label_candidates(row, walk.pending, probs)
        drafts = walk.drafts
        if drafts and not walk.since_row and _split_row(drafts[-1].row, row, self._names_nothing(row, probs)):
            # A converter split a row whose label cell wrapped: the label with blank cells, then
            # the values without a label (or under a piece of a merged heading). They are one row.
            blank, *_, candidates = drafts.pop()
            row = replace(row, texts=blank.texts)
            walk.since_row = walk.gaps.pop()
        drafts.append(_Draft(row, walk.header, walk.nested, walk.section, candidates))
        walk.gaps.append(list(walk.since_row))
        walk.pending.clear()
        walk.since_row.clear()

    def _named_in_order(self, gaps: list[list[str]], probs: dict[str, np.ndarray]) -> list[tuple[str, bool]]:
        """The canonical rows (s3.withheld.secret) that label lines between data rows surely name, in
        the order the report prints them, each with whether its line is numbered: the tail of a wrapped
        label (复申请) or a line of prose names a row as surely as an unnumbered label does. Rows' own
        labels are left out: a converter prints the labels it tore away before or after their numbers,
        so how they interleave with the labels left in the table says nothing of the rows' order."""
        units = [
            (label, lines)
            for gap in gaps
            for label, lines in wrapped_units(unglued([line for line in gap if line != SECTION_CUT]))
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
            pending = unglued(pending)
            for n in range(1, min(len(pending), self.settings.max_join) + 1):
                if one_label(pending[-n:]):
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


def _is_heading(row: Row) -> bool:
    text = row.label_text
    return (
        row.table is None
        and not row.sentence
        and _HEADING_MIN <= len(text) <= _HEADING_MAX
        and not _SENTENCE_END.search(text)
    )


def _split_row(before: Row, row: Row, unnamed: bool) -> bool:
    """Is ``row`` (values, no label or one that names nothing: ``unnamed``) the rest of ``before`` (a
    label over blank cells) in one table?"""
    return (
        before.positional
        and before.table == row.table
        and not before.has_values
        and bool(before.label_text)
        and (bare_values(row) or (row.positional and row.has_values and unnamed))
    )
