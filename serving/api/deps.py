"""Typed dependencies of the handlers: the one place that reads the application's state."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, Response, status
from fastapi.concurrency import run_in_threadpool

from crmid.config import Workspace

from ..context import ScoringContext
from ..store import ScoresStore
from .state import ServingState

__all__ = ["ContextDep", "StateDep", "StoreDep", "WorkspaceDep", "get_context", "get_state", "version_headers"]


# the cheap dependencies are coroutines: FastAPI runs a plain function in the thread pool, a hop
# that cost each request more than the function itself
async def get_state(request: Request) -> ServingState:
    return request.app.state.serving


StateDep = Annotated[ServingState, Depends(get_state)]


async def get_workspace(state: StateDep) -> Workspace:
    return state.workspace


WorkspaceDep = Annotated[Workspace, Depends(get_workspace)]


def version_headers(context: ScoringContext) -> dict[str, str]:
    """The model and rules versions that made a response."""
    return {"X-Crmid-Model-Version": context.model_version or "none", "X-Crmid-Rules-Version": context.rules_version}


async def get_context(state: StateDep, response: Response) -> ScoringContext:
    """The context this request uses from start to end; its versions go in the response headers."""
    if state.reload_announced():
        # another worker's model or rules reload, taken up before answering: loading is slow
        # work for the thread pool, the check for one is a ``stat`` done here
        await run_in_threadpool(state.follow_reloads)
    context = state.context
    response.headers.update(version_headers(context))
    return context


ContextDep = Annotated[ScoringContext, Depends(get_context)]


def get_store(state: StateDep) -> ScoresStore:
    if state.store is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE,
                            "the scores store is turned off (store_url 'none'): no stored runs to read")
    return state.store


StoreDep = Annotated[ScoresStore, Depends(get_store)]
