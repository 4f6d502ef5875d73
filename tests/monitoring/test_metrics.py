"""``/metrics`` scraped from a real ``crmid serve`` process; the runs page's accuracy column."""

from __future__ import annotations

from prometheus_client.parser import text_string_to_metric_families

from tests.journeys.conftest import Service, clean_env, free_port

from .conftest import ok


def _samples(text: str) -> dict:
    """``{(name, frozenset(labels.items())): value}`` of every sample of a scrape."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def _find(samples: dict, name: str, **labels) -> float:
    found = [v for (n, ls), v in samples.items() if n == name and set(labels.items()) <= ls]
    assert len(found) == 1, (name, labels, found)
    return found[0]


def test_metrics_counts_requests_and_exposes_versions_latest_run_and_drift(scored):
    ok("monitor", "--work-dir", scored.work)  # stores the latest run's drift
    ok("backtest", "--transactions", scored.tx["1998-03-31"], "--work-dir", scored.work)
    port = free_port()
    service = Service(["crmid", "serve", "--port", str(port), "--work-dir", str(scored.work)], scored.work, port,
                      clean_env())
    try:
        before = _samples(service.get("/metrics").text)  # the start-up wait asked /healthz already
        for _ in range(3):
            assert service.get("/healthz").status_code == 200
        assert service.get("/no/such/page").status_code == 404
        decide = {"customer_id": "C-1", "value_percentile": 0.97, "churn_probability": 0.6}
        assert service.post("/v1/decide", json=decide).status_code == 200
        runs_page = service.get("/ui/runs")
        scrape = service.get("/metrics")
    finally:
        service.stop()
    assert scrape.status_code == 200 and scrape.headers["content-type"].startswith("text/plain")
    samples = _samples(scrape.text)
    healthz = {"endpoint": "/healthz", "method": "GET", "status": "200"}
    assert _find(samples, "crmid_http_requests_total", **healthz) - _find(before, "crmid_http_requests_total",
                                                                         **healthz) == 3
    assert _find(samples, "crmid_http_requests_total", endpoint="unmatched", status="404") == 1
    assert _find(samples, "crmid_http_request_duration_seconds_count", endpoint="/v1/decide", status="200") == 1
    assert _find(samples, "crmid_model_loaded") == 1
    assert _find(samples, "crmid_info", model_version="crmid-customer/1") == 1
    assert _find(samples, "crmid_latest_run_customers_scored", as_of="1998-03-31") > 100
    assert _find(samples, "crmid_drift_psi", feature="churn_probability", kind="output") >= 0
    assert _find(samples, "crmid_drift_detected") in (0, 1)
    # the runs page shows the realized accuracy of the run backtest judged
    assert runs_page.status_code == 200 and "Accuracy" in runs_page.text and "AUC 0." in runs_page.text
