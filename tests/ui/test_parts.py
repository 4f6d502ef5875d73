"""The web page's parts on their own: the list's URL, the login's rules, the charts, the CSV stream."""

from __future__ import annotations

import itertools
import json
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import pytest
from pydantic import SecretStr

from crmid.serving.api.routers.ui import csv_stream
from crmid.serving.api.ui import charts
from crmid.serving.api.ui.listing import PAGE_SIZES, parse_list_query
from crmid.serving.api.ui.render import days, money, percent, render
from crmid.serving.api.ui.session import safe_next, session_value, token_matches, valid_session
from crmid.serving.retain_list import format_retain
from crmid.serving.store import RETAIN_COLUMNS


def _query(url: str):
    return parse_list_query(parse_qs(urlsplit(url).query, keep_blank_values=True))


def test_a_view_of_the_list_survives_its_url():
    q = _query("/ui?tier=gold&tier=platinum&action=call&lifecycle=&min_churn=57.5&min_var=100&sort=clv&dir=desc"
               "&page=3&size=100")
    assert q.tiers == ("gold", "platinum") and q.labels == {"action": ("call",)}
    assert q.min_churn == 57.5 and q.min_value_at_risk == 100 and q.sort == "clv" and q.descending
    assert q.page == 3 and q.size == 100 and q.offset == 200 and q.errors == ()
    assert _query(q.url()) == q
    filters = q.store_filters(["action", "lifecycle_stage"])
    assert filters == {"tiers": ["gold", "platinum"], "min_churn": 0.575, "labels": {"action": ("call",)},
                       "min_value_at_risk": 100.0}
    # a label filter on a column the store lacks is not applied
    assert _query("/ui?segment=business").store_filters(["action"])["labels"] == {}


def test_empty_and_bad_values_do_not_fail_the_page():
    q = _query("/ui?tier=&min_churn=&min_var=lots&sort=reasons&dir=sideways&page=-2&size=7")
    assert q.tiers == () and q.min_churn is None and q.min_value_at_risk is None
    assert q.sort == "rank" and not q.descending and q.page == 1 and q.size == PAGE_SIZES[0]
    assert q.errors == ("Minimum value at risk: 'lots' is not a number; the filter is not applied",)
    assert "between 0 and 100" in _query("/ui?min_churn=150").errors[0]
    assert _query("/ui?min_churn=nan").errors and not _query("/ui").filtered


def test_column_headers_sort_the_most_urgent_first_then_toggle():
    q = _query("/ui?tier=gold&page=4")
    assert _query(q.sort_url("value_at_risk")).descending and _query(q.sort_url("customer_id")).descending is False
    again = _query(_query(q.sort_url("clv")).sort_url("clv"))
    assert again.sort == "clv" and not again.descending and again.page == 1 and again.tiers == ("gold",)
    assert q.aria_sort("rank") == "ascending" and q.aria_sort("clv") == "none"


def test_the_login_cookie_and_where_a_login_may_go():
    token = SecretStr("s3cret")
    value = session_value(token)
    assert "s3cret" not in value and len(value) == 64 and value == session_value(SecretStr("s3cret"))
    assert value != session_value(SecretStr("other"))
    assert valid_session(token, value) and not valid_session(token, "") and not valid_session(token, None)
    assert valid_session(None, None)  # no token: the page is open, as the API is
    assert token_matches(token, "s3cret") and not token_matches(token, "s3cre")
    assert safe_next("/ui/customers/1?tier=gold") == "/ui/customers/1?tier=gold"
    for bad in (None, "", "https://x.example/ui", "//x.example/ui", "/\\x.example", "/v1/retain", "/uix", "ui"):
        assert safe_next(bad) == "/ui", bad


def test_formats():
    assert percent(0.634) == "63%" and percent(0.634, 1) == "63.4%" and percent(None) == "—"
    assert money(1234.5) == "1,234.50" and money(float("nan")) == "—"
    assert days(41.6) == "42 days" and days(1) == "1 day"


