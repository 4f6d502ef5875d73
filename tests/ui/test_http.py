"""The web page over plain HTTP (no browser): escaping, 404, headers, the login's cookie and redirects.

A real `crmid serve` process reads a small store made here, whose customer ids and reasons are
markup: the page must show them as text.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import subprocess
from urllib.parse import quote

import httpx
import numpy as np
import pandas as pd
import pytest

from crmid.serving.retain_list import format_retain
from crmid.serving.store import open_store

from ..journeys.conftest import clean_env
from .conftest import start_service

pytestmark = pytest.mark.slow

SCRIPT_ID = "<script>alert('id')</script>"
IMG_ID = '"><img src=x onerror=alert(1)>'
TOKEN = "http-token-not-a-secret"


def _frame() -> pd.DataFrame:
    ids = [SCRIPT_ID, IMG_ID, "plain-1", "plain/2", "gold-3", "lead-4"]
    n = len(ids)
    return pd.DataFrame({
        "customer_id": ids,
        "churn_probability": [0.9, 0.7, 0.5, 0.3, 0.65, np.nan],
        "p_purchase_30d": [0.1, 0.2, 0.3, 0.4, 0.2, np.nan],
        "p_purchase_90d": [0.3, 0.4, 0.6, 0.7, 0.45, np.nan],
        "next_purchase_days_median": [80.0, 60.0, 40.0, 20.0, 95.0, np.nan],
        "next_purchase_days_p90": [400.0, 300.0, 200.0, 100.0, np.inf, np.nan],
        "p_purchase_180d": [0.6, 0.7, 0.8, 0.9, 0.55, np.nan],
        "p_purchase_365d": [0.7, 0.8, 0.9, 0.95, 0.6, np.nan],
        "expected_spend_90d": [30.0, 20.0, 10.0, 5.0, 12.0, np.nan],
        "expected_spend_180d": [50.0, 35.0, 18.0, 9.0, 20.0, np.nan],
        "expected_spend_365d": [90.0, 60.0, 30.0, 15.0, 35.0, np.nan],
        "drivers": ['[{"feature": "recency_days", "label": "days since last purchase", "value": 120.0, '
                    '"effect": 7.5}]'] * 5 + [None],
        "clv": [500.0, 400.0, 300.0, 200.0, 350.0, -5.0],
        "value_at_risk": [450.0, 280.0, 150.0, 60.0, 227.5, np.nan],
        "value_percentile": np.linspace(1, 0, n),
        "value_tier": ["platinum", "platinum", "gold", "iron", "gold", "lead"],
        "churn_risk": ["critical", "high", "medium", "low", "high", "not_assessed"],
        "lifecycle_stage": ["decline", "maturity", "maturity", "growth", "decline", "termination"],
        "temperature": ["cold", "warm", "hot", "hot", "cold", "cold"],
        "action": ["<b>act</b>", "retain_vip", "retain_key", "nurture", "retain_key", "let_go"],
        "action_text": ["Call <em>now</em>", "Call", "Offer", "Nurture", "Offer", "Let go"],
        "priority": [100.0, 95.0, 80.0, 25.0, 80.0, 0.0],
        "segment": ["business", "consumer", None, "distributor", "business", None],
        "reasons": [json.dumps([{"rule": "retention.<i>x</i>", "reason": "<script>alert('reason')</script>"},
                                {"rule": "tier.platinum", "reason": "top & best", "term": "铂金<b>"}])] + [
            json.dumps([{"rule": "retention.y", "reason": "because"}])] * (n - 1),
    })


@pytest.fixture(scope="module")
def crafted(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("ui-http")
    url = f"sqlite:///{cwd / 'scores.db'}"
    store = open_store(url)
    store.save_run(_frame(), as_of="2024-01-31", n_rejected=2, model_version="m-1", rules_version="r-1",
                   clv_reference=np.array([0.0, 1.0]))
    store.close()
    open_ = start_service(cwd, CRMID_STORE_URL=url)
    locked = start_service(cwd, CRMID_STORE_URL=url, CRMID_API_TOKEN=TOKEN)
    yield {"open": open_, "locked": locked, "url": url}
    open_.stop()
    locked.stop()


def test_markup_in_the_data_is_text(crafted):
    page = crafted["open"].get("/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    html = page.text
    for raw in (SCRIPT_ID, IMG_ID, "<script>alert('reason')</script>", "<em>now</em>", "<b>act</b>"):
        assert raw not in html
    assert "&lt;script&gt;alert(&#39;id&#39;)&lt;/script&gt;" in html
    assert "&#34;&gt;&lt;img src=x onerror=alert(1)&gt;" in html
    assert "<script" not in html.lower()  # the page itself has no script at all

    one = crafted["open"].get("/ui/customers/" + quote(SCRIPT_ID, safe=""))
    assert one.status_code == 200
    assert SCRIPT_ID not in one.text and "<script" not in one.text.lower()
    assert "&lt;i&gt;x&lt;/i&gt;" in one.text and "top &amp; best" in one.text
    # the textbook term beside the reason, as text too
    assert '<td lang="zh">铂金&lt;b&gt;</td>' in one.text


def test_an_unknown_customer_is_a_404_page_that_says_so(crafted):
    missing = crafted["open"].get("/ui/customers/" + quote("<script>nobody</script>", safe=""))
    assert missing.status_code == 404 and missing.headers["content-type"].startswith("text/html")
    assert "No such customer" in missing.text and "2024-01-31" in missing.text
    assert "&lt;script&gt;nobody&lt;/script&gt;" in missing.text and "<script>" not in missing.text
    assert crafted["open"].get("/ui/customers/nobody-at-all").status_code == 404


def test_an_id_with_a_slash_has_its_page(crafted):
    page = crafted["open"].get("/ui")
    assert 'href="/ui/customers/plain%2F2"' in page.text
    assert crafted["open"].get("/ui/customers/plain%2F2").status_code == 200


def test_headers_keep_the_page_to_itself(crafted):
    page = crafted["open"].get("/ui")
    csp = page.headers["content-security-policy"]
    assert "default-src 'none'" in csp and "style-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["x-content-type-options"] == "nosniff"
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-crmid-rules-version"]
    css = crafted["open"].get("/ui/static/ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    # nothing the page links to or loads is on another host
    assert "http://" not in page.text and "https://" not in page.text


def test_filters_and_a_bad_number(crafted):
    page = crafted["open"].get("/ui", params={"tier": "gold", "min_churn": "60", "min_var": "abc"})
    assert page.status_code == 200
    assert "gold-3" in page.text and "plain-1" not in page.text
    assert "Minimum value at risk: &#39;abc&#39; is not a number" in page.text
    assert "1 customer match the filters" in page.text
    # the customer with no action (priority 0) is not listed, like crmid retain
    assert "lead-4" not in crafted["open"].get("/ui").text


def test_the_segment_filter(crafted):
    """The profile's segment is a filter of the list and of its export, like the rules' labels."""
    page = crafted["open"].get("/ui", params={"segment": "business"})
    assert page.status_code == 200
    assert "gold-3" in page.text and "plain-1" not in page.text and "plain/2" not in page.text
    assert "2 customers match the filters" in page.text
    # the choices offered are the segments the run holds
    assert 'name="segment"' in page.text and ">distributor<" in page.text.replace("Distributor", "distributor")
    store = open_store(crafted["url"])
    got = crafted["open"].get("/ui/export.csv", params={"segment": "business"})
    assert got.text == format_retain(store.retain_page(top=100, labels={"segment": ["business"]}), "csv") + "\n"
    assert set(store.retain_page(top=100, labels={"segment": ["business"]})["customer_id"]) == {SCRIPT_ID, "gold-3"}
    store.close()


def test_crmid_retain_takes_the_pages_filters(crafted, tmp_path):
    """`crmid retain --segment/--action/--temperature/--lifecycle/--min-value-at-risk` print the rows
    the page exports with the same filters; a value the run does not hold is a one-line error."""
    env = clean_env(CRMID_STORE_URL=crafted["url"])
    cases = [({"segment": "business"}, ["--segment", "business"]),
             ({"action": "retain_key", "temperature": "cold"}, ["--action", "retain_key", "--temperature", "cold"]),
             ({"lifecycle": ["maturity", "growth"]}, ["--lifecycle", "maturity,growth"]),
             ({"min_var": "200"}, ["--min-value-at-risk", "200"])]
    for params, options in cases:
        page = crafted["open"].get("/ui/export.csv", params=params).text
        printed = subprocess.run(["crmid", "retain", "--format", "csv", "--top", "100", *options], cwd=tmp_path,
                                 env=env, capture_output=True, text=True, timeout=120)
        assert printed.returncode == 0, printed.stderr
        assert printed.stdout == page, (options, printed.stdout, page)
        assert len(page.splitlines()) > 1, options  # each case lists somebody
    for options, expected in ((["--segment", "retail"], "--segment retail: not in the latest run"),
                              (["--min-value-at-risk", "-5"], "expected an amount of at least 0")):
        wrong = subprocess.run(["crmid", "retain", *options], cwd=tmp_path, env=env, capture_output=True,
                               text=True, timeout=120)
        assert wrong.returncode == 2 and expected in wrong.stderr and "Traceback" not in wrong.stderr


def test_csv_export_is_format_retain_of_the_filtered_list(crafted):
    store = open_store(crafted["url"])
    for params, tiers in (({}, None), ({"tier": "gold"}, ["gold"]), ({"tier": "diamond"}, ["diamond"])):
        got = crafted["open"].get("/ui/export.csv", params=params)
        assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
        assert "attachment" in got.headers["content-disposition"]
        assert got.text == format_retain(store.retain(top=100, tiers=tiers), "csv") + "\n"
    store.close()


def test_the_runs_page(crafted):
    page = crafted["open"].get("/ui/runs")
    assert page.status_code == 200
    assert "2024-01-31" in page.text and "m-1" in page.text and "r-1" in page.text and "complete" in page.text


def test_with_a_token_nothing_is_read_without_logging_in(crafted):
    base = crafted["locked"].base
    with httpx.Client(base_url=base, follow_redirects=False, timeout=30) as client:
        for path in ("/ui", "/ui/runs", "/ui/export.csv?tier=gold", "/ui/customers/plain-1"):
            refused = client.get(path)
            assert refused.status_code == 303, path
            assert refused.headers["location"].startswith("/ui/login?next=")
            assert "plain-1" not in refused.text and "gold-3" not in refused.text
        # a forged cookie is no session
        assert client.get("/ui", cookies={"crmid_session": TOKEN}).status_code == 303
        assert client.get("/ui/login").status_code == 200

        wrong = client.post("/ui/login", data={"token": "wrong", "next": "/ui/runs"})
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers

        right = client.post("/ui/login", data={"token": TOKEN, "next": "/ui/runs"})
        assert right.status_code == 303 and right.headers["location"] == "/ui/runs"
        cookie = right.headers["set-cookie"]
        value = hmac.new(TOKEN.encode(), b"crmid web page session v1", hashlib.sha256).hexdigest()
        assert cookie.startswith(f"crmid_session={value};") and TOKEN not in cookie
        assert "HttpOnly" in cookie and "SameSite=strict" in cookie.replace("Strict", "strict")
        assert client.get("/ui/runs").status_code == 200
        assert client.get("/ui/export.csv").status_code == 200
        # the page's session opens no door of the JSON API
        assert client.get("/v1/retain").status_code == 401

        # the login never sends the browser off-site
        for target in ("https://elsewhere.example/", "//elsewhere.example/ui", "/v1/retain", "/\\elsewhere"):
            moved = client.post("/ui/login", data={"token": TOKEN, "next": target})
            assert moved.headers["location"] == "/ui", target
        assert client.post("/ui/logout").headers["location"] == "/ui/login"


def test_without_a_token_the_login_is_not_needed(crafted):
    got = httpx.get(crafted["open"].base + "/ui/login?next=/ui/runs", follow_redirects=False)
    assert got.status_code == 303 and got.headers["location"] == "/ui/runs"
