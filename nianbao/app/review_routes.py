"""Routes of the review flow beyond one field's decision: a broken identity accepted as one decision, the
undo of a decision, the queue's size for the page's counter, and one document's page.

Why a router of its own: these routes share the queue's grouping (``groups.py``) and answer the page with
the same ``DecisionOut`` — the fields decided, what of the document still waits, its groups re-computed —
so the page updates itself without a reload.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from nianbao.app.auth import MAX_ID, Id, require_token
from nianbao.app.evidence import EvidenceMissing, has_box, header_png, header_top, is_paged, page_png
from nianbao.app.groups import group_out, identity_groups
from nianbao.app.queue import DocumentQueue, document_queue, field_name, newest_extraction, queue_size
from nianbao.app.settings import AppSettings
from nianbao.export import field_status
from nianbao.schema import Schema
from nianbao.store import FieldRow, StaleField, Store, UndoRefused
from nianbao.store.crossyear import KEYS as CROSS_YEAR_KEYS
from nianbao.store.crossyear import check_cross_year

HERE = resources.files("nianbao.app")
MAX_DECISION_FIELDS = 1000  # fields one decision may name: more than any template has
MAX_PAGE = 10_000
BROKEN_KEYS = ("identity", "fields", "detail")  # of a broken identity, as the page shows it
STATUS_COLOURS = {"pending": (220, 30, 30), "reviewed": (30, 150, 60)}  # cells outlined on a page image
FieldId = Annotated[int, Field(ge=1, le=MAX_ID)]
Reviewer = Annotated[str, Field(min_length=1, max_length=128)]


class GroupAcceptIn(BaseModel):
    identity: str = Field(
        min_length=1, max_length=128, description="the identity as its flag names it: s3.outcomes:total"
    )
    reviewer: Reviewer


class UndoIn(BaseModel):
    fields: list[FieldId] = Field(
        min_length=1, max_length=MAX_DECISION_FIELDS, description="the fields of the decision to reverse"
    )
    reviewer: Reviewer


class QueueSize(BaseModel):
    documents: int
    fields: int


class MemberOut(BaseModel):
    id: int
    key: str
    label: str = Field(description="row (after its parent rows) · column, as the template prints them")
    value: int | float | None
    flagged: bool = Field(description="the identity's flag names this field")
    pending: bool


class GroupOut(BaseModel):
    identity: str
    kind: str
    formula: str = Field(
        description="the identity in the template's labels: 自然人: （七）总计 ≠ （一）+…+（六）, 差 1"
    )
    holds: bool = Field(description="the identity holds with the values in use now")
    pending: list[int] = Field(description="the waiting fields one accept of the group decides")
    members: list[MemberOut] = Field(description="every cell of the identity, in template order")


class FieldState(BaseModel):
    id: int
    key: str
    value: int | float | None
    status: str


class DecisionOut(BaseModel):
    document: int
    fields: list[FieldState] = Field(description="the fields the decision was about, as they stand now")
    remaining: int = Field(description="what of the document still waits: its fields, and agency/year as one")
    groups: list[GroupOut]
    broken: list[dict] = Field(description="the identities the values in use break: identity, fields, detail")
    waiting: QueueSize = Field(description="what waits in the whole store: the page's counter")


def review_router(store: Store, schema: Schema, settings: AppSettings) -> APIRouter:
    """The routes over ``store``; writes need the app's token, as every write does."""
    router = APIRouter()
    templates = Jinja2Templates(directory=str(HERE / "templates"))

    def queue_of(session: Session, document_id: int) -> DocumentQueue:
        extraction = newest_extraction(session, document_id)
        if extraction is None:
            raise HTTPException(404, f"document {document_id} has no extraction")
        return document_queue(extraction, settings.threshold, schema)

    def size(session: Session) -> QueueSize:
        documents, fields = queue_size(session, settings.threshold)
        return QueueSize(documents=documents, fields=fields)

    def decision_out(document_id: int, field_ids: list[int]) -> DecisionOut:
        with store.sessions() as session:
            queue = queue_of(session, document_id)
            rows = {row.id: row for row in queue.extraction.fields}
            return DecisionOut(
                document=document_id,
                fields=[
                    FieldState(
                        id=i,
                        key=rows[i].key,
                        value=rows[i].current,
                        status=field_status(rows[i], settings.threshold),
                    )
                    for i in field_ids
                    if i in rows
                ],
                remaining=queue.remaining,
                groups=[GroupOut(**group_out(g)) for g in identity_groups(queue, schema)[0]],
                broken=[{k: b[k] for k in BROKEN_KEYS} for b in queue.broken],
                waiting=size(session),
            )

    def carried_counts_of(field_ids: list[int]) -> tuple[int, bool]:
        """The fields' document, and whether a carried count (上年结转, 结转下年度) is among them."""
        with store.sessions() as session:
            rows = session.scalars(select(FieldRow).where(FieldRow.id.in_(field_ids))).all()
            return rows[0].extraction.document_id, any(row.key in CROSS_YEAR_KEYS for row in rows)

    @router.get("/queue/size", tags=["review"])
    def queue_counts() -> QueueSize:
        """Documents and fields waiting for review in the whole store: the page's counter."""
        with store.sessions() as session:
            return size(session)

    @router.get("/documents/{document_id}/groups", tags=["review"])
    def groups(document_id: Id) -> list[GroupOut]:
        """The document's broken identities with fields waiting: each one decision of the queue."""
        with store.sessions() as session:
            return [
                GroupOut(**group_out(g)) for g in identity_groups(queue_of(session, document_id), schema)[0]
            ]

    @router.post(
        "/documents/{document_id}/groups/accept",
        tags=["review"],
        dependencies=[Depends(require_token)],
        responses={
            404: {"description": "E_NO_GROUP: no field of the document waits under that identity"},
            409: {"description": "E_STALE: the document was extracted again"},
        },
    )
    def accept_group(document_id: Id, decision: GroupAcceptIn) -> DecisionOut:
        """Accept the source as printed for every waiting field a broken identity's flag names: one review
        per field, appended in one transaction (all or none). Fields decided meanwhile are left as they
        are."""
        with store.sessions() as session:
            found = identity_groups(queue_of(session, document_id), schema)[0]
            group = next((g for g in found if g.identity == decision.identity), None)
            if group is None:
                raise HTTPException(404, f"E_NO_GROUP: no field waits under {decision.identity}")
            field_ids = group.pending_ids
        try:
            store.review_fields(field_ids, "accept", decision.reviewer, unreviewed_only=True)
        except StaleField:
            raise HTTPException(409, f"E_STALE: document {document_id} was extracted again") from None
        return decision_out(document_id, field_ids)

    @router.post(
        "/reviews/undo",
        tags=["review"],
        dependencies=[Depends(require_token)],
        responses={
            409: {
                "description": "E_UNDO: not the reviewer's decision alone, or no longer the newest; E_STALE"
            },
            422: {"description": "fields of several documents, or a malformed body"},
        },
    )
    def undo(decision: UndoIn) -> DecisionOut:
        """Reverse the reviewer's decision about these fields (one field, or a group accepted together):
        an ``undo`` review is appended per field, in one transaction; nothing is overwritten or deleted. The
        fields wait for review again with their extracted values; the corrections export drops the
        decision. A carried count undone re-runs the cross-year check of its agency."""
        try:
            made = store.undo(decision.fields, decision.reviewer)
        except KeyError as exc:
            raise HTTPException(404, f"no field {exc.args[0]}") from None
        except StaleField as exc:
            raise HTTPException(
                409, f"E_STALE: field {exc.args[0]} is of an extraction no longer in use"
            ) from None
        except UndoRefused as exc:
            raise HTTPException(409, f"E_UNDO: {exc}") from None
        except ValueError as exc:
            raise HTTPException(422, str(exc)) from None
        document_id, carried = carried_counts_of([review.field_id for review in made])
        if carried:
            with store.sessions() as session:
                agency = queue_of(session, document_id).meta("agency")
            check_cross_year(store, [agency])
        return decision_out(document_id, list(decision.fields))

    @router.get(
        "/fields/{field_id}/header.png",
        tags=["evidence"],
        response_class=Response,
        responses={404: {"description": "the header is not known, or the crop already shows it"}},
    )
    def header(field_id: Id) -> Response:
        """The page from the top of the cell's table header down to where ``crop.png`` begins (PDFs with
        a text layer): shown right above the crop, the two are one band from the column's header to the
        cell."""
        with store.sessions() as session:
            row = session.get(FieldRow, field_id)
            if row is None:
                raise HTTPException(404, f"no field {field_id}")
            path = Path(row.extraction.document.path)
            top = header_top(path, row, row.extraction.fields)
        if top is None:
            raise HTTPException(404, "the header of the cell's table is not known on its page")
        try:
            png = header_png(path, row, settings.crop_dpi, settings.crop_margin_pt, top)
        except EvidenceMissing as exc:
            raise HTTPException(404, str(exc)) from None
        return Response(png, media_type="image/png", headers={"Cache-Control": "private, max-age=3600"})

    @router.get("/documents/{document_id}/view", response_class=HTMLResponse, include_in_schema=False)
    def document_page(request: Request, document_id: Id):
        """Every field of one document: value, confidence, status, its reviews, and its pages."""
        with store.sessions() as session:
            queue = queue_of(session, document_id)
            extraction = queue.extraction
            path = Path(queue.document.path)
            pages = sorted({row.page for row in extraction.fields if has_box(row)}) if is_paged(path) else []
            groups, _ = identity_groups(queue, schema)
            return templates.TemplateResponse(
                request,
                "document.html",
                {
                    "q": queue,
                    "name": path.name,
                    "fields": extraction.fields,
                    "status": {row.id: field_status(row, settings.threshold) for row in extraction.fields},
                    "name_of": lambda key: field_name(schema, key),
                    "section_of": schema.section_of,
                    "groups": groups,
                    "pages": pages,
                },
            )

    @router.get("/documents/{document_id}/pages/{page}.png", tags=["evidence"], response_class=Response)
    def page_image(document_id: Id, page: Annotated[int, PathParam(ge=1, le=MAX_PAGE)]) -> Response:
        """A page of the document with its fields' cells outlined: red waiting, green reviewed."""
        with store.sessions() as session:
            extraction = queue_of(session, document_id).extraction
            path = Path(extraction.document.path)
            outlined = [
                (row, STATUS_COLOURS[status])
                for row in extraction.fields
                if (status := field_status(row, settings.threshold)) in STATUS_COLOURS
            ]
        if not is_paged(path):
            raise HTTPException(404, "the document has no pages to show")
        try:
            png = page_png(path, page, settings.crop_dpi, outlined)
        except EvidenceMissing as exc:
            raise HTTPException(404, str(exc)) from None
        return Response(png, media_type="image/png", headers={"Cache-Control": "no-cache"})

    return router
