"""``POST /v1/decide``: rule decisions for one customer's facts, or for many."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException

from ..deps import ContextDep
from ..schemas import DecideBody, DecideResponse, Decision, Facts
from ..security import require_token

router = APIRouter(prefix="/v1", tags=["decide"], dependencies=[Depends(require_token)])

_EXAMPLES = {
    "one customer": {
        "summary": "one facts object -> one decision",
        "value": {"customer_id": "C-001", "value_percentile": 0.97, "churn_probability": 0.62,
                  "recency_days": 75, "frequency": 6, "tenure_days": 420, "loyalty": 0.7},
    },
    "many customers": {
        "summary": '{"customers": [...]} -> {"decisions": [...]}',
        "value": {"customers": [
            {"customer_id": "C-001", "value_percentile": 0.97, "churn_probability": 0.62},
            {"customer_id": "P-002", "money": True, "authority": False, "need": True, "segment": "business"},
        ]},
    },
}


@router.post("/decide", response_model=Decision | DecideResponse)
def decide(body: Annotated[DecideBody, Body(openapi_examples=_EXAMPLES)], *, context: ContextDep):
    """Decide for one customer (a facts object, answered by one decision) or for many
    (``{"customers": [...]}``, answered by ``{"decisions": [...]}`` in the same order).

    (A plain ``def``: FastAPI runs it in a worker thread, so the CPU-bound rules never block
    the event loop.)
    """
    from crmid.rules import FactsError

    engine = context.engine
    try:
        if isinstance(body, Facts):
            return engine.decide(body.model_dump(exclude_none=True))
        return DecideResponse(decisions=[engine.decide(f.model_dump(exclude_none=True)) for f in body.customers])
    except FactsError as exc:
        # facts the schema lets through but the rules in force do not know (e.g. a distributor
        # criterion this configuration does not weigh)
        raise HTTPException(422, [str(exc)]) from exc
