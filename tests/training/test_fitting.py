"""Training: leakage, reproducibility, the gate on small data, and bad inputs."""

from __future__ import annotations

import numpy as np
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


def test_the_gate_serves_pareto_nbd_where_it_is_the_better_classical_model():
    from crmid.training.gate import decide

    m = {"auc": 0.70, "brier": 0.20, "n": 100}
    metrics = {"model": m, "blend": m, "baseline": {"auc": 0.75, "brier": 0.18, "n": 100},
               "pareto": {"auc": 0.76, "brier": 0.17, "n": 100}}
    source, reason = decide(metrics, 0.0, 0.0)
    assert source == "pareto" and "Pareto/NBD served" in reason
    # a lower Brier score with a lower AUC is no better: BG/NBD stays the reference
    metrics["pareto"] = {"auc": 0.74, "brier": 0.17, "n": 100}
    assert decide(metrics, 0.0, 0.0)[0] == "baseline"
    # LightGBM must beat the better of the two, not just BG/NBD
    metrics["pareto"] = {"auc": 0.80, "brier": 0.15, "n": 100}
    metrics["model"] = {"auc": 0.78, "brier": 0.16, "n": 100}
    assert decide(metrics, 1.0, 0.0)[0] == "pareto"


def test_a_scorer_serving_pareto_nbd_scores_and_round_trips(cdnow_3k, tmp_path):
    from crmid.models import CustomerScorer
    from crmid.models.pareto_nbd import ParetoNBDModel

    base = fit_scorer(cdnow_3k, cutoff="1997-12-31", horizon=90)
    snap = TransactionLog(cdnow_3k).snapshot("1997-12-31")
    pareto = ParetoNBDModel().fit_features(snap)
    args = dict(horizon_days=90, bgnbd=base.bgnbd, gamma_gamma=base.gamma_gamma, churn=base.churn,
                next_purchase=base.next_purchase, knots=base.knots, feature_horizons=base.feature_horizons,
                sources={**base.sources, "churn": "pareto", "knot_30": "pareto"}, info={},
                driver_surrogate=base.driver_surrogate, spend=base.spend, families=base.families)
    with pytest.raises(ValueError, match="Pareto/NBD"):
        CustomerScorer(**args)
    scorer = CustomerScorer(**args, pareto=pareto)
    from crmid.models.bgnbd import rfm_arrays

    out = scorer.predict(snap)
    x, t_x, T = rfm_arrays(snap)
    np.testing.assert_allclose(out["churn_probability"], 1 - pareto.p_purchase_within(90, x, t_x, T))
    np.testing.assert_allclose(out["p_purchase_30d"], pareto.p_purchase_within(30, x, t_x, T))
    scorer.save(tmp_path / "s")
    pd.testing.assert_frame_equal(CustomerScorer.load(tmp_path / "s").predict(snap), out)
