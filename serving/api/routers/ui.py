"""``/ui``: marketing's web page -- the retain list, one customer explained, the stored runs.

The same data, decisions and token as the JSON API: the list is the store's retain ranking
(:meth:`ScoresStore.retain_page`, the ranking ``crmid retain`` and ``/v1/retain`` use), its CSV
export is :func:`crmid.serving.retain_list.format_retain`, and with an API token set nobody reads
a page without having typed it (:mod:`crmid.serving.api.ui.session`). Server-rendered HTML with
inline SVG charts and the service's own stylesheet: nothing is loaded from another host.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator
from dataclasses import replace
from urllib.parse import parse_qs, quote, urlencode

import pandas as pd
from fastapi import APIRouter, Depends, HTTPException, Request, Response, status
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from pydantic import SecretStr

from crmid import __version__
from crmid.rules.families import outputs

from ...context import ScoringContext
from ...retain_list import format_retain, top_reasons
from ...store import RETAIN_COLUMNS, RunInfo, ScoresStore
from ..deps import ContextDep, StoreDep, WorkspaceDep, version_headers
from ..ui import charts
from ..ui.listing import LABEL_FILTERS, PAGE_SIZES, ListQuery, parse_list_query
from ..ui.render import days, humanize, money, number, percent, render, stylesheet
from ..ui.session import COOKIE, LOGIN_PATH, safe_next, session_value, token_matches, valid_session
from ..ui.summary import run_summary

__all__ = ["csv_stream", "require_login", "router"]

#: every page: no script, style or image from anywhere but the service itself (inline SVG is
#: markup, not a load), no framing, no referrer leaving with a customer id in it, and no copy of
#: a page of customer data kept in a shared cache
_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
                               "frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
#: how many of the latest complete runs a customer's trend looks at (a display choice)
HISTORY_RUNS = 12
#: how many runs the runs page lists (a display choice)
RUNS_SHOWN = 200
#: rows per query of the CSV export: memory stays bounded however long the list is
_EXPORT_CHUNK = 50_000

#: the list's columns: (sort key or None, header, css class)
_COLUMNS = (
    ("rank", "#", "num"),
    ("customer_id", "Customer", ""),
    ("value_tier", "Tier", ""),
    ("churn_probability", "Churn", "num"),
    ("clv", "CLV", "num"),
    ("value_at_risk", "Value at risk", "num"),
    ("next_purchase_days_median", "Next purchase (median)", "num"),
    ("action", "Action", ""),
    (None, "Top reasons", ""),
)
#: the label filters' form labels
_FILTER_LABELS = {"action": "Action", "lifecycle": "Lifecycle stage", "temperature": "Temperature",
                  "segment": "Segment"}
#: stored fields that no rule family outputs: what they hold, for the customer page
_FIELD_HELP = {
    "churn_probability": "the churn model: P(no purchase within the horizon it was trained for)",
    "p_purchase_30d": "the next-purchase model: P(a purchase within 30 days)",
    "p_purchase_90d": "the next-purchase model: P(a purchase within 90 days)",
    "p_purchase_180d": "the next-purchase curve: P(a purchase within 180 days)",
    "p_purchase_365d": "the next-purchase curve: P(a purchase within 365 days)",
    "next_purchase_days_median": "the next-purchase model: median days to the next purchase",
    "next_purchase_days_p90": "the next-purchase model: days by which a purchase is 90% likely",
    "expected_spend_90d": "the spend forecast: money expected over the next 90 days",
    "expected_spend_180d": "the spend forecast: money expected over the next 180 days",
    "expected_spend_365d": "the spend forecast: money expected over the next 365 days",
    "recency_days": "days since the last purchase (R of RFM)",
    "frequency": "repeat purchases (F of RFM)",
    "monetary_total": "spend on purchases (M of RFM; returns counted apart)",
    "tenure_days": "days since the first purchase",
    "clv": "customer lifetime value: expected profit over the customer's remaining lifetime",
    "value_at_risk": "CLV x churn probability: what is lost if the customer leaves",
    "value_percentile": "share of the run's customers with a lower CLV",
    "priority": "the retention decision's priority: higher = act sooner",
}
_PERCENT_FIELDS = {"churn_probability", "p_purchase_30d", "p_purchase_90d", "p_purchase_180d", "p_purchase_365d",
                   "value_percentile"}
_MONEY_FIELDS = {"clv", "value_at_risk", "expected_spend_90d", "expected_spend_180d", "expected_spend_365d",
                 "monetary_total"}
_DAYS_FIELDS = {"next_purchase_days_median", "next_purchase_days_p90", "recency_days", "tenure_days"}
#: shown in the decision card, the drivers and the reasons, so not repeated among the stored facts
_SHOWN_ABOVE = {"customer_id", "run_id", "reasons", "reasons_id", "action_text", "drivers", "purchase_history"}


def require_login(request: Request, workspace: WorkspaceDep) -> None:
    """With an API token set, a page needs the session cookie; without it the browser goes to the login."""
    if valid_session(workspace.api_token, request.cookies.get(COOKIE)):
        return
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise HTTPException(status.HTTP_303_SEE_OTHER, "log in first",
                        headers={"Location": f"{LOGIN_PATH}?{urlencode({'next': target})}", **_HEADERS})


router = APIRouter(prefix="/ui", tags=["ui"], include_in_schema=False)
LoggedIn = [Depends(require_login)]


def _page(template: str, context: ScoringContext, workspace, *, status_code: int = 200, nav: str = "",
          **values) -> HTMLResponse:
    # the log-out button shows on every page behind the login (the login form says otherwise)
    values.setdefault("logged_in", workspace.api_token is not None)
    html = render(template, version=__version__, model_version=context.model_version or "none",
                  rules_version=context.rules_version, nav=nav, **values)
    return HTMLResponse(html, status_code=status_code, headers={**_HEADERS, **version_headers(context)})


def _params(request: Request) -> dict[str, list[str]]:
    params: dict[str, list[str]] = {}
    for name, value in request.query_params.multi_items():
        params.setdefault(name, []).append(value)
    return params


def _customer_href(customer_id: str, query: ListQuery) -> str:
    """The customer's page, carrying the list's view so that its back link returns to it."""
    return query.url(f"/ui/customers/{quote(str(customer_id), safe='')}")


@router.get("/static/ui.css")
def css() -> Response:
    """The page's stylesheet (no login needed: it holds no data)."""
    return Response(stylesheet(), media_type="text/css", headers={"Cache-Control": "no-cache",
                                                                  "X-Content-Type-Options": "nosniff"})


