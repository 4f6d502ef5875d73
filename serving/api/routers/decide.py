"""``POST /v1/decide``: rule decisions for one customer's facts, or for many."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Body, Depends, HTTPException, Query
from fastapi.concurrency import run_in_threadpool

from ..deps import ContextDep, StateDep
from ..schemas import DecideBody, DecideResponse, Decision, Facts, Lang
from ..security import require_token

router = APIRouter(prefix="/v1", tags=["decide"], dependencies=[Depends(require_token)])

#: the ``lang`` query parameter of the endpoints that explain decisions
LANG_DESCRIPTION = ("language of the reasons and action texts: en (plain English) or zh (Chinese, with the "
                    "textbook's terms); default: the service's setting (CRMID_LANG, else en)")

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
async def decide(body: Annotated[DecideBody, Body(openapi_examples=_EXAMPLES)], *, context: ContextDep,
                 state: StateDep, lang: Annotated[Lang | None, Query(description=LANG_DESCRIPTION)] = None):
    """Decide for one customer (a facts object, answered by one decision) or for many
    (``{"customers": [...]}``, answered by ``{"decisions": [...]}`` in the same order).
    ``?lang=zh`` gives the reasons and action texts in Chinese; the decision is the same.
    """
    engine = context.engine
    lang = lang or state.workspace.lang
    if isinstance(body, Facts):
        # one customer's rules take a fraction of a millisecond: decided here, on the event loop.
        # A plain ``def`` handler went through the thread pool twice (the handler, then the check
        # of its answer), which cost more than the decision and lengthened the tail under load
        return _decide(engine, [body], lang)[0]
    # many customers: CPU-bound work of any length, done in a worker thread so that the event
    # loop keeps serving other requests meanwhile
    return DecideResponse(decisions=await run_in_threadpool(_decide, engine, body.customers, lang))


def _decide(engine, customers: list[Facts], lang) -> list:
    from crmid.rules import FactsError

    try:
        return [engine.decide(f.model_dump(exclude_none=True), lang) for f in customers]
    except FactsError as exc:
        # facts the schema lets through but the rules in force do not know (e.g. a distributor
        # criterion this configuration does not weigh)
        raise HTTPException(422, [str(exc)]) from exc
