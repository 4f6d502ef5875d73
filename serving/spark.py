"""The same scoring on Apache Spark, for customer bases one machine cannot hold.

Nothing here computes a feature, a prediction or a decision: Spark only moves data. Customers
are hashed into buckets; each bucket holds every transaction of its customers, and the very
functions of the single-machine path run on it:

1. per bucket: :func:`customerbase.validate_transactions` (bad customers become rejects) and
   :func:`serving.scoring.predict_stage` (snapshot, models, CLV);
2. on the driver: the CLV quantile table of the whole population (one float per customer is
   collected; see the README for bases beyond a few hundred million customers);
3. per bucket, co-grouped with the profiles of the same bucket:
   :func:`serving.scoring.decide_stage` (facts and rules).

The model is shipped once per executor as the files of its saved form (LightGBM text and JSON;
no pickles) and loaded once per Python worker; the rules configuration likewise.
"""

from __future__ import annotations

import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from crmid.customerbase import FEATURES, validate_profiles, validate_transactions
from crmid.customerbase.contract import TRANSACTION_OPTIONAL, TRANSACTION_REQUIRED
from crmid.rules.decision_table import DEFAULT_LANG
from crmid.rules.families import outputs
from crmid.rules.family import NUMBER

from .customer_facts import clv_reference
from .scoring import PREDICTION_COLUMNS, SCORE_COLUMNS, decide_stage, predict_stage, profiles_without

__all__ = ["SparkSummary", "run_spark_batch", "score_spark"]

_BUCKET = "_crmid_bucket"
_REJECT = "_crmid_reject_reason"

# per Python worker process: loaded models and rules, keyed by the broadcast's id
_WORKER_CACHE: dict = {}


def _materialise(files: dict[str, bytes], kind: str) -> Path:
    directory = Path(tempfile.mkdtemp(prefix=f"crmid-{kind}-"))
    for name, data in files.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
    return directory


def _worker_objects(model_files, rules_text):
    """Scorer and rules engine of this worker process, built once from the broadcast files."""
    key = (id(model_files), hash(rules_text))
    if key not in _WORKER_CACHE:
        from crmid.models import CustomerScorer
        from crmid.rules import RulesEngine

        scorer = CustomerScorer.load(_materialise(model_files, "model"))
        rules_dir = _materialise({"rules.yaml": rules_text.encode()}, "rules")
        _WORKER_CACHE.clear()
        _WORKER_CACHE[key] = (scorer, RulesEngine.from_path(rules_dir / "rules.yaml"))
    return _WORKER_CACHE[key]


def _read_files(directory: Path) -> dict[str, bytes]:
    return {str(p.relative_to(directory)): p.read_bytes() for p in directory.rglob("*") if p.is_file()}


def _spark_type(name: str, sample: pd.Series):
    from pyspark.sql import types as T

    if name == "customer_id" or pd.api.types.is_string_dtype(sample) or isinstance(sample.dtype, pd.CategoricalDtype):
        return T.StringType()
    if pd.api.types.is_bool_dtype(sample):
        return T.BooleanType()
    if pd.api.types.is_integer_dtype(sample):
        return T.LongType()
    if pd.api.types.is_datetime64_any_dtype(sample):
        return T.TimestampType()
    return T.DoubleType()


def _schema_of(frame: pd.DataFrame, extra=()):
    from pyspark.sql import types as T

    fields = [T.StructField(c, _spark_type(c, frame[c]), True) for c in frame.columns]
    return T.StructType(fields + list(extra))


def _to_spark_frame(frame: pd.DataFrame, schema) -> pd.DataFrame:
    out = frame.copy()
    for f in schema.fields:
        if f.name not in out.columns:
            out[f.name] = None
        elif isinstance(out[f.name].dtype, pd.CategoricalDtype) or pd.api.types.is_string_dtype(out[f.name]):
            out[f.name] = out[f.name].astype(object).where(out[f.name].notna(), None)
    return out[[f.name for f in schema.fields]]


