"""One clean dataset out of the store: a row per document, every canonical field, its confidence, status
and source, with a codebook beside it.

Why statuses and not just values: a user of the dataset must know which numbers a person checked, which
were trusted without review, and which still wait for review (left empty unless ``include_all``), so
nothing in the file is silently wrong. Why sources: an inferred 0 (an identity filled a blank) is not a
printed 0. Why typed columns: a count is an integer (``57``, not ``57.0``) and an amount an exact decimal
(``150.07``, not ``150.07000000000002``), in whatever program opens the file.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import select

from nianbao.codebook import (
    BOM_UTF8,
    DECIMAL,
    INTEGER,
    MONEY_PRECISION,
    MONEY_SCALE,
    NUMBER,
    Column,
    export_columns,
    write_codebook,
)
from nianbao.models.calibration import ReviewPolicy
from nianbao.schema import load_schema
from nianbao.store import (
    DocumentRow,
    ExtractionRow,
    FieldRow,
    Store,
    Value,
    newest_extraction_ids,
    with_fields,
)

if TYPE_CHECKING:
    import pandas as pd

FORMATS = ("parquet", "csv", "jsonl")
HEADERS = ("key", "zh")  # column names: field keys, or the codebook's Chinese labels
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1  # the range of a Parquet int64 (pandas Int64) count column
INFERRED, OCR_REPAIRED = "inferred", "ocr_repaired"  # flag kinds that say a value was not read as printed


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


def field_source(row: FieldRow) -> str | None:
    """Where the value in use comes from: reviewed (a person decided, even to keep it), ocr_repaired (the
    identities corrected an OCR digit), inferred (not printed: an identity gave it) or printed; None when
    there is no value. Read from the field's reviews and flags, as stored."""
    if row.reviews:
        return "reviewed"
    if row.current is None:
        return None
    kinds = {f.get("kind") for f in row.flags}
    return next((kind for kind in (OCR_REPAIRED, INFERRED) if kind in kinds), "printed")


def _amount(value: int | float) -> Decimal:
    """The decimal a stored amount stands for: its shortest text (``150.07``), trailing zeros dropped."""
    return Decimal(str(value)).normalize()


def _fits(decimal: bool, value: Value) -> bool:
    """Can the field's typed column hold ``value`` exactly? A count is a whole number within 64 bits; an
    amount has at most MONEY_SCALE places and MONEY_PRECISION digits. A value that cannot (a count read
    as 1.5) is not one of the field: it is left out and waits for a person."""
    if value is None:
        return True
    if isinstance(value, float) and not math.isfinite(value):
        return False
    if decimal:
        exact = _amount(value)
        return exact.as_tuple().exponent >= -MONEY_SCALE and exact.adjusted() < MONEY_PRECISION - MONEY_SCALE
    return (isinstance(value, int) or value.is_integer()) and INT64_MIN <= value <= INT64_MAX


def _plain(decimal: bool, value: Value) -> Value:
    """A value as JSON writes it: a count as an int (a whole float would print as 57.0), an amount as is."""
    return value if decimal or value is None else int(value)


def _newest_extractions(store: Store) -> Iterator[tuple[DocumentRow, ExtractionRow]]:
    query = with_fields(select(ExtractionRow).where(ExtractionRow.id.in_(newest_extraction_ids())))
    query = query.order_by(ExtractionRow.id)
    with store.sessions() as session:
        for extraction in session.scalars(query):
            yield extraction.document, extraction


def dataset_rows(store: Store, threshold: float, include_all: bool = False) -> Iterator[dict]:
    """A flat row per document: meta in use (a reviewed agency or year wins) with its status, state,
    ``flags`` (the record's flags and the checks' as JSON text), then ``key``, ``key:confidence``,
    ``key:status``, ``key:source`` for every canonical field of both templates (a field of the other
    template stays empty). A count is an int; a value its column cannot hold is left empty, pending."""
    schema = load_schema()
    decimal = {key: schema.is_decimal(key) for key in schema.all_field_keys()}
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
        for key, is_decimal in decimal.items():
            found = fields.get(key)
            value = found.current if found else None
            fits = _fits(is_decimal, value)
            status = (field_status(found, threshold) if fits else "pending") if found else None
            shown = found is not None and fits and (include_all or status != "pending")
            row[key] = _plain(is_decimal, value) if shown else None
            row[f"{key}:confidence"] = found.confidence if found else None
            row[f"{key}:status"] = status
            row[f"{key}:source"] = field_source(found) if found else None
        yield row


def _frame(rows: list[dict], columns: list[Column], names: list[str], amounts_as_text: bool) -> pd.DataFrame:
    """The rows as typed columns under ``names``: counts nullable Int64, amounts exact decimals (their plain
    text when ``amounts_as_text``: a CSV cell), confidences floats, the rest text."""
    import pandas as pd

    data: dict[str, object] = {}
    for name, column in zip(names, columns, strict=True):
        cells = [r[column.column] for r in rows]
        if column.type == INTEGER:
            data[name] = pd.array(cells, dtype="Int64")
        elif column.type == DECIMAL:
            exact = [None if v is None else _amount(v) for v in cells]
            data[name] = [None if d is None else format(d, "f") for d in exact] if amounts_as_text else exact
        elif column.type == NUMBER:
            data[name] = pd.array(cells, dtype="float64")
        else:
            data[name] = pd.array(cells, dtype=object)
    return pd.DataFrame(data, columns=names)


def _write_parquet(frame: pd.DataFrame, columns: list[Column], out: Path) -> None:
    """Each column with its Arrow type; from pandas, so the file's pandas metadata says Int64 and pandas
    reads a count back as one (an int64 column with nulls would otherwise come back as float64)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    arrow = {INTEGER: pa.int64(), DECIMAL: pa.decimal128(MONEY_PRECISION, MONEY_SCALE), NUMBER: pa.float64()}
    types = [arrow.get(c.type, pa.string()) for c in columns]
    schema = pa.schema([pa.field(n, t) for n, t in zip(frame.columns, types, strict=True)])
    pq.write_table(pa.Table.from_pandas(frame, schema=schema, preserve_index=False), out)


def export(
    store: Store, out: Path, fmt: str, threshold: float, include_all: bool = False, headers: str = "key"
) -> int:
    """Write the dataset, and its codebook beside it (``codebook.codebook_path``); returns how many
    documents it holds. ``headers``: ``key`` names a column by its field key, ``zh`` by its Chinese label."""
    if fmt not in FORMATS:
        raise ValueError(f"format {fmt!r} is not one of {FORMATS}")
    if headers not in HEADERS:
        raise ValueError(f"headers {headers!r} is not one of {HEADERS}")
    columns = export_columns()
    names = [c.header_zh if headers == "zh" else c.column for c in columns]
    rows = list(dataset_rows(store, threshold, include_all))
    out.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "jsonl":
        with out.open("w", encoding="utf-8") as handle:
            for row in rows:
                named = {n: row[c.column] for n, c in zip(names, columns, strict=True)}
                handle.write(json.dumps(named, ensure_ascii=False, allow_nan=False) + "\n")
    elif fmt == "csv":
        _frame(rows, columns, names, amounts_as_text=True).to_csv(out, index=False, encoding=BOM_UTF8)
    else:
        _write_parquet(_frame(rows, columns, names, amounts_as_text=False), columns, out)
    write_codebook(out, columns)
    return len(rows)
