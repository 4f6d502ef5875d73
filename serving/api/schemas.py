"""Request and response bodies of the HTTP API (the rules contract, in pydantic)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    StrictBool,
    Tag,
    create_model,
    field_validator,
    model_validator,
)

from crmid.rules.decision_table import LANGUAGES
from crmid.rules.families import output_columns, outputs, registered_families
from crmid.rules.family import LABEL, NUMBER, TEXT, RuleFamily

__all__ = [  # noqa: RUF022 - grouped by endpoint, not sorted
    "Lang", "SixC", "Facts", "DecideRequest", "DecideBody", "Reason", "Decision", "decision_model", "DecideResponse",
    "Transaction", "Profile", "ScoreRequest", "ScoredCustomer", "RetainEntry", "RetainResponse",
    "VersionResponse", "ReloadResponse", "ModelReloadResponse", "ReadyResponse", "ErrorResponse",
]

Score100 = Field(default=None, ge=0, le=100)
Share = Field(default=None, ge=0, le=1)


class SixC(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    character: float | None = Score100
    capacity: float | None = Score100
    capital: float | None = Score100
    collateral: float | None = Score100
    condition: float | None = Score100
    continuity: float | None = Score100


class Facts(BaseModel):
    """One customer's rule inputs; every field but ``customer_id`` is optional; numbers are finite.

    Yes/no fields take JSON ``true``/``false`` only: a ``0`` or ``"no"`` is refused rather than read
    as an answer of the MAN rule the sender may not have meant.
    """

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
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
    money: StrictBool | None = None
    authority: StrictBool | None = None
    need: StrictBool | None = None
    six_c: SixC | None = None
    distributor_criteria: dict[str, Annotated[float, Field(ge=0, le=100)]] | None = None
    segment: Literal["consumer", "business", "distributor"] | None = None
    price_sensitive: StrictBool | None = None


class DecideRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    customers: list[Facts] = Field(min_length=1)


def _one_or_many(value) -> str:
    return "many" if isinstance(value, dict) and "customers" in value else "one"


#: the body of ``POST /v1/decide``: a facts object, or ``{"customers": [...]}``; the shape picks
#: the model, so a bad body is reported against the one it meant, not against both
DecideBody = Annotated[
    Annotated[Facts, Tag("one")] | Annotated[DecideRequest, Tag("many")],
    Discriminator(_one_or_many),
]


#: the languages of reasons and action texts (``?lang=``); a request without one gets the workspace's
Lang = Literal[LANGUAGES]


class Reason(BaseModel):
    """One rule that fired, and why, in the language asked for."""

    rule: str = Field(description="the rule's stable id", examples=["tier.platinum"])
    reason: str = Field(description="why the rule fired, one line in the request's language (en: plain English, "
                                    "zh: Chinese)",
                        examples=["Value percentile >= 0.95 (top 5%) -> platinum (VIP) tier"])
    # left out (not null) when the rule has none: the same reasons as the batch files and the store
    term: str | None = Field(default=None, exclude_if=lambda v: v is None,
                             description="the textbook's Chinese term for what the rule decided, in every "
                                         "language; absent when the rule has none",
                             examples=["铂金"])


# decision columns the engine itself sets (not a rule family's output), and how they are typed
_ENGINE_FIELDS = {
    "customer_id": (str, ...),
    "priority": (float, ...),
    "reasons": (list[Reason], ...),
    "rules_version": (str, ...),
}
# how a family output of each kind is typed: labels and texts are always set (every table that
# sets them is complete), numbers are missing where not computed (an incomplete 6C profile)
_OUTPUT_FIELDS = {
    LABEL: (str, ...),
    TEXT: (str, ...),
    NUMBER: (float | None, None),
}


def decision_model(families: Sequence[RuleFamily] | None = None) -> type[BaseModel]:
    """The ``Decision`` model: the rules' decision for one customer, built from the rule families.

    Parameters
    ----------
    families : sequence of RuleFamily, optional
        Default: the families registered now (:func:`crmid.rules.families.registered_families`).
        Call it again after registering a family to get a model with its outputs.

    Returns
    -------
    type
        A pydantic model with the decision's columns in order (``customer_id``, every family
        output with its description, ``priority``, ``reasons``, ``rules_version``); other
        fields are allowed, so a response from a newer engine still validates.
    """
    # one snapshot of the registry, so the columns and their descriptions agree
    families = registered_families() if families is None else tuple(families)
    described = {o.name: o for o in outputs(families)}
    fields: dict[str, Any] = {}
    for name in output_columns(families):
        if name in described:
            kind, default = _OUTPUT_FIELDS[described[name].kind]
            fields[name] = (kind, Field(default, description=described[name].description))
        else:
            fields[name] = _ENGINE_FIELDS[name]
    return create_model(
        "Decision",
        __config__=ConfigDict(extra="allow"),
        __doc__="The rules' decision for one customer (the rules contract).",
        __module__=__name__,
        **fields,
    )


#: the decision model of the families registered when the API was imported
Decision = decision_model()


class DecideResponse(BaseModel):
    decisions: list[Decision]


#: the dates pandas' nanosecond timestamps can hold (about 1677-09-22 .. 2262-04-11), by whole years
_EARLIEST, _LATEST = dt.datetime(1678, 1, 1), dt.datetime(2261, 12, 31)


def _date_text(value):
    """A date field's JSON value must be text (``1998-06-30``, or with a time): no number, no boolean."""
    if not isinstance(value, str | dt.date):
        raise ValueError("a date as text: YYYY-MM-DD (a time and zone may follow)")
    return value