@dataclass
class SparkSummary:
    input_customers: int
    scored: int
    rejected: int
    out: str
    rejects_out: str
    seconds: dict = field(default_factory=dict)

    def lines(self) -> str:
        stages = ", ".join(f"{k} {v:.2f} s" for k, v in self.seconds.items())
        return (f"input customers {self.input_customers:,} = scored {self.scored:,} + rejected {self.rejected:,}\n"
                f"scores  -> {self.out}\nrejects -> {self.rejects_out}\nstages: {stages}")


def score_spark(
    spark,
    transactions,
    as_of,
    *,
    scorer,
    engine,
    profiles=None,
    buckets: int | None = None,
    scored_at: pd.Timestamp | None = None,
    lang: str = DEFAULT_LANG,
):
    """Score a Spark DataFrame of transactions with the single-machine scoring functions.

    Parameters
    ----------
    spark : pyspark.sql.SparkSession
    transactions : pyspark.sql.DataFrame
        Contract columns (``customer_id``, ``date``, ``amount``, optional ones).
    as_of : date-like
    scorer : models.CustomerScorer
        Saved once, shipped to executors as files.
    engine : rules.RulesEngine
        Its configuration file is shipped to executors.
    profiles : pyspark.sql.DataFrame, optional
        Customer profiles (contract columns).
    buckets : int, optional
        Number of customer buckets (default: 4 x the default parallelism).
    scored_at : pandas.Timestamp, optional
    lang : str
        Language of the reasons and action texts (``en`` or ``zh``).

    Returns
    -------
    scored, rejects : pyspark.sql.DataFrame
        ``scored`` has the columns of :data:`serving.scoring.SCORE_COLUMNS`, one row per customer;
        ``rejects`` has ``customer_id`` and ``reason``.
    """
    from pyspark.sql import functions as F
    from pyspark.sql import types as T

    as_of = pd.Timestamp(as_of).normalize()
    scored_at = scored_at if scored_at is not None else pd.Timestamp.now(tz="UTC").tz_localize(None)
    buckets = buckets or 4 * spark.sparkContext.defaultParallelism
    with tempfile.TemporaryDirectory(prefix="crmid-model-") as tmp:
        scorer.save(tmp)
        model_files = spark.sparkContext.broadcast(_read_files(Path(tmp)))
    rules_text = Path(engine.path).read_text()
    policy = engine.facts_policy
    model_version = scorer.version

    keep = [c for c in (*TRANSACTION_REQUIRED, *TRANSACTION_OPTIONAL) if c in transactions.columns]
    tx = transactions.select(*keep).withColumn("customer_id", F.col("customer_id").cast("string"))
    tx = tx.withColumn(_BUCKET, F.abs(F.hash("customer_id")) % buckets)

    # stage 1 schema: the predict stage's columns, learned from an empty run on the driver
    probe = predict_stage_schema(scorer, policy)
    stage1_schema = _schema_of(probe, [T.StructField(_REJECT, T.StringType(), True),
                                       T.StructField(_BUCKET, T.LongType(), True)])

    def stage1(frame: pd.DataFrame, profile_part: pd.DataFrame | None = None) -> pd.DataFrame:
        if not len(frame):  # a bucket with profiles and no transactions (co-grouped): prospects, stage 2
            return _to_spark_frame(pd.DataFrame(columns=[*probe.columns, _REJECT, _BUCKET]), stage1_schema)
        bucket = int(frame[_BUCKET].iloc[0])
        worker_scorer, worker_engine = _worker_objects(model_files.value, rules_text)
        import warnings

        with warnings.catch_warnings():
            # the driver reports the counts; per-bucket warnings would only repeat them
            warnings.simplefilter("ignore")
            clean, report = validate_transactions(
                frame.drop(columns=[_BUCKET]), source="transactions", as_of=as_of, on_error="reject",
                max_abs_amount=worker_engine.config.section("input")["max_abs_amount"])
        from .scoring import rejects_from_report

        rejects = rejects_from_report(report)
        parts = []
        if len(clean):
            from crmid.customerbase import TransactionLog

            prof = None
            if profile_part is not None and len(profile_part):
                prof = validate_profiles(profile_part.drop(columns=[_BUCKET]), source="customers")
            parts.append(predict_stage(TransactionLog(clean), as_of, scorer=worker_scorer, policy=policy,
                                       profiles=prof))
        if len(rejects):
            parts.append(pd.DataFrame({"customer_id": rejects["customer_id"], _REJECT: rejects["reason"]}))
        out = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=probe.columns)
        out[_BUCKET] = bucket
        return _to_spark_frame(out, stage1_schema)

    if scorer.uses_profiles and profiles is not None:
        # the models read profile features: each bucket's transactions meet its customers' profiles
        bucketed = (profiles.withColumn("customer_id", F.col("customer_id").cast("string"))
                    .withColumn(_BUCKET, F.abs(F.hash("customer_id")) % buckets))
        stage1_out = tx.groupBy(_BUCKET).cogroup(bucketed.groupBy(_BUCKET)).applyInPandas(
            stage1, schema=stage1_schema).persist()
    else:
        # one argument: Spark reads a two-argument function as (group key, frame)
        stage1_out = tx.groupBy(_BUCKET).applyInPandas(lambda frame: stage1(frame), schema=stage1_schema).persist()
    rejects = stage1_out.where(F.col(_REJECT).isNotNull()).select("customer_id", F.col(_REJECT).alias("reason"))
    predicted = stage1_out.where(F.col(_REJECT).isNull()).drop(_REJECT)

    clv_values = np.asarray([r[0] for r in predicted.select("clv").collect()], dtype=float)
    reference = clv_reference(clv_values)
    reference_b = spark.sparkContext.broadcast(reference)

    score_probe = pd.DataFrame({c: pd.Series(dtype=_score_dtype(c)) for c in SCORE_COLUMNS})
    score_schema = _schema_of(score_probe)

    def stage2(predicted_part: pd.DataFrame, profile_part: pd.DataFrame) -> pd.DataFrame:
        _, worker_engine = _worker_objects(model_files.value, rules_text)
        predicted_part = predicted_part.drop(columns=[_BUCKET], errors="ignore")
        for col, dtype in probe.dtypes.items():
            if col in predicted_part.columns and isinstance(dtype, pd.CategoricalDtype):
                predicted_part[col] = predicted_part[col].astype("string")
        prof = None
        prospects = None
        if len(profile_part):
            prof = validate_profiles(profile_part.drop(columns=[_BUCKET]), source="customers")
            prospects = profiles_without(prof, predicted_part)
        scored = decide_stage(predicted_part, reference=reference_b.value, engine=worker_engine, policy=policy,
                              profiles=prof, prospects=prospects, model_version=model_version,
                              scored_at=scored_at, as_of=as_of, lang=lang)
        return _to_spark_frame(scored, score_schema)

    if profiles is None:
        profiles = spark.createDataFrame([], T.StructType([T.StructField("customer_id", T.StringType()),
                                                           T.StructField(_BUCKET, T.LongType())]))
    else:
        # customers rejected on their transactions are not prospects
        rejected_ids = rejects.select("customer_id")
        profiles = (profiles.withColumn("customer_id", F.col("customer_id").cast("string"))
                    .join(rejected_ids, "customer_id", "left_anti")
                    .withColumn(_BUCKET, F.abs(F.hash("customer_id")) % buckets))
    scored = predicted.groupBy(_BUCKET).cogroup(profiles.groupBy(_BUCKET)).applyInPandas(stage2, schema=score_schema)
    return scored, rejects


