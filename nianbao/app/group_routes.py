"""Routes of the review flow that answer with the document's identity groups re-computed: a broken identity
accepted as one decision, the undo of a decision, the document's groups, and the queue's size for the page's
counter.

Why a router of its own: these routes share the queue's grouping (``groups.py``) and answer the page with
the same ``DecisionOut`` — the fields decided, what of the document still waits, its groups re-computed —
so the page updates itself without a reload.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from nianbao.app.auth import MAX_ID, WRITE, Id
from nianbao.app.deps import SchemaDep, SettingsDep, StoreDep, queue_or_404
from nianbao.app.groups import group_out, identity_groups
from nianbao.app.queue import queue_size
from nianbao.app.settings import AppSettings
from nianbao.errors import ErrorCode
from nianbao.export import field_status
from nianbao.schema import Schema
from nianbao.store import FieldRow, StaleField, Store, UndoRefused
from nianbao.store.crossyear import KEYS as CROSS_YEAR_KEYS
from nianbao.store.crossyear import check_cross_year

MAX_DECISION_FIELDS = 1000  # fields one decision may name: more than any template has
BROKEN_KEYS = ("identity", "fields", "detail")  # of a broken identity, as the page shows it
FieldId = Annotated[int, Field(ge=1, le=MAX_ID)]
Reviewer = Annotated[str, Field(min_length=1, max_length=128)]
router = APIRouter(tags=["review"])
ACCEPT_ERRORS = {  # of a group's accept, for the API docs
    404: {"description": ErrorCode.E_NO_GROUP.message(ErrorCode.E_NO_GROUP.cause)},
    409: {"description": ErrorCode.E_STALE.message("the document was extracted again")},
}
UNDO_ERRORS = {
    409: {
        "description": ErrorCode.E_UNDO.message(
            f"not the reviewer's decision alone, or no longer the newest; {ErrorCode.E_STALE}"
        )
    },
    422: {"description": "fields of several documents, or a malformed body"},
}


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


def _size(session: Session, settings: AppSettings) -> QueueSize:
    documents, fields = queue_size(session, settings.threshold)
    return QueueSize(documents=documents, fields=fields)


def _decision_out(
    store: Store, settings: AppSettings, schema: Schema, document_id: int, field_ids: list[int]
) -> DecisionOut:
    with store.sessions() as session:
        queue = queue_or_404(session, document_id, settings, schema)
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
            waiting=_size(session, settings),
        )


def _carried_counts_of(store: Store, field_ids: list[int]) -> tuple[int, bool]:
    """The fields' document, and whether a carried count (上年结转, 结转下年度) is among them."""
    with store.sessions() as session:
        rows = session.scalars(select(FieldRow).where(FieldRow.id.in_(field_ids))).all()
        return rows[0].extraction.document_id, any(row.key in CROSS_YEAR_KEYS for row in rows)


@router.get("/queue/size")
def queue_counts(store: StoreDep, settings: SettingsDep) -> QueueSize:
    """Documents and fields waiting for review in the whole store: the page's counter."""
    with store.sessions() as session:
        return _size(session, settings)


@router.get("/documents/{document_id}/groups")
def groups(document_id: Id, store: StoreDep, settings: SettingsDep, schema: SchemaDep) -> list[GroupOut]:
    """The document's broken identities with fields waiting: each one decision of the queue."""
    with store.sessions() as session:
        queue = queue_or_404(session, document_id, settings, schema)
        return [GroupOut(**group_out(g)) for g in identity_groups(queue, schema)[0]]


@router.post("/documents/{document_id}/groups/accept", dependencies=WRITE, responses=ACCEPT_ERRORS)
def accept_group(
    document_id: Id, decision: GroupAcceptIn, store: StoreDep, settings: SettingsDep, schema: SchemaDep
) -> DecisionOut:
    """Accept the source as printed for every waiting field a broken identity's flag names: one review
    per field, appended in one transaction (all or none). Fields decided meanwhile are left as they
    are."""
    with store.sessions() as session:
        found = identity_groups(queue_or_404(session, document_id, settings, schema), schema)[0]
        group = next((g for g in found if g.identity == decision.identity), None)
        if group is None:
            raise HTTPException(
                404, ErrorCode.E_NO_GROUP.message(f"no field waits under {decision.identity}")
            )
        field_ids = group.pending_ids
    try:
        store.review_fields(field_ids, "accept", decision.reviewer, unreviewed_only=True)
    except StaleField:
        raise HTTPException(
            409, ErrorCode.E_STALE.message(f"document {document_id} was extracted again")
        ) from None
    return _decision_out(store, settings, schema, document_id, field_ids)


@router.post("/reviews/undo", dependencies=WRITE, responses=UNDO_ERRORS)
def undo(decision: UndoIn, store: StoreDep, settings: SettingsDep, schema: SchemaDep) -> DecisionOut:
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
            409, ErrorCode.E_STALE.message(f"field {exc.args[0]} is of an extraction no longer in use")
        ) from None
    except UndoRefused as exc:
        raise HTTPException(409, ErrorCode.E_UNDO.message(str(exc))) from None
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from None
    document_id, carried = _carried_counts_of(store, [review.field_id for review in made])
    if carried:
        with store.sessions() as session:
            agency = queue_or_404(session, document_id, settings, schema).meta("agency")
        check_cross_year(store, [agency])
    return _decision_out(store, settings, schema, document_id, list(decision.fields))