class Transaction(BaseModel):
    """One purchase (negative amount: a return); amounts are finite."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False, strict=True)
    # dates come as JSON text, parsed in lax mode (strict refuses a string date); a number is not
    # read as seconds since 1970 (_date_text)
    date: Annotated[dt.date, Field(strict=False)] | Annotated[dt.datetime, Field(strict=False)]
    amount: float

    @field_validator("date", mode="before")
    @classmethod
    def _date_is_text(cls, value):
        return _date_text(value)

    @field_validator("date")
    @classmethod
    def _calendar_date(cls, value):
        # a purchase's day as written where it happened: a time zone says nothing more about the
        # day, and mixing zones with naive times must not fail the request
        stamp = value if isinstance(value, dt.datetime) else dt.datetime.combine(value, dt.time())
        stamp = stamp.replace(tzinfo=None)
        if not _EARLIEST <= stamp <= _LATEST:
            raise ValueError(f"a date between {_EARLIEST.date()} and {_LATEST.date()}")
        return stamp

    order_id: str | None = None
    quantity: float | None = None
    product: str | None = None
    category: str | None = None
    channel: str | None = None
    discount: float | None = None


class Profile(BaseModel):
    """Profile attributes of the data contract (flattened 6C and distributor criteria allowed)."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False, strict=True)

    @model_validator(mode="before")
    @classmethod
    def _no_other_customer(cls, data):
        # the request's customer_id names the customer; a profile must not name another one
        if isinstance(data, dict) and "customer_id" in data:
            raise ValueError("customer_id does not belong in the profile: the request's customer_id names the "
                             "customer")
        return data

    money: StrictBool | None = None
    authority: StrictBool | None = None
    need: StrictBool | None = None
    segment: Literal["consumer", "business", "distributor"] | None = None
    price_sensitive: StrictBool | None = None
    cost_to_serve: float | None = None


class ScoreRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    customer_id: str = Field(min_length=1)
    as_of: dt.date = Field(strict=False)
    transactions: list[Transaction] = Field(default_factory=list)
    profile: Profile | None = None

    @field_validator("as_of", mode="before")
    @classmethod
    def _date_is_text(cls, value):
        return _date_text(value)


class Driver(BaseModel):
    """One feature's share of the churn probability (see the README's column glossary)."""

    feature: str = Field(description="model feature name", examples=["recency_days"])
    label: str = Field(description="what the feature means, in words", examples=["days since the last purchase"])
    value: float | None = Field(description="the customer's value of the feature (null: missing)")
    effect: float = Field(description="percentage points of churn probability it adds (negative: removes)",
                          examples=[12.4])


class CurvePoint(BaseModel):
    day: int = Field(description="days after the as-of date")
    survival: float = Field(description="probability of no purchase yet by that day, S(t)")


class ScoredCustomer(BaseModel):
    """The full scored row of one customer (``crmid score``'s columns), and the CLV reference used.

    Numbers that are not finite are null: ``next_purchase_days_median`` / ``_p90`` are null when the
    customer's chance of ever buying again stays below 50% / 90% (``next_purchase_median_beyond_365d``
    is then true).
    """

    model_config = ConfigDict(extra="allow")
    customer_id: str
    action: str
    priority: float
    reasons: list[Reason]
    drivers: list[Driver] = Field(default_factory=list,
                                  description="what drives the churn probability, largest |effect| first (<= 5)")
    survival_curve: list[CurvePoint] | None = Field(
        default=None, description="with ?curve=true: S(t) weekly to 365 days (the next-purchase distribution)")
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
    model_card: dict | None = Field(default=None, description="the served model's card (`crmid model show`): "
                                    "data, horizon, features, the gate's choices with metrics, method; null "
                                    "without a model")


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


class ErrorResponse(BaseModel):
    """The one shape of every error the API answers (401, 403, 404, 413, 422, 503 ...).

    ``detail`` lists each problem on its own line, naming the field (``transactions.0.amount``)
    or the row where there is one; ``message`` is one line for a person.
    """

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "status": 422, "error": "invalid_request", "message": "1 problem in the request",
        "detail": ["clv: Input should be a finite number (got inf)"]}]})
    status: int = Field(description="the HTTP status code, repeated")
    error: str = Field(description="a stable code: bad_request, unauthorized, forbidden, not_found, "
                                   "method_not_allowed, payload_too_large, invalid_request, unavailable, "
                                   "internal_error")
    message: str = Field(description="what went wrong, in one line")
    detail: list[str] = Field(description="every problem found, one per line (at least one)")
