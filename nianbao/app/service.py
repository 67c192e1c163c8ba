"""The review web page and the REST service: one FastAPI app over the store.

Security model: reads (the queue, documents, fields, evidence, batch jobs) need nothing, but serve files
only through a document or field id, never through a path the client names; writes (review decisions about
fields and about a document's agency and year, uploads, batch jobs) need the server's token, as
``Authorization: Bearer TOKEN`` or ``X-Nianbao-Token: TOKEN``. An app made without a token refuses every
write. Every request must name one of the allowed hosts in its ``Host`` header (the bound one and the
loopback names by default), so a web page of another site cannot read a loopback server by pointing its own
name at 127.0.0.1 (DNS rebinding). Uploads are limited in size before their body is read and extracted in
a worker process under the batch's time and memory limits (``app/uploads.py``). A batch job reads only
inside the archive root the server was given (``app/batches.py``).
"""

from __future__ import annotations

import logging
import os
import re
import secrets
import sys
import tempfile
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Annotated, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr, model_validator
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import selectinload
from starlette.middleware.trustedhost import TrustedHostMiddleware

from nianbao import __version__
from nianbao.app.auth import Id, require_token
from nianbao.app.batches import BatchJobs, BatchRefused, JobStatus
from nianbao.app.evidence import EvidenceMissing, SourceRow, crop_png, has_box, is_paged, source_rows
from nianbao.app.groups import identity_groups
from nianbao.app.queue import (
    DocumentQueue,
    broken_identities,
    current_values,
    document_queue,
    field_name,
    newest_extraction,
    queue_size,
    reasons_of,
    review_queue,
    row_of,
)
from nianbao.app.review_routes import review_router
from nianbao.app.settings import AppSettings, host_name
from nianbao.app.uploads import extract_upload
from nianbao.batch import extraction_key, extraction_state
from nianbao.export import field_status
from nianbao.extraction.pipeline import Extractor
from nianbao.schema import Schema, load_schema
from nianbao.store import (
    DocumentRow,
    ExtractionRow,
    FieldRow,
    MetaReviewRow,
    StaleField,
    Store,
    content_hash,
    database_cause,
)
from nianbao.store.crossyear import KEYS as CROSS_YEAR_KEYS
from nianbao.store.crossyear import CheckSummary, check_cross_year

log = logging.getLogger("nianbao.app")
HERE = resources.files("nianbao.app")
TOKEN_ENV = "NIANBAO_TOKEN"
UPLOAD_PATH = "/documents"
MULTIPART_SLACK = 64 * 1024  # form boundaries and part headers around an upload's bytes
SAFE_SUFFIX = re.compile(r"^\.[a-z0-9]{1,8}$")
Number = StrictInt | StrictFloat
REFUSED_STATUS = {"E_NO_ARCHIVE_ROOT": 403, "E_OUTSIDE_ARCHIVE": 403}  # other refusals: 422


# ---------------------------------------------------------------- request and response bodies
class ReviewIn(BaseModel):
    action: Literal["accept", "correct", "not_stated"]
    value: Number | None = Field(None, description="the corrected value; only with action 'correct'")
    reviewer: str = Field(min_length=1, max_length=128)

    @model_validator(mode="after")
    def _value_fits_action(self) -> ReviewIn:
        if (self.action == "correct") != (self.value is not None):
            raise ValueError("a value is given with 'correct' and only then ('not_stated' sets null)")
        return self


class MetaReviewIn(BaseModel):
    action: Literal["accept", "correct", "not_stated"]
    value: StrictStr | StrictInt | None = Field(
        None,
        description="with 'correct' only: the agency's name (a string) or the report's year (an integer); "
        "'not_stated' sets null (unknown)",
    )
    reviewer: str = Field(min_length=1, max_length=128)

    @model_validator(mode="after")
    def _value_fits_action(self) -> MetaReviewIn:
        if (self.action == "correct") != (self.value is not None):
            raise ValueError("a value is given with 'correct' and only then ('not_stated' sets null)")
        return self


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


