"""The review queue: which fields of which documents wait for a person, why, and in what order.

Why the identity check runs live: a stored ``source_inconsistent`` flag says what the extractor saw, but
once a reviewer corrected one field of a broken identity the identity may hold again (or break anew).
The queue is ordered by the identities broken by the values in use now, then by stored doubt flags, then
by confidence. Whether a field waits at all is ``field_status`` — the export's rule, so the page and the
dataset never disagree about what is still pending.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Text, case, cast, exists, func, or_, select
from sqlalchemy.orm import Session

from nianbao.export import field_status
from nianbao.extraction.validation import validate
from nianbao.models.calibration import DOUBT_FLAGS
from nianbao.schema import Schema
from nianbao.store import (
    DocumentRow,
    ExtractionRow,
    FieldRow,
    ReviewRow,
    Value,
    newest_extraction_ids,
    newest_extraction_of,
    with_fields,
)

NOTE_FLAGS = ("value_uncertain", "inferred")  # worth showing, not by themselves a reason to review


@dataclass(frozen=True)
class FieldName:
    """A field's Chinese name, as the template prints it: section, row, column."""

    section: str
    row: str
    column: str

    def __str__(self) -> str:
        return f"{self.row} · {self.column}"


def split_key(key: str) -> tuple[str, str, str]:
    """ "s3.withheld.state_secret.total" → ("s3", "withheld.state_secret", "total")."""
    section, rest = key.split(".", 1)
    row, column = rest.rsplit(".", 1)
    return section, row, column


def row_of(key: str) -> str:
    """The table row a field is printed in: its key without the column ("s3.new")."""
    return key.rsplit(".", 1)[0]


def field_name(schema: Schema, key: str) -> FieldName:
    section, row, column = split_key(key)
    spec = schema.sections[section]
    return FieldName(spec.zh, spec.rows.get(row, row), spec.columns.get(column, column))


@dataclass(frozen=True)
class Reason:
    """Why a field is in doubt (``kind``: identity, ocr_repaired, low_confidence) or a note about it."""

    kind: str
    detail: str


def broken_identities(values: dict[str, Value], fmt: str, schema: Schema) -> list[dict]:
    """The identities the given values break, as validation reports them (identity, fields, detail).
    Confidence plays no part in whether an identity holds, so every field is given 1."""
    checked = validate(values, dict.fromkeys(values, 1.0), schema, fmt)
    return [f for f in checked.flags if f["kind"] == "source_inconsistent"]


def current_values(extraction: ExtractionRow) -> dict[str, Value]:
    return {row.key: row.current for row in extraction.fields}


def reasons_of(row: FieldRow, threshold: float, broken: list[dict]) -> list[Reason]:
    """Doubts first (a broken identity, an OCR repair, low confidence), then notes."""
    reasons = [Reason("identity", b["detail"]) for b in broken if row.key in b["fields"]]
    if not reasons and any(f["kind"] == "source_inconsistent" for f in row.flags):
        reasons.append(Reason("identity", "broken at extraction; holds with the values in use now"))
    reasons += [Reason(f["kind"], f.get("detail", "")) for f in row.flags if f["kind"] == "ocr_repaired"]
    if row.confidence < threshold:
        reasons.append(Reason("low_confidence", f"confidence {row.confidence:.2f} is below {threshold:g}"))
    reasons += [Reason(f["kind"], f.get("detail", "")) for f in row.flags if f["kind"] in NOTE_FLAGS]
    return reasons


@dataclass
class QueueItem:
    row: FieldRow
    name: FieldName
    reasons: list[Reason]
    in_broken_identity: bool

    @property
    def doubt(self) -> tuple[int, float]:
        """Sort key: broken identities now, then stored doubt flags, then lowest confidence."""
        flagged = any(f["kind"] in DOUBT_FLAGS for f in self.row.flags)
        return (0 if self.in_broken_identity else 1 if flagged else 2, self.row.confidence)


@dataclass
class DocumentQueue:
    """One document's fields in doubt; the document is done when ``items`` is empty."""

    document: DocumentRow
    extraction: ExtractionRow
    items: list[QueueItem]
    broken: list[dict]
    row_fields: dict[str, list[FieldRow]] = field(default_factory=dict)  # row → its fields, in order

    @property
    def doubt(self) -> tuple[int, float]:
        return min((item.doubt for item in self.items), default=(3, 1.0))


def document_queue(extraction: ExtractionRow, threshold: float, schema: Schema) -> DocumentQueue:
    fmt = extraction.format
    broken = broken_identities(current_values(extraction), fmt, schema) if fmt in schema.formats else []
    in_broken = {key for b in broken for key in b["fields"]}
    items = [
        QueueItem(row, field_name(schema, row.key), reasons_of(row, threshold, broken), row.key in in_broken)
        for row in extraction.fields
        if field_status(row, threshold) == "pending"
    ]
    items.sort(key=lambda item: item.doubt)
    rows: dict[str, list[FieldRow]] = {}
    for row in extraction.fields:
        rows.setdefault(row_of(row.key), []).append(row)
    return DocumentQueue(extraction.document, extraction, items, broken, rows)


def newest_extraction(session: Session, document_id: int) -> ExtractionRow | None:
    return session.scalar(with_fields(newest_extraction_of(document_id)))


def _flagged():
    """A field whose stored flags include a doubt flag (a text match on the JSON, for any database)."""
    return or_(*(cast(FieldRow.flags, Text).contains(kind) for kind in sorted(DOUBT_FLAGS)))


def _waiting(threshold: float) -> tuple:
    """WHERE clauses of the fields that may wait for review: of a document's newest extraction, not yet
    reviewed, below the threshold or flagged. ``field_status`` has the last word on each."""
    unreviewed = ~exists().where(ReviewRow.field_id == FieldRow.id)
    return (
        FieldRow.extraction_id.in_(newest_extraction_ids()),
        unreviewed,
        or_(FieldRow.confidence < threshold, _flagged()),
    )


def review_queue(session: Session, threshold: float, schema: Schema, limit: int) -> list[DocumentQueue]:
    """The ``limit`` most doubtful documents with fields waiting for review, most doubtful first.

    SQL picks the candidates, so a large archive is never loaded whole; the exact order is then
    computed on those."""
    candidates = (
        select(FieldRow.extraction_id)
        .where(*_waiting(threshold))
        .group_by(FieldRow.extraction_id)
        .order_by(func.max(case((_flagged(), 1), else_=0)).desc(), func.min(FieldRow.confidence))
        .limit(limit)
    )
    ids = list(session.scalars(candidates))
    extractions = session.scalars(with_fields(select(ExtractionRow).where(ExtractionRow.id.in_(ids))))
    queues = [document_queue(e, threshold, schema) for e in extractions]
    return sorted((q for q in queues if q.items), key=lambda q: (q.doubt, q.document.id))


def queue_size(session: Session, threshold: float) -> tuple[int, int]:
    """(documents, fields) that may wait for review in the whole store."""
    query = select(func.count(func.distinct(FieldRow.extraction_id)), func.count()).where(
        *_waiting(threshold)
    )
    documents, fields = session.execute(query).one()
    return int(documents), int(fields)
