"""A model that reads profile features scores the same customer alike in batch and online (HTTP).

A real ``crmid serve`` on a loopback port with a scorer trained with profile features.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np
import pytest

from crmid.serving.scoring import score_customers

from ..journeys.conftest import Service, free_port
from .conftest import AS_OF


@pytest.fixture(scope="module")
def service(tmp_path_factory, profiled):
    tmp = tmp_path_factory.mktemp("profile-api")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRMID_", "MLFLOW_"))}
    crmid = str(Path(sys.executable).with_name("crmid"))
    port = free_port()
    server = Service([crmid, "serve", "--port", str(port), "--model-uri", profiled["model_dir"], "--store", "none",
                      "--work-dir", str(tmp / "w")], tmp, port, env)
    yield server
    server.stop()


def test_online_with_a_profile_equals_the_batch_row(service, profiled, engine):
    clean, profiles, scorer = profiled["clean"], profiled["profiles"], profiled["scorer"]
    # ranked against the same reference as online (the model's own; this test scorer has none)
    batch = score_customers(clean, AS_OF, scorer=scorer, engine=engine, profiles=profiles,
                            reference=scorer.clv_reference).scored
    batch = batch.assign(customer_id=batch["customer_id"].astype(str)).set_index("customer_id")
    # customers whose profile says active and says not, each posted with its profile
    chosen = [profiles.loc[profiles["active_late"] == flag, "customer_id"].iloc[k] for flag in ("yes", "no")
              for k in range(3)]
    for cid in chosen:
        mine = clean[clean["customer_id"].astype(str) == cid]
        prof = profiles[profiles["customer_id"] == cid].iloc[0]
        body = {"customer_id": cid, "as_of": str(AS_OF.date()),
                "transactions": [{"date": str(d.date()), "amount": float(a)}
                                 for d, a in zip(mine["date"], mine["amount"], strict=True)],
                "profile": {"active_late": prof["active_late"], "segment": prof["segment"]}}
        r = service.post("/v1/score", json=body)
        assert r.status_code == 200, r.text
        row, expected = r.json(), batch.loc[cid]
        for col in ("churn_probability", "p_purchase_30d", "p_purchase_90d", "expected_spend_90d", "clv"):
            assert row[col] == pytest.approx(float(expected[col]), rel=1e-12), col
        assert row["drivers"] == json.loads(expected["drivers"])
        assert row["action"] == expected["action"]
        if prof["active_late"] == "yes":
            # without its profile the customer is scored with the profile features missing, which
            # LightGBM (no missing value at training) reads as the first category, "no"
            bare = service.post("/v1/score", json={k: v for k, v in body.items() if k != "profile"}).json()
            assert bare["churn_probability"] > row["churn_probability"] + 0.05
    active = [batch.loc[c, "churn_probability"] for c in chosen[:3]]
    idle = [batch.loc[c, "churn_probability"] for c in chosen[3:]]
    assert np.mean(active) < np.mean(idle)
