"""``GET /metrics``: the service in the Prometheus text format (prometheus-client).

Two kinds of series:

* **counted by the service** (a middleware around every request): ``crmid_http_requests_total``
  and the latency histogram ``crmid_http_request_duration_seconds``, both per method, endpoint
  (the route's path template, so ``/ui/customers/{customer_id}`` is one series) and status; and
  ``crmid_online_customers_scored_total`` (successful ``POST /v1/score`` answers: one customer each);
  ``crmid_score_batches_total`` and ``crmid_score_batched_customers_total`` (the scoring calls behind
  them: concurrent requests share one, see ``serving/api/coalescing.py``);
* **read at each scrape** from what the service holds: ``crmid_info`` (crmid, model and rules
  versions), ``crmid_model_loaded``, the latest complete run (``crmid_latest_run_customers_scored``,
  ``..._rejected``, ``..._as_of_timestamp_seconds``) and its drift as ``crmid monitor`` measured and
  stored it (``crmid_drift_psi``, ``crmid_drift_missing_rate`` per feature, ``crmid_drift_detected``).

Each application gets its own :class:`prometheus_client.CollectorRegistry` (several apps in one
process, as in tests, never share counters). With ``CRMID_API_TOKEN`` set, a scrape needs the bearer
token, like ``/v1`` (Prometheus: ``authorization: {credentials: ...}`` in the scrape config).
"""

from __future__ import annotations

import time

from fastapi import APIRouter, Depends, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

from crmid import __version__

from ..deps import StateDep
from ..security import require_token

__all__ = ["RequestMetrics", "instrument"]

_SCORE_ROUTE = "/v1/score"


class RequestMetrics:
    """The per-application registry and the request series the middleware feeds."""

    def __init__(self):
        self.registry = CollectorRegistry()
        labels = ["method", "endpoint", "status"]
        self.requests = Counter("crmid_http_requests", "HTTP requests answered", labels, registry=self.registry)
        self.latency = Histogram("crmid_http_request_duration_seconds", "Time to answer an HTTP request "
                                 "(to the last byte of the body)", labels, registry=self.registry)
        self.scored = Counter("crmid_online_customers_scored", "Customers scored online (POST /v1/score answered "
                              "200)", registry=self.registry)


class _Middleware:
    """Pure ASGI (a streamed CSV export is timed to its last byte, and nothing is buffered)."""

    def __init__(self, app, metrics: RequestMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        start = time.perf_counter()
        status = 500  # what the client gets when the app raises before answering

        async def timed_send(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, timed_send)
        finally:
            route = scope.get("route")  # set by the router on the same scope dict once a route matched
            endpoint = getattr(route, "path", None) or ("unmatched" if status == 404 else "other")
            labels = (scope.get("method", ""), endpoint, str(status))
            self.metrics.requests.labels(*labels).inc()
            self.metrics.latency.labels(*labels).observe(time.perf_counter() - start)
            if endpoint == _SCORE_ROUTE and status == 200:
                self.metrics.scored.inc()


def _state_metrics(state) -> list:
    """Gauges read from the serving state at scrape time (versions, latest run, its stored drift)."""
    context = state.context
    info = GaugeMetricFamily("crmid_info", "Versions in force (value 1)",
                             labels=["crmid_version", "model_version", "rules_version"])
    info.add_metric([__version__, context.model_version or "none", str(context.rules_version)], 1)
    loaded = GaugeMetricFamily("crmid_model_loaded", "1 when a model is loaded")
    loaded.add_metric([], 1 if context.scorer is not None else 0)
    out = [info, loaded]
    for name, text, value in (
            ("crmid_score_batches_total", "Scoring calls made for POST /v1/score (fewer than the customers "
             "scored when concurrent requests were scored together)", state.coalescer.batches_),
            ("crmid_score_batched_customers_total", "Customers those scoring calls scored",
             state.coalescer.items_)):
        counter = CounterMetricFamily(name.removesuffix("_total"), text)
        counter.add_metric([], value)
        out.append(counter)
    store = state.store
    if store is None:
        return out
    up = GaugeMetricFamily("crmid_store_up", "1 when the scores store answered this scrape")
    out.append(up)
    try:
        latest = store.latest_run()
    except Exception:
        up.add_metric([], 0)
        return out
    up.add_metric([], 1)
    if latest is None:
        return out
    run = ["run_id", "as_of", "model_version"]
    values = [latest.run_id, latest.as_of, latest.model_version]
    for name, text, value in (
            ("crmid_latest_run_customers_scored", "Customers scored by the latest complete run", latest.n_scored),
            ("crmid_latest_run_customers_rejected", "Customers rejected by the latest complete run",
             latest.n_rejected),
            ("crmid_latest_run_as_of_timestamp_seconds", "As-of date of the latest complete run (Unix time)",
             _timestamp(latest.as_of))):
        gauge = GaugeMetricFamily(name, text, labels=run)
        gauge.add_metric(values, value)
        out.append(gauge)
    engine = getattr(store, "engine", None)
    if engine is None:
        return out
    try:
        from crmid.monitoring.tables import DriftTables

        rows = DriftTables(engine).drift_of(latest.run_id)
    except Exception:  # a scrape never fails for the drift table; the request gauges still answer
        return out
    if not rows:
        return out
    psi = GaugeMetricFamily("crmid_drift_psi", "PSI of the latest run against the champion's training reference "
                            "(as crmid monitor stored it)", labels=["feature", "kind"])
    missing = GaugeMetricFamily("crmid_drift_missing_rate", "Share of missing values in the latest run",
                                labels=["feature", "kind"])
    detected = GaugeMetricFamily("crmid_drift_detected", "1 when crmid monitor found a column of the latest run "
                                 "over its alert threshold", labels=["run_id"])
    for r in rows:
        if r["psi"] is not None:
            psi.add_metric([r["feature"], r["kind"]], r["psi"])
        if r["missing_rate"] is not None:
            missing.add_metric([r["feature"], r["kind"]], r["missing_rate"])
    detected.add_metric([latest.run_id], 1 if any(r["drift"] for r in rows) else 0)
    return [*out, psi, missing, detected]


def _timestamp(as_of: str) -> float:
    import datetime as dt

    return dt.datetime.fromisoformat(str(as_of)).replace(tzinfo=dt.UTC).timestamp()


class _Snapshot:
    """A collector over a list of already built metric families (one scrape's state gauges)."""

    def __init__(self, families):
        self.families = families

    def collect(self):
        return iter(self.families)


def instrument(app) -> APIRouter:
    """Count and time every request of ``app`` in a registry of its own; return the ``/metrics`` router."""
    metrics = RequestMetrics()
    app.add_middleware(_Middleware, metrics=metrics)
    router = APIRouter(tags=["admin"])

    @router.get("/metrics", dependencies=[Depends(require_token)], response_class=Response,
                responses={200: {"content": {CONTENT_TYPE_LATEST: {}}, "description": "Prometheus text format"}})
    def scrape(state: StateDep) -> Response:
        """The service's metrics in the Prometheus text exposition format."""
        per_scrape = CollectorRegistry()
        per_scrape.register(_Snapshot(_state_metrics(state)))
        body = generate_latest(metrics.registry) + generate_latest(per_scrape)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return router