# ---------------------------------------------------------------------------------- the list
def _cuts(context: ScoringContext, run: RunInfo) -> dict[str, float] | None:
    """The churn-risk cut points, when the rules in force are the ones that made the run."""
    if context.rules_version != run.rules_version:
        return None
    return dict(context.engine.config.section("churn_risk")["cut_points"])


def _list_view(store: ScoresStore, run: RunInfo, query: ListQuery) -> tuple[ListQuery, int, pd.DataFrame]:
    """The page of the list to show (clamped to the last page), how many rows match, the rows."""
    filters = query.store_filters(store.label_columns)
    summary = run_summary(store, run)
    total = store.count_retain(run_id=run.run_id, **filters) if query.filtered else summary.listed
    pages = max(1, math.ceil(total / query.size))
    if query.page > pages:
        query = replace(query, page=pages)
    frame = store.retain_page(top=query.size, offset=query.offset, sort=query.sort, descending=query.descending,
                              run_id=run.run_id, **filters)
    return query, total, frame


@router.get("", dependencies=LoggedIn)
@router.get("/", dependencies=LoggedIn)
def retain_list(request: Request, store: StoreDep, context: ContextDep, workspace: WorkspaceDep) -> HTMLResponse:
    """The retain list of the latest complete run, with the run's summary band."""
    params = _params(request)
    query = parse_list_query(params)
    run = store.latest_run()
    if run is None:
        return _page("retain.html", context, workspace, nav="retain", run=None)
    summary = run_summary(store, run)
    query, total, frame = _list_view(store, run, query)
    rows = []
    for position, row in enumerate(frame.to_dict("records"), start=query.offset + 1):
        row.update(position=position, top_reasons=top_reasons(row["reasons"]),
                   href=_customer_href(row["customer_id"], query))
        rows.append(row)
    sort_label = next(label for key, label, _ in _COLUMNS if key == query.sort)
    export = query.url("/ui/export.csv", page=1)
    return _page(
        "retain.html", context, workspace, nav="retain", run=run, summary=summary, query=query, rows=rows,
        total=total, pages=max(1, math.ceil(total / query.size)), first=query.offset + 1 if rows else 0,
        last=query.offset + len(rows), columns=_COLUMNS, page_sizes=PAGE_SIZES,
        label_filters=[(p, _FILTER_LABELS[p]) for p in LABEL_FILTERS],
        form={"min_churn": (params.get("min_churn") or [""])[-1], "min_var": (params.get("min_var") or [""])[-1]},
        sort_label=("rank" if query.sort == "rank" else sort_label) + (" descending" if query.descending else ""),
        pyramid=charts.value_pyramid(summary.tiers), histogram=charts.churn_histogram(summary.histogram,
                                                                                         _cuts(context, run)),
        share_bar=charts.share_bar, largest_share=max((a.share for a in summary.actions), default=1.0),
        export_url=export,
    )


