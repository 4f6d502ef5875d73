"""``crmid train``: fit, gate, log to MLflow, register, and promote through the gate."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import pandas as pd

from crmid.customerbase.snapshot import TransactionLog, gap_after_data
from crmid.models import defaults as model_defaults
from crmid.models.drift import reference_profile
from crmid.models.value import clv, clv_reference

from . import defaults, tracking
from .card import model_card, render_card
from .fitting import (
    InsufficientHistory,
    TrainingInputError,
    check_dates,
    check_training_inputs,
    fit_baseline_scorer,
    fit_scorer,
)

if TYPE_CHECKING:
    from crmid.config import Workspace

__all__ = ["TrainResult", "gate_metrics", "train"]


@dataclass
class TrainResult:
    """What a training run did.

    Attributes
    ----------
    run_id : str
        The MLflow run.
    versions : dict
        ``{registered name: {"model_uri", "version", "champion"}}``.
    sources : dict
        Per output, what is served: ``model``, ``blend`` or ``baseline``.
    gate : dict
        The gate's verdict per output.
    fallback : str or None
        Why only the BG/NBD baseline is served (history too short for LightGBM), else None.
    """

    run_id: str
    versions: dict
    sources: dict
    gate: dict
    metrics: dict = field(default_factory=dict)
    promoted: dict = field(default_factory=dict)
    tracking_uri: str = ""
    scorer: object = None
    fallback: str | None = None
    notes: list[str] = field(default_factory=list)
    evaluation: dict | None = None
    replaced: dict = field(default_factory=dict)

    def summary(self, evaluation: bool = True) -> str:
        """What was trained, served and registered; with ``evaluation``, the out-of-time figures too."""
        lines = [f"run {self.run_id} ({self.tracking_uri})"]
        lines += [f"  note: {note}" for note in self.notes]
        if self.evaluation and evaluation:
            from .evaluation import format_comparison

            lines.append(f"  the recipe judged out of time (fitted to {self.evaluation['as_of']}, judged on the "
                         f"{self.evaluation['horizon_days']} days after; report and plots in the run's evaluation/):")
            lines += ["    " + line for line in format_comparison(self.evaluation).splitlines()]
        if self.fallback:
            lines.append(f"  serving the BG/NBD baseline: {self.fallback}")
        for name, g in self.gate.items():
            lines.append(f"  {name:<10} served: {g['source']:<8} {g['reason']}")
        for name, v in self.versions.items():
            star = " @champion" if v.get("champion") else ""
            lines.append(f"  registered {name} version {v.get('version')}{star}")
        if self.replaced:
            moved = ", ".join(f"{name} version {old}" for name, old in self.replaced.items())
            lines.append(f"  replaced champion: {moved}, kept as @previous (`crmid model rollback` restores it; "
                         "`crmid retrain` promotes only a challenger that beats the champion)")
        return "\n".join(lines)


def gate_metrics(gate: dict) -> dict:
    """Flatten the gate's validation metrics to MLflow metric names."""
    out = {}
    for name, g in gate.items():
        for who, m in (g.get("metrics") or {}).items():
            for k in ("auc", "brier", "log_loss"):
                v = m.get(k)
                if v is not None and v == v:
                    out[f"val_{name}_{who}_{k}"] = float(v)
    return out


def _gap_allowed(transactions: pd.DataFrame, cutoff: pd.Timestamp, allow_gap: bool) -> tuple[int, str | None]:
    """Days the cutoff may lie after the last transaction, and the note that says so.

    Scoring at month end when the last purchase was two days earlier is normal: silence up to
    the longest quiet stretch the whole base has had is read as silence. A longer gap suggests
    missing data and is refused unless ``allow_gap``.
    """
    gap = gap_after_data(transactions["date"], cutoff)
    if gap is None:
        return 0, None
    if gap.days > gap.quiet_days and not allow_gap:
        raise TrainingInputError(
            f"as-of date {cutoff.date()} is {gap.days} days after the last transaction ({gap.last_day.date()}), "
            f"longer than the longest quiet stretch the base has had ({gap.quiet_days} days{gap.quiet_between}): "
            "data may be missing; pass --allow-gap to read those days as silence anyway")
    return gap.days, (f"as-of date {cutoff.date()} is {gap.days} days after the last transaction "
                      f"({gap.last_day.date()}); those days are read as silence (the base's longest quiet "
                      f"stretch: {gap.quiet_days} days{gap.quiet_between})")


