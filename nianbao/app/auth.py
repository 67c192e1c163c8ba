"""What every route of the review service shares about its requests: ids in paths and the write token.

Kept apart from ``service.py`` so every router (``*_routes.py``) takes the same checks without importing
the app that includes them.
"""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi import Path as PathParam
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

MAX_ID = 2**63 - 1  # the largest row id a database holds; a larger one in a path is a 422, not a 500
Id = Annotated[int, PathParam(ge=1, le=MAX_ID)]

_bearer = HTTPBearer(auto_error=False, description="the server's token")
_header = APIKeyHeader(name="X-Nianbao-Token", auto_error=False, description="the server's token")


def require_token(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    given_header: Annotated[str | None, Depends(_header)],
) -> None:
    """401 without a token, 403 with a wrong one or when the app has none (writes disabled)."""
    token = request.app.state.token
    if token is None:
        raise HTTPException(403, "writes are disabled: the server was started without a token")
    given = credentials.credentials if credentials else given_header
    if not given:
        raise HTTPException(401, "writes need the token", headers={"WWW-Authenticate": "Bearer"})
    if not secrets.compare_digest(given.encode(), token.encode()):
        raise HTTPException(403, "the token is wrong")


WRITE = (Depends(require_token),)  # the dependencies of every route that writes