class CrossYearOut(BaseModel):
    """The cross-year check re-run over the agencies a review touched."""

    pairs: int = Field(description="consecutive years of one agency compared")
    breaks: int = Field(description="columns where 结转下年度 and the next year's 上年结转 disagree")
    flagged: int
    ambiguous: int = Field(description="pairs skipped: one of their years has several documents")


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


class DocumentOut(BaseModel):
    id: int
    sha256: str
    name: str = Field(description="the file's name, without the server's directories")
    size: int
    state: str | None = Field(description="done, partial or failed; null before any extraction")
    error: str | None
    pipeline_version: str | None
    model_version: str | None
    pending: int = Field(description="fields waiting for review")
    record: dict | None = Field(
        description="the record, with reviewed values (and agency, year) in place of extracted ones"
    )


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


class UploadOut(BaseModel):
    id: int
    sha256: str
    state: str
    error: str | None


class BatchOptions(BaseModel):
    """How a batch job runs: the options of ``nianbao batch`` a client may choose."""

    model_config = ConfigDict(extra="forbid")
    workers: int = Field(1, ge=1, description="worker processes, at most the server's limit")
    reextract: bool = Field(False, description="redo documents only an older pipeline or model extracted")
    retry_failed: bool = Field(False, description="try files that failed before again")


class BatchIn(BatchOptions):
    paths: list[str] = Field(
        min_length=1,
        max_length=1000,
        description="files or directories of the server's archive root: relative to it, or absolute "
        "inside it (symlinks followed)",
    )


class FileCounts(BaseModel):
    pending: int = Field(description="seen, not yet extracted")
    done: int
    partial: int = Field(description="extracted, but a whole section came out empty")
    failed: int


class BatchOut(BaseModel):
    id: int
    state: Literal["queued", "running", "done", "failed"] = Field(
        description="done: the batch ran to its end (some files may have failed: see counts); "
        "failed: the batch itself did not (see error)"
    )
    paths: list[str] = Field(description="relative to the archive root")
    options: BatchOptions
    counts: FileCounts = Field(description="the job's files by state: live while it runs, then as it ended")
    summary: str | None = Field(description="the batch's summary line, as ``nianbao batch`` prints it")
    error: str | None = Field(description="'CODE: cause' when the job failed (E_INTERRUPTED, E_INTERNAL)")
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


# ---------------------------------------------------------------- serialisation
def _review_out(review) -> ReviewOut:
    return ReviewOut(
        action=review.action,
        old_value=review.old_value,
        new_value=review.new_value,
        reviewer=review.reviewer,
        time=review.created_at.isoformat(),
        carried_from=review.carried_from,
    )


def _meta_review_out(review: MetaReviewRow) -> MetaReviewOut:
    return MetaReviewOut(
        key=review.key,
        action=review.action,
        old_value=review.old_value,
        new_value=review.new_value,
        reviewer=review.reviewer,
        time=_utc(review.created_at).isoformat(),
    )


def _meta_out(extraction: ExtractionRow) -> MetaOut:
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
        reviews=[_meta_review_out(r) for r in extraction.document.meta_reviews],
    )


def _cross_year_out(summary: CheckSummary) -> CrossYearOut:
    return CrossYearOut(
        pairs=summary.pairs, breaks=summary.breaks, flagged=summary.flagged, ambiguous=summary.skipped
    )


def _field_out(row: FieldRow, threshold: float, schema: Schema, broken: list[dict]) -> FieldOut:
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
        reviews=[_review_out(r) for r in row.trail],
    )


def _utc(time: datetime | None) -> datetime | None:
    """SQLite hands back the stored UTC times without their zone."""
    return time if time is None or time.tzinfo else time.replace(tzinfo=UTC)


def _batch_out(status: JobStatus, jobs: BatchJobs) -> BatchOut:
    row = status.row
    return BatchOut(
        id=row.id,
        state=row.state,
        paths=[jobs.shown_path(p) for p in row.paths],
        options=BatchOptions(**row.options),
        counts=FileCounts(**status.counts),
        summary=row.summary,
        error=row.error,
        created_at=_utc(row.created_at),
        started_at=_utc(row.started_at),
        finished_at=_utc(row.finished_at),
    )


