"""The review queue: which fields of which documents wait for a person, why, and in what order.

Why the identity check runs live: a stored ``source_inconsistent`` flag says what the extractor saw, but
once a reviewer corrected one field of a broken identity the identity may hold again (or break anew).
The queue is ordered by the identities broken by the values in use now, then by stored doubt flags, then
by confidence. Whether a field waits at all is ``field_status`` — the export's rule, so the page and the
dataset never disagree about what is still pending. A field a check across documents flagged (a break
between two years' carried counts) waits like a flagged one; a document whose agency or year is in doubt
(``meta_uncertain``, ``meta_disagrees``) waits until a person set them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Text, and_, case, cast, exists, func, literal_column, or_, select, union
from sqlalchemy.orm import Session

from nianbao.export import field_status
from nianbao.extraction.validation import validate
from nianbao.models.calibration import DOUBT_FLAGS
from nianbao.schema import Schema
from nianbao.store import (
    META_KEYS,
    CheckFlagRow,
    DocumentRow,
    ExtractionRow,
    FieldRow,
    MetaReviewRow,
    ReviewRow,
    Value,
    newest_extraction_ids,
    newest_extraction_of,
    standing,
    with_fields,
)

NOTE_FLAGS = ("value_uncertain", "inferred")  # worth showing, not by themselves a reason to review


@dataclass(frozen=True)
class FieldName:
    """A field's Chinese name, as the template prints it: section, row (after the labels of the rows it
    sits under: ``（六）其他处理 · 3.其他``), column."""

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
    """The schema's labels of a field; a sub-row's own label says little, so its parents' come first."""
    section, row, column = split_key(key)
    spec = schema.sections[section]
    return FieldName(spec.zh, schema.row_label(key) or row, spec.columns.get(column, column))


@dataclass(frozen=True)
class Reason:
    """Why a field is in doubt (``kind``: identity, cross_year_mismatch, ocr_repaired, low_confidence) or a
    note about it."""

    kind: str
    detail: str


def broken_identities(values: dict[str, Value], fmt: str, schema: Schema) -> list[dict]:
    """The identities the given values break, as validation reports them (identity, fields, detail).
    Confidence plays no part in whether an identity holds, so every field is given 1."""
    checked = validate(values, dict.fromkeys(values, 1.0), schema, fmt)
    return [f.to_json() for f in checked.flags if f.kind == "source_inconsistent"]


def current_values(extraction: ExtractionRow) -> dict[str, Value]:
    return {row.key: row.current for row in extraction.fields}


def reasons_of(row: FieldRow, threshold: float, broken: list[dict]) -> list[Reason]:
    """Doubts first (a broken identity, an OCR repair, low confidence), then notes."""
    reasons = [Reason("identity", b["detail"]) for b in broken if row.key in b["fields"]]
    if not reasons and any(f["kind"] == "source_inconsistent" for f in row.flags):
        reasons.append(Reason("identity", "broken at extraction; holds with the values in use now"))
    reasons += [Reason(c.kind, c.detail) for c in row.open_checks]
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
        """Sort key: broken identities now, then stored doubt flags and open check flags, then lowest
        confidence."""
        flagged = bool(self.row.open_checks) or any(f["kind"] in DOUBT_FLAGS for f in self.row.flags)
        return (0 if self.in_broken_identity else 1 if flagged else 2, self.row.confidence)


@dataclass
class DocumentQueue:
    """One document's fields in doubt and its meta doubts; done when both are empty."""

    document: DocumentRow
    extraction: ExtractionRow
    items: list[QueueItem]
    broken: list[dict]
    row_fields: dict[str, list[FieldRow]] = field(default_factory=dict)  # row → its fields, in order
    meta_doubts: list[dict] = field(default_factory=list)  # open meta_uncertain / meta_disagrees flags

    @property
    def doubt(self) -> tuple[int, float]:
        """The most doubtful item's; an agency or year in doubt counts as a flagged field."""
        doubts = [item.doubt for item in self.items] + ([(1, 0.0)] if self.meta_doubts else [])
        return min(doubts, default=(3, 1.0))

    @property
    def remaining(self) -> int:
        """What still waits: the fields, and the agency/year as one item when in doubt."""
        return len(self.items) + bool(self.meta_doubts)

    def meta(self, key: str):
        return self.extraction.meta(key)


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
    return DocumentQueue(extraction.document, extraction, items, broken, rows, extraction.open_meta_doubts())


