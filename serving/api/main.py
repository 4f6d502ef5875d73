"""Builds the FastAPI application: the workspace, heavy objects in ``lifespan``, routers per resource."""

from __future__ import annotations

import gc
from contextlib import asynccontextmanager

from fastapi import FastAPI

from crmid import __version__
from crmid.config import Workspace

from .routers import admin, decide, metrics, retain, score, ui
from .security import ERROR_RESPONSES, BodySizeLimit, install_error_handlers
from .state import ReloadSignal, ServingState, settle_heap

__all__ = ["create_app", "create_worker_app"]


def create_worker_app() -> FastAPI:
    """The application of one worker process of ``crmid serve --workers N`` (uvicorn's factory).

    The workspace, with the reload signal file the workers share, comes from the environment
    ``crmid serve`` prepared (:meth:`crmid.config.Workspace.export`).
    """
    workspace = Workspace.resolve()
    signal = ReloadSignal(workspace.reload_signal) if workspace.reload_signal else None
    return create_app(workspace, reload_signal=signal)


def create_app(workspace: Workspace | None = None, state: ServingState | None = None,
               reload_signal: ReloadSignal | None = None) -> FastAPI:
    """The crmid HTTP service.

    Parameters
    ----------
    workspace : crmid.config.Workspace, optional
        Resolved once here when not given (environment over defaults).
    state : ServingState, optional
        Already loaded context and store; loaded in ``lifespan`` when not given. The service
        starts without a model: the rules answer, ``/v1/score`` says 503 until one is loaded.
    reload_signal : ReloadSignal, optional
        Shared with the other worker processes of the service (see :mod:`serving.api.state`).
    """
    workspace = workspace or Workspace.resolve()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        # loading models and rules is start-up work, never import-time work
        app.state.serving = state or ServingState.load(workspace, reload_signal)
        settle_heap()
        yield
        if app.state.serving.store is not None:
            app.state.serving.store.close()
        gc.unfreeze()  # an app run inside a longer process (tests) leaves its heap as it found it

    app = FastAPI(
        title="crmid",
        summary="Customer identification: who is valuable, who is leaving, what to do and why.",
        version=__version__,
        lifespan=lifespan,
        responses=ERROR_RESPONSES,
    )
    app.add_middleware(BodySizeLimit, max_bytes=workspace.max_body_bytes)

    install_error_handlers(app)  # one documented error shape (schemas.ErrorResponse) for every error

    for router in (decide.router, score.router, retain.router, admin.router, ui.router):
        app.include_router(router)
    app.include_router(metrics.instrument(app))  # /metrics, and a middleware counting and timing every request
    return app