# ---------------------------------------------------------------- the upload limit
class UploadLimit:
    """ASGI middleware: an upload larger than the limit is refused with 413 before its body is parsed
    (by its Content-Length), or as soon as a body sent without one grows past the limit."""

    def __init__(self, app, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http" or scope["method"] != "POST" or scope["path"] != UPLOAD_PATH:
            await self.app(scope, receive, send)
            return
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.limit:
            await _too_large(self.limit)(scope, receive, send)
            return
        seen = 0

        async def counted():
            nonlocal seen
            message = await receive()
            seen += len(message.get("body", b""))
            if seen > self.limit:  # raised inside the app: FastAPI answers it like any HTTPException
                raise HTTPException(413, f"the upload is over the {self.limit}-byte limit")
            return message

        await self.app(scope, counted, send)


def _too_large(limit: int) -> Response:
    return JSONResponse({"detail": f"the upload is over the {limit}-byte limit"}, status_code=413)


# ---------------------------------------------------------------- the app
def create_app(store: Store, token: str | None, settings: AppSettings | None = None) -> FastAPI:
    """The review page and REST service over ``store``. ``token``: the secret every write must carry
    (None refuses all writes). At start, batch jobs a stopped server left unfinished are failed."""
    settings = settings or AppSettings()
    schema = load_schema()
    jobs = BatchJobs(store, settings.archive_root, settings.max_batch_workers)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        jobs.recover()
        yield

    # /docs loads Swagger UI from the copy fastapi-offline ships (served under /static-offline-docs), not
    # from a CDN: the docs must work on a machine without internet. No /redoc: ReDoc's bundle always
    # fetches its logo from its vendor's CDN.
    app = FastAPIOffline(
        redoc_url=None,
        title="nianbao",
        version=__version__,
        description="Review queue and REST access to extracted 政府信息公开工作年度报告 tables.",
        lifespan=lifespan,
    )
    app.state.token = token
    app.add_middleware(UploadLimit, limit=settings.max_upload_bytes + MULTIPART_SLACK)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))  # outermost
    app.add_exception_handler(OperationalError, _database_failed)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    key_lock = threading.Lock()
    upload_key: list[tuple[str, str]] = []

    def the_upload_key() -> tuple[str, str]:
        """(pipeline, model version) uploads are stored under: the model's, loaded once for its card."""
        with key_lock:
            if not upload_key:
                upload_key.append(extraction_key(Extractor.load(settings.model).model_card))
            return upload_key[0]

    def field_or_404(session, field_id: int) -> FieldRow:
        row = session.get(
            FieldRow, field_id, options=[selectinload(FieldRow.reviews), selectinload(FieldRow.trail)]
        )
        if row is None:
            raise HTTPException(404, f"no field {field_id}")
        return row

    def queue_of_document(session, document_id: int) -> DocumentQueue | None:
        extraction = newest_extraction(session, document_id)
        return document_queue(extraction, settings.threshold, schema) if extraction else None

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def queue_page(request: Request):
        with store.sessions() as session:
            queues = review_queue(session, settings.threshold, schema, settings.queue_documents)
            documents, fields = queue_size(session, settings.threshold)
            evidence = {
                item.row.id: _evidence(q.document, item.row, settings) for q in queues for item in q.items
            }
            return templates.TemplateResponse(
                request,
                "queue.html",
                {
                    "queues": queues,
                    "layout": {q.document.id: identity_groups(q, schema) for q in queues},
                    "evidence": evidence,
                    "documents": documents,
                    "fields": fields,
                    "threshold": settings.threshold,
                    "name_of": lambda key: field_name(schema, key),
                    "row_of": row_of,
                    "file_name": lambda path: Path(path).name,
                },
            )

    @app.get("/queue", tags=["review"])
    def queue_json() -> dict:
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
                        "meta": _meta_out(q.extraction).model_dump(),
                        "broken": q.broken,
                        "fields": [
                            _field_out(i.row, settings.threshold, schema, q.broken).model_dump()
                            for i in q.items
                        ],
                    }
                    for q in queues
                ],
            }

    def agency_in_use(document_id: int) -> str | None:
        with store.sessions() as session:
            extraction = newest_extraction(session, document_id)
            return extraction.meta("agency") if extraction else None

    @app.post(
        "/fields/{field_id}/review",
        tags=["review"],
        dependencies=[Depends(require_token)],
        responses={
            409: {"description": "E_STALE: the document was extracted again; review its newest fields"},
            422: {"description": "E_VALUE: a value the field cannot hold, or a malformed body"},
        },
    )
    def review(field_id: Id, decision: ReviewIn) -> ReviewResult:
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
                409, f"E_STALE: field {field_id} is of an extraction no longer in use"
            ) from None
        except ValueError as exc:
            raise HTTPException(422, f"E_VALUE: {exc}") from None
        cross_year = None
        with store.sessions() as session:
            row = field_or_404(session, field_id)
            key, document_id = row.key, row.extraction.document_id
        if key in CROSS_YEAR_KEYS:
            cross_year = _cross_year_out(check_cross_year(store, [agency_in_use(document_id)]))
        with store.sessions() as session:
            row = field_or_404(session, field_id)
            queue = queue_of_document(session, document_id)
            broken = queue.broken if queue else []
            return ReviewResult(
                review=_review_out(made),
                field=_field_out(row, settings.threshold, schema, broken),
                remaining=queue.remaining if queue else 0,
                broken=[Broken(**_broken_fields(b)) for b in broken],
                cross_year=cross_year,
            )

    @app.get("/documents/{document_id}/meta", tags=["review"])
    def document_meta(document_id: Id) -> MetaOut:
        """The document's agency and year in use, as extracted, their status, doubts and reviews."""
        with store.sessions() as session:
            extraction = newest_extraction(session, document_id)
            if extraction is None:
                raise HTTPException(404, f"document {document_id} has no extraction")
            return _meta_out(extraction)

    @app.post(
        "/documents/{document_id}/meta/{key}/review",
        tags=["review"],
        dependencies=[Depends(require_token)],
    )
    def review_meta(
        document_id: Id, key: Literal["agency", "year"], decision: MetaReviewIn
    ) -> MetaReviewResult:
        """Record a decision about the document's agency (a name) or year (the report's year), appended to
        the audit trail; the export and the cross-year check use it, and the check is re-run over the
        agencies it touches."""
        before = agency_in_use(document_id)
        with store.sessions() as session:
            if newest_extraction(session, document_id) is None:
                raise HTTPException(404, f"document {document_id} has no extraction")
        try:
            made = store.review_meta(document_id, key, decision.action, decision.reviewer, decision.value)
        except KeyError:
            raise HTTPException(404, f"no document {document_id}") from None
        except ValueError as exc:
            raise HTTPException(422, f"E_VALUE: {exc}") from None
        summary = check_cross_year(store, [before, agency_in_use(document_id)])
        with store.sessions() as session:
            queue = queue_of_document(session, document_id)
            return MetaReviewResult(
                review=_meta_review_out(made),
                meta=_meta_out(queue.extraction),
                remaining=queue.remaining,
                cross_year=_cross_year_out(summary),
            )

    @app.post("/documents/{document_id}/check", tags=["review"])
    def check(document_id: Id, trial: CheckIn) -> CheckOut:
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
            return CheckOut(broken=[Broken(**_broken_fields(b)) for b in broken])

    @app.get("/fields/{field_id}/crop.png", tags=["evidence"], response_class=Response)
    def crop(field_id: Id) -> Response:
        """The page band around the field's cell with the cell outlined (PDFs and page images)."""
        with store.sessions() as session:
            row = field_or_404(session, field_id)
            path = Path(row.extraction.document.path)
        if not is_paged(path):
            raise HTTPException(404, "the field's document has no pages to show")
        try:
            png = crop_png(path, row, settings.crop_dpi, settings.crop_margin_pt)
        except EvidenceMissing as exc:
            raise HTTPException(404, str(exc)) from None
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    @app.get("/fields/{field_id}/source", tags=["evidence"])
    def source(field_id: Id) -> list[dict]:
        """The source rows around a text form's field, the field's row marked."""
        with store.sessions() as session:
            row = field_or_404(session, field_id)
            path = Path(row.extraction.document.path)
        return [r.__dict__ for r in source_rows(path, row, settings.context_rows)]

    @app.post(
        UPLOAD_PATH,
        tags=["documents"],
        status_code=201,
        dependencies=[Depends(require_token)],
        responses={413: {"description": "the file is over the size limit"}},
    )
    def upload(file: UploadFile) -> UploadOut:
        """Store a file under the data directory by its content hash and extract it (once per content,
        pipeline and model version) in a worker process under the batch's limits: one that takes longer
        than its time limit fails with E_TIMEOUT (sending it again tries again)."""
        data = file.file.read(settings.max_upload_bytes + 1)
        if len(data) > settings.max_upload_bytes:
            raise HTTPException(413, f"the file is over the {settings.max_upload_bytes}-byte limit")
        if not data:
            raise HTTPException(400, "the file is empty")
        digest = content_hash(data)
        suffix = Path(file.filename or "").suffix.lower()
        target = _store_upload(settings.upload_dir, digest, suffix if SAFE_SUFFIX.match(suffix) else "", data)
        document = store.add_document(digest, str(target), len(data), target.suffix.lstrip(".") or None)
        versions = the_upload_key()
        done = {(p, m): s for p, m, s in store.extractions_of(document)}
        if done.get(versions) in (None, "failed"):
            outcome = extract_upload(
                target, settings.model, settings.upload_timeout_s, settings.upload_memory_limit_gib
            )
            state = extraction_state(outcome.record, schema.section_of)
            store.save_extraction(document, outcome.record, outcome.evidence, *versions, state)
        with store.sessions() as session:
            extraction = newest_extraction(session, document)
            return UploadOut(id=document, sha256=digest, state=extraction.state, error=extraction.error)

    @app.get("/documents/{document_id}", tags=["documents"])
    def document(document_id: Id) -> DocumentOut:
        """A document's state and record (reviewed values in place of extracted ones)."""
        with store.sessions() as session:
            row = session.get(DocumentRow, document_id)
            if row is None:
                raise HTTPException(404, f"no document {document_id}")
            queue = queue_of_document(session, document_id)
            extraction = queue.extraction if queue else None
            record = None
            if extraction is not None:
                record = {**extraction.record, "fields": {**extraction.record["fields"]}}
                record["document"] = Path(row.path).name
                record["fields"].update(current_values(extraction))
                record["meta"] = {
                    **record["meta"],
                    "agency": extraction.meta("agency"),
                    "year": extraction.meta("year"),
                }
            return DocumentOut(
                id=row.id,
                sha256=row.sha256,
                name=Path(row.path).name,
                size=row.size,
                state=extraction.state if extraction else None,
                error=extraction.error if extraction else None,
                pipeline_version=extraction.pipeline_version if extraction else None,
                model_version=extraction.model_version if extraction else None,
                pending=len(queue.items) if queue else 0,
                record=record,
            )

    @app.get("/documents/{document_id}/fields", tags=["documents"])
    def document_fields(document_id: Id) -> list[FieldOut]:
        """Every field of the document's newest extraction with its confidence, status and provenance."""
        with store.sessions() as session:
            if session.get(DocumentRow, document_id) is None:
                raise HTTPException(404, f"no document {document_id}")
            queue = queue_of_document(session, document_id)
            if queue is None:
                return []
            return [
                _field_out(row, settings.threshold, schema, queue.broken) for row in queue.extraction.fields
            ]

    @app.post(
        "/batches",
        tags=["batches"],
        status_code=202,
        dependencies=[Depends(require_token)],
        responses={
            403: {"description": "E_NO_ARCHIVE_ROOT, E_OUTSIDE_ARCHIVE, or the token is wrong"},
            422: {"description": "E_PATH_MISSING, E_TOO_MANY_WORKERS, or a malformed body"},
        },
    )
    def submit_batch(batch: BatchIn) -> BatchOut:
        """Queue a batch over files or directories of the archive root, run in the background as
        ``nianbao batch`` runs it (stored documents are skipped); poll ``GET /batches/{job_id}``."""
        try:
            job_id = jobs.submit(batch.paths, batch.model_dump(exclude={"paths"}))
        except BatchRefused as refused:
            raise HTTPException(REFUSED_STATUS.get(refused.code, 422), str(refused)) from None
        return _batch_out(jobs.status(job_id), jobs)

    @app.get("/batches", tags=["batches"])
    def batches(limit: Annotated[int, Query(ge=1, le=500)] = 50) -> list[BatchOut]:
        """The newest batch jobs, newest first."""
        return [_batch_out(status, jobs) for status in jobs.recent(limit)]

    @app.get("/batches/{job_id}", tags=["batches"])
    def batch(job_id: Id) -> BatchOut:
        """A batch job's state, its files' counts by state, its summary line and error."""
        status = jobs.status(job_id)
        if status is None:
            raise HTTPException(404, f"E_NO_BATCH: no batch job {job_id}")
        return _batch_out(status, jobs)

    app.include_router(review_router(store, schema, settings))
    return app


