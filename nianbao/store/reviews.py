"""Review decisions kept consistent: a document's writers serialized, decisions carried over to a new
extraction, a decision turned into a correction label.

Why a lock per document: a decision's old value must be the value in use when it was made, and a review
must not land on an extraction that another writer just replaced; so each writer of a document's reviews
and extractions holds the document until its transaction ends, and the audit trail stays a chain.
"""

from __future__ import annotations

from sqlalchemy import bindparam, func, select, text
from sqlalchemy.orm import Session, selectinload

from nianbao.store.tables import (
    REVIEW_CONFLICT,
    CheckFlagRow,
    DocumentRow,
    ExtractionRow,
    FieldRow,
    MetaReviewRow,
    MetaValue,
    ReviewRow,
    Value,
    standing,
)

FIRST_YEAR, LAST_YEAR = 1990, 2100  # a reviewed report year must lie within


class StaleField(LookupError):
    """A review of a field of an extraction that is no longer its document's newest: the page that asked
    was loaded before the document was extracted again."""


class UndoRefused(ValueError):
    """An undo of a decision that is not the field's only decision in force by that reviewer: someone
    decided after it, or the field was decided before it (an undo would void their decision too)."""


def locked_fields(session: Session, field_ids: list[int]) -> list[FieldRow]:
    """The fields (each once, in the order given) with their document locked for the transaction: KeyError
    for one that does not exist, ValueError for fields of several documents, StaleField for one of an
    extraction its document no longer uses."""
    field_ids = list(dict.fromkeys(field_ids))
    query = (
        select(FieldRow.id, ExtractionRow.document_id)
        .join(ExtractionRow, FieldRow.extraction_id == ExtractionRow.id)
        .where(FieldRow.id.in_(field_ids))
    )
    document_of = dict(session.execute(query).all())
    if not field_ids:
        raise ValueError("a decision is about at least one field")
    missing = [i for i in field_ids if i not in document_of]
    if missing:
        raise KeyError(missing[0])
    if len(set(document_of.values())) > 1:
        raise ValueError("one decision is about fields of one document")
    document_id = document_of[field_ids[0]]
    lock_document(session, document_id)
    newest = session.scalar(
        select(func.max(ExtractionRow.id)).where(ExtractionRow.document_id == document_id)
    )
    rows = [session.get(FieldRow, i, options=[selectinload(FieldRow.reviews)]) for i in field_ids]
    stale = next((row.id for row in rows if row.extraction_id != newest), None)
    if stale is not None:
        raise StaleField(stale)
    return rows


def lock_document(session: Session, document_id: int) -> None:
    """Hold off the other writers of a document's reviews and extractions until the transaction ends, so
    what it reads next is what its write follows (``lock_documents``)."""
    lock_documents(session, [document_id])


def lock_documents(session: Session, document_ids: list[int], commit_unflushed: bool = False) -> None:
    """``lock_document`` for several documents at once: PostgreSQL locks their rows in id order (two
    writers never wait for each other crosswise); SQLite, without row locks, takes the database's write
    lock now (BEGIN IMMEDIATE; nothing may have been written before). ``commit_unflushed``: on PostgreSQL
    the transaction's commit will not wait for the disk (``synchronous_commit`` off for it alone), said in
    the same round trip as the lock."""
    if session.get_bind().dialect.name == "sqlite":
        session.execute(text("BEGIN IMMEDIATE"))
        return
    locking = LOCK_UNFLUSHED if commit_unflushed else LOCK
    session.connection().execute(locking, {"documents": document_ids})


# built once: a batch locks the documents of every group it stores
LOCK = (
    select(DocumentRow.id)
    .where(DocumentRow.id.in_(bindparam("documents", expanding=True)))
    .order_by(DocumentRow.id)
    .with_for_update()
)
LOCK_UNFLUSHED = LOCK.add_columns(func.set_config("synchronous_commit", "off", True))


# built once: a batch asks it for every group it stores
REVIEWED = (
    select(ExtractionRow.document_id)
    .join(FieldRow, FieldRow.extraction_id == ExtractionRow.id)
    .join(ReviewRow, ReviewRow.field_id == FieldRow.id)
    .where(ExtractionRow.document_id.in_(bindparam("documents", expanding=True)))
    .distinct()
)


def reviewed_documents(session: Session, document_ids: list[int]) -> set[int]:
    """Those of the documents someone reviewed a field of (in any extraction): the only ones a new
    extraction carries decisions over to."""
    if not document_ids:
        return set()
    return set(session.connection().execute(REVIEWED, {"documents": document_ids}).scalars())


def carry_reviews(session: Session, extraction_id: int, document_id: int) -> None:
    """The newest decision about each field of the document, carried over to the fields of its new
    extraction: kept when the new extraction reads what the person saw or the value they set, else the
    field waits for review again with a ``review_conflict`` flag naming both."""
    earlier = (
        select(ReviewRow, FieldRow.key)
        .join(FieldRow, ReviewRow.field_id == FieldRow.id)
        .join(ExtractionRow, FieldRow.extraction_id == ExtractionRow.id)
        .where(
            ExtractionRow.document_id == document_id,
            ExtractionRow.id != extraction_id,
            standing(ReviewRow),
        )
        .order_by(ReviewRow.id)
    )
    newest = {key: review.carried_from or review.id for review, key in session.execute(earlier)}
    if not newest:
        return
    own = select(ReviewRow).options(selectinload(ReviewRow.field)).where(ReviewRow.id.in_(newest.values()))
    decisions = {review.id: review for review in session.scalars(own)}
    fields = select(FieldRow).where(FieldRow.extraction_id == extraction_id, FieldRow.key.in_(newest))
    for row in session.scalars(fields.order_by(FieldRow.id)):
        decision = decisions[newest[row.key]]
        seen = decision.field.value  # what the extraction the person reviewed read
        if row.value in (seen, decision.new_value):
            session.add(
                ReviewRow(
                    field=row,
                    action=decision.action,
                    old_value=row.value,
                    new_value=decision.new_value,
                    reviewer=decision.reviewer,
                    created_at=decision.created_at,
                    carried_from=decision.id,
                )
            )
        else:
            detail = (
                f"reviewed as {_shown(decision.new_value)} by {decision.reviewer} when read as "
                f"{_shown(seen)}; this extraction reads {_shown(row.value)}"
            )
            session.add(
                CheckFlagRow(field=row, other_field_id=decision.field_id, kind=REVIEW_CONFLICT, detail=detail)
            )


def _shown(value: Value) -> str:
    return "not stated" if value is None else str(value)


def review_label(review: ReviewRow | MetaReviewRow, field: str, path: str, sha256: str) -> dict:
    return {
        "document": path,
        "sha256": sha256,
        "field": field,
        "value": review.new_value,
        "action": review.action,
        "reviewer": review.reviewer,
        "time": review.created_at.isoformat(),
        "_at": review.created_at,
    }


def checked_meta_value(key: str, value: MetaValue) -> MetaValue:
    """A corrected agency (a non-blank name, kept as written but trimmed) or year (an integer in range)."""
    if key == "agency":
        if not isinstance(value, str) or not value.strip():
            raise ValueError("an agency is a non-blank name")
        return value.strip()
    if isinstance(value, bool) or not isinstance(value, int) or not FIRST_YEAR <= value <= LAST_YEAR:
        raise ValueError(f"a year is an integer from {FIRST_YEAR} to {LAST_YEAR}")
    return value


__all__ = ["FIRST_YEAR", "LAST_YEAR", "StaleField", "UndoRefused"]
