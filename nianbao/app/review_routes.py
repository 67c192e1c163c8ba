"""Routes of one decision at a time: the queue as JSON, a decision about one field, about a document's
agency or year, and the identities a trial of values would break (asked as the reviewer types).

Why these together: each answers with the field or the document's agency and year as they stand after the
decision, what of the document still waits, and the cross-year check where a decision touches it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal, Self

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field, StrictInt, StrictStr, model_validator

from nianbao.app.auth import WRITE, Id
from nianbao.app.bodies import (
    FieldOut,
    MetaOut,
    MetaReviewOut,
    Number,
    ReviewOut,
    field_out,
    meta_out,
    meta_review_out,
    review_out,
)
from nianbao.app.deps import SchemaDep, SettingsDep, StoreDep, field_or_404, queue_of_document
from nianbao.app.queue import broken_identities, current_values, newest_extraction, queue_size, review_queue
from nianbao.errors import ErrorCode
from nianbao.store import StaleField, Store
from nianbao.store.crossyear import KEYS as CROSS_YEAR_KEYS
from nianbao.store.crossyear import CheckSummary, check_cross_year

router = APIRouter(tags=["review"])
REVIEW_ERRORS = {  # of a field's review, for the API docs
    409: {
        "description": ErrorCode.E_STALE.message("the document was extracted again; review its newest fields")
    },
    422: {"description": ErrorCode.E_VALUE.message(ErrorCode.E_VALUE.cause)},
}


class _ValueWithCorrect(BaseModel):
    """A decision's value is given with 'correct' and only then."""

    @model_validator(mode="after")
    def _value_fits_action(self) -> Self:
        if (self.action == "correct") != (self.value is not None):
            raise ValueError("a value is given with 'correct' and only then ('not_stated' sets null)")
        return self


class ReviewIn(_ValueWithCorrect):
    action: Literal["accept", "correct", "not_stated"]
    value: Number | None = Field(None, description="the corrected value; only with action 'correct'")
    reviewer: str = Field(min_length=1, max_length=128)


class MetaReviewIn(_ValueWithCorrect):
    action: Literal["accept", "correct", "not_stated"]
    value: StrictStr | StrictInt | None = Field(
        None,
        description="with 'correct' only: the agency's name (a string) or the report's year (an integer); "
        "'not_stated' sets null (unknown)",
    )
    reviewer: str = Field(min_length=1, max_length=128)


class CheckIn(BaseModel):
    values: dict[str, Number | None] = Field(
        default_factory=dict, description="field key → value to try instead of the value in use"
    )


class Broken(BaseModel):
    identity: str
    fields: list[str]
    detail: str


class CheckOut(BaseModel):
    broken: list[Broken]


class CrossYearOut(BaseModel):
    """The cross-year check re-run over the agencies a review touched."""

    pairs: int = Field(description="consecutive years of one agency compared")
    breaks: int = Field(description="columns where 结转下年度 and the next year's 上年结转 disagree")
    flagged: int
    ambiguous: int = Field(description="pairs skipped: one of their years has several documents")


class ReviewResult(BaseModel):
    review: ReviewOut
    field: FieldOut
    remaining: int = Field(
        description="what of the document still waits for review: its fields, and its agency/year as one"
    )
    broken: list[Broken]
    cross_year: CrossYearOut | None = Field(
        None, description="the cross-year check, re-run when a carried count (上年结转/结转下年度) is decided"
    )


class MetaReviewResult(BaseModel):
    review: MetaReviewOut
    meta: MetaOut
    remaining: int = Field(
        description="what of the document still waits for review: its fields, and its agency/year as one"
    )
    cross_year: CrossYearOut


def _cross_year_out(summary: CheckSummary) -> CrossYearOut:
    return CrossYearOut(
        pairs=summary.pairs, breaks=summary.breaks, flagged=summary.flagged, ambiguous=summary.skipped
    )


def _broken(flag: dict) -> Broken:
    return Broken(identity=flag["identity"], fields=flag["fields"], detail=flag["detail"])


def _agency_in_use(store: Store, document_id: int) -> str | None:
    with store.sessions() as session:
        extraction = newest_extraction(session, document_id)
        return extraction.meta("agency") if extraction else None


@router.get("/queue")
def queue_json(store: StoreDep, settings: SettingsDep, schema: SchemaDep) -> dict:
    """The documents with fields waiting for review, most doubtful first, each with its fields."""
    with store.sessions() as session:
        queues = review_queue(session, settings.threshold, schema, settings.queue_documents)
        documents, fields = queue_size(session, settings.threshold)
        return {
            "documents_waiting": documents,
            "fields_waiting": fields,
            "documents": [
                {
                    "id": q.document.id,
                    "name": Path(q.document.path).name,
                    "meta": meta_out(q.extraction).model_dump(),
                    "broken": q.broken,
                    "fields": [
                        field_out(i.row, settings.threshold, schema, q.broken).model_dump() for i in q.items
                    ],
                }
                for q in queues
            ],
        }


