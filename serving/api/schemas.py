"""Request and response bodies of the HTTP API (the rules contract, in pydantic)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

__all__ = [
    "SixC", "Facts", "DecideRequest", "Reason", "Decision", "DecideResponse",
    "Transaction", "Profile", "ScoreRequest", "ScoredCustomer", "RetainEntry", "RetainResponse",
    "VersionResponse", "ReloadResponse", "ModelReloadResponse", "ReadyResponse",
]

Score100 = Field(default=None, ge=0, le=100)
Share = Field(default=None, ge=0, le=1)


class SixC(BaseModel):
    model_config = ConfigDict(extra="forbid")
    character: float | None = Score100
    capacity: float | None = Score100
    capital: float | None = Score100
    collateral: float | None = Score100
    condition: float | None = Score100
    continuity: float | None = Score100


class Facts(BaseModel):
    """One customer's rule inputs; every field but ``customer_id`` is optional."""

    model_config = ConfigDict(extra="forbid")
    customer_id: str = Field(min_length=1)
    value_percentile: float | None = Share
    clv: float | None = None
    profit: float | None = None
    churn_probability: float | None = Share
    p_purchase_30d: float | None = Share
    p_purchase_90d: float | None = Share
    expected_days_to_next_purchase: float | None = Field(default=None, ge=0)
    recency_days: float | None = Field(default=None, ge=0)
    frequency: float | None = Field(default=None, ge=0)
    monetary: float | None = None
    tenure_days: float | None = Field(default=None, ge=0)
    spend_trend: float | None = Field(default=None, ge=0)
    loyalty: float | None = Share
    money: bool | None = None
    authority: bool | None = None
    need: bool | None = None
    six_c: SixC | None = None
    distributor_criteria: dict[str, float] | None = None
    segment: Literal["consumer", "business", "distributor"] | None = None
    price_sensitive: bool | None = None


class DecideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customers: list[Facts] = Field(min_length=1)


class Reason(BaseModel):
    rule: str
    reason: str


class Decision(BaseModel):
    """The rules' decision for one customer (the rules contract)."""

    model_config = ConfigDict(extra="allow")
    customer_id: str
    value_tier: str
    relationship_type: str
    customer_kind: str
    value_type: str
    lifecycle_stage: str
    temperature: str
    man_class: str
    six_c_score: float | None = None
    six_c_grade: str
    distributor_score: float | None = None
    distributor_fit: str | None = None
    action: str
    action_text: str
    priority: float
    reasons: list[Reason]
    rules_version: str


class DecideResponse(BaseModel):
    decisions: list[Decision]


class Transaction(BaseModel):
    model_config = ConfigDict(extra="forbid")
    date: dt.date | dt.datetime
    amount: float
    order_id: str | None = None
    quantity: float | None = None
    product: str | None = None
    category: str | None = None
    channel: str | None = None
    discount: float | None = None


class Profile(BaseModel):
    """Profile attributes of the data contract (flattened 6C and distributor criteria allowed)."""

    model_config = ConfigDict(extra="allow")
    money: bool | None = None
    authority: bool | None = None
    need: bool | None = None
    segment: Literal["consumer", "business", "distributor"] | None = None
    price_sensitive: bool | None = None
    cost_to_serve: float | None = None


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    customer_id: str = Field(min_length=1)
    as_of: dt.date
    transactions: list[Transaction] = Field(default_factory=list)
    profile: Profile | None = None


class ScoredCustomer(BaseModel):
    """The full scored row of one customer (``crmid score``'s columns), and the CLV reference used."""

    model_config = ConfigDict(extra="allow")
    customer_id: str
    action: str
    priority: float
    reasons: list[Reason]
    model_version: str
    rules_version: str
    clv_reference: str = Field(description="what the value percentile was ranked against: 'run:<run id>' "
                                           "(the latest stored run of this model), 'model:<version>' (the "
                                           "training population) or 'none' (not assessed)")


class RetainEntry(BaseModel):
    model_config = ConfigDict(extra="allow")
    customer_id: str
    value_tier: str
    churn_probability: float | None
    clv: float | None
    value_at_risk: float | None
    action: str
    action_text: str
    priority: float
    top_reasons: list[str]


class RetainResponse(BaseModel):
    run_id: str | None
    as_of: str | None
    customers: list[RetainEntry]


class VersionResponse(BaseModel):
    crmid: str
    model_version: str | None
    rules_version: str
    store_run_id: str | None


class ReloadResponse(BaseModel):
    rules_version: str
    changes: list[str]


class ModelReloadResponse(BaseModel):
    model_version: str
    previous_model_version: str | None
    rules_version: str


class ReadyResponse(BaseModel):
    ready: bool
    model_loaded: bool
    model_version: str | None
    model_error: str | None
    store: Literal["off", "reachable", "unreachable"]
    store_error: str | None
    rules_version: str
