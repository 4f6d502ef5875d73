"""Health, readiness, versions, and the reloads of the rules and of the model."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, status
from fastapi.responses import JSONResponse

from crmid import __version__

from ...context import NoModelError
from ..deps import ContextDep, StateDep, version_headers
from ..schemas import ModelReloadResponse, ReadyResponse, ReloadResponse, VersionResponse
from ..security import require_token, require_token_always

router = APIRouter(tags=["admin"])


@router.get("/healthz")
def healthz() -> dict:
    """Liveness: the process answers."""
    return {"status": "ok"}


@router.get("/readyz", response_model=ReadyResponse, responses={503: {"model": ReadyResponse}})
def readyz(state: StateDep, context: ContextDep):
    """Readiness: the model is loaded (which version), the store answers, the rules in force.

    503 until a model is loaded (train one, then ``POST /v1/model/reload``) or while the store
    cannot be reached.
    """
    store_ok, store_error = True, None
    if state.store is not None:
        try:
            state.store.ping()
        except Exception as exc:
            store_ok, store_error = False, f"{type(exc).__name__}: {exc}"
    body = {
        "ready": context.scorer is not None and store_ok,
        "model_loaded": context.scorer is not None,
        "model_version": context.model_version,
        "model_error": context.model_error,
        "store": "off" if state.store is None else ("reachable" if store_ok else "unreachable"),
        "store_error": store_error,
        "rules_version": context.rules_version,
    }
    # returned as a Response of its own (for the status code), so the version headers go on it here
    return JSONResponse(body, status_code=200 if body["ready"] else status.HTTP_503_SERVICE_UNAVAILABLE,
                        headers=version_headers(context))


@router.get("/v1/version", response_model=VersionResponse, dependencies=[Depends(require_token)])
def versions(state: StateDep, context: ContextDep) -> dict:
    latest = state.store.latest_run() if state.store is not None else None
    from crmid.training.card import model_card

    card = model_card(context.scorer) if context.scorer is not None else None
    return {"crmid": __version__, "model_version": context.model_version, "rules_version": context.rules_version,
            "store_run_id": latest.run_id if latest else None, "model_card": card}


@router.post("/v1/rules/reload", response_model=ReloadResponse, dependencies=[Depends(require_token_always)])
def reload_rules(state: StateDep, context: ContextDep) -> dict:
    """Reload the rules configuration file without a restart; a bad file keeps the old rules."""
    from crmid.rules import ConfigError

    try:
        summary = state.reload_rules()
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"rules_version": context.engine.version, "changes": list(summary["changes"])}


@router.post("/v1/model/reload", response_model=ModelReloadResponse,
             dependencies=[Depends(require_token_always)],
             responses={503: {"description": "no model can be loaded; the one in force (if any) stays"}})
def reload_model(state: StateDep, context: ContextDep) -> dict:
    """Load the workspace's model again (e.g. a newly registered champion) without a restart.

    The swap is atomic: a request in flight finishes with the model it started with. When no
    model can be loaded, the one in force stays and the answer is 503.
    """
    previous = context.model_version
    try:
        fresh = state.reload_model()
    except NoModelError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    return {"model_version": fresh.model_version, "previous_model_version": previous,
            "rules_version": fresh.rules_version}