@router.post("/fields/{field_id}/review", dependencies=WRITE, responses=REVIEW_ERRORS)
def review(
    field_id: Id, decision: ReviewIn, store: StoreDep, settings: SettingsDep, schema: SchemaDep
) -> ReviewResult:
    """Record a decision about one field (appended to the audit trail; nothing is overwritten; decisions
    about one document are taken one at a time). A count is a whole number, an amount a finite decimal
    of at most 4 places, and only a 增/减 column goes below zero. A decision about a carried count
    (上年结转, 结转下年度) re-runs the cross-year check of its agency."""
    try:
        made = store.review(field_id, decision.action, decision.reviewer, decision.value)
    except KeyError:
        raise HTTPException(404, f"no field {field_id}") from None
    except StaleField:
        raise HTTPException(
            409, ErrorCode.E_STALE.message(f"field {field_id} is of an extraction no longer in use")
        ) from None
    except ValueError as exc:
        raise HTTPException(422, ErrorCode.E_VALUE.message(str(exc))) from None
    cross_year = None
    with store.sessions() as session:
        row = field_or_404(session, field_id)
        key, document_id = row.key, row.extraction.document_id
    if key in CROSS_YEAR_KEYS:
        cross_year = _cross_year_out(check_cross_year(store, [_agency_in_use(store, document_id)]))
    with store.sessions() as session:
        row = field_or_404(session, field_id)
        queue = queue_of_document(session, document_id, settings, schema)
        broken = queue.broken if queue else []
        return ReviewResult(
            review=review_out(made),
            field=field_out(row, settings.threshold, schema, broken),
            remaining=queue.remaining if queue else 0,
            broken=[_broken(b) for b in broken],
            cross_year=cross_year,
        )


@router.get("/documents/{document_id}/meta")
def document_meta(document_id: Id, store: StoreDep) -> MetaOut:
    """The document's agency and year in use, as extracted, their status, doubts and reviews."""
    with store.sessions() as session:
        extraction = newest_extraction(session, document_id)
        if extraction is None:
            raise HTTPException(404, f"document {document_id} has no extraction")
        return meta_out(extraction)


@router.post("/documents/{document_id}/meta/{key}/review", dependencies=WRITE)
def review_meta(
    document_id: Id,
    key: Literal["agency", "year"],
    decision: MetaReviewIn,
    store: StoreDep,
    settings: SettingsDep,
    schema: SchemaDep,
) -> MetaReviewResult:
    """Record a decision about the document's agency (a name) or year (the report's year), appended to
    the audit trail; the export and the cross-year check use it, and the check is re-run over the
    agencies it touches."""
    before = _agency_in_use(store, document_id)
    with store.sessions() as session:
        if newest_extraction(session, document_id) is None:
            raise HTTPException(404, f"document {document_id} has no extraction")
    try:
        made = store.review_meta(document_id, key, decision.action, decision.reviewer, decision.value)
    except KeyError:
        raise HTTPException(404, f"no document {document_id}") from None
    except ValueError as exc:
        raise HTTPException(422, ErrorCode.E_VALUE.message(str(exc))) from None
    summary = check_cross_year(store, [before, _agency_in_use(store, document_id)])
    with store.sessions() as session:
        queue = queue_of_document(session, document_id, settings, schema)
        return MetaReviewResult(
            review=meta_review_out(made),
            meta=meta_out(queue.extraction),
            remaining=queue.remaining,
            cross_year=_cross_year_out(summary),
        )


@router.post("/documents/{document_id}/check")
def check(document_id: Id, trial: CheckIn, store: StoreDep, schema: SchemaDep) -> CheckOut:
    """The identities (勾稽关系) broken by the document's values in use with ``values`` tried in
    their place: the page asks this as the reviewer types. Nothing is written."""
    with store.sessions() as session:
        extraction = newest_extraction(session, document_id)
        if extraction is None or extraction.format not in schema.formats:
            raise HTTPException(404, f"document {document_id} has no extracted fields")
        values = current_values(extraction)
        unknown = sorted(set(trial.values) - set(values))
        if unknown:
            raise HTTPException(422, f"no such fields in this document: {unknown}")
        broken = broken_identities({**values, **trial.values}, extraction.format, schema)
        return CheckOut(broken=[_broken(b) for b in broken])