def _score_dtype(column: str) -> str:
    if column in ("as_of", "scored_at"):
        return "datetime64[ns]"
    if column in ("next_purchase_median_beyond_365d",):
        return "boolean"
    text_outputs = {o.name for o in outputs() if o.kind != NUMBER}
    if column in text_outputs or column in ("customer_id", "action", "action_text", "reasons", "drivers",
                                            "model_version", "rules_version", "segment"):
        return "string"
    return "float64"


def predict_stage_schema(scorer, policy) -> pd.DataFrame:
    """An empty frame with the predict stage's columns and dtypes (for Spark's output schema)."""
    columns = {c: pd.Series(dtype="float64") for c in FEATURES}
    columns["customer_id"] = pd.Series(dtype="string")
    columns["as_of"] = pd.Series(dtype="datetime64[ns]")
    for c in ("n_purchases", "frequency", "returns_count", *(f"n_purchases_{w}d" for w in (30, 90, 180, 365))):
        columns[c] = pd.Series(dtype="int64")
    for c in PREDICTION_COLUMNS:
        columns[c] = pd.Series(dtype="boolean" if c == "next_purchase_median_beyond_365d" else
                               "string" if c == "drivers" else "float64")
    columns["clv"] = pd.Series(dtype="float64")
    return pd.DataFrame(columns)


