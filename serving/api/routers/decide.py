"""``POST /v1/decide``: rule decisions for customers' facts."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request

from ..schemas import DecideRequest, DecideResponse
from ..security import require_token

router = APIRouter(prefix="/v1", tags=["decide"], dependencies=[Depends(require_token)])


@router.post("/decide", response_model=DecideResponse)
def decide(body: DecideRequest, request: Request) -> DecideResponse:
    """Decide for one or many customers. (A plain ``def``: FastAPI runs it in a worker thread,
    so the CPU-bound rules never block the event loop.)"""
    engine = request.app.state.serving.engine
    decisions = [engine.decide(f.model_dump(exclude_none=True)) for f in body.customers]
    return DecideResponse(decisions=decisions)
