"""``GET /v1/retain``: who to retain now, from the latest complete batch run."""

from __future__ import annotations

import json

from fastapi import APIRouter, Depends, Query

from ...retain_list import format_retain
from ..deps import StoreDep
from ..schemas import RetainResponse
from ..security import require_token

router = APIRouter(prefix="/v1", tags=["retain"], dependencies=[Depends(require_token)])


@router.get("/retain", response_model=RetainResponse)
def retain(
    store: StoreDep,
    top: int = Query(20, ge=1, le=10_000, description="how many customers"),
    tier: str | None = Query(None, description="comma-separated tiers, e.g. platinum,gold"),
    min_churn: float | None = Query(None, ge=0, le=1, description="minimum churn probability"),
    customer_id: list[str] | None = Query(None, description="only these customers (unknown ids match nothing)"),
) -> dict:
    latest = store.latest_run()
    if latest is None:
        return {"run_id": None, "as_of": None, "customers": []}
    tiers = [t.strip() for t in tier.split(",") if t.strip()] if tier else None
    frame = store.retain(top=top, tiers=tiers, min_churn=min_churn, customer_ids=customer_id, run_id=latest.run_id)
    customers = json.loads(format_retain(frame, "json")) if len(frame) else []
    return {"run_id": latest.run_id, "as_of": latest.as_of, "customers": customers}
