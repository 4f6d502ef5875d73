"""``GET /v1/retain``: who to retain now, from the latest complete batch run."""

from __future__ import annotations

import json
from typing import Annotated

from fastapi import APIRouter, Depends, Query

from ...retain_list import format_retain
from ..deps import StoreDep
from ..schemas import RetainResponse
from ..security import require_token

router = APIRouter(prefix="/v1", tags=["retain"], dependencies=[Depends(require_token)])


@router.get("/retain", response_model=RetainResponse)
def retain(
    store: StoreDep,
    top: Annotated[int, Query(ge=1, le=10_000, description="how many customers")] = 20,
    tier: Annotated[str | None, Query(description="comma-separated tiers, e.g. platinum,gold")] = None,
    min_churn: Annotated[float | None, Query(ge=0, le=1, description="minimum churn probability")] = None,
    customer_id: Annotated[
        list[str] | None, Query(description="only these customers (unknown ids match nothing)")
    ] = None,
) -> dict:
    latest = store.latest_run()
    if latest is None:
        return {"run_id": None, "as_of": None, "customers": []}
    tiers = [t.strip() for t in tier.split(",") if t.strip()] if tier else None
    frame = store.retain(top=top, tiers=tiers, min_churn=min_churn, customer_ids=customer_id, run_id=latest.run_id)
    customers = json.loads(format_retain(frame, "json")) if len(frame) else []
    return {"run_id": latest.run_id, "as_of": latest.as_of, "customers": customers}
