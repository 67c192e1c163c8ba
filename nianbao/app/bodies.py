"""Bodies more than one router answers with: a field (``FieldOut``) and a document's agency and year
(``MetaOut``), with their reviews, and the functions that make them from the store's rows."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, Field, StrictFloat, StrictInt

from nianbao.app.evidence import has_box
from nianbao.app.queue import field_name, reasons_of
from nianbao.export import field_status
from nianbao.schema import Schema
from nianbao.store import ExtractionRow, FieldRow, MetaReviewRow, ReviewRow

Number = StrictInt | StrictFloat


class Provenance(BaseModel):
    source_text: str | None
    label: str | None
    location: str | None
    page: int | None
    box: list[float] | None = Field(description="x0, top, x1, bottom in PDF points from the page's top")


class ReviewOut(BaseModel):
    action: str
    old_value: Number | None
    new_value: Number | None
    reviewer: str
    time: str
    carried_from: int | None = Field(
        None, description="the person's decision this one carries over from an earlier extraction"
    )


class MetaReviewOut(BaseModel):
    key: Literal["agency", "year"]
    action: str
    old_value: str | int | None
    new_value: str | int | None
    reviewer: str
    time: str


class MetaOut(BaseModel):
    document: int
    agency: str | None = Field(description="in use: the newest meta review's, else the extracted one")
    year: int | None = Field(description="the report's year in use")
    format: str | None
    extracted: dict[str, str | int | None] = Field(description="agency and year as the extractor read them")
    status: dict[str, Literal["reviewed", "auto", "pending"]] = Field(
        description="per key: reviewed (a person set it), pending (a doubt flag names it), auto"
    )
    doubts: list[dict] = Field(description="meta_uncertain / meta_disagrees flags still waiting")
    flags: list[dict] = Field(description="every meta doubt flag of the extraction")
    reviews: list[MetaReviewOut]


class FieldOut(BaseModel):
    id: int
    key: str
    name_zh: dict[str, str]
    value: Number | None = Field(description="the value in use: the newest review's, else the extracted one")
    extracted: Number | None
    confidence: float
    status: Literal["reviewed", "auto", "pending"]
    reasons: list[dict[str, str]]
    flags: list[dict] = Field(
        description="the extraction's flags of this field, then the checks' (cross_year_mismatch)"
    )
    provenance: Provenance
    reviews: list[ReviewOut] = Field(description="every review of the field, oldest first: undos included")


def _decision(review: ReviewRow | MetaReviewRow) -> dict:
    """What every review says, of a field or of a document's agency and year: the action, the value
    before and after it, and who took it."""
    return {
        "action": review.action,
        "old_value": review.old_value,
        "new_value": review.new_value,
        "reviewer": review.reviewer,
    }


def review_out(review: ReviewRow) -> ReviewOut:
    return ReviewOut(
        **_decision(review), time=review.created_at.isoformat(), carried_from=review.carried_from
    )


def meta_review_out(review: MetaReviewRow) -> MetaReviewOut:
    return MetaReviewOut(key=review.key, **_decision(review), time=utc(review.created_at).isoformat())


def meta_out(extraction: ExtractionRow) -> MetaOut:
    keys = ("agency", "year")
    return MetaOut(
        document=extraction.document_id,
        agency=extraction.meta("agency"),
        year=extraction.meta("year"),
        format=extraction.format,
        extracted={"agency": extraction.agency, "year": extraction.year},
        status={key: extraction.meta_status(key) for key in keys},
        doubts=extraction.open_meta_doubts(),
        flags=extraction.meta_doubts or [],
        reviews=[meta_review_out(r) for r in extraction.document.meta_reviews],
    )


def field_out(row: FieldRow, threshold: float, schema: Schema, broken: list[dict]) -> FieldOut:
    name = field_name(schema, row.key)
    return FieldOut(
        id=row.id,
        key=row.key,
        name_zh={"section": name.section, "row": name.row, "column": name.column},
        value=row.current,
        extracted=row.value,
        confidence=row.confidence,
        status=field_status(row, threshold),
        reasons=[{"kind": r.kind, "detail": r.detail} for r in reasons_of(row, threshold, broken)],
        flags=row.all_flags,
        provenance=Provenance(
            source_text=row.source_text,
            label=row.label,
            location=row.location,
            page=row.page,
            box=[row.x0, row.top, row.x1, row.bottom] if has_box(row) else None,
        ),
        reviews=[review_out(r) for r in row.trail],
    )


def utc(time: datetime | None) -> datetime | None:
    """SQLite hands back the stored UTC times without their zone."""
    return time if time is None or time.tzinfo else time.replace(tzinfo=UTC)
