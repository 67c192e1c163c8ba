"""How extractions become rows: several documents' in one transaction, each document's fields in one
multi-row insert.

Why rows as plain tuples, not ORM objects: a report has about 200 fields, and the ORM's unit of
work spent most of a bulk run's time tracking objects nobody reads back. Why the stored record leaves its
``fields`` and ``confidence`` null: the field rows hold both, and ``ExtractionRow.full_record`` puts them
back (a record whose confidences the rows could not give back exactly keeps its own).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ARRAY, String, Text, bindparam, delete, insert, select, text
from sqlalchemy.dialects import sqlite
from sqlalchemy.orm import Session

from nianbao.errors import ErrorCode
from nianbao.store.reviews import carry_reviews, lock_documents, reviewed_documents
from nianbao.store.tables import (
    META_DOUBT_FLAGS,
    STATES,
    ExtractionRow,
    TextRow,
)
from nianbao.stored_fields import BLOCK, KEY, LABEL, StoredField


@dataclass(frozen=True)
class Extracted:
    """One document's extraction, to be stored: its record, its fields shaped as rows (``stored_fields``,
    with the cells they were read from), and its state (done, partial or failed; from the record's error
    when None)."""

    document_id: int
    record: dict
    fields: Sequence[StoredField]
    state: str | None = None

    @property
    def final_state(self) -> str:
        state = self.state or ("failed" if self.record["error"] else "done")
        if state not in STATES:
            raise ValueError(f"state {state!r} is not one of {STATES}")
        return state


def meta_doubts(record: dict) -> list[dict] | None:
    """The record's flags that put its agency or year in doubt; None when there are none."""
    found = [
        f
        for f in record.get("flags", [])
        if f.get("kind") in META_DOUBT_FLAGS and f.get("field") in ("meta.agency", "meta.year")
    ]
    return found or None


def stored_record(record: dict) -> dict:
    """The record as the extractions table keeps it: ``fields`` null (the field rows hold them), and
    ``confidence`` null when the rows give it back exactly (a finite float for each field, in order)."""
    confidence = record["confidence"]
    exact = list(confidence) == list(record["fields"]) and all(
        type(c) is float and math.isfinite(c) for c in confidence.values()
    )
    return {**record, "fields": None} | ({"confidence": None} if exact else {})


def save_extractions(
    session: Session,
    items: Sequence[Extracted],
    pipeline_version: str,
    model_version: str,
    known_texts: Mapping[str, int],
) -> tuple[list[int], dict[str, int]]:
    """Store ``items`` in ``session``'s transaction, their documents locked, each document's reviews
    carried over to its new fields: the extraction id of each item, and the TextRow ids it used (to be
    known once the transaction committed: ``known_texts``). An extraction stored under the key already is
    kept (its id given), except that a failed one gives way (it holds no fields)."""
    states = [item.final_state for item in items]  # every one checked before anything is written
    documents = sorted({item.document_id for item in items})
    # On PostgreSQL an extraction's commit returns before the server has flushed it to disk: no wait on a
    # disk per group. A crash of the server's machine can lose the newest ones, each whole (a rerun
    # extracts them again), as SQLite's synchronous=NORMAL can; reviews keep waiting for the disk.
    lock_documents(session, documents, commit_unflushed=True)
    key = (pipeline_version, model_version)
    stored: dict[int, tuple[int | None, str]] = {}  # document → its extraction under the key
    extracted_before: set[int] = set()  # documents with an extraction under any key
    for document, id_, state, *version in session.connection().execute(STORED, {"documents": documents}):
        extracted_before.add(document)
        if tuple(version) == key:
            stored[document] = (id_, state)
    new: list[tuple[Extracted, str]] = []
    for item, state in zip(items, states, strict=True):
        found = stored.get(item.document_id)
        if found is not None and found[1] != "failed":
            continue
        if found is not None:
            session.execute(delete(ExtractionRow).where(ExtractionRow.id == found[0]))
        stored[item.document_id] = (None, state)  # a second item of the document: kept out
        new.append((item, state))
    inserted = extraction_ids(session, new, pipeline_version, model_version)
    stored |= {item.document_id: (id_, state) for (item, state), id_ in zip(new, inserted, strict=True)}
    # a StoredField names three texts, its key, label and block: its row holds their ids
    named = {t for item, _ in new for f in item.fields for t in (f[KEY], f[LABEL], f[BLOCK])}
    texts = text_ids(session, named, known_texts)
    rows = [
        (id_, texts[f[KEY]], *f[KEY + 1 : LABEL], texts.get(f[LABEL]), texts.get(f[BLOCK]), *f[BLOCK + 1 :])
        for (item, _), id_ in zip(new, inserted, strict=True)
        for f in item.fields
    ]
    if rows:
        insert_field_rows(session, rows)
    # reviews are of the fields of earlier extractions: a document with none has no decisions to carry over
    reviewed = reviewed_documents(
        session, [item.document_id for item, _ in new if item.document_id in extracted_before]
    )
    for (item, _), id_ in zip(new, inserted, strict=True):
        if item.document_id in reviewed:
            carry_reviews(session, id_, item.document_id)
    return [stored[item.document_id][0] for item in items], texts


