"""Bearer-token check and the request-size limit."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.responses import JSONResponse

from .deps import WorkspaceDep

__all__ = ["BodySizeLimit", "require_token", "require_token_always"]

_bearer = HTTPBearer(auto_error=False)


Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def _check(workspace, credentials: HTTPAuthorizationCredentials | None, *, always: bool) -> None:
    token = workspace.api_token
    if token is None:
        if always:
            raise HTTPException(status.HTTP_403_FORBIDDEN,
                                "this operation needs an API token: start the service with CRMID_API_TOKEN set")
        return
    given = credentials.credentials if credentials else ""
    if not secrets.compare_digest(given.encode(), token.get_secret_value().encode()):
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "missing or wrong bearer token",
                            headers={"WWW-Authenticate": "Bearer"})


def require_token(workspace: WorkspaceDep, credentials: Credentials) -> None:
    """Required when the service is configured with a token."""
    _check(workspace, credentials, always=False)


def require_token_always(workspace: WorkspaceDep, credentials: Credentials) -> None:
    """Required always (administrative operations)."""
    _check(workspace, credentials, always=True)


class BodySizeLimit:
    """ASGI middleware: bodies larger than ``max_bytes`` get 413, whether declared or streamed."""

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        too_large = JSONResponse({"detail": f"request body larger than {self.max_bytes} bytes"}, status_code=413)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                return await too_large(scope, receive, send)
        seen = 0

        async def limited_receive():
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            await too_large(scope, receive, send)


class _TooLarge(Exception):
    pass
