"""Serving subcommands of ``crmid``: ``score``, ``retain``, ``serve``.

Every handler takes the parsed arguments and the resolved :class:`crmid.config.Workspace`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from crmid.customerbase.cli import add_format_option, add_transaction_arguments, to_json
from crmid.rules.cli import add_lang_option

from .filters import LABEL_FILTERS

__all__ = ["add_commands"]


def _summary_dict(summary) -> dict:
    """A run summary (local or Spark) as plain JSON types."""
    if hasattr(summary, "to_dict"):
        return summary.to_dict()
    import dataclasses

    # the Spark summary: the same counts, files and seconds, no store run nor spend
    fields = dataclasses.asdict(summary)
    return {"engine": "spark", "run_id": None,
            "counts": {k: fields[k] for k in ("input_customers", "scored", "rejected")},
            "files": {"scores": str(fields["out"]), "rejects": str(fields["rejects_out"])},
            "seconds": {k: round(float(v), 3) for k, v in fields["seconds"].items()}}


def _print_summary(summary, fmt: str) -> None:
    if fmt != "json":
        print(summary.lines())
        return
    print(to_json(_summary_dict(summary)))
    for warning in getattr(summary, "warnings", ()):
        print(f"warning: {warning}", file=sys.stderr)  # a person watching a scheduled run sees them too


def _score(args, workspace) -> int:
    from crmid.customerbase.contract import parse_column_mapping

    from .batch import DEFAULT_KEEP_RUNS, run_batch
    from .context import load_context

    if args.engine == "spark":
        from .spark import run_spark_batch

        summary = run_spark_batch(
            transactions=args.transactions, as_of=args.as_of, out=args.out, workspace=workspace,
            customers=args.customers, columns=parse_column_mapping(args.columns),
        )
        _print_summary(summary, args.format)
        return 0
    context = load_context(workspace)
    store = None
    if workspace.store_enabled:
        from .store import open_store  # SQLAlchemy only when a store is used

        store = open_store(workspace.store_url)
    started_in = time.perf_counter() - getattr(args, "started", time.perf_counter())
    try:
        summary = run_batch(
            transactions=args.transactions, as_of=args.as_of, out=args.out, context=context,
            customers=args.customers, columns=parse_column_mapping(args.columns), dedupe=args.dedupe,
            rejects_out=args.rejects, store=store, encoding=args.encoding,
            keep_runs=DEFAULT_KEEP_RUNS if args.keep_runs is None else (args.keep_runs or None),
            fault_at=args.fault_at, lang=workspace.lang,
        )
    finally:
        if store is not None:
            store.close()
    # before the run's own stages: parsing, settings, imports, the model's load and the store's opening
    summary.seconds = {"start-up": started_in, **summary.seconds}
    _print_summary(summary, args.format)
    return 0


def _whole_number_from(minimum: int):
    """An argparse ``type``: a whole number of at least ``minimum``, else a one-line error naming it."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {minimum}, got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected a whole number of at least {minimum}, got {value}")
        return value

    return parse


_whole_number = _whole_number_from(0)
_positive_int = _whole_number_from(1)


def _number(expected: str, ok):
    """An argparse ``type``: a number for which ``ok(value)`` holds, else a one-line error saying ``expected``."""
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    return parse


_probability = _number("a probability between 0 and 1", lambda v: 0.0 <= v <= 1.0)
_non_negative = _number("an amount of at least 0", lambda v: 0.0 <= v < float("inf"))


#: retain sorts read smallest first unless told otherwise
_ASCENDING_SORTS = ("rank", "customer_id", "value_tier", "next_purchase_days_median", "action")


