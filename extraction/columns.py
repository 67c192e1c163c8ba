"""Which column each value of a row belongs to: headers by grid position, by nesting or by character
column in layout text; slots aligned to columns by count, by position, or in order with doubt."""

from __future__ import annotations

import itertools
from collections import Counter

from nianbao.extraction.grid import Row
from nianbao.extraction.rows import HeaderCell, RowDecision, RowObservation
from nianbao.schema import Section


class ColumnReading:
    """The decoder's column decisions (a mixin of mapping.Decoder: uses its scorer, settings and cache)."""

    def _columns(
        self, obs: RowObservation, section: Section, fmt: str, row_concept: str
    ) -> tuple[list[str], list[HeaderCell] | None, list[float] | None]:
        """Column order of this row: the header's when it names the template's columns, else the template's.

        The header read by position comes first; a copy that dropped the blank cells of merged
        headers (a table copied from a web page) shifts positions, and is read by nesting instead.
        Nesting says which cells stand under a group, not where, and a row without cell positions (text
        that lost its columns) says nothing of where its header's names stand: a header read either way
        in another order than the template's (pieces of two header rows merged in one cell, wrapped
        header lines listed top line first) leaves the template's order, in doubt (_header_contradicts).
        """
        template = section.columns_of(fmt, row_concept)
        in_layout = self._layout_order(obs, section, template)
        if in_layout is not None and in_layout != template:
            return in_layout, None, None
        for header, by_position in ((obs.header, obs.row.positional), (obs.header_nested or [], False)):
            named = self._naming_every_column(header, section, template)
            if named and (by_position or [c for _, c, _ in named] == template):
                return [c for _, c, _ in named], [h for h, _, _ in named], [p for _, _, p in named]
        return template, None, None

    def _naming_every_column(
        self, header: list[HeaderCell], section: Section, template: list[str]
    ) -> list[tuple[HeaderCell, str, float]] | None:
        """The header cells naming the template's columns, with the column and its probability, when
        they name each once (and no other column twice)."""
        named = [(h, *self._column_of(h, section)) for h in header]
        named = [(h, c, p) for h, c, p in named if c is not None]
        names = [c for _, c, _ in named]
        if not named or not set(template) <= set(names) or len(set(names)) != len(names):
            return None
        return [(h, c, p) for h, c, p in named if c in template]

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
        one cell, or read by nesting or without positions names them all in another order (a converter
        that moved or merged header cells): the template's order is then a guess."""
        named = self._placed_headers(obs, section, template)
        if any(a[1] > b[1] or (a[0] == b[0] and a[1] != b[1]) for a, b in itertools.pairwise(named)):
            return True
        unplaced = [obs.header_nested or [], *([] if obs.row.positional else [obs.header])]
        return any(
            named is not None and [c for _, c, _ in named] != template
            for named in (self._naming_every_column(h, section, template) for h in unplaced)
        )

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


def display_width(text: str) -> int:
    """Character columns a text fills in layout output: a CJK character is set twice as wide."""
    return sum(2 if "\u3000" <= ch <= "\uffff" else 1 for ch in text)


def merge_header(header_rows: list[list[HeaderCell | None]], positional: bool) -> list[HeaderCell]:
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


def merge_nested(header_rows: list[list[HeaderCell | None]]) -> list[HeaderCell]:
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


def under_header(obs: RowObservation) -> list:
    """The row's value slots, without blank ones right of its header's last cell (a trailing tab)."""
    slots = obs.row.values
    same_chunk = [h.pos for h in obs.header if h.chunk == obs.row.chunk]
    if not obs.row.positional or not same_chunk:
        return slots
    end = max(same_chunk)
    return [v for v in slots if v.pos <= end or v.text]


def chunk_starts(decided: list[RowDecision], section: Section, fmt: str) -> dict[int | None, int]:
    """Per table chunk, where complete rows start their values: the grid for rows that lost cells."""
    starts: dict[int | None, Counter] = {}
    for decision in decided:
        obs = decision.obs
        filled = [v for v in obs.row.values if v.text]
        if obs.row.positional and filled and len(filled) == len(section.columns_of(fmt, decision.concept)):
            starts.setdefault(obs.row.chunk, Counter())[filled[0].pos] += 1
    return {chunk: counter.most_common(1)[0][0] for chunk, counter in starts.items()}


def align_slots(
    row: Row, k: int, header: list[HeaderCell] | None, start: int | None
) -> list[tuple[object, bool]]:
    """Value slots → k columns: by count when it fits, by grid position when cells are missing. A blank
    slot is None, but for a blank cell a scan reader measured: the slot carries what it saw there."""
    slots = row.values
    if len(slots) > k and not any(s.text for s in slots[k:]):
        slots = slots[:k]  # blank padding after the row's last column
    filled = [v for v in slots if v.text]
    if any(s.shared for s in row.values):  # values run into shared cells: their columns go by count only
        return [(s, True) for s in filled] if len(filled) == k else in_order_slots(filled, k)
    if len(filled) < k and any(s.absent for s in row.values):  # the row printed fewer cells than its table
        return in_order_slots(filled, k)
    if len(slots) == k:
        return [(s if s.text or s.measured_blank else None, True) for s in slots]
    if len(filled) == k:
        return [(s, True) for s in filled]
    trimmed = _trim_blanks(slots)
    if len(trimmed) == k:
        return [(s if s.text or s.measured_blank else None, True) for s in trimmed]
    if row.positional and filled:
        if start is None and header and header[0].chunk == row.chunk:
            start = header[0].pos
        if start is not None:
            # A column the row has no cell in at all (a label cell drawn across it, its rule unseen) is
            # no printed blank: its value may be inside that label. Its place is in doubt.
            present = {s.pos for s in slots}
            out = [(None, start + i in present) for i in range(k)]
            for s in filled:
                if 0 <= s.pos - start < k:
                    out[s.pos - start] = (s, True)
            if any(o[0] is not None for o in out):
                return out
    return in_order_slots(filled, k)


def in_order_slots(filled: list, k: int) -> list[tuple[object, bool]]:
    """Fewer or more values than columns and nothing to place them by: keep the order, doubt it."""
    return [(filled[i], False) if i < len(filled) else (None, False) for i in range(k)]


def _trim_blanks(slots: list) -> list:
    start, end = 0, len(slots)
    while start < end and not slots[start].text:
        start += 1
    while end > start and not slots[end - 1].text:
        end -= 1
    return slots[start:end]
