"""Spark in local mode gives exactly the single-machine output, row for row.

Runs a real local[2] Spark (pyspark from the package index, Java 17 on the machine).
"""

from __future__ import annotations

import os
import sys

import numpy as np
import pandas as pd
import pyspark  # noqa: F401  (the [spark] extra; CI installs it, so this never skips)
import pytest

from crmid.customerbase import generate_profiles, validate_profiles, validate_transactions, write_table_atomic
from crmid.serving.scoring import SCORE_COLUMNS, score_customers

from .conftest import AS_OF


@pytest.fixture(scope="module")
def spark():
    from pyspark.sql import SparkSession

    os.environ["PYSPARK_PYTHON"] = sys.executable
    session = (SparkSession.builder.master("local[2]").appName("crmid-test")
               .config("spark.sql.shuffle.partitions", "4")
               .config("spark.ui.enabled", "false")
               .config("spark.sql.session.timeZone", "UTC")
               .getOrCreate())
    yield session
    session.stop()


def test_spark_equals_single_machine(spark, cdnow_sample, scorer, engine, tmp_path):
    tx = cdnow_sample.copy()
    tx["customer_id"] = tx["customer_id"].astype(str)
    tx.loc[3, "amount"] = np.nan  # one customer with a bad row: rejected on both engines
    ids = tx["customer_id"].unique()
    profiles = generate_profiles([*ids[:300], "prospect-a", "prospect-b"], seed=5)
    _assert_spark_equals_local(spark, tx, profiles, scorer, engine)


def test_spark_equals_single_machine_for_a_model_with_profile_features(spark, profiled, engine):
    """The profiles reach the models on Spark too (each bucket's transactions meet its profiles)."""
    tx = profiled["clean"].assign(customer_id=lambda f: f["customer_id"].astype(str))[
        ["customer_id", "date", "amount"]]
    ids = tx["customer_id"].unique()
    # some customers with a profile, some without, and prospects with no transaction
    profiles = profiled["profiles"][profiled["profiles"]["customer_id"].isin(ids[::2])]
    profiles = pd.concat([profiles, pd.DataFrame({"customer_id": ["prospect-a"], "active_late": ["no"]})],
                         ignore_index=True)
    assert profiled["scorer"].uses_profiles
    _assert_spark_equals_local(spark, tx, profiles, profiled["scorer"], engine)


def _assert_spark_equals_local(spark, tx, profiles, scorer, engine):
    from crmid.serving.spark import score_spark

    scored_at = pd.Timestamp("2026-11-23 12:00:00")
    clean, report = validate_transactions(tx, as_of=AS_OF, on_error="reject")
    local = score_customers(clean, AS_OF, scorer=scorer, engine=engine, report=report,
                            profiles=validate_profiles(profiles), scored_at=scored_at)

    columns = [c for c in ("customer_id", "date", "amount", "quantity") if c in tx.columns]
    sdf = spark.createDataFrame(tx[columns])
    sprof = spark.createDataFrame(profiles.astype(object).where(profiles.notna(), None))
    scored, rejects = score_spark(spark, sdf, AS_OF, scorer=scorer, engine=engine, profiles=sprof,
                                  scored_at=scored_at, buckets=5)
    remote = scored.toPandas()
    remote_rejects = rejects.toPandas()

    assert list(remote.columns) == list(SCORE_COLUMNS)
    assert len(remote) == remote["customer_id"].nunique() == len(local.scored)
    assert sorted(remote_rejects["customer_id"]) == sorted(local.rejects["customer_id"].astype(str))

    a = local.scored.assign(customer_id=local.scored["customer_id"].astype(str)).sort_values("customer_id")
    b = remote.sort_values("customer_id")
    a, b = a.reset_index(drop=True), b.reset_index(drop=True)
    for col in SCORE_COLUMNS:
        left, right = a[col], b[col]
        if pd.api.types.is_float_dtype(right) or pd.api.types.is_float_dtype(left):
            np.testing.assert_allclose(left.astype(float), right.astype(float), rtol=1e-12, atol=0, equal_nan=True,
                                       err_msg=col)
        else:
            assert list(left.astype(object).where(left.notna(), None)) == \
                   list(right.astype(object).where(right.notna(), None)), col


def test_spark_batch_reads_and_writes_parquet(spark, cdnow_sample, model_dir, tmp_path):
    """`crmid score --engine spark` end to end: Parquet in, Parquet out, counts that add up."""
    from crmid.config import Workspace
    from crmid.serving.spark import run_spark_batch

    tx = cdnow_sample.copy()
    tx["customer_id"] = tx["customer_id"].astype(str)
    write_table_atomic(tx, tmp_path / "tx.parquet")
    out = str(tmp_path / "scores.parquet")
    workspace = Workspace(model_uri=model_dir, work_dir=tmp_path)
    summary = run_spark_batch(transactions=str(tmp_path / "tx.parquet"), as_of=AS_OF, out=out,
                              workspace=workspace, spark=spark)
    scored = pd.read_parquet(out)
    known = tx.loc[tx["date"] <= AS_OF, "customer_id"].nunique()
    assert summary.scored == len(scored) == scored["customer_id"].nunique() == known
    assert summary.input_customers == summary.scored + summary.rejected
    assert list(scored.columns) == list(SCORE_COLUMNS)