def _retain(args, workspace) -> int:
    from .retain_list import format_retain
    from .store import RETAIN_SORTS, TIER_ORDER, open_store

    tiers = [t.strip() for t in args.tier.split(",") if t.strip()] if args.tier else None
    unknown = sorted(set(tiers or ()) - set(TIER_ORDER))
    if unknown:
        print(f"crmid retain: error: --tier {','.join(unknown)}: unknown tier; expected some of "
              f"{', '.join(TIER_ORDER)}", file=sys.stderr)
        return 2
    if not workspace.store_enabled:
        print("crmid retain: the scores store is turned off (--store none): nothing to read", file=sys.stderr)
        return 2
    if args.sort not in RETAIN_SORTS:
        print(f"crmid retain: error: --sort {args.sort}: expected one of {', '.join(RETAIN_SORTS)}", file=sys.stderr)
        return 2
    with open_store(workspace.store_url) as store:
        latest = store.latest_run()
        if latest is None:
            print(f"no complete scoring run in {store.url}: run `crmid score` first", file=sys.stderr)
            return 1
        # a quantity sorts largest first (the biggest spenders, the highest churn); the ranking itself,
        # ids and days to the next purchase smallest first; --ascending / --descending override
        descending = args.order == "desc" if args.order else args.sort not in _ASCENDING_SORTS
        labels = {}
        for option, column in LABEL_FILTERS.items():
            values = [v.strip() for v in (getattr(args, option) or "").split(",") if v.strip()]
            if not values:
                continue
            # the values this run holds: an unknown one is a typo, not an empty list
            held = store.breakdown([column], run_id=latest.run_id)[column].dropna().astype(str).tolist() \
                if column in store.label_columns else []
            unknown = sorted(set(values) - set(held))
            if unknown:
                print(f"crmid retain: error: --{option} {','.join(unknown)}: not in the latest run; it holds "
                      f"{', '.join(held) or 'none'}", file=sys.stderr)
                return 2
            labels[column] = values
        frame = store.retain_page(top=args.top, tiers=tiers, min_churn=args.min_churn, labels=labels,
                                  min_value_at_risk=args.min_value_at_risk, run_id=latest.run_id,
                                  sort=args.sort, descending=descending)
    if args.format == "table":
        print(f"who to retain now (run {latest.run_id}, as of {latest.as_of}, rules {latest.rules_version})\n")
    print(format_retain(frame, args.format))
    return 0


def _serve(args, workspace) -> int:
    import uvicorn

    from .api import create_app

    if args.host is not None or args.port is not None:
        workspace = workspace.model_copy(update={k: v for k, v in (("host", args.host), ("port", args.port))
                                                 if v is not None})
    if workspace.api_token is None and not workspace.loopback_only and not args.no_auth:
        print(f"crmid serve: error: listening on {workspace.host} without an API token would open the customer "
              "base to the network: set CRMID_API_TOKEN, or pass --no-auth if that is really meant", file=sys.stderr)
        return 2
    if args.workers is not None:
        workspace = workspace.model_copy(update={"workers": args.workers})
    if workspace.workers == 1:
        uvicorn.run(create_app(workspace), host=workspace.host, port=workspace.port, log_level="info")
        return 0
    # several processes (Python scores on one core per process): each builds its app from the
    # environment, so the resolved workspace goes there; reloads reach every worker through a
    # signal file they share (serving/api/state.py)
    import shutil
    import tempfile

    signal_dir = tempfile.mkdtemp(prefix="crmid-serve-")
    workspace.model_copy(update={"reload_signal": os.path.join(signal_dir, "reloads.json")}).export()
    config = uvicorn.Config("crmid.serving.api.main:create_worker_app", factory=True, workers=workspace.workers,
                            host=workspace.host, port=workspace.port, log_level="info")
    try:
        from uvicorn.supervisors import Multiprocess

        Multiprocess(config, sockets=[_tcp_listener(config)]).run()
    except KeyboardInterrupt:
        pass
    finally:
        shutil.rmtree(signal_dir, ignore_errors=True)
    return 0


def _tcp_listener(config):
    """The listening socket the workers share, marked as TCP.

    uvicorn binds it with protocol 0, and asyncio sets TCP_NODELAY only on accepted sockets that
    say IPPROTO_TCP: with Nagle left on, every keep-alive request after the first waited ~40 ms for
    the client's delayed ACK (measured: /healthz 44 ms with 2 workers against 3 ms with one;
    Kludex/uvicorn#3149). The same descriptor, re-wrapped with the protocol named.
    """
    import socket

    sock = config.bind_socket()
    return socket.socket(sock.family, sock.type, socket.IPPROTO_TCP, fileno=sock.detach())


