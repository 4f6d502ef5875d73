"""Serving subcommands of ``crmid``: ``demo``, ``score``, ``retain``, ``serve``."""

from __future__ import annotations

import sys

from crmid.customerbase.cli import add_transaction_arguments
from crmid.customerbase.contract import parse_column_mapping

__all__ = ["add_commands"]


def _demo(args) -> int:
    from crmid.demo import run_demo

    return run_demo(workdir=args.workdir)


def _score(args) -> int:
    from crmid.models import load_scorer
    from crmid.rules import RulesEngine

    from .batch import run_batch

    if args.engine == "spark":
        from .spark import run_spark_batch

        summary = run_spark_batch(
            transactions=args.transactions, as_of=args.as_of, out=args.out, model_uri=args.model_uri,
            rules_path=args.rules, customers=args.customers, columns=parse_column_mapping(args.columns),
        )
        print(summary.lines())
        return 0
    scorer = load_scorer(args.model_uri)
    engine = RulesEngine.from_path(args.rules)
    store = None
    if args.store != "none":
        from .store import ScoresStore  # SQLAlchemy only when a store is used

        store = ScoresStore(args.store)
    summary = run_batch(
        transactions=args.transactions, as_of=args.as_of, out=args.out, scorer=scorer, engine=engine,
        customers=args.customers, columns=parse_column_mapping(args.columns), dedupe=args.dedupe,
        rejects_out=args.rejects, store=store,
    )
    print(summary.lines())
    return 0


def _retain(args) -> int:
    from .retain import format_retain
    from .store import ScoresStore

    store = ScoresStore(args.store)
    latest = store.latest_run()
    if latest is None:
        print(f"no complete scoring run in {store.url}: run `crmid score` first", file=sys.stderr)
        return 1
    tiers = [t.strip() for t in args.tier.split(",")] if args.tier else None
    frame = store.retain(top=args.top, tiers=tiers, min_churn=args.min_churn, run_id=latest.run_id)
    if args.format == "table":
        print(f"who to retain now (run {latest.run_id}, as of {latest.as_of}, rules {latest.rules_version})\n")
    print(format_retain(frame, args.format))
    return 0


def _serve(args) -> int:
    import uvicorn

    from .api import create_app
    from .settings import Settings

    overrides = {k: v for k, v in {"model_uri": args.model_uri, "rules_path": args.rules,
                                   "store_url": args.store}.items() if v is not None}
    app = create_app(Settings(**overrides))
    uvicorn.run(app, host=args.host, port=args.port, log_level="info")
    return 0


def add_commands(sub) -> None:
    """Register ``demo``, ``score``, ``retain`` and ``serve``."""
    p = sub.add_parser("demo", help="run the whole job on the bundled real CDNOW data",
                       description="Train and evaluate against BG/NBD on the bundled CDNOW log, score every "
                                   "customer as of the last date, save to the SQLite store and list who to retain.")
    p.add_argument("--workdir", default="crmid-work", help="where the demo keeps MLflow, scores and reports")
    p.set_defaults(func=_demo)

    p = sub.add_parser("score", help="score every customer: models + rules -> one decision each",
                       description="Batch scoring: one row per customer known at --as-of, written atomically; "
                                   "rejected customers go to a rejects file with the reason.")
    add_transaction_arguments(p, as_of_required=True)
    p.add_argument("--customers", metavar="FILE", help="customer profiles (.csv or .parquet)")
    p.add_argument("--out", required=True, metavar="FILE", help="scores file (.parquet or .csv)")
    p.add_argument("--rejects", metavar="FILE", help="rejects file (default: beside --out, *.rejects.csv)")
    p.add_argument("--model-uri", metavar="URI", help="model to use (default: the registered champion)")
    p.add_argument("--rules", metavar="FILE", help="rules configuration (default: the packaged one)")
    p.add_argument("--store", default=None, metavar="URL",
                   help="scores store URL (default sqlite:///crmid-work/scores.db; 'none' to skip)")
    p.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="local: this machine; spark: the same scoring on Apache Spark")
    p.set_defaults(func=_score)

    p = sub.add_parser("retain", help="who to retain now, with the action and the reasons",
                       description="Customers to retain from the latest complete scoring run, ranked by "
                                   "priority, then value at risk, then tier.")
    p.add_argument("--top", type=int, default=20, help="how many customers (default 20)")
    p.add_argument("--tier", help="only these tiers, e.g. platinum,gold")
    p.add_argument("--min-churn", type=float, help="only customers with at least this churn probability")
    p.add_argument("--format", choices=("table", "csv", "json"), default="table")
    p.add_argument("--store", default=None, metavar="URL", help="scores store URL")
    p.set_defaults(func=_retain)

    p = sub.add_parser("serve", help="run the HTTP API",
                       description="FastAPI service: /v1/decide, /v1/score, /v1/retain, /v1/version, /healthz, "
                                   "/v1/rules/reload; OpenAPI docs at /docs. Settings from CRMID_* variables.")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--model-uri", metavar="URI", help="model to serve (default: the registered champion)")
    p.add_argument("--rules", metavar="FILE", help="rules configuration (default: the packaged one)")
    p.add_argument("--store", metavar="URL", help="scores store URL")
    p.set_defaults(func=_serve)