@router.get("/export.csv", dependencies=LoggedIn)
def export_csv(request: Request, store: StoreDep, context: ContextDep) -> Response:
    """The whole filtered list as CSV, in the list's order: the rows and format of ``crmid retain --format csv``.

    Streamed a chunk of rows at a time, so a list of a million customers never sits in memory
    whole; the CSV is the one :func:`format_retain` writes, its header once.
    """
    query = parse_list_query(_params(request))
    run = store.latest_run()
    headers = {**_HEADERS, **version_headers(context)}
    if run is None:
        return Response("no complete scoring run is stored yet: run `crmid score` first\n", status_code=404,
                        media_type="text/plain; charset=utf-8", headers=headers)
    frames = store.iter_retain(chunk_rows=_EXPORT_CHUNK, sort=query.sort, descending=query.descending,
                               run_id=run.run_id, **query.store_filters(store.label_columns))
    headers["Content-Disposition"] = f'attachment; filename="crmid-retain-{run.as_of}.csv"'
    return StreamingResponse(csv_stream(frames), media_type="text/csv; charset=utf-8", headers=headers)


def csv_stream(frames: Iterable[pd.DataFrame]) -> Iterator[bytes]:
    """The CSV of ``crmid retain --format csv`` (what it prints, final newline included), frame by frame.

    Each frame is written by :func:`format_retain`; the header is kept from the first only. No
    frame at all gives the header alone, as ``crmid retain`` prints for an empty list.
    """
    first = True
    for frame in frames:
        text = format_retain(frame, "csv")
        if not first:
            text = text.partition("\n")[2]
            if not text:
                continue
        first = False
        yield (text + "\n").encode("utf-8")
    if first:
        yield (format_retain(pd.DataFrame(columns=list(RETAIN_COLUMNS)), "csv") + "\n").encode("utf-8")


# ---------------------------------------------------------------------------------- one customer
def _reasons(text: str | None) -> list[dict]:
    try:
        reasons = json.loads(text) if text else []
    except ValueError:
        return [{"rule": "-", "reason": str(text), "decisive": False}]
    return [{"rule": str(r.get("rule", "")), "reason": str(r.get("reason", "")), "term": str(r.get("term") or ""),
             "decisive": str(r.get("rule", "")).startswith("retention")} for r in reasons if isinstance(r, dict)]


def _fact_value(name: str, value) -> str:
    if name in _PERCENT_FIELDS:
        return percent(value, 1)
    if name in _MONEY_FIELDS:
        return money(value)
    if name in _DAYS_FIELDS:
        return days(value)
    if isinstance(value, (int, float)):
        return number(value, 1)
    return humanize(value)


def _facts(row: dict) -> list[dict]:
    descriptions = {**_FIELD_HELP, **{o.name: o.description for o in outputs()}}
    return [{"label": humanize(name).capitalize(), "value": _fact_value(name, value),
             "description": descriptions.get(name, "")}
            for name, value in row.items() if name not in _SHOWN_ABOVE]


#: the stored P(purchase within t) points the customer page draws the curve through
_CURVE_DAYS = (30, 90, 180, 365)


def _drivers(text: str | None) -> list[dict]:
    """The stored drivers, each with a bar width (share of the largest |effect|) for the page."""
    drivers = json.loads(text) if text else []
    largest = max((abs(d["effect"]) for d in drivers), default=0.0) or 1.0
    return [{**d, "share": abs(d["effect"]) / largest} for d in drivers]


def _not_yet(p) -> float | None:
    return None if p is None or (isinstance(p, float) and math.isnan(p)) else 1.0 - float(p)