# statements every group runs, built once (building one costs about what the database takes to run it)
INSERT_EXTRACTION = insert(ExtractionRow).returning(ExtractionRow.id, sort_by_parameter_order=True)
STORED = select(
    ExtractionRow.document_id,
    ExtractionRow.id,
    ExtractionRow.state,
    ExtractionRow.pipeline_version,
    ExtractionRow.model_version,
).where(ExtractionRow.document_id.in_(bindparam("documents", expanding=True)))
TEXT_IDS = select(TextRow.sha256, TextRow.id).where(TextRow.sha256.in_(bindparam("digests", expanding=True)))
ADD_TEXTS = sqlite.insert(TextRow).on_conflict_do_nothing(index_elements=["sha256"])
# One round trip on PostgreSQL: texts inserted (their ids returned) unless held, and the ids of those held,
# as (sha256, id), one fixed statement whatever the count. Read in the statement's snapshot, a text
# another writer commits meanwhile is in neither part (``text_ids`` looks it up after).
ADDED_OR_HELD = text(
    "WITH added AS (INSERT INTO texts (sha256, text) SELECT * FROM unnest(:digests, :texts) "
    "ON CONFLICT (sha256) DO NOTHING RETURNING sha256, id) "
    "SELECT sha256, id FROM added UNION ALL SELECT sha256, id FROM texts WHERE sha256 = ANY(:digests)"
).bindparams(bindparam("digests", type_=ARRAY(String)), bindparam("texts", type_=ARRAY(Text)))


def extraction_ids(
    session: Session, items: Sequence[tuple[Extracted, str]], pipeline_version: str, model_version: str
) -> list[int]:
    """Insert the extractions rows of ``items`` (each with its state) in one statement; their ids, in
    order. Core, not ORM objects: nothing here is read back through the session."""
    if not items:
        return []
    rows = [
        {
            "document_id": item.document_id,
            "pipeline_version": pipeline_version,
            "model_version": model_version,
            "state": state,
            "error_code": ErrorCode.of(item.record["error"]),
            "error": item.record["error"],
            "agency": item.record["meta"].get("agency"),
            "year": item.record["meta"].get("year"),
            "format": item.record["meta"].get("format"),
            "record": stored_record(item.record),
            "meta_doubts": meta_doubts(item.record),
        }
        for item, state in items
    ]
    return list(session.connection().execute(INSERT_EXTRACTION, rows).scalars())


# field_values' columns as ``save_extractions`` gives them (all but the id): a StoredField's, ids for texts
FIELD_COLUMNS = (
    "extraction_id",
    "key_id",
    "value",
    "confidence",
    "flags",
    "source_text",
    "label_id",
    "block_id",
    "cell_row",
    "cell_col",
    "page",
    "x0",
    "top",
    "x1",
    "bottom",
)
JSON_COLUMNS = frozenset({"value", "flags"})


def insert_field_rows(session: Session, rows: list[tuple]) -> None:
    """``rows`` (FIELD_COLUMNS) in one executemany of the driver's own: nothing done per row by
    SQLAlchemy, which spent more time on a report's 200 rows than the database did. On PostgreSQL (psycopg)
    a COPY: the server parses and plans no INSERT per row (its time per report fell by about a third)."""
    connection = session.connection()
    dialect = connection.dialect
    names = ", ".join(dialect.identifier_preparer.quote(name) for name in FIELD_COLUMNS)
    if dialect.name == "postgresql" and dialect.driver == "psycopg":
        with (
            connection.connection.cursor() as cursor,
            cursor.copy(f"COPY field_values ({names}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    mark = "?" if dialect.paramstyle == "qmark" else "%s"
    json_mark = mark if dialect.name == "sqlite" else f"{mark}::json"
    marks = ", ".join(json_mark if name in JSON_COLUMNS else mark for name in FIELD_COLUMNS)
    connection.exec_driver_sql(f"INSERT INTO field_values ({names}) VALUES ({marks})", rows)


def text_ids(session: Session, texts: Iterable[str | None], known: Mapping[str, int]) -> dict[str, int]:
    """The TextRow id of each text (``known``: ids of texts committed before), adding those the database
    does not hold yet: each text not known is inserted unless the database holds it (by this or another
    writer), then all of them are looked up."""
    wanted = {t for t in texts if t is not None}
    ids = {t: known[t] for t in wanted if t in known}
    by_digest = {TextRow.digest(t): t for t in wanted if t not in ids}
    if not by_digest:
        return ids
    if session.get_bind().dialect.name == "postgresql":
        arrays = {"digests": list(by_digest), "texts": list(by_digest.values())}
        found = dict(session.connection().execute(ADDED_OR_HELD, arrays).all())
    else:
        rows = [{"sha256": d, "text": t} for d, t in by_digest.items()]
        session.connection().execute(ADD_TEXTS, rows)  # Core: no ORM bulk machinery for plain rows
        found = {}
    missing = [d for d in by_digest if d not in found]
    if missing:  # SQLite's, or on PostgreSQL those another writer committed while the statement ran
        found |= dict(session.connection().execute(TEXT_IDS, {"digests": missing}).all())
    return ids | {by_digest[d]: i for d, i in found.items()}


__all__ = ["Extracted", "meta_doubts", "stored_record"]
