"""The web page in a real browser: Chromium over a real `crmid serve`, checked against `crmid retain`.

Every test also checks that the browser asked nothing of any host but 127.0.0.1: the page works
offline, with no CDN, font or script from elsewhere.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest

from .conftest import AS_OF, TOKEN, csv_rows, retain_csv

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
#: the README's screenshot; made by the list test when it is missing (delete it to make it anew)
DOCS_SCREENSHOT = ROOT / "docs" / "ui.png"


def _ids(page) -> list[str]:
    return page.locator("table.retain tbody a.customer").all_inner_texts()


def _cells(page, row: int) -> list[str]:
    return [t.strip() for t in page.locator("table.retain tbody tr").nth(row).locator("td").all_inner_texts()]


def _matching(page) -> int:
    text = page.locator(".result-line").inner_text()
    return int(re.search(r"([\d,]+) customers?", text).group(1).replace(",", ""))


def test_the_list_is_crmid_retain_with_a_summary(open_service, scored_workspace, browsing):
    page = browsing.page
    page.goto(open_service.base + "/ui")
    expected = csv_rows(retain_csv(scored_workspace, "--top", "10"))
    assert _ids(page)[:10] == [r["customer_id"] for r in expected]
    # the numbers as the CSV has them, formatted for people
    for i, r in enumerate(expected):
        cells = _cells(page, i)
        assert cells[0] == str(i + 1) and cells[1] == r["customer_id"] and cells[2] == r["value_tier"]
        assert cells[3] == f"{float(r['churn_probability']) * 100:.0f}%"
        assert cells[4] == f"{float(r['clv']):,.2f}" and cells[5] == f"{float(r['value_at_risk']):,.2f}"
        median = float(r["next_purchase_days_median"])  # inf: the chance of buying again stays below 50%
        assert cells[6] == (f"{round(median):,} days" if math.isfinite(median) else "not expected")
        assert cells[7] == r["action_text"]
        assert cells[8].splitlines()[0] == r["top_reasons"].split(" | ")[0]
    # the summary band: the run, the value pyramid and the churn distribution as inline SVG
    assert AS_OF in page.locator(".run-line").inner_text()
    assert page.locator("svg[data-chart='pyramid'] rect").count() >= 4
    assert page.locator("svg[data-chart='churn'] rect").count() >= 2
    assert page.locator("table.actions tbody tr").count() >= 1
    browsing.shot("list")
    if not DOCS_SCREENSHOT.exists():
        DOCS_SCREENSHOT.parent.mkdir(exist_ok=True)
        page.set_viewport_size({"width": 1400, "height": 1200})
        page.screenshot(path=str(DOCS_SCREENSHOT), full_page=False)
    assert browsing.off_host() == []


def test_a_tier_filter_gives_crmid_retains_rows(open_service, scored_workspace, browsing):
    page = browsing.page
    page.goto(open_service.base + "/ui")
    page.select_option("#f-tier", "gold")
    page.get_by_role("button", name="Apply filters").click()
    page.wait_for_url(re.compile(r"tier=gold"))
    tiers = page.locator("table.retain tbody td.tier").all_inner_texts()
    assert tiers and {t.strip() for t in tiers} == {"gold"}
    expected = csv_rows(retain_csv(scored_workspace, "--tier", "gold", "--top", "50"))
    assert _ids(page) == [r["customer_id"] for r in expected]
    assert _matching(page) == len(csv_rows(retain_csv(scored_workspace, "--tier", "gold", "--top", "100000")))
    # the next page goes on where crmid retain goes on
    page.get_by_role("link", name="Next \u203a").click()
    page.wait_for_url(re.compile(r"page=2"))
    expected = csv_rows(retain_csv(scored_workspace, "--tier", "gold", "--top", "100"))[50:]
    assert _ids(page) == [r["customer_id"] for r in expected]
    browsing.shot("gold-page-2")
    assert browsing.off_host() == []


def test_sorting_by_a_column_header(open_service, browsing):
    page = browsing.page
    page.goto(open_service.base + "/ui?tier=gold")
    page.locator("thead a", has_text="CLV").click()
    page.wait_for_url(re.compile(r"sort=clv"))
    assert page.locator("th[aria-sort='descending']", has_text="CLV").count() == 1
    cells = page.locator("table.retain tbody tr td:nth-child(5)").all_inner_texts()
    values = [float(c.replace(",", "")) for c in cells]
    assert values == sorted(values, reverse=True) and len(values) == 50
    assert browsing.off_host() == []


def test_one_customer_explained_and_back(open_service, scored_workspace, browsing):
    page = browsing.page
    page.goto(open_service.base + "/ui?tier=gold")
    first = csv_rows(retain_csv(scored_workspace, "--tier", "gold", "--top", "1"))[0]
    # by keyboard: focus the first customer's link and press Enter
    page.locator("table.retain a.customer").first.focus()
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/ui/customers/"))
    assert first["customer_id"] in page.locator("h1").inner_text()
    assert page.locator(".action-text").inner_text() == first["action_text"]
    curve = page.locator("svg[data-chart='next-purchase']")
    assert curve.count() == 1 and curve.locator("polyline.curve").count() == 1
    # the curve through the stored points of a year: day 30, 90, 180, 365 (and median / p90 when reached)
    assert curve.locator("circle").count() >= 4
    # the drivers, as the batch stored them, largest effect first
    drivers = json.loads(first["drivers"]) if isinstance(first.get("drivers"), str) else None
    shown = page.locator("table.drivers-table tbody tr td:first-child").all_inner_texts()
    assert drivers and shown == [d["label"] for d in drivers]
    reasons = page.locator("table.reasons-table tbody tr td:nth-child(3)").all_inner_texts()
    for reason in first["top_reasons"].split(" | "):
        assert reason in reasons
    # the earlier run is part of the customer's trend
    assert page.locator("table.history tbody tr").count() == 2
    # the purchase history: the customer's purchase days up to the as-of date (one day's
    # purchases summed), the last 24 of them, as they are in the transactions file
    tx = pd.read_csv(scored_workspace / "tx.csv", dtype={"customer_id": str})
    mine = tx[(tx["customer_id"] == first["customer_id"]) & (tx["date"] <= AS_OF) & (tx["amount"] >= 0)]
    days = mine.groupby("date")["amount"].sum().sort_index().tail(24)
    rows = page.locator("table.purchases tbody tr")
    assert rows.count() == len(days) > 0
    assert [r.split("\t")[0] for r in rows.all_inner_texts()] == list(days.index)
    shown_amounts = [float(t.replace(",", "")) for t in page.locator("table.purchases tbody td.num").all_inner_texts()]
    assert shown_amounts == pytest.approx(days.round(2).tolist(), abs=0.006)
    assert page.locator("svg[data-chart='purchases'] rect.bar").count() == len(days)
    browsing.shot("customer")
    page.get_by_role("link", name="← Back to the retain list").click()
    page.wait_for_url(re.compile(r"/ui\?tier=gold$"))
    assert _ids(page)[0] == first["customer_id"]
    assert browsing.off_host() == []


def test_csv_export_of_a_filtered_list_is_crmid_retains(open_service, scored_workspace, browsing):
    page = browsing.page
    page.goto(open_service.base + "/ui?tier=gold")
    n = _matching(page)
    with page.expect_download() as download:
        page.get_by_role("link", name="Export CSV").click()
    exported = Path(download.value.path()).read_bytes().decode("utf-8")
    shutil.copy(download.value.path(), browsing.shots / "export.csv")
    expected = retain_csv(scored_workspace, "--tier", "gold", "--top", str(n))
    assert exported == expected  # byte for byte: the same rows, order and format
    assert len(csv_rows(exported)) == n
    assert browsing.off_host() == []


def test_with_a_token_the_page_asks_for_it(token_service, browsing):
    page = browsing.page
    page.goto(token_service.base + "/ui?tier=gold")
    page.wait_for_url(re.compile(r"/ui/login\?next="))
    assert page.locator("table.retain").count() == 0
    page.get_by_label("API token").fill("not-the-token")
    page.get_by_role("button", name="Log in").click()
    assert page.locator("[role=alert]").inner_text() == "That is not this service's API token."
    assert page.context.cookies() == []
    browsing.shot("login-refused")
    page.get_by_label("API token").fill(TOKEN)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(re.compile(r"/ui\?tier=gold$"))  # on to the page first asked for
    assert page.locator("table.retain tbody tr").count() > 0
    (cookie,) = page.context.cookies()
    assert cookie["httpOnly"] is True and cookie["sameSite"] == "Strict"
    assert TOKEN not in cookie["value"]
    assert cookie["value"] == hmac.new(TOKEN.encode(), b"crmid web page session v1", hashlib.sha256).hexdigest()
    # a script on the page cannot read it
    assert page.evaluate("document.cookie") == ""
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/ui/login"))
    page.goto(token_service.base + "/ui")
    page.wait_for_url(re.compile(r"/ui/login"))
    assert browsing.off_host() == []