def add_commands(sub) -> None:
    """Register ``score``, ``retain`` and ``serve``."""
    p = sub.add_parser("score", help="score every customer: models + rules -> one decision each",
                       description="Batch scoring: one row per customer known at --as-of, written atomically; "
                                   "rejected customers go to a rejects file with the reason; the run is saved "
                                   "to the scores store (unless --store none).")
    add_transaction_arguments(p, as_of_required=True)
    p.add_argument("--customers", metavar="FILE", help="customer profiles file (.csv or .parquet)")
    p.add_argument("--out", required=True, metavar="FILE", help="scores file (.parquet or .csv)")
    p.add_argument("--rejects", metavar="FILE", help="rejects file (default: beside --out, *.rejects.csv)")
    p.add_argument("--engine", choices=("local", "spark"), default="local",
                   help="local: this machine; spark: the same scoring on Apache Spark")
    # the default is serving.batch.DEFAULT_KEEP_RUNS (not imported here: `crmid --help` stays instant)
    p.add_argument("--keep-runs", type=_whole_number, default=None, metavar="N",
                   help="the scores store keeps the N most recent complete runs and deletes older ones "
                        "(default 10; 0 keeps every run)")
    # tests only (the crash-safety test): kill the process with SIGKILL at this point of the run,
    # one of serving.batch.FAULT_POINTS
    p.add_argument("--fault-at", default=None, help=argparse.SUPPRESS)
    add_lang_option(p)
    add_format_option(p, ("text", "json"), "text")
    p.set_defaults(func=_score)

    p = sub.add_parser("retain", help="who to retain now, with the action and the reasons",
                       description="Customers to retain from the latest complete scoring run, ranked by "
                                   "priority, then value at risk, then tier.")
    p.add_argument("--top", type=_positive_int, default=20, metavar="N", help="how many customers (default 20)")
    p.add_argument("--tier", metavar="TIERS", help="only these tiers, e.g. platinum,gold")
    p.add_argument("--min-churn", type=_probability, metavar="P",
                   help="only customers with at least this churn probability (0..1)")
    for option, column in LABEL_FILTERS.items():
        p.add_argument(f"--{option}", metavar="VALUES",
                       help=f"only these {column.replace('_', ' ')} values, comma-separated (as the web page's filter)")
    p.add_argument("--min-value-at-risk", type=_non_negative, metavar="AMOUNT",
                   help="only customers with at least this value at risk (money)")
    p.add_argument("--sort", default="rank", metavar="COLUMN",
                   help="order by this column instead of the retain ranking, e.g. expected_spend_365d, clv, "
                        "value_at_risk, churn_probability (quantities largest first)")
    order = p.add_mutually_exclusive_group()
    order.add_argument("--ascending", dest="order", action="store_const", const="asc", help="smallest first")
    order.add_argument("--descending", dest="order", action="store_const", const="desc", help="largest first")
    add_format_option(p, ("table", "csv", "json"), "table")
    p.set_defaults(func=_retain, order=None)

    p = sub.add_parser("serve", help="run the HTTP API",
                       description="FastAPI service: /v1/decide, /v1/score, /v1/retain, /v1/version, /v1/model/reload, "
                                   "/v1/rules/reload, /healthz, /readyz; OpenAPI docs at /docs. Starts with or "
                                   "without a model.")
    p.add_argument("--host", default=None, metavar="HOST",
                   help="interface to listen on (default 127.0.0.1; env CRMID_HOST)")
    p.add_argument("--port", type=int, default=None, metavar="PORT", help="port (default 8000; env CRMID_PORT)")
    p.add_argument("--workers", type=_positive_int, default=None, metavar="N",
                   help="worker processes (default 1; env CRMID_WORKERS), one per core: more requests at once "
                        "(2 on 2 cores: 112 against 84 /v1/score per second); reloads reach every worker")
    p.add_argument("--no-auth", action="store_true",
                   help="allow listening on a non-loopback address without CRMID_API_TOKEN (reloads stay refused)")
    p.set_defaults(func=_serve)