def train(transactions: pd.DataFrame, *, as_of, workspace: Workspace, horizon: int | None = None,
          customers: pd.DataFrame | None = None, register: bool = True, seed: int | None = None,
          allow_gap: bool = False, on_stage=None, promote_alias: bool = True, evaluate: bool = False,
          report_dir=None, data_source: str | None = None, profiles_source: str | None = None) -> TrainResult:
    """Fit on data up to ``as_of``, gate against BG/NBD, log and register in MLflow.

    When the history is too short for the LightGBM models (a horizon longer than the history
    allows, too few labelled customers), the BG/NBD baseline is fitted, registered and served
    instead, and the reason is printed in the summary and logged as the run's ``fallback`` tag.

    Parameters
    ----------
    transactions : pandas.DataFrame
        Validated transactions (rows after ``as_of`` are never read).
    as_of : date-like
        Training cutoff.
    workspace : crmid.config.Workspace
        Tracking and registry locations, experiment, registered names and alias, rules file.
    horizon : int, optional
        Churn horizon H; default :data:`crmid.training.defaults.HORIZON_DAYS`.
    customers : pandas.DataFrame, optional
        Customer profiles: logged with the run and offered to the models as the ``profile``
        feature family, kept only where it validates better (see :func:`fitting.fit_scorer`).
    register : bool
        Register the models and set the alias where the gate promotes them.
    allow_gap : bool
        Train at an as-of date further after the last transaction than the base has ever been
        quiet (normally refused as a sign of missing data).
    on_stage : callable, optional
        Called with each stage's name as it starts (progress).
    promote_alias : bool
        False (``crmid train --no-promote``): register the versions without moving the alias.
        True moves it whatever the current champion is (train is the explicit choice; ``crmid
        retrain`` is the judged one); a replaced champion is kept as ``@previous`` and named in the
        summary, so ``crmid model rollback`` restores it.
    evaluate : bool
        Also judge the recipe out of time (``crmid train --evaluate``): the evaluation protocol of
        :func:`crmid.training.evaluation.evaluate` fitted up to ``as_of - H`` and judged on the H
        days to ``as_of``; its report and plots (calibration, gains, next purchase, spend deciles,
        feature importance) go to the run's ``evaluation/`` and its figures to ``eval_*`` metrics.
        One more fit. Skipped with a note when the history is too short for it.
    report_dir : path, optional
        Where the evaluation report is also kept on disk (default: only in the run).
    data_source, profiles_source : str, optional
        The files the transactions and profiles were read from: the sources of the run's MLflow
        dataset inputs.

    Raises
    ------
    TrainingInputError
        When not even the baseline can be fitted; the message says what data is needed.
    """
    from crmid.rules import RulesEngine

    on_stage = on_stage or (lambda stage: None)
    H = defaults.HORIZON_DAYS if horizon is None else horizon
    cutoff = pd.Timestamp(as_of).normalize()
    gap, gap_note = 0, None
    if len(transactions):
        gap, gap_note = _gap_allowed(transactions, cutoff, allow_gap)
        check_dates(transactions["date"].min(), transactions["date"].max(), cutoff, allowed_gap_days=gap)
    upto = transactions[transactions["date"] <= cutoff].reset_index(drop=True)
    log = TransactionLog(upto)
    engine = RulesEngine.from_path(workspace.rules_path)  # a bad rules file fails before any work
    fallback = None
    try:
        check_training_inputs(log, cutoff, H, allowed_gap_days=gap)
    except InsufficientHistory as exc:
        fallback = str(exc)
    on_stage("fit")
    t0 = time.perf_counter()
    scorer = None
    if fallback is None:
        try:
            scorer = fit_scorer(log, cutoff=cutoff, horizon=H, seed=seed, allowed_gap_days=gap, profiles=customers)
        except InsufficientHistory as exc:
            fallback = str(exc)
    if scorer is None:
        scorer = fit_baseline_scorer(log, cutoff=cutoff, horizon=H, reason=f"BG/NBD served: {fallback}",
                                     allowed_gap_days=gap)
    training_seconds = time.perf_counter() - t0
    scorer.info["training_seconds"] = round(training_seconds, 2)
    snap = log.snapshot(cutoff)
    # the CLV distribution of the training population: what a lone customer's value percentile
    # is ranked against when no batch run of this model is stored yet
    predicted = scorer.predict(snap, profiles=customers).assign(
        clv=lambda p: clv(p, engine.facts_policy["clv_max_lifetime_days"]))
    scorer.clv_reference = clv_reference(predicted["clv"])
    # the outputs a stored run holds, beside the features fitting profiled, for `crmid monitor`
    scorer.info["drift_reference"] = {**scorer.info.get("drift_reference", {}), **reference_profile(predicted)}
    scorer.clv_reference_rules = engine.version

    evaluation, evaluation_note = None, None
    if evaluate:
        on_stage("evaluate")
        evaluation, evaluation_note = _evaluate_recipe(upto, cutoff, H, report_dir, customers)

    on_stage("log to MLflow")
    fingerprint = tracking.data_fingerprint(upto)
    scorer.info["data_sha256_16"] = fingerprint["sha256_16"]
    tracker = tracking.Tracker(workspace)
    with tracker.run(workspace.experiment, f"train-{cutoff.date()}-H{H}") as run:
        run.log_params({"as_of": str(cutoff.date()), "horizon_days": int(H),
                        "num_boost_round": model_defaults.LGBM_NUM_BOOST_ROUND,
                        "seed": model_defaults.SEED if seed is None else seed,
                        "snapshot_step_days": model_defaults.SNAPSHOT_STEP_DAYS,
                        **{f"lgbm_{k}": v for k, v in model_defaults.LGBM_PARAMS.items()},
                        **{f"data_{k}": v for k, v in fingerprint.items()}})
        run.log_dataset(upto, name="transactions", context="training", source=data_source,
                        digest=fingerprint["sha256_16"])
        if customers is not None:
            run.log_params({"customers_rows": len(customers)})
            run.log_dataset(customers, name="customers", context="profiles", source=profiles_source)
        run.set_tag("rules_version", engine.version)
        # the rules as they were: the file itself and its digest (a version string can stay the
        # same while the file changes)
        run.set_tag("rules_sha256", tracking.file_digest(engine.path))
        run.log_file(engine.path, "rules")
        commit = tracking.source_commit()
        if commit:
            run.set_tag("crmid_git_commit", commit)
        if fallback:
            run.set_tag("fallback", f"BG/NBD baseline served: {fallback}")
        if gap_note:
            run.set_tag("as_of_gap", gap_note)
        if evaluation is not None:
            _log_evaluation(run, evaluation)
        elif evaluation_note:
            run.set_tag("evaluation", evaluation_note)
        gate = scorer.info["gate"]
        metrics = gate_metrics(gate)
        run.log_metrics({"training_seconds": training_seconds, **metrics})
        for name, g in gate.items():
            run.set_tag(f"gate.{name}", f"{g['source']}: {g['reason']}")
        run.log_json("gate.json", gate)
        sources = scorer.sources
        run.set_tag("served_sources", sources)
        knots_model = all(v == "model" for k, v in sources.items() if k.startswith("knot_"))
        promote = {
            workspace.model_name: True,  # every output it serves passed the gate (or is BG/NBD)
            workspace.churn_model_name: sources["churn"] == "model",
            workspace.next_purchase_model_name: knots_model,
        }
        on_stage("register")
        # what the alias points at now: a replaced champion becomes @previous (rollback restores it)
        before = {name: tracker.champion(name) for name, moved in promote.items() if moved} if promote_alias else {}
        version_tags = {"as_of": str(cutoff.date()), "horizon_days": int(H), "data_sha256_16": fingerprint["sha256_16"],
                        "served_sources": sources, "rules_version": engine.version,
                        **({"fallback": fallback} if fallback else {}),
                        **{f"gate.{name}": g["source"] for name, g in gate.items()}}
        # a model with profile features takes them in the same rows: the example and signature show them
        model_input = snap if not scorer.uses_profiles else snap.assign(
            customer_id=snap["customer_id"].astype(str)).merge(
            customers.assign(customer_id=customers["customer_id"].astype(str)), on="customer_id", how="left",
            suffixes=("", "_profile"))
        versions = tracking.log_scorer_models(run, scorer, model_input, register=register,
                                              promote=promote if promote_alias else {},
                                              version_tags=version_tags)
        replaced = _keep_previous(tracker, versions, before)
        bundle = versions[workspace.model_name]
        if bundle["version"] is not None:
            scorer.version = f"{workspace.model_name}/{bundle['version']}"
        # the card of what was registered, beside it in the run
        card = model_card(scorer, name=workspace.model_name, version=bundle["version"])
        run.log_json("model_card/card.json", card)
        run.log_text("model_card/card.md", render_card(card))
        notes = [n for n in (gap_note, evaluation_note) if n]
        return TrainResult(run.run_id, versions, sources, gate, metrics,
                           {n: v["champion"] for n, v in versions.items()}, workspace.tracking_uri, scorer,
                           fallback, notes, evaluation, replaced)