@router.get("/customers/{customer_id:path}", dependencies=LoggedIn)
def customer_page(customer_id: str, request: Request, store: StoreDep, context: ContextDep,
                  workspace: WorkspaceDep) -> HTMLResponse:
    """One customer of the latest complete run: the decision, every rule that fired, the curve, the trend."""
    query = parse_list_query(_params(request))
    back = query.url()
    run = store.latest_run()
    row = store.customer(customer_id, run_id=run.run_id) if run is not None else None
    if row is None:
        return _page("not_found.html", context, workspace, status_code=404, customer_id=customer_id, run=run,
                     back=back)
    history = store.customer_history(customer_id, runs=HISTORY_RUNS)
    history_rows = history.astype(object).where(history.notna(), None).to_dict("records")
    within = {t: row.get(f"p_purchase_{t}d") for t in _CURVE_DAYS if f"p_purchase_{t}d" in row}
    curve = charts.next_purchase_curve(within, row.get("next_purchase_days_median"), row.get("next_purchase_days_p90"))
    trend = charts.trend([str(h["as_of"]) for h in history_rows], [h["churn_probability"] for h in history_rows],
                         title="Churn probability")
    purchases = [(d, float(a)) for d, a in json.loads(row.get("purchase_history") or "[]")]
    timeline = charts.purchase_timeline(purchases, run.as_of, money=money)
    return _page(
        "customer.html", context, workspace, nav="retain", c=row, run=run, back=back,
        listed=(row.get("priority") or 0) > 0, reasons=_reasons(row.get("reasons")), curve=curve,
        curve_points=[(f"{t} days", p, _not_yet(p)) for t, p in within.items()],
        drivers=_drivers(row.get("drivers")), share_bar=charts.share_bar, trend=trend, history=history_rows,
        timeline=timeline, purchases=purchases,
        facts=_facts(row),
    )


# ---------------------------------------------------------------------------------- runs
def _duration(info: RunInfo) -> str:
    if info.finished_at is None:
        return "—"
    seconds = (info.finished_at - info.started_at).total_seconds()
    return f"{seconds:,.1f} s" if seconds < 120 else f"{seconds / 60:,.1f} min"


@router.get("/runs", dependencies=LoggedIn)
def runs_page(store: StoreDep, context: ContextDep, workspace: WorkspaceDep) -> HTMLResponse:
    """The stored runs, newest first: as-of, customers scored and rejected, versions, duration."""
    from crmid.monitoring.tables import accuracy_by_run

    infos = store.list_runs(limit=RUNS_SHOWN)
    accuracy = accuracy_by_run(store, [r.run_id for r in infos])  # realized, once `crmid backtest` judged the run
    runs = [{"info": r, "started": r.started_at.strftime("%Y-%m-%d %H:%M:%S"), "duration": _duration(r),
             "accuracy": accuracy.get(r.run_id)} for r in infos]
    return _page("runs.html", context, workspace, nav="runs", runs=runs, latest=store.latest_run())


# ---------------------------------------------------------------------------------- login
@router.get("/login")
def login_form(request: Request, context: ContextDep, workspace: WorkspaceDep) -> Response:
    """The token form; without a token configured there is nothing to log in to."""
    target = safe_next(request.query_params.get("next"))
    if workspace.api_token is None:
        return RedirectResponse(target, status.HTTP_303_SEE_OTHER, headers=_HEADERS)
    return _page("login.html", context, workspace, next=target, error="", logged_in=False)


@router.post("/login")
async def login(request: Request, context: ContextDep, workspace: WorkspaceDep) -> Response:
    """Check the typed token; when it is right, set the session cookie and go on to the page asked for."""
    # a plain form (application/x-www-form-urlencoded), read here rather than through FastAPI's
    # Form, which would need python-multipart for two fields
    form = parse_qs((await request.body()).decode("utf-8", "replace"), keep_blank_values=True)
    target = safe_next((form.get("next") or [""])[-1])
    token: SecretStr | None = workspace.api_token
    if token is None:
        return RedirectResponse(target, status.HTTP_303_SEE_OTHER, headers=_HEADERS)
    if not token_matches(token, (form.get("token") or [""])[-1]):
        return _page("login.html", context, workspace, status_code=status.HTTP_401_UNAUTHORIZED, next=target,
                     error="That is not this service's API token.", logged_in=False)
    response = RedirectResponse(target, status.HTTP_303_SEE_OTHER, headers=_HEADERS)
    response.set_cookie(COOKIE, session_value(token), httponly=True, samesite="strict", path="/ui",
                        secure=request.url.scheme == "https")
    return response


@router.post("/logout")
def logout() -> Response:
    """Forget the session cookie and go back to the login."""
    response = RedirectResponse(LOGIN_PATH, status.HTTP_303_SEE_OTHER, headers=_HEADERS)
    response.delete_cookie(COOKIE, path="/ui", httponly=True, samesite="strict")
    return response

