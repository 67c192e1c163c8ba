"""Routes of documents: an upload stored and extracted (``uploads.py``), and a document's state, record and
fields.

Why the record is answered with reviewed values in place: a client reading a document after review wants
the values in use, as the export writes them, not what the extractor first read.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException, UploadFile
from pydantic import BaseModel, Field

from nianbao.app.auth import WRITE, Id
from nianbao.app.bodies import FieldOut, field_out
from nianbao.app.deps import SchemaDep, SettingsDep, StoreDep, UploadKeyDep, queue_of_document
from nianbao.app.queue import current_values, newest_extraction
from nianbao.app.uploads import ingest_upload, keep_upload
from nianbao.store import DocumentRow, content_hash

UPLOAD_PATH = "/documents"
router = APIRouter(tags=["documents"])


class UploadOut(BaseModel):
    id: int
    sha256: str
    state: str
    error: str | None


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


@router.post(
    UPLOAD_PATH,
    status_code=201,
    dependencies=WRITE,
    responses={413: {"description": "the file is over the size limit"}},
)
def upload(file: UploadFile, store: StoreDep, settings: SettingsDep, upload_key: UploadKeyDep) -> UploadOut:
    """Store a file under the data directory by its content hash and extract it (once per content,
    pipeline and model version) in a worker process under the batch's limits: one that takes longer
    than its time limit fails with E_TIMEOUT (sending it again tries again)."""
    data = file.file.read(settings.max_upload_bytes + 1)
    if len(data) > settings.max_upload_bytes:
        raise HTTPException(413, f"the file is over the {settings.max_upload_bytes}-byte limit")
    if not data:
        raise HTTPException(400, "the file is empty")
    digest = content_hash(data)
    target = keep_upload(settings.upload_dir, digest, file.filename, data)
    document = ingest_upload(store, target, upload_key(), settings, digest)
    with store.sessions() as session:
        extraction = newest_extraction(session, document)
        return UploadOut(id=document, sha256=digest, state=extraction.state, error=extraction.error)


@router.get("/documents/{document_id}")
def document(document_id: Id, store: StoreDep, settings: SettingsDep, schema: SchemaDep) -> DocumentOut:
    """A document's state and record (reviewed values in place of extracted ones)."""
    with store.sessions() as session:
        row = session.get(DocumentRow, document_id)
        if row is None:
            raise HTTPException(404, f"no document {document_id}")
        queue = queue_of_document(session, document_id, settings, schema)
        extraction = queue.extraction if queue else None
        record = None
        if extraction is not None:
            record = extraction.full_record()
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


@router.get("/documents/{document_id}/fields")
def document_fields(
    document_id: Id, store: StoreDep, settings: SettingsDep, schema: SchemaDep
) -> list[FieldOut]:
    """Every field of the document's newest extraction with its confidence, status and provenance."""
    with store.sessions() as session:
        if session.get(DocumentRow, document_id) is None:
            raise HTTPException(404, f"no document {document_id}")
        queue = queue_of_document(session, document_id, settings, schema)
        if queue is None:
            return []
        return [field_out(row, settings.threshold, schema, queue.broken) for row in queue.extraction.fields]