def _evaluate_recipe(upto: pd.DataFrame, cutoff: pd.Timestamp, H: int, report_dir,
                     profiles: pd.DataFrame | None = None) -> tuple[dict | None, str | None]:
    """The evaluation protocol at ``cutoff - H``, judged on (cutoff - H, cutoff]; or why it cannot run.

    Returns the metrics (with ``report_dir`` naming where report and plots are) or a note.
    """
    import tempfile
    from pathlib import Path

    from .evaluation import evaluate
    from .fitting import TrainingInputError

    at = cutoff - pd.Timedelta(days=H)
    report = Path(report_dir) if report_dir is not None else Path(tempfile.mkdtemp(prefix="crmid-evaluation-"))
    try:
        metrics = evaluate(upto, as_of=at, horizon=H, report_dir=report, profiles=profiles)
    except TrainingInputError as exc:
        return None, f"no out-of-time evaluation of the recipe at {at.date()}: {exc}"
    metrics["report_dir"] = str(report)
    metrics["report_is_temporary"] = report_dir is None
    return metrics, None


def _log_evaluation(run, evaluation: dict) -> None:
    """The evaluation report and plots under ``evaluation/``, its figures as ``eval_*`` metrics."""
    import shutil

    from .evaluation import flat_metrics

    run.log_metrics(flat_metrics(evaluation, prefix="eval_"))
    run.set_tag("evaluation", f"the recipe fitted to {evaluation['as_of']}, judged on the "
                              f"{evaluation['horizon_days']} days after (crmid evaluate's protocol)")
    run.log_artifacts(evaluation["report_dir"], "evaluation")
    if evaluation.pop("report_is_temporary", False):
        shutil.rmtree(evaluation.pop("report_dir"), ignore_errors=True)


def _keep_previous(tracker, versions: dict, before: dict) -> dict:
    """Point ``@previous`` at each champion the new versions replaced; ``{name: replaced version}``."""
    from crmid.monitoring.retrain import PREVIOUS_ALIAS

    replaced = {}
    for name, old in before.items():
        new = versions.get(name, {})
        if old is None or not new.get("champion") or str(old.version) == str(new.get("version")):
            continue
        tracker.client.set_registered_model_alias(name, PREVIOUS_ALIAS, str(old.version))
        tracker.client.set_model_version_tag(name, str(new["version"]), "replaced_version", str(old.version))
        replaced[name] = str(old.version)
    return replaced
