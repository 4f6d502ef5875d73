"""``POST /v1/score``: one customer's transactions and profile -> the full scored row."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Query, status
from fastapi.concurrency import run_in_threadpool

from crmid._frames import column_values, frame_of
from crmid.customerbase import ContractError, TransactionLog, validate_profiles, validate_transactions

from ...context import NoModelError, ScoringContext, reference_for
from ...scoring import rejects_from_report, score_customers
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
    if isinstance(value, np.datetime64):
        value = pd.Timestamp(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is pd.NA or value is None:
        return None
    return value


@router.post("/score", response_model=ScoredCustomer,
             responses={503: {"description": "no model loaded yet: train one, then POST /v1/model/reload"}})
async def score(body: ScoreRequest, state: StateDep, context: ContextDep,
                curve: Annotated[bool, Query(description="add the survival curve S(t), weekly to 365 days")] = False,
                lang: Annotated[Lang | None, Query(description=LANG_DESCRIPTION)] = None) -> dict:
    """Score one customer as of a date, exactly as the batch job would (same function).

    The value percentile is ranked against the CLV distribution of the latest complete batch
    run of the same model, else against the training population saved with the model; the
    response's ``clv_reference`` names which (``run:<id>``, ``model:<version>``, or ``none``).
    """
    try:
        context.require_scorer()
    except NoModelError as exc:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, str(exc)) from exc
    lang = lang or state.workspace.lang
    # the scoring waits in a worker thread (CPU-bound, and queued behind concurrent requests); the
    # handler itself is a coroutine, so FastAPI checks the answer against ScoredCustomer here
    # rather than in a second trip through the thread pool (a plain ``def`` handler costs both)
    row = await run_in_threadpool(_score_coalesced, body, curve, state, context, lang)
    if isinstance(row, _Rejected):
        # e.g. every transaction is after as_of: the customer is not known yet, and says why
        raise HTTPException(422, row.reasons)
    return row


def _score_coalesced(body: ScoreRequest, curve: bool, state, context: ScoringContext, lang):
    """The request's row, scored together with concurrent requests of the same model, date and language."""
    key = (id(context), body.as_of, lang)
    return state.coalescer.submit(key, body.customer_id, (body, curve),
                                  lambda _key, requests: _score_together(requests, context, state.store, lang))


@dataclass(frozen=True)
class _Rejected:
    reasons: list[str]


_TRANSACTION_FIELDS = ("date", "amount", "order_id", "quantity", "product", "category", "channel", "discount")


def _score_together(requests: list[tuple[ScoreRequest, bool]], context: ScoringContext, store, lang) -> list:
    """Validate and score the customers of several requests in one call: a row (or why none) each.

    Every row is what the customer would get alone: the value percentile is ranked against one
    fixed reference, not the batch, and the rest of the scoring is row by row. A request with bad
    input makes the whole call raise; the coalescer then runs each request alone, so the error
    (422, naming the field) is that request's own.
    """
    bodies = [b for b, _ in requests]
    as_of = bodies[0].as_of
    rows = [(b.customer_id, t) for b in bodies for t in b.transactions]
    # built column by column, the dates typed at once: they are naive calendar dates already (see
    # schemas.Transaction), and a frame of records then parsed costs a millisecond more per request
    frame = frame_of({
        "customer_id": pd.array([cid for cid, _ in rows], dtype="str"),
        "date": np.array([t.date for _, t in rows], dtype="datetime64[ns]"),
        "amount": np.array([t.amount for _, t in rows], dtype=np.float64),
        # the optional fields as given (None when absent), as a file without them would read
        **{f: np.array([getattr(t, f) for _, t in rows], dtype=object) for f in _TRANSACTION_FIELDS
           if f not in ("date", "amount")},
    })
    try:
        clean, report = validate_transactions(frame, source="request body", as_of=as_of,
                                              max_abs_amount=context.engine.config.section("input")["max_abs_amount"])
        given = [{"customer_id": b.customer_id, **b.profile.model_dump(exclude_none=True)}
                 for b in bodies if b.profile is not None]
        profiles = validate_profiles(pd.DataFrame(given), source="request body: profile") if given else None
    except ContractError as exc:
        raise HTTPException(422, [str(p) for p in exc.problems]) from exc
    # the validated ids are a categorical of exactly the customers left (validation drops the rest)
    known = {str(c) for c in column_values(clean, "customer_id").categories}
    with_profile = {b.customer_id for b in bodies if b.profile is not None}
    result = None
    if known or with_profile:
        reference = reference_for(context, store)
        result = score_customers(clean, as_of, scorer=context.scorer, engine=context.engine, profiles=profiles,
                                 report=report, reference=reference.table, lang=lang)
    scored = None if result is None else {c: column_values(result.scored, c) for c in result.scored.columns}
    position = {} if scored is None else {str(cid): i for i, cid in enumerate(scored["customer_id"])}
    out = []
    for body, curve in requests:
        cid = body.customer_id
        i = position.get(cid)
        if cid not in known and cid not in with_profile:
            out.append(_Rejected([f"customer {cid}: no transaction on or before {as_of} and no profile: "
                                  "nothing to score"]))
            continue
        if i is None:
            # set aside by validation (e.g. only future transactions): the reasons it gave
            rejects = result.rejects if result is not None else rejects_from_report(report)
            reasons = rejects.loc[rejects["customer_id"] == cid, "reason"]
            out.append(_Rejected([f"customer {cid}: {x}" for x in reasons]
                                 or [f"customer {cid}: nothing to score at {as_of}"]))
            continue
        row = {k: _plain(values[i]) for k, values in scored.items()}
        row["reasons"] = json.loads(row["reasons"])
        row["drivers"] = json.loads(row["drivers"]) if row.get("drivers") else []
        row["clv_reference"] = reference.source
        if curve and cid in known:
            mine = clean[clean["customer_id"].astype(str) == cid]
            days, survival = context.scorer.survival_curve(TransactionLog(mine).snapshot(as_of), profiles=profiles)
            row["survival_curve"] = [{"day": d, "survival": float(v)} for d, v in zip(days, survival[0], strict=True)]
        out.append(row)
    return out
