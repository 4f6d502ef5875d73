"""Health, versions and the rules reload."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from fastapi import APIRouter, Depends, HTTPException, Request

from ..schemas import ReloadResponse, VersionResponse
from ..security import require_token, require_token_always

router = APIRouter(tags=["admin"])


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/v1/version", response_model=VersionResponse, dependencies=[Depends(require_token)])
def versions(request: Request) -> dict:
    state = request.app.state.serving
    latest = state.store.latest_run()
    try:
        own = version("crmid")
    except PackageNotFoundError:
        own = "unknown"
    return {"crmid": own, "model_version": state.scorer.version, "rules_version": state.engine.version,
            "store_run_id": latest.run_id if latest else None}


@router.post("/v1/rules/reload", response_model=ReloadResponse, dependencies=[Depends(require_token_always)])
def reload_rules(request: Request) -> dict:
    """Reload the rules configuration file without a restart; a bad file keeps the old rules."""
    from crmid.rules import ConfigError

    state = request.app.state.serving
    path = state.settings.rules_path or state.engine.path
    try:
        summary = state.engine.reload(path)
    except ConfigError as exc:
        raise HTTPException(422, str(exc)) from exc
    return {"rules_version": state.engine.version, "changes": list(summary["changes"])}
