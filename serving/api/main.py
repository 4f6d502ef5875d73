"""Builds the FastAPI application: settings, heavy objects in ``lifespan``, routers per resource."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from ..settings import Settings
from .routers import admin, decide, retain, score
from .security import BodySizeLimit
from .state import ServingState

__all__ = ["create_app"]


def _load_state(settings: Settings) -> ServingState:
    # imported here: loading models and rules is start-up work, never import-time work
    from crmid.models import load_scorer
    from crmid.rules import RulesEngine

    from ..store import ScoresStore

    return ServingState(
        settings=settings,
        scorer=load_scorer(settings.model_uri),
        engine=RulesEngine.from_path(settings.rules_path),
        store=ScoresStore(settings.store_url),
    )


def create_app(settings: Settings | None = None, state: ServingState | None = None) -> FastAPI:
    """The crmid HTTP service.

    Parameters
    ----------
    settings : Settings, optional
        Defaults to ``Settings()`` (environment variables ``CRMID_*``).
    state : ServingState, optional
        Already loaded models, rules and store; loaded in ``lifespan`` when not given.
    """
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.serving = state or _load_state(settings)
        yield
        app.state.serving.store.engine.dispose()

    app = FastAPI(
        title="crmid",
        summary="Customer identification: who is valuable, who is leaving, what to do and why.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)

    @app.exception_handler(RequestValidationError)
    async def readable_422(request: Request, exc: RequestValidationError):
        problems = []
        for err in exc.errors():
            where = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
            problems.append(f"{where or 'body'}: {err.get('msg')} (got {err.get('input')!r})")
        return JSONResponse({"detail": problems}, status_code=422)

    for router in (decide.router, score.router, retain.router, admin.router):
        app.include_router(router)
    return app