def test_the_curve_goes_through_the_stored_points():
    chart = charts.next_purchase_curve({30: 0.2, 90: 0.6, 180: 0.8, 365: 0.95}, 50.0, 200.0)
    # day 30, the median, day 90, day 180, the p90 (S = 10%) and day 365, after day 0
    assert len(chart.points) == 6 and not chart.note
    assert chart.path.count(",") == 7
    assert any(t.text == "median 50 days" for t in chart.texts)
    assert [p.title.split(" (")[0] for p in chart.points] == ["day 30", "median", "day 90", "day 180", "p90", "day 365"]
    # a median never reached (the chance of buying again stays below 50%) is said, not drawn
    never = charts.next_purchase_curve({30: 0.05, 90: 0.1, 180: 0.15, 365: 0.2}, float("inf"), float("inf"))
    assert len(never.points) == 4 and "no median" in never.note
    assert not any(t.text.startswith("median") for t in never.texts)
    assert charts.next_purchase_curve({}, None, None) is None
    assert charts.next_purchase_curve({30: float("nan"), 90: 0.5}, None).points[-1].title.startswith("day 90")


def test_pyramid_histogram_and_trend():
    from crmid.serving.api.ui.summary import TierRow

    tiers = [TierRow("platinum", 5, 0.05, 50.0, 0.5, 5, 10.0), TierRow("lead", 95, 0.95, 50.0, 0.5, 90, 1.0)]
    pyramid = charts.value_pyramid(tiers)
    assert [b.css for b in pyramid.bars] == ["tier tier-platinum", "tier tier-lead"]
    assert pyramid.bars[0].width < pyramid.bars[1].width
    hist = charts.churn_histogram([(0.0, 0.5, 10), (0.5, 1.0, 30)], {"medium": 0.3, "high": 0.6})
    assert len(hist.bars) == 2 and hist.bars[1].height > hist.bars[0].height
    assert [ln.label for ln in hist.lines if ln.css == "cut"] == ["medium from 30%", "high from 60%"]
    assert charts.trend(["a"], [0.5], title="t") is None
    assert len(charts.trend(["a", "b", "c"], [0.5, None, 0.2], title="t").points) == 2


def test_templates_escape_whatever_they_are_given():
    html = render("not_found.html", version="v", model_version="m", rules_version="r", logged_in=False, nav="",
                  customer_id="<script>x</script>", run=None, back="/ui?tier=<b>")
    assert "<script>x" not in html and "&lt;script&gt;x&lt;/script&gt;" in html and "tier=&lt;b&gt;" in html


@pytest.mark.parametrize("sizes", [[], [3], [2, 2, 1], [1, 0, 4]])
def test_the_csv_stream_is_format_retain_of_the_whole_list(sizes):
    n = sum(sizes)
    frame = pd.DataFrame({c: [f"{c}-{i}" for i in range(n)] for c in RETAIN_COLUMNS})
    frame["churn_probability"] = np.linspace(0, 1, n) if n else []
    frame["value_at_risk"] = [None] * n
    frame["reasons"] = [json.dumps([{"rule": "retention.a", "reason": f"line one,\nline {i}"}]) for i in range(n)]
    frame["drivers"] = [json.dumps([{"feature": "recency_days", "label": "days since last purchase", "value": i,
                                     "effect": 1.5}]) if i % 2 else None for i in range(n)]
    bounds = np.cumsum([0, *sizes])
    frames = [frame.iloc[a:b].reset_index(drop=True) for a, b in itertools.pairwise(bounds)]
    streamed = b"".join(csv_stream(frames)).decode()
    whole = frame if n else pd.DataFrame(columns=list(RETAIN_COLUMNS))
    assert streamed == format_retain(whole, "csv") + "\n"


def test_before_any_run_the_page_says_what_to_do(tmp_path):
    from fastapi.testclient import TestClient

    from crmid.config import Workspace
    from crmid.serving.api import create_app

    workspace = Workspace(work_dir=tmp_path, store_url=f"sqlite:///{tmp_path / 'scores.db'}")
    with TestClient(create_app(workspace)) as client:
        page = client.get("/ui")
        assert page.status_code == 200 and "No complete scoring run is stored yet" in page.text
        assert "crmid score" in client.get("/ui/runs").text
        assert client.get("/ui/export.csv").status_code == 404
        missing = client.get("/ui/customers/x")
        assert missing.status_code == 404 and "no scoring run is stored yet" in missing.text
