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

The rooms: here the app is assembled (its state, middleware and routers) and served; each concern's routes
are a router of their own (``review_routes``, ``group_routes``, ``evidence_routes``, ``document_routes``,
``batch_routes``, ``page_routes``), reaching the store, settings and schema through ``deps.py``.
"""

from __future__ import annotations

import logging
import os
import secrets
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from importlib import resources

from fastapi import FastAPI, HTTPException, Request
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from sqlalchemy.exc import OperationalError
from starlette.middleware.trustedhost import TrustedHostMiddleware

from nianbao import __version__
from nianbao.app import (
    batch_routes,
    document_routes,
    evidence_routes,
    group_routes,
    page_routes,
    review_routes,
)
from nianbao.app.batches import BatchJobs
from nianbao.app.document_routes import UPLOAD_PATH
from nianbao.app.settings import AppSettings, host_name
from nianbao.app.uploads import UploadKey
from nianbao.errors import ErrorCode
from nianbao.fork_server import fork_server
from nianbao.schema import load_schema
from nianbao.store import Store, database_cause

log = logging.getLogger("nianbao.app")
HERE = resources.files("nianbao.app")
TOKEN_ENV = "NIANBAO_TOKEN"
MULTIPART_SLACK = 64 * 1024  # form boundaries and part headers around an upload's bytes
# In this order, so the API docs list the tags as they always did: review, evidence, documents, batches.
ROUTERS = (review_routes, group_routes, evidence_routes, document_routes, batch_routes, page_routes)


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
    jobs = BatchJobs(store, settings.archive_root, settings.max_batch_workers)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        jobs.recover()
        fork_server()  # its imports done before the first upload or batch job asks for a worker
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
    app.state.store, app.state.settings, app.state.schema = store, settings, load_schema()
    app.state.jobs, app.state.upload_key = jobs, UploadKey(settings.model)
    app.add_middleware(UploadLimit, limit=settings.max_upload_bytes + MULTIPART_SLACK)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=list(settings.allowed_hosts))  # outermost
    app.add_exception_handler(OperationalError, _database_failed)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    for routes in ROUTERS:
        app.include_router(routes.router)
    return app


def _database_failed(_request: Request, exc: OperationalError) -> JSONResponse:
    """A database the server cannot reach, read or write: 503 with E_DB and the cause, not a traceback."""
    cause = database_cause(exc)
    detail = ErrorCode.E_DB.message(cause)
    log.warning("%s", detail)
    return JSONResponse({"detail": detail}, status_code=503)


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
