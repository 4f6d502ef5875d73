"""Training: leakage, reproducibility, the gate on small data, and bad inputs."""

from __future__ import annotations

import pandas as pd
import pytest

from crmid.customerbase.snapshot import TransactionLog
from crmid.training import TrainingInputError, fit_scorer


def _boosters(scorer):
    out = {"churn": scorer.churn.classifier_.booster_.model_to_string()}
    out.update({k: c.booster_.model_to_string() for k, c in scorer.next_purchase.classifiers_.items()})
    return out


def test_no_leakage_and_reproducible(cdnow_3k):
    cutoff = pd.Timestamp("1997-12-31")
    past_only = cdnow_3k[cdnow_3k["date"] <= cutoff].reset_index(drop=True)
    with_future = fit_scorer(cdnow_3k, cutoff=cutoff, horizon=90, gate=False)
    without = fit_scorer(past_only, cutoff=cutoff, horizon=90, gate=False)
    assert _boosters(with_future) == _boosters(without)
    assert with_future.bgnbd.get_state() == without.bgnbd.get_state()
    # a TransactionLog holding the future gives the same models too (labels stop at the cutoff)
    from_log = fit_scorer(TransactionLog(cdnow_3k), cutoff=cutoff, horizon=90, gate=False)
    snap = TransactionLog(past_only).snapshot(cutoff)
    pd.testing.assert_frame_equal(from_log.predict(snap), without.predict(snap))
    again = fit_scorer(cdnow_3k, cutoff=cutoff, horizon=90, gate=False)
    assert _boosters(again) == _boosters(with_future)


def test_a_large_base_trains_on_a_sample_but_serves_population_fits(cdnow_3k):
    cutoff = "1997-12-31"
    whole = fit_scorer(cdnow_3k, cutoff=cutoff, horizon=90, gate=False)
    sampled = fit_scorer(cdnow_3k, cutoff=cutoff, horizon=90, gate=False, max_customers=1500)
    assert whole.info["training_customers"] == 3000 and sampled.info["training_customers"] == 1500
    assert sampled.info["training_rows"] < whole.info["training_rows"]
    assert _boosters(sampled) != _boosters(whole)
    # the served baselines are fitted on every customer known at the cutoff
    assert sampled.bgnbd.get_state() == whole.bgnbd.get_state()
    assert sampled.gamma_gamma.get_state() == whole.gamma_gamma.get_state()


def test_gate_refuses_lightgbm_on_a_tiny_data_set(cdnow, sampler):
    tiny = sampler(cdnow, 300, seed=2)
    scorer = fit_scorer(tiny, cutoff="1998-03-31", horizon=90)
    gate = scorer.info["gate"]
    refused = {k: g for k, g in gate.items() if g["source"] != "model"}
    assert refused, gate
    for g in refused.values():
        assert "BG/NBD served" in g["reason"] or "blend" in g["reason"]
    assert set(scorer.sources.values()) <= {"model", "baseline", "blend"}


@pytest.mark.parametrize(
    "kwargs, numbers",
    [
        ({"cutoff": "1996-12-01", "horizon": 90}, ["1996-12-01", "1997-01-01"]),
        ({"cutoff": "1998-09-30", "horizon": 90}, ["1998-09-30", "1998-06-30", "92 days"]),
        ({"cutoff": "1997-04-30", "horizon": 180}, ["180", "210", "119 days"]),
    ],
)
def test_bad_dates_and_horizons_raise_with_the_numbers(cdnow_3k, kwargs, numbers):
    with pytest.raises(TrainingInputError) as err:
        fit_scorer(cdnow_3k, **kwargs)
    for n in numbers:
        assert n in str(err.value)


def test_too_few_customers_or_positives(cdnow, sampler):
    few = sampler(cdnow, 50, seed=1)
    with pytest.raises(TrainingInputError, match=r"too few customers to train: 50 known .* at least 100"):
        fit_scorer(few, cutoff=few["date"].max(), horizon=90)
    # customers who never came back: no positive label at all
    once = cdnow.groupby("customer_id", as_index=False).first().head(500)
    with pytest.raises(TrainingInputError,
                       match=r"too few positive labels to train: 0 customers purchased within 30 days"):
        fit_scorer(once, cutoff=once["date"].max(), horizon=30)
