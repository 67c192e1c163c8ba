"""A record's fields in the shape the store writes them, one tuple a field, and its state (done, partial,
failed), made where the record is made.

Why not in the store: a batch's workers make them, in parallel, and the batch's one writing process only
turns keys, labels and blocks into ``texts`` ids and inserts; the writer's CPU a report is what limits a
batch of many workers (a dict of ~200 evidence objects also costs more to send between processes than
~200 tuples of strings and numbers). Why no SQLAlchemy here: the workers import this module, and a worker
never writes the database (it would only slow every worker's start; tests/test_batch.py asks one).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING

from nianbao.locations import split_location

if TYPE_CHECKING:
    from nianbao.extraction.record import FieldEvidence

# key, value (JSON), confidence, flags (JSON, None for none), raw text, label, block, cell row, cell column,
# page, x0, top, x1, bottom: field_values' columns but its ids, with key, label and block as texts
StoredField = tuple[
    str,
    str,
    float,
    str | None,
    str | None,
    str | None,
    str | None,
    int | None,
    int | None,
    int | None,
    float | None,
    float | None,
    float | None,
    float | None,
]

NO_CELL = (None,) * 10  # a field read from no cell: raw text to bottom
KEY, LABEL, BLOCK = 0, 5, 6  # where a StoredField holds the texts the store keeps by id

# one encoder for every value: ``json.dumps`` with options builds a new one per call, and a bulk run
# encodes each of a report's ~200 fields
_COMPACT = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))


def compact_json(value: object) -> str:
    """JSON as the database keeps it: no spaces, Chinese as itself (a third of ``\\uXXXX``'s bytes)."""
    return _COMPACT.encode(value)


def value_json(value: object) -> str:
    """``compact_json`` of a field's value, a count or a blank without the encoder: ~200 a report."""
    if value is None:
        return "null"
    return str(value) if type(value) is int else compact_json(value)


def flag_fields(flag: dict) -> list[str]:
    """The fields a record flag is about: its own field, or every field of a broken identity."""
    return [flag["field"]] if "field" in flag else list(flag.get("fields", []))


def stored_fields(record: dict, evidence: dict[str, FieldEvidence]) -> list[StoredField]:
    """Every field of ``record`` in its order, with its confidence, the record's flags that name it, and
    the cell it was read from (``evidence``; a field without one has none): its raw text, label, place
    taken apart (``split_location``) and box."""
    flags_of: dict[str, list[dict]] = {}
    for flag in record["flags"]:
        for key in flag_fields(flag):
            flags_of.setdefault(key, []).append(flag)
    confidence = record["confidence"]
    fields = []
    for key, value in record["fields"].items():
        cell = evidence.get(key)
        flags = flags_of.get(key)
        if cell is None:
            read: tuple = NO_CELL
        else:
            box = cell.box
            boxed = (box.page, box.x0, box.top, box.x1, box.bottom) if box else (None,) * 5
            read = (cell.raw, cell.label, *split_location(cell.where), *boxed)
        fields.append(
            (
                key,
                value_json(value),
                confidence.get(key, 0.0),
                compact_json(flags) if flags else None,
                *read,
            )
        )
    return fields


def extraction_state(record: dict, schema_sections: Callable[[str], str]) -> str:
    """done, failed (an error), or partial: a whole section came out empty (a table missing or cut off)."""
    if record["error"]:
        return "failed"
    sections, stated = set(), set()  # every section; those with a value
    for key, value in record["fields"].items():
        section = schema_sections(key)
        sections.add(section)
        if value is not None:
            stated.add(section)
    return "partial" if sections - stated else "done"


__all__ = [
    "BLOCK",
    "KEY",
    "LABEL",
    "StoredField",
    "compact_json",
    "extraction_state",
    "flag_fields",
    "stored_fields",
    "value_json",
]
