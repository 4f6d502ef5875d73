"""The one scoring function: snapshot -> models -> facts -> rules -> one explained row per customer.

Batch (``crmid score``), the HTTP service (``POST /v1/score``) and the Spark engine all call
:func:`score_customers` or its two stages; there is no second implementation.

The work is split in two stages because the value percentile is relative to the population:

1. :func:`predict_stage` — per customer, independent of every other customer: snapshot features,
   model predictions and CLV. Any partition of customers can run it.
2. :func:`decide_stage` — facts and the rules decision, given the CLV quantile table of the
   whole population (:func:`serving.customer_facts.clv_reference`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from crmid._frames import column_values, frame_of
from crmid.customerbase import TransactionLog, ValidationReport
from crmid.customerbase.contract import empty_rejects
from crmid.models.scorer import OUTPUT_COLUMNS
from crmid.rules.decision_table import DEFAULT_LANG
from crmid.rules.families import output_columns

from .customer_facts import build_facts, clv, clv_reference

__all__ = [
    "PREDICTION_COLUMNS",
    "SCORE_COLUMNS",
    "ScoringResult",
    "decide_stage",
    "predict_stage",
    "rejects_from_report",
    "score_columns",
    "score_customers",
]

#: model outputs kept in the scored row
PREDICTION_COLUMNS = (*OUTPUT_COLUMNS, "drivers")



def score_columns(rule_columns=None) -> tuple[str, ...]:
    """The scored row, in order: model outputs, the facts the rules saw, then the rules' decision.

    ``rule_columns`` are the decision's columns (default: those of the registered rule families,
    :func:`crmid.rules.families.output_columns`); a family registered later adds its outputs here.
    """
    rule_columns = output_columns() if rule_columns is None else rule_columns
    return (
        "customer_id",
        "as_of",
        *PREDICTION_COLUMNS,
        "clv",
        "value_at_risk",
        "value_percentile",
        "loyalty",
        "profit",
        "recency_days",
        "frequency",
        "monetary_total",
        "tenure_days",
        "segment",
        *(c for c in rule_columns if c not in ("customer_id", "rules_version")),
        "model_version",
        "rules_version",
        "scored_at",
    )


#: the scored row of the packaged rule families (see :func:`score_columns`)
SCORE_COLUMNS = score_columns()

_SNAPSHOT_KEPT = ("recency_days", "frequency", "monetary_total", "tenure_days")


@dataclass
class ScoringResult:
    """What a scoring run produced.

    Attributes
    ----------
    scored : pandas.DataFrame
        One row per customer, columns :data:`SCORE_COLUMNS`; ``reasons`` is a JSON list of
        ``{"rule", "reason", "term"}`` (``term`` only where the rule has a textbook term).
    rejects : pandas.DataFrame
        ``customer_id`` and ``reason`` of every input customer not in ``scored``.
    reference : numpy.ndarray
        CLV quantile table the value percentiles were ranked against.
    seconds : dict
        Wall time per stage.
    """

    scored: pd.DataFrame
    rejects: pd.DataFrame
    reference: np.ndarray
    seconds: dict = field(default_factory=dict)


def rejects_from_report(report: ValidationReport | None) -> pd.DataFrame:
    """Customers the validation excluded, each with its reason; then rows with no customer id (id empty)."""
    parts = [empty_rejects()]
    if report is None or not (len(report.rejected) or report.future_only_customers or report.rows_without_customer):
        return parts[0]  # nothing set aside (every online request): no concatenation of empty frames
    parts.append(report.rejected.astype({"customer_id": "string", "reason": "string"}))
    if report.future_only_customers:
        parts.append(pd.DataFrame({
            "customer_id": pd.array(report.future_only_customers, dtype="string"),
            "reason": "all transactions are dated after the as-of date: not a customer yet at as_of",
        }))
    if report.rows_without_customer:
        # rows no customer can be named for: listed by row, with an empty customer id, so that
        # nothing read from the file is missing from both the scores and the rejects
        parts.append(pd.DataFrame({
            "customer_id": pd.array([pd.NA] * len(report.rows_without_customer), dtype="string"),
            "reason": [f"{report.source}: empty customer id in row {r}" for r in report.rows_without_customer],
        }))
    return pd.concat(parts, ignore_index=True)


def predict_stage(log: TransactionLog, as_of, *, scorer, policy, profiles: pd.DataFrame | None = None
                  ) -> pd.DataFrame:
    """Stage 1: snapshot features, model predictions and CLV for every customer known at ``as_of``.

    Depends on no other customer, so any partition of customers can run it. ``profiles`` are
    read only by a model trained with profile features (``scorer.uses_profiles``).

    Returns
    -------
    pandas.DataFrame
        The snapshot columns, the scorer's outputs (:data:`PREDICTION_COLUMNS`) and ``clv``.
    """
    features = log.snapshot(as_of)
    predictions = scorer.predict(features, drivers=True, profiles=profiles)
    # side by side (both in the snapshot's row order, on one RangeIndex): a concat joins the two
    # frames' blocks without copying them (building one frame of their arrays copied a million
    # rows' 45 columns, a second of the batch)
    out = pd.concat([features, predictions], axis=1)
    out["clv"] = clv(predictions, policy)
    return out


def decide_stage(
    predicted: pd.DataFrame,
    *,
    reference: np.ndarray,
    engine,
    policy,
    profiles: pd.DataFrame | None = None,
    prospects: pd.DataFrame | None = None,
    model_version: str,
    scored_at: pd.Timestamp,
    as_of,
    lang: str = DEFAULT_LANG,
) -> pd.DataFrame:
    """Stage 2: facts and the rules decision, merged into the scored rows (:data:`SCORE_COLUMNS`).

    ``profiles`` are joined to the customers of ``predicted``. ``prospects`` are profiles of
    people with no transaction yet: they are decided on their profile alone (MAN, 6C,
    distributor criteria), with the model fields empty. ``lang`` is the language of the reasons
    and action texts (``en`` or ``zh``).
    """
    facts = build_facts(predicted, reference=reference, policy=policy, profiles=profiles)
    if prospects is not None and len(prospects):
        facts = pd.concat([facts, prospects.reset_index(drop=True)], ignore_index=True)
    decisions = engine.decide_frame(facts, reasons_json=True, lang=lang).reset_index(drop=True)
    # the columns of the families this engine was compiled with
    out_columns = score_columns([c for c in decisions.columns if c != "reasons_json"])
    n = len(facts)
    pred = predicted.reset_index(drop=True)
    if len(pred) < n:  # the prospects' rows have no model outputs
        pred = pred.reindex(range(n))
    churn = column_values(pred, "churn_probability", float) if n else np.zeros(0)
    value = column_values(facts, "clv", float)
    columns = {
        "customer_id": column_values(facts, "customer_id"),
        "as_of": np.full(n, np.datetime64(pd.Timestamp(as_of).normalize().date(), "ns")),
        **{c: (column_values(pred, c) if c in pred.columns else np.full(n, np.nan)) for c in PREDICTION_COLUMNS},
        "clv": value,
        "value_at_risk": value * churn,
        **{c: column_values(facts, c, float) for c in ("value_percentile", "loyalty", "profit")},
        **{c: column_values(pred, c, float) for c in _SNAPSHOT_KEPT},
        # the profile's segment when the profiles give one (a filter of the retain list)
        "segment": _categorical(facts["segment"].to_numpy(dtype=object)) if "segment" in facts.columns
        else pd.array([pd.NA] * n, dtype="string"),
        # the rules' labels come as categoricals (Parquet stores each distinct text once); a
        # label column holding other than text comes as objects and is made categorical here
        **{c: _categorical(column_values(decisions, c)) for c in out_columns
           if c in decisions.columns and c not in ("customer_id", "reasons")},
        "reasons": column_values(decisions, "reasons_json"),
        "model_version": (pd.Categorical.from_codes(np.zeros(n, dtype=np.int8), categories=[model_version])
                          if n > _FEW_ROWS else np.full(n, model_version, dtype=object)),
        "scored_at": np.full(n, np.datetime64(pd.Timestamp(scored_at), "ns")),
    }
    # every part is in row order and typed already: no index alignment nor type inference (each a
    # millisecond or more of an online request)
    return frame_of({c: columns[c] for c in out_columns})


#: at most this many rows (the customers of one online call: the coalescer scores up to 32
#: together) keep their texts plain: a categorical per column (0.35 ms each, 17 columns) would
#: cost more than scoring them; Parquet and JSON hold the same values either way
_FEW_ROWS = 32


def _categorical(values):
    return pd.Categorical(values) if values.dtype == object and len(values) > _FEW_ROWS else values


def profiles_without(profiles: pd.DataFrame, *frames: pd.DataFrame) -> pd.DataFrame:
    """The profiles whose customer appears in none of ``frames``: prospects, with no purchase yet."""
    ids = profiles["customer_id"].astype(str)
    seen = np.zeros(len(ids), dtype=bool)
    for frame in frames:
        # unique() before the cast: casting a million-row column row by row costs seconds
        seen |= ids.isin(pd.unique(frame["customer_id"]).astype(str)).to_numpy()
    return profiles[~seen]


def score_customers(
    transactions,
    as_of,
    *,
    scorer,
    engine,
    profiles: pd.DataFrame | None = None,
    report: ValidationReport | None = None,
    reference: np.ndarray | None = None,
    scored_at: pd.Timestamp | None = None,
    on_stage=None,
    lang: str = DEFAULT_LANG,
) -> ScoringResult:
    """Score every customer known at ``as_of``: the batch job, one customer, or one partition.

    Parameters
    ----------
    transactions : pandas.DataFrame or TransactionLog
        Validated transactions; only those dated on or before ``as_of`` are read.
    as_of : date-like
    scorer : models.CustomerScorer
    engine : rules.RulesEngine
    profiles : pandas.DataFrame, optional
        Validated customer profiles.
    report : ValidationReport, optional
        The validation report of ``transactions``: its rejected customers go to the rejects.
    reference : numpy.ndarray, optional
        CLV quantile table to rank against; by default the scored population's own.
    scored_at : pandas.Timestamp, optional
        Time stamp written to every row (default: now, UTC).
    on_stage : callable, optional
        Called with each stage's name as it starts (progress bars).
    lang : str
        Language of the reasons and action texts: ``en`` (default) or ``zh``; the decisions
        themselves do not depend on it.
    """
    on_stage = on_stage or (lambda stage: None)
    seconds: dict[str, float] = {}
    on_stage("prepare")
    t0 = time.perf_counter()
    log = transactions if isinstance(transactions, TransactionLog) else TransactionLog(transactions)
    seconds["prepare"] = time.perf_counter() - t0
    policy = engine.facts_policy

    on_stage("snapshot+models")
    t0 = time.perf_counter()
    predicted = predict_stage(log, as_of, scorer=scorer, policy=policy, profiles=profiles)
    seconds["snapshot+models"] = time.perf_counter() - t0

    if reference is None:
        reference = clv_reference(predicted["clv"].to_numpy())
    rejects = rejects_from_report(report)
    prospects = None
    if profiles is not None:
        prospects = profiles_without(profiles, predicted, rejects)
    on_stage("facts+rules")
    t0 = time.perf_counter()
    scored = decide_stage(
        predicted, reference=reference, engine=engine, policy=policy, profiles=profiles, prospects=prospects,
        model_version=scorer.version, as_of=as_of,
        scored_at=scored_at if scored_at is not None else pd.Timestamp.now(tz="UTC").tz_localize(None), lang=lang,
    )
    seconds["facts+rules"] = time.perf_counter() - t0
    return ScoringResult(scored=scored, rejects=rejects, reference=reference, seconds=seconds)