def _database_failed(_request: Request, exc: OperationalError) -> JSONResponse:
    """A database the server cannot reach, read or write: 503 with E_DB and the cause, not a traceback."""
    cause = database_cause(exc)
    log.warning("E_DB: %s", cause)
    return JSONResponse({"detail": f"E_DB: {cause}"}, status_code=503)


def _broken_fields(flag: dict) -> dict:
    return {"identity": flag["identity"], "fields": flag["fields"], "detail": flag["detail"]}


def _evidence(document: DocumentRow, row: FieldRow, settings: AppSettings) -> list[SourceRow] | str:
    """The string crop when a page image can be shown, else the source rows ([] when none are found)."""
    path = Path(document.path)
    if has_box(row) and is_paged(path):
        return "crop"
    try:
        return source_rows(path, row, settings.context_rows)
    except Exception as exc:  # a file that no longer reads must not take the queue page down
        log.warning("no source rows for field %s: %s", row.id, exc)
        return []


def _store_upload(root: Path, digest: str, suffix: str, data: bytes) -> Path:
    """``root/ab/abcdef….pdf``: named by content, so a client's file name never becomes a path."""
    folder = (root / digest[:2]).resolve()
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / f"{digest}{suffix}"
    if not target.exists():
        with tempfile.NamedTemporaryFile(dir=folder, delete=False) as handle:
            handle.write(data)
        os.replace(handle.name, target)
    return target


def serve(
    db_url: str,
    token: str | None = None,
    host: str = "127.0.0.1",
    port: int = 8000,
    settings: AppSettings | None = None,
) -> None:
    """Run the review page and REST service. The token is ``token``, else $NIANBAO_TOKEN, else a fresh
    random one printed with a link that hands it to the page. Requests must name ``host`` or one of the
    settings' allowed hosts."""
    import uvicorn

    settings = settings or AppSettings()
    settings = replace(settings, allowed_hosts=(*settings.allowed_hosts, host_name(host)))
    token = token or os.environ.get(TOKEN_ENV)
    shown = ""
    if not token:
        token = secrets.token_urlsafe(18)
        shown = f"#token={token}"
    store = Store.open(db_url)
    print(f"nianbao review page: http://{host_name(host)}:{port}/{shown}", file=sys.stderr)
    try:
        uvicorn.run(create_app(store, token, settings), host=host, port=port)
    finally:
        store.close()