def newest_extraction(session: Session, document_id: int) -> ExtractionRow | None:
    return session.scalar(with_fields(newest_extraction_of(document_id)))


def _flagged():
    """A field whose stored flags include a doubt flag (a text match on the JSON, for any database)."""
    return or_(*(cast(FieldRow.flags, Text).contains(kind) for kind in sorted(DOUBT_FLAGS)))


def _checked():
    """A field a check across documents flagged (answered, like any flag, by a review)."""
    return exists().where(CheckFlagRow.field_id == FieldRow.id)


def _waiting(threshold: float) -> tuple:
    """WHERE clauses of the fields that may wait for review: of a document's newest extraction, not yet
    reviewed (an undone decision does not count), below the threshold, flagged or checked. ``field_status``
    has the last word on each."""
    unreviewed = ~exists().where(ReviewRow.field_id == FieldRow.id, standing(ReviewRow))
    return (
        FieldRow.extraction_id.in_(newest_extraction_ids()),
        unreviewed,
        or_(FieldRow.confidence < threshold, _flagged(), _checked()),
    )


def _meta_waiting():
    """The newest extractions whose agency or year a doubt flag names and no meta review has set."""
    clauses = []
    for key in META_KEYS:
        named = cast(ExtractionRow.meta_doubts, Text).contains(f"meta.{key}")
        reviewed = exists().where(
            MetaReviewRow.document_id == ExtractionRow.document_id, MetaReviewRow.key == key
        )
        clauses.append(and_(named, ~reviewed))
    return (
        ExtractionRow.id.in_(newest_extraction_ids()),
        ExtractionRow.meta_doubts.is_not(None),
        or_(*clauses),
    )


def review_queue(session: Session, threshold: float, schema: Schema, limit: int) -> list[DocumentQueue]:
    """The ``limit`` most doubtful documents with fields (or an agency/year) waiting for review, most
    doubtful first.

    SQL picks the candidates, so a large archive is never loaded whole; the exact order is then
    computed on those."""
    fields = (
        select(
            FieldRow.extraction_id.label("extraction_id"),
            func.max(case((or_(_flagged(), _checked()), 1), else_=0)).label("flagged"),
            func.min(FieldRow.confidence).label("confidence"),
        )
        .where(*_waiting(threshold))
        .group_by(FieldRow.extraction_id)
    )
    metas = select(ExtractionRow.id, literal_column("1"), literal_column("0.0")).where(*_meta_waiting())
    both = union(fields, metas).subquery()
    candidates = (
        select(both.c.extraction_id)
        .group_by(both.c.extraction_id)
        .order_by(func.max(both.c.flagged).desc(), func.min(both.c.confidence))
        .limit(limit)
    )
    ids = list(session.scalars(candidates))
    extractions = session.scalars(with_fields(select(ExtractionRow).where(ExtractionRow.id.in_(ids))))
    queues = [document_queue(e, threshold, schema) for e in extractions]
    return sorted((q for q in queues if q.remaining), key=lambda q: (q.doubt, q.document.id))


def queue_size(session: Session, threshold: float) -> tuple[int, int]:
    """(documents, fields) that may wait for review in the whole store; a document whose agency or year
    waits counts as a document."""
    fields = select(FieldRow.extraction_id.label("extraction_id")).where(*_waiting(threshold))
    field_count = session.scalar(select(func.count()).select_from(fields.subquery()))
    waiting = union(fields, select(ExtractionRow.id).where(*_meta_waiting())).subquery()
    documents = session.scalar(select(func.count()).select_from(waiting))
    return int(documents), int(field_count)
