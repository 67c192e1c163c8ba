"""The two HTML pages: the review queue (``/``) and one document's fields with its pages (``/view``).

Why apart from the JSON routes: only these render templates; what they show comes from the same queue,
groups and evidence the JSON routes answer with, and the page's script writes through those routes.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from nianbao.app.auth import Id
from nianbao.app.deps import SchemaDep, SettingsDep, StoreDep, queue_or_404
from nianbao.app.evidence import SourceRow, has_box, is_paged, source_rows
from nianbao.app.groups import identity_groups
from nianbao.app.queue import field_name, queue_size, review_queue, row_of
from nianbao.app.settings import AppSettings
from nianbao.export import field_status
from nianbao.store import DocumentRow, FieldRow

log = logging.getLogger("nianbao.app.pages")
templates = Jinja2Templates(directory=str(resources.files("nianbao.app") / "templates"))
router = APIRouter(include_in_schema=False, default_response_class=HTMLResponse)


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


@router.get("/")
def queue_page(request: Request, store: StoreDep, settings: SettingsDep, schema: SchemaDep):
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


@router.get("/documents/{document_id}/view")
def document_page(
    request: Request, document_id: Id, store: StoreDep, settings: SettingsDep, schema: SchemaDep
):
    """Every field of one document: value, confidence, status, its reviews, and its pages."""
    with store.sessions() as session:
        queue = queue_or_404(session, document_id, settings, schema)
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
