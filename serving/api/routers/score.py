"""``POST /v1/score``: one customer's transactions and profile -> the full scored row."""

from __future__ import annotations

import json
import math
from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, status

from crmid.customerbase import ContractError, TransactionLog, validate_profiles, validate_transactions

from ...context import NoModelError, reference_for
from ...scoring import score_customers
from ..deps import ContextDep, StateDep
from ..schemas import Lang, ScoredCustomer, ScoreRequest
from ..security import require_token
from .decide import LANG_DESCRIPTION

router = APIRouter(prefix="/v1", tags=["score"], dependencies=[Depends(require_token)])


def _plain(value):
    if isinstance(value, (np.floating, float)):
        # JSON has no inf or NaN: a quantile that is never reached reads as null (its flag says why)
        return float(value) if math.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (np.bool_,)):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NA or value is None:
        return None
    return value


@router.post("/score", response_model=ScoredCustomer,
             responses={503: {"description": "no model loaded yet: train one, then POST /v1/model/reload"}})
def score(body: ScoreRequest, state: StateDep, context: ContextDep,
          curve: Annotated[bool, Query(description="add the survival curve S(t), weekly to 365 days")] = False,
          lang: Annotated[Lang | None, Query(description=LANG_DESCRIPTION)] = None) -> dict:
    """Score one customer as of a date, exactly as the batch job would (same function).

    The value percentile is ranked against the CLV distribution of the latest complete batch
    run of the same model, else against the training population saved with the model; the
    response's ``clv_reference`` names which (``run:<id>``, ``model:<version>``, or ``none``).
    """
    try:
        scorer = context.require_scorer()
    except NoModelError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    rows = [t.model_dump() for t in body.transactions]
    frame = pd.DataFrame(rows, columns=["date", "amount", "order_id", "quantity", "product", "category",
                                        "channel", "discount"])
    frame.insert(0, "customer_id", body.customer_id)
    frame["date"] = pd.to_datetime(frame["date"])  # naive calendar dates already (see schemas.Transaction)
    try:
        clean, report = validate_transactions(frame, source="request body", as_of=body.as_of,
                                              max_abs_amount=context.engine.config.section("input")["max_abs_amount"])
        profiles = None
        if body.profile is not None:
            profiles = validate_profiles(pd.DataFrame([{"customer_id": body.customer_id,
                                                        **body.profile.model_dump(exclude_none=True)}]),
                                         source="request body: profile")
    except ContractError as exc:
        raise HTTPException(422, [str(p) for p in exc.problems]) from exc
    if clean.empty and profiles is None:
        raise HTTPException(422, [f"customer {body.customer_id}: no transaction on or before {body.as_of} "
                                  "and no profile: nothing to score"])
    reference = reference_for(context, state.store)
    result = score_customers(clean, body.as_of, scorer=scorer, engine=context.engine,
                             profiles=profiles, report=report, reference=reference.table,
                             lang=lang or state.workspace.lang)
    if result.scored.empty:
        # e.g. every transaction is after as_of: the customer is not known yet, and says why
        raise HTTPException(422, [f"customer {body.customer_id}: {r}" for r in result.rejects["reason"]]
                            or [f"customer {body.customer_id}: nothing to score at {body.as_of}"])
    row = {k: _plain(v) for k, v in result.scored.iloc[0].to_dict().items()}
    row["reasons"] = json.loads(row["reasons"])
    row["drivers"] = json.loads(row["drivers"]) if row.get("drivers") else []
    row["clv_reference"] = reference.source
    if curve and not clean.empty:
        days, survival = scorer.survival_curve(TransactionLog(clean).snapshot(body.as_of))
        row["survival_curve"] = [{"day": d, "survival": float(v)} for d, v in zip(days, survival[0], strict=True)]
    return row
