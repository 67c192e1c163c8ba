"""One clean dataset out of the store: a row per document, every canonical field, its confidence and status.

Why statuses and not just values: a user of the dataset must know which numbers a person checked, which
were trusted without review, and which still wait for review (left empty unless ``include_all``), so
nothing in the file is silently wrong.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

from sqlalchemy import select

from nianbao.models.calibration import ReviewPolicy
from nianbao.schema import load_schema
from nianbao.store import DocumentRow, ExtractionRow, FieldRow, Store, newest_extraction_ids, with_fields

FORMATS = ("parquet", "csv", "jsonl")


def field_status(row: FieldRow, threshold: float) -> str:
    """reviewed (a person decided), auto (confident and in no broken identity), or pending. A check flag
    (a break across two years' reports) keeps an unreviewed field pending, whatever its confidence."""
    if row.open_checks:
        return "pending"
    if row.reviews:
        return "reviewed"
    if not ReviewPolicy(threshold).needs_review(row.confidence, (f.get("kind") for f in row.flags)):
        return "auto"
    return "pending"


def _newest_extractions(store: Store) -> Iterator[tuple[DocumentRow, ExtractionRow]]:
    query = with_fields(select(ExtractionRow).where(ExtractionRow.id.in_(newest_extraction_ids())))
    query = query.order_by(ExtractionRow.id)
    with store.sessions() as session:
        for extraction in session.scalars(query):
            yield extraction.document, extraction


def dataset_rows(store: Store, threshold: float, include_all: bool = False) -> Iterator[dict]:
    """A flat row per document: meta in use (a reviewed agency or year wins) with its status, state,
    ``flags`` (the record's flags and the checks' as JSON text), then ``key``, ``key:confidence``,
    ``key:status`` for every canonical field of both templates (a field of the other template stays
    empty)."""
    keys = load_schema().all_field_keys()
    for document, extraction in _newest_extractions(store):
        fields = {f.key: f for f in extraction.fields}
        checks = [c.as_flag(f.key) for f in extraction.fields for c in f.checks]
        row: dict = {
            "document": document.path,
            "sha256": document.sha256,
            "agency": extraction.meta("agency"),
            "agency:status": extraction.meta_status("agency"),
            "year": extraction.meta("year"),
            "year:status": extraction.meta_status("year"),
            "format": extraction.format,
            "state": extraction.state,
            "error": extraction.error,
            "flags": json.dumps(
                [*extraction.record.get("flags", []), *checks], ensure_ascii=False, allow_nan=False
            ),
        }
        for key in keys:
            found = fields.get(key)
            status = field_status(found, threshold) if found else None
            shown = found is not None and (include_all or status != "pending")
            row[key] = found.current if shown else None
            row[f"{key}:confidence"] = found.confidence if found else None
            row[f"{key}:status"] = status
        yield row


def export(store: Store, out: Path, fmt: str, threshold: float, include_all: bool = False) -> int:
    """Write the dataset; returns how many documents it holds."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {FORMATS}")
    rows = list(dataset_rows(store, threshold, include_all))
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        with out.open("w", encoding="utf-8") as handle:
            handle.writelines(json.dumps(r, ensure_ascii=False, allow_nan=False) + "\n" for r in rows)
        return len(rows)
    import pandas as pd

    frame = pd.DataFrame(rows)
    if fmt == "csv":
        frame.to_csv(out, index=False, encoding="utf-8-sig")  # the BOM tells spreadsheet programs it is UTF-8
    else:
        frame.to_parquet(out, index=False)
    return len(rows)