def run_spark_batch(*, transactions: str, as_of, out: str, workspace, customers: str | None = None,
                    columns: dict[str, str] | None = None, spark=None) -> SparkSummary:
    """``crmid score --engine spark``: read Parquet/CSV with Spark, score, write Parquet.

    ``out`` and the rejects (``<out>.rejects``) are Spark Parquet datasets on any path Spark
    understands (local, HDFS, S3 ...).
    """
    from pyspark.sql import SparkSession
    from pyspark.sql import functions as F

    from .context import load_context

    seconds: dict[str, float] = {}
    t0 = time.perf_counter()
    context = load_context(workspace)  # a missing model fails before Spark starts
    # local mode: Python workers must run the interpreter crmid is installed in. Each worker
    # warns, once per process, that pandas 3 is not yet fully supported: crmid's Spark path is
    # tested with pandas 3 (its output equals the single-machine output), so that one warning is
    # turned off in the workers this session starts, and nothing else
    spark = spark or (SparkSession.builder.appName("crmid-score")
                      .config("spark.pyspark.python", sys.executable)
                      .config("spark.executorEnv.PYTHONWARNINGS",
                              "ignore:PySpark does not yet fully support pandas:FutureWarning")
                      .getOrCreate())
    reader = spark.read.parquet if str(transactions).endswith(".parquet") else (
        lambda p: spark.read.option("header", True).option("inferSchema", False).csv(p))
    tx = reader(str(transactions))
    for source, target in (columns or {}).items():
        tx = tx.withColumnRenamed(source, target)
    tx = tx.withColumn("amount", F.col("amount").cast("double"))
    prof = None
    if customers:
        preader = spark.read.parquet if str(customers).endswith(".parquet") else (
            lambda p: spark.read.option("header", True).csv(p))
        prof = preader(str(customers))
    scored, rejects = score_spark(spark, tx, as_of, scorer=context.require_scorer(), engine=context.engine,
                                  profiles=prof, lang=workspace.lang)
    scored.write.mode("overwrite").parquet(out)
    rejects_out = out.rstrip("/") + ".rejects"
    rejects.write.mode("overwrite").parquet(rejects_out)
    seconds["spark"] = time.perf_counter() - t0
    n_scored = spark.read.parquet(out).count()
    n_rejected = spark.read.parquet(rejects_out).count()
    input_customers = tx.select("customer_id").distinct().count()
    if prof is not None:
        input_customers += (
            prof.select("customer_id").join(tx.select("customer_id"), "customer_id", "left_anti").distinct().count()
        )
    return SparkSummary(input_customers=input_customers, scored=n_scored, rejected=n_rejected, out=out,
                        rejects_out=rejects_out, seconds=seconds)

