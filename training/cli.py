"""Subcommands ``crmid train`` and ``crmid evaluate`` (registered by ``crmid/cli.py``).

Every option left out (or given as an empty string, which is how the MLproject entry points
pass "not set") takes its default from :mod:`crmid.training.defaults` or the workspace (:mod:`crmid.config`).
"""

from __future__ import annotations

import argparse
import sys

from crmid.customerbase.cli import add_format_option, add_transaction_arguments, load_profiles_from_args, to_json

from . import defaults

__all__ = ["add_commands", "add_model_commands", "evaluate_command", "model_show_command", "train_command",
           "train_result_dict"]


def _or_default(value, default):
    return default if value in (None, "") else value


def _common(p: argparse.ArgumentParser) -> None:
    add_transaction_arguments(p, as_of_required=True,
                              as_of_help="the cutoff (YYYY-MM-DD): fitted on what is known then, e.g. 1998-03-31")
    p.add_argument("--horizon", default="", metavar="DAYS",
                   help=f"churn horizon H in days (default {defaults.HORIZON_DAYS})")
    add_format_option(p, ("text", "json"), "text")


def train_result_dict(result) -> dict:
    """A :class:`~crmid.training.train.TrainResult` as plain JSON types (``crmid train --format json``)."""
    return {"run_id": result.run_id, "tracking_uri": result.tracking_uri, "versions": result.versions,
            "sources": result.sources, "gate": result.gate, "metrics": result.metrics, "promoted": result.promoted,
            "replaced": result.replaced, "fallback": result.fallback, "notes": list(result.notes),
            "evaluation": result.evaluation}


def add_commands(subparsers) -> None:
    """Register ``train`` and ``evaluate`` on an argparse subparsers object."""
    p = subparsers.add_parser("train", help="train, gate against BG/NBD, log and register in MLflow")
    _common(p)
    p.add_argument("--customers", default="", metavar="FILE",
                   help="customer profiles file (.csv or .parquet): its numeric, yes/no and categorical columns are "
                        "offered to the models as features, kept only if they validate better (model card says)")
    p.add_argument("--no-register", action="store_true", help="log the run without registering models")
    p.add_argument("--no-promote", action="store_true",
                   help="register the new versions without moving the champion alias (see crmid retrain)")
    p.add_argument("--allow-gap", action="store_true",
                   help="train at an as-of date further after the last transaction than the base was ever quiet")
    p.add_argument("--evaluate", action="store_true",
                   help="also judge the recipe out of time (fitted to as-of - H, judged on the H days to as-of): "
                        "report and plots in the MLflow run; one more fit")
    p.set_defaults(func=train_command)

    p = subparsers.add_parser("evaluate", help="the evaluation protocol: models vs BG/NBD on what followed as-of")
    _common(p)
    p.add_argument("--report", default="", metavar="DIR", help="report directory (default <work-dir>/report)")
    p.add_argument("--no-tracking", action="store_true", help="do not log the evaluation to MLflow")
    p.add_argument("--customers", default="", metavar="FILE",
                   help="customer profiles, offered to the models as crmid train --customers offers them")
    p.set_defaults(func=evaluate_command)


def add_model_commands(group) -> None:
    """Register ``crmid model show`` on the ``model`` group's subparsers."""
    p = group.add_parser("show", help="the model card: data, horizon, features, metrics vs BG/NBD, the gate's choices",
                         description="Print the card of the champion (or of --version N): the data it was trained "
                                     "on, the horizon, the features, the metrics against BG/NBD per output, the "
                                     "gate's choices and why, training time and data hash. The same card is in the "
                                     "MLflow run that registered the version and in GET /v1/version.")
    p.add_argument("--version", dest="model_version", metavar="N", default="",
                   help="registered version of the workspace's model (default: the champion)")
    add_format_option(p, ("markdown", "json"), "markdown")
    p.set_defaults(func=model_show_command)


def model_show_command(args, workspace) -> int:
    """Handler of ``crmid model show``."""
    import json

    from crmid.models import load_scorer

    from .card import model_card, render_card

    version = str(args.model_version).strip()
    if version and not version.isdigit():
        raise ValueError(f"--version {version!r}: expected a registered version number such as 3")
    uri = f"models:/{workspace.model_name}/{version}" if version else workspace.model_uri
    scorer = load_scorer(uri, tracking_uri=workspace.tracking_uri, registry_uri=workspace.registry_uri)
    card = model_card(scorer, name=workspace.model_name, version=version or str(scorer.version).rpartition("/")[2])
    print(json.dumps(card, indent=2, default=str) if args.format == "json" else render_card(card), end="")
    return 0


def _read(args, workspace):
    from crmid.customerbase.cli import load_transactions_from_args

    # every row is read: training cuts at its own as-of date, evaluation reads what came after it
    return load_transactions_from_args(args, as_of=None, workspace=workspace)[0]


def _horizon(args) -> int:
    raw = _or_default(args.horizon, defaults.HORIZON_DAYS)
    try:
        return int(raw)
    except ValueError:
        raise ValueError(f"--horizon must be a whole number of days, got {raw!r}") from None


def train_command(args, workspace) -> int:
    """Handler of ``crmid train``; returns the exit code."""
    from crmid.customerbase.contract import ContractError
    from crmid.progress import StageProgress

    from .train import train

    progress = StageProgress(["read+validate", "fit", *(["evaluate"] if args.evaluate else []), "log to MLflow",
                              "register"])
    try:
        progress.step("read+validate")
        tx = _read(args, workspace)
        customers = load_profiles_from_args(args)
        result = train(tx, as_of=args.as_of, horizon=_horizon(args), workspace=workspace, customers=customers,
                       register=not args.no_register, allow_gap=args.allow_gap, on_stage=progress.step,
                       promote_alias=not args.no_promote, evaluate=args.evaluate,
                       data_source=str(args.transactions), profiles_source=args.customers or None)
    except (ValueError, FileNotFoundError, ContractError) as exc:
        progress.close()
        print(f"crmid train: error: {exc}", file=sys.stderr)
        return 2
    progress.close()
    if args.format == "json":
        print(to_json(train_result_dict(result)))
    else:
        print(result.summary())
    return 0


def evaluate_command(args, workspace) -> int:
    """Handler of ``crmid evaluate``; returns the exit code."""
    from crmid.customerbase.contract import ContractError
    from crmid.progress import StageProgress

    from .evaluation import evaluate, format_comparison

    progress = StageProgress(["read+validate", "fit", "log to MLflow"])
    report = _or_default(args.report, None) or workspace.report_dir
    try:
        progress.step("read+validate")
        tx = _read(args, workspace)
        metrics = evaluate(tx, as_of=args.as_of, horizon=_horizon(args), report_dir=report,
                           workspace=None if args.no_tracking else workspace, on_stage=progress.step,
                           profiles=load_profiles_from_args(args))
    except (ValueError, FileNotFoundError, ContractError) as exc:
        progress.close()
        print(f"crmid evaluate: error: {exc}", file=sys.stderr)
        return 2
    progress.close()
    if args.format == "json":
        print(to_json({"report": f"{report}/metrics.json", "metrics": metrics}))
        return 0
    print(format_comparison(metrics))
    print(f"report: {report}/metrics.json")
    return 0
