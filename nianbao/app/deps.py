"""What the routers share, as FastAPI dependencies: the store, the settings, the schema, the batch jobs and
the key uploads are stored under, which ``create_app`` puts on ``app.state``; and the lookups several
routers make.

Why dependencies, not a closure over ``create_app``'s variables: each router is a module of its own that
names what a route needs in its signature, and a test can build an app over any store.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session, selectinload

from nianbao.app.batches import BatchJobs
from nianbao.app.queue import DocumentQueue, document_queue, newest_extraction
from nianbao.app.settings import AppSettings
from nianbao.app.uploads import UploadKey
from nianbao.schema import Schema
from nianbao.store import FieldRow, Store


def _from_state(name: str) -> Callable[[Request], Any]:
    def shared(request: Request) -> Any:
        return getattr(request.app.state, name)

    return shared


StoreDep = Annotated[Store, Depends(_from_state("store"))]
SettingsDep = Annotated[AppSettings, Depends(_from_state("settings"))]
SchemaDep = Annotated[Schema, Depends(_from_state("schema"))]
JobsDep = Annotated[BatchJobs, Depends(_from_state("jobs"))]
UploadKeyDep = Annotated[UploadKey, Depends(_from_state("upload_key"))]


def field_or_404(session: Session, field_id: int) -> FieldRow:
    """The field with its reviews in force and its whole trail loaded; 404 when there is none."""
    row = session.get(
        FieldRow, field_id, options=[selectinload(FieldRow.reviews), selectinload(FieldRow.trail)]
    )
    if row is None:
        raise HTTPException(404, f"no field {field_id}")
    return row


def queue_of_document(
    session: Session, document_id: int, settings: AppSettings, schema: Schema
) -> DocumentQueue | None:
    """What of the document's newest extraction waits for review; None before any extraction."""
    extraction = newest_extraction(session, document_id)
    return document_queue(extraction, settings.threshold, schema) if extraction else None


def queue_or_404(session: Session, document_id: int, settings: AppSettings, schema: Schema) -> DocumentQueue:
    """The document's queue; 404 before any extraction."""
    queue = queue_of_document(session, document_id, settings, schema)
    if queue is None:
        raise HTTPException(404, f"document {document_id} has no extraction")
    return queue
