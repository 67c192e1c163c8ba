"""Decided rows → cells: each row's values filed under its keys (by header, by position, or in order with
doubt), rows short of a value placed by the identities, a number floated out of its table given back to
the row that lost it."""

from __future__ import annotations

from dataclasses import replace

from nianbao.extraction.columns import align_slots
from nianbao.extraction.grid import cell_where
from nianbao.extraction.identity_placement import LooseRow, place_by_identities
from nianbao.extraction.numbers import parse_value
from nianbao.extraction.record import FieldEvidence, Flag, FlagKind
from nianbao.extraction.rows import HeaderCell, LooseCells, MappingResult, RowDecision, RowObservation
from nianbao.schema import Section


class CellFiling:
    """The decoder's filing of cells (a mixin of mapping.Decoder: uses its schema, settings and
    columns' _columns)."""

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
        p_col = min(header_probs) if header_probs else self.settings.headerless_column_trust
        units = [_unit(h.text) for h in header or []]
        yuan = [unit == "元" for unit in units]
        label = obs.label if decision.margin is None else f"{section.rows[decision.concept]} (by order)"
        for key, h, unit in zip(keys, header, units, strict=True) if header else ():
            if unit == "torn":
                why = f"its header {h.text!r} is the tail of a wrapped unit: 元 or 万元 is unknown"
                result.flags.append(Flag.on_field(FlagKind.VALUE_UNCERTAIN, key, why))
        if decision.margin is not None:
            result.order_margins[f"{section.name}.{decision.concept}"] = decision.margin
        confidence = decision.probability * p_col
        self._file_cells(result, obs, keys, slots, confidence, label, yuan, doubt)
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
            f for f in result.flags if not (f.kind == FlagKind.POSITION_UNCERTAIN and f.field in decided)
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
            keys = list(row.keys)
            self._file_cells(result, row.obs, keys, slots, row.confidence, row.label, row.yuan, doubt)
            why = (
                f"row {row.label!r} ({row.obs.row.where}) printed {len(row.values)} values for "
                f"{len(row.keys)} columns{_floated_note(row)}; "
                + ("only these columns satisfy the table's identities" if proven else doubt)
            )
            result.flags.extend(
                Flag.on_field(FlagKind.PLACED_BY_IDENTITIES, row.keys[c], why)
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
        self._file_cells(result, obs, keys, slots, self.settings.one_row_table_trust, label)
        return _loose_cells(obs, keys, slots, label, self.settings.one_row_table_trust, [])

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
                    result.flags += [Flag.on_field(FlagKind.POSITION_UNCERTAIN, k, why) for k in keys]

    def _file_cells(
        self,
        result: MappingResult,
        obs: RowObservation,
        keys: list[str],
        slots: list[tuple[object, bool]],
        confidence: float,
        label: str,
        yuan: list[bool] | None = None,
        doubt: str | None = None,
    ) -> None:
        """File each slot under its key; a slot placed by order alone is less sure (``unplaced_slot_trust``)
        and flagged, and so is a column such a row left empty (its value may be the one the row did not
        print)."""
        filled = sum(1 for v in obs.row.values if v.text)
        why = doubt or (
            f"shows {filled} values for {len(keys)} columns; which column each stands in is not certain"
            if obs.row.positional
            else f"shows {filled} values for {len(keys)} columns and no cell positions; placed in order"
        )
        for i, (key, (slot, exact)) in enumerate(zip(keys, slots, strict=True)):
            if not exact and filled:
                detail = f"row {label!r} ({obs.row.where}) {why}"
                result.flags.append(Flag.on_field(FlagKind.POSITION_UNCERTAIN, key, detail))
            if slot is None:
                continue
            where = cell_where(obs.row.where, slot.pos)
            result.cells[key] = FieldEvidence(
                key,
                slot.text,
                where,
                label,
                confidence * slot.score * (1.0 if exact else self.settings.unplaced_slot_trust),
                bool(yuan and yuan[i]),
                slot.box,
                slot.ink,
            )


def flag_order_doubt(
    decision: RowDecision, section: Section, fmt: str, why: str, result: MappingResult
) -> None:
    """A row placed by order where the table gives reason to doubt that order (``why``): which row it is
    is not known (the identities cannot tell rows that add into the same totals)."""
    for column in section.columns_of(fmt, decision.concept):
        placed_as = section.rows[decision.concept]
        detail = f"row at {decision.obs.row.where} was placed by order as {placed_as}, but {why}"
        key = section.key(decision.concept, column)
        result.flags.append(Flag.on_field(FlagKind.ORDER_DOUBT, key, detail))


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


def floated_numbers(observations: list[RowObservation]) -> list[tuple[RowObservation, set[int]]]:
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


def attach_floated(
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


def unclaimed(
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
