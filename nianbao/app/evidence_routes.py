"""Routes of a field's evidence: the page band around its cell, its table's header above it, a whole page
with the document's cells outlined, and the source rows around a text form's field.

Why only through ids: a client names a field or a document, never a path, so no request reads a file the
store does not hold (``evidence.py`` draws the images).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, HTTPException
from fastapi import Path as PathParam
from fastapi.responses import Response

from nianbao.app.auth import Id
from nianbao.app.deps import SchemaDep, SettingsDep, StoreDep, field_or_404, queue_or_404
from nianbao.app.evidence import (
    EvidenceMissing,
    crop_png,
    header_png,
    header_top,
    is_paged,
    page_png,
    source_rows,
)
from nianbao.export import field_status
from nianbao.store import FieldRow

MAX_PAGE = 10_000
PRIVATE = "private, max-age=3600"  # a field's crop and header change only when its file does
STATUS_COLOURS = {"pending": (220, 30, 30), "reviewed": (30, 150, 60)}  # cells outlined on a page image
router = APIRouter(tags=["evidence"])


def _png(make: Callable[[], bytes], cache: str) -> Response:
    """The image ``make()`` draws; 404 with the reason when its page or cell cannot be shown."""
    try:
        png = make()
    except EvidenceMissing as exc:
        raise HTTPException(404, str(exc)) from None
    return Response(png, media_type="image/png", headers={"Cache-Control": cache})


@router.get("/fields/{field_id}/crop.png", response_class=Response)
def crop(field_id: Id, store: StoreDep, settings: SettingsDep) -> Response:
    """The page band around the field's cell with the cell outlined (PDFs and page images)."""
    with store.sessions() as session:
        row = field_or_404(session, field_id)
        path = Path(row.extraction.document.path)
    if not is_paged(path):
        raise HTTPException(404, "the field's document has no pages to show")
    return _png(lambda: crop_png(path, row, settings.crop_dpi, settings.crop_margin_pt), PRIVATE)


@router.get("/fields/{field_id}/source")
def source(field_id: Id, store: StoreDep, settings: SettingsDep) -> list[dict]:
    """The source rows around a text form's field, the field's row marked."""
    with store.sessions() as session:
        row = field_or_404(session, field_id)
        path = Path(row.extraction.document.path)
    return [r.__dict__ for r in source_rows(path, row, settings.context_rows)]


@router.get(
    "/fields/{field_id}/header.png",
    response_class=Response,
    responses={404: {"description": "the header is not known, or the crop already shows it"}},
)
def header(field_id: Id, store: StoreDep, settings: SettingsDep) -> Response:
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
    return _png(lambda: header_png(path, row, settings.crop_dpi, settings.crop_margin_pt, top), PRIVATE)


@router.get("/documents/{document_id}/pages/{page}.png", response_class=Response)
def page_image(
    document_id: Id,
    page: Annotated[int, PathParam(ge=1, le=MAX_PAGE)],
    store: StoreDep,
    settings: SettingsDep,
    schema: SchemaDep,
) -> Response:
    """A page of the document with its fields' cells outlined: red waiting, green reviewed."""
    with store.sessions() as session:
        extraction = queue_or_404(session, document_id, settings, schema).extraction
        path = Path(extraction.document.path)
        outlined = [
            (row, STATUS_COLOURS[status])
            for row in extraction.fields
            if (status := field_status(row, settings.threshold)) in STATUS_COLOURS
        ]
    if not is_paged(path):
        raise HTTPException(404, "the document has no pages to show")
    return _png(lambda: page_png(path, page, settings.crop_dpi, outlined), "no-cache")
