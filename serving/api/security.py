"""Bearer-token check, the request-size limit, and the one shape of every error answer."""

from __future__ import annotations

import contextlib
import logging
import secrets
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Request, status
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import JSONResponse

from .deps import WorkspaceDep
from .schemas import ErrorResponse

__all__ = ["ERROR_RESPONSES", "BodySizeLimit", "error_response", "install_error_handlers", "require_token",
           "require_token_always"]

log = logging.getLogger(__name__)

_bearer = HTTPBearer(auto_error=False)

#: status -> the error code of :class:`~.schemas.ErrorResponse`
_CODES = {
    400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found", 405: "method_not_allowed",
    413: "payload_too_large", 422: "invalid_request", 500: "internal_error", 503: "unavailable",
}

#: the OpenAPI ``responses`` of every operation: each error status, in the one shape
ERROR_RESPONSES = {
    code: {"model": ErrorResponse, "description": text} for code, text in {
        400: "the body is not JSON at all",
        401: "missing or wrong bearer token (when the service has one)",
        403: "an administrative operation without a token configured",
        413: "request body larger than the limit (CRMID_MAX_BODY_BYTES), declared or streamed",
        422: "the request breaks the contract: each problem names the field",
        503: "not ready: no model loaded, or the store unreachable",
    }.items()
}


def error_response(status_code: int, detail, headers: dict | None = None) -> JSONResponse:
    """The answer for an error: an :class:`~.schemas.ErrorResponse` body with ``status_code``.

    ``detail``: one message or a list of problems (each one line).
    """
    problems = [str(p) for p in detail] if isinstance(detail, list | tuple) else [str(detail)]
    problems = problems or [_CODES.get(status_code, "error").replace("_", " ")]
    message = problems[0] if len(problems) == 1 else f"{len(problems)} problems in the request"
    body = ErrorResponse(status=status_code, error=_CODES.get(status_code, "error"), message=message,
                         detail=problems)
    return JSONResponse(body.model_dump(), status_code=status_code, headers=headers)


def install_error_handlers(app: FastAPI) -> None:
    """Every error the app answers (HTTP errors, request validation, a defect) in the one shape."""

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):
        if exc.status_code < 400:  # redirects (the web page's log-in) are not errors
            return await http_exception_handler(request, exc)
        return error_response(exc.status_code, exc.detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where or 'body'}: {err.get('msg')} (got {err.get('input')!r})")
        return error_response(422, problems)

    generate = app.openapi

    def openapi() -> dict:
        # an operation that describes one of these statuses in its own words (score's 503) keeps
        # its words, and gets the shape: FastAPI would replace the app's entry with the route's
        if app.openapi_schema is None:
            schema = generate()
            shape = {"application/json": {"schema": {"$ref": "#/components/schemas/ErrorResponse"}}}
            for item in schema.get("paths", {}).values():
                for operation in item.values():
                    for code, response in operation.get("responses", {}).items():
                        if code.isdigit() and int(code) in ERROR_RESPONSES and "content" not in response:
                            response["content"] = shape
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi

    @app.exception_handler(Exception)
    async def defect(request: Request, exc: Exception):
        # a defect: logged with its traceback; the client gets the shape, not the internals
        log.exception("internal error answering %s %s", request.method, request.url.path)
        return error_response(500, f"internal error ({type(exc).__name__}); it is logged")


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


async def require_token(workspace: WorkspaceDep, credentials: Credentials) -> None:
    """Required when the service is configured with a token."""
    _check(workspace, credentials, always=False)


async def require_token_always(workspace: WorkspaceDep, credentials: Credentials) -> None:
    """Required always (administrative operations)."""
    _check(workspace, credentials, always=True)


class BodySizeLimit:
    """ASGI middleware: bodies larger than ``max_bytes`` get 413, whether declared or streamed (chunked).

    A declared length over the limit is refused before the body is read. A streamed body is
    counted as it arrives; once over the limit the application's own answer (it sees a body cut
    short, which it would call a bad request) is dropped and 413 is sent instead.
    """

    def __init__(self, app, max_bytes: int):
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        for name, value in scope.get("headers", []):
            if name == b"content-length" and value.isdigit() and int(value) > self.max_bytes:
                return await self._too_large(scope, receive, send)
        seen = 0
        over = False
        started = False

        async def limited_receive():
            nonlocal seen, over
            if over:
                raise _TooLarge()
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    over = True
                    raise _TooLarge()
            return message

        async def guarded_send(message):
            nonlocal started
            if over:
                return  # the app's answer to a body it never got whole: replaced by the 413 below
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        with contextlib.suppress(_TooLarge):  # the app let it through: the 413 follows
            await self.app(scope, limited_receive, guarded_send)
        if over and not started:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope, receive, send):
        # built when needed: an answer built for every request cost each one about 0.1 ms
        await error_response(413, f"request body larger than {self.max_bytes} bytes")(scope, receive, send)


class _TooLarge(Exception):
    pass
