"""Geometry of the page's charts, drawn as inline SVG by ``templates/charts.html``.

Each function turns data into shapes in a fixed coordinate box (the SVG's ``viewBox``; the page
scales it); the templates write the markup, so every label goes through autoescaping. Nothing
here is a business number: bin edges, cut points and tiers come from the store and the rules.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["Bar", "Chart", "Point", "churn_histogram", "next_purchase_curve", "purchase_timeline", "trend",
           "value_pyramid"]

#: drawing box of the charts (SVG user units); the page scales the SVG to its column width
WIDTH, HEIGHT = 340, 180
#: room for axis labels left and below the plot area
_LEFT, _BOTTOM, _TOP, _RIGHT = 40, 28, 14, 12


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    css: str = ""
    title: str = ""


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    title: str = ""


@dataclass(frozen=True)
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    css: str = ""
    label: str = ""


@dataclass(frozen=True)
class Text:
    x: float
    y: float
    text: str
    anchor: str = "middle"
    css: str = ""


@dataclass
class Chart:
    """Shapes of one chart in a ``width`` x ``height`` box, with its accessible title and description."""

    title: str
    description: str
    width: float = WIDTH
    height: float = HEIGHT
    bars: list[Bar] = field(default_factory=list)
    lines: list[Line] = field(default_factory=list)
    texts: list[Text] = field(default_factory=list)
    points: list[Point] = field(default_factory=list)
    #: the SVG ``points`` attribute of the chart's curve, if it has one
    path: str = ""
    path_css: str = ""
    #: the curve continued where it is not known (drawn dashed)
    path_unknown: str = ""
    #: a sentence shown under the chart (what the drawing cannot say)
    note: str = ""


def _pct(x: float) -> str:
    return f"{x * 100:.0f}%"


def _compact(n: int) -> str:
    """A count short enough for an axis label: ``100455`` -> ``100k``."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if n >= 10 * size:
            return f"{n / size:,.0f}{suffix}"
    return f"{n:,}"


def _plot_box(width: float = WIDTH, height: float = HEIGHT) -> tuple[float, float, float, float]:
    """Left, top, width and height of the plot area inside the axes."""
    return _LEFT, _TOP, width - _LEFT - _RIGHT, height - _TOP - _BOTTOM


def value_pyramid(tiers: Sequence) -> Chart:
    """The value pyramid: one centred layer per tier, top tier first, width = share of customers.

    ``tiers``: rows with ``tier``, ``customers``, ``customer_share`` and ``value_share``
    (:class:`~crmid.serving.api.ui.summary.TierRow`), in pyramid order.
    """
    layer, gap, label = 26, 4, 96
    height = max(len(tiers), 1) * (layer + gap) + gap
    chart = Chart(title="Value pyramid",
                  description="One layer per value tier, top tier first; each layer's width is its share of "
                              "the customers; on the right, its share of the customers' value (CLV).",
                  height=height)
    shares = [t.customer_share for t in tiers if not math.isnan(t.customer_share)]
    widest = max(shares, default=0) or 1.0
    usable = WIDTH - 2 * label
    for i, t in enumerate(tiers):
        share = 0.0 if math.isnan(t.customer_share) else t.customer_share
        # a layer of a handful of customers still shows as a sliver, not as nothing
        w = max(usable * share / widest, 2.0)
        y = gap + i * (layer + gap)
        value = "" if math.isnan(t.value_share) else f"{_pct(t.value_share)} of value"
        chart.bars.append(Bar(x=(WIDTH - w) / 2, y=y, width=w, height=layer, css=f"tier tier-{t.tier}",
                              title=f"{t.tier}: {t.customers:,} customers ({_pct(share)}), {value}"))
        chart.texts.append(Text(x=4, y=y + layer / 2 + 4, text=f"{t.tier} {_pct(share)}", anchor="start"))
        chart.texts.append(Text(x=WIDTH - 4, y=y + layer / 2 + 4, text=value, anchor="end", css="tick"))
    return chart


def churn_histogram(bins: Sequence[tuple[float, float, int]], cuts: dict[str, float] | None = None) -> Chart:
    """Customers per churn-probability bin, with the rules' risk-band cut points drawn over it.

    Parameters
    ----------
    bins : sequence of (lower, upper, customers)
        From :meth:`ScoresStore.distribution`.
    cuts : mapping of band -> lowest churn probability of the band, optional
        The churn-risk cut points of the rules that made the run (omitted when unknown).
    """
    chart = Chart(title="Churn probability",
                  description="Customers per band of churn probability; the dashed lines are the rules' "
                              "churn-risk cut points.")
    left, top, w, h = _plot_box()
    most = max((n for _, _, n in bins), default=0) or 1
    lo = bins[0][0] if bins else 0.0
    hi = bins[-1][1] if bins else 1.0

    def x_of(p: float) -> float:
        return left + (p - lo) / (hi - lo) * w

    for lower, upper, n in bins:
        bh = h * n / most
        chart.bars.append(Bar(x=x_of(lower) + 1, y=top + h - bh, width=max(x_of(upper) - x_of(lower) - 2, 1),
                              height=bh, css="bar",
                              title=f"churn {_pct(lower)} to {_pct(upper)}: {n:,} customers"))
    chart.lines.append(Line(left, top + h, left + w, top + h, css="axis"))
    for p, anchor in ((lo, "start"), ((lo + hi) / 2, "middle"), (hi, "end")):
        chart.texts.append(Text(x=x_of(p), y=top + h + 16, text=_pct(p), anchor=anchor, css="tick"))
    chart.texts.append(Text(x=left - 6, y=top + 8, text=_compact(most), anchor="end", css="tick"))
    chart.texts.append(Text(x=left - 6, y=top + h, text="0", anchor="end", css="tick"))
    for band, cut in sorted((cuts or {}).items(), key=lambda kv: kv[1]):
        if lo < cut < hi:
            chart.lines.append(Line(x_of(cut), top, x_of(cut), top + h, css="cut", label=f"{band} from {_pct(cut)}"))
            chart.texts.append(Text(x=x_of(cut) + 3, y=top + 9, text=band, anchor="start", css="cut-label"))
    return chart


def _known(value) -> float | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) else float(value)


def next_purchase_curve(p_within: dict[int, float | None], median_days: float | None,
                        p90_days: float | None = None) -> Chart | None:
    """S(t) = P(no purchase yet by day t) through the stored points: day 0, each stored P(purchase
    within t) (30, 90, 180, 365 days), the median (S = 50%) and the p90 (S = 10%).

    The model's curve is monotone and the stored points lie on it; between them the chart draws
    straight lines. A quantile that is never reached (stored as infinity: the chance of ever
    buying again stays below that level) is said in a note instead of drawn. None when nothing
    is known.
    """
    stored = [(0.0, 1.0)] + [(float(t), 1.0 - p) for t, p in sorted(p_within.items()) if _known(p) is not None]
    m, q90 = _known(median_days), _known(p90_days)
    quantiles = [(d, s, what) for d, s, what in ((m, 0.5, "median"), (q90, 0.1, "p90"))
                 if d is not None and math.isfinite(d)]
    if len(stored) == 1 and not quantiles:
        return None
    known = sorted(stored + [(d, s) for d, s, _ in quantiles])
    horizon = max(t for t, _ in known)
    x_max = horizon * 1.08 if horizon > 0 else 1.0
    chart = Chart(title="Next purchase",
                  description="Probability that the customer has not bought again yet, by days from the run's "
                              "as-of date: 100% on day 0, then through the stored probabilities of buying within "
                              "30, 90, 180 and 365 days, the median (50%) and the 90th percentile (10%).")
    left, top, w, h = _plot_box()

    def xy(t: float, s: float) -> tuple[float, float]:
        return left + t / x_max * w, top + (1.0 - s) * h

    coords = [xy(t, s) for t, s in known]
    chart.path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    chart.path_css = "curve"
    last_x, last_y = coords[-1]
    chart.path_unknown = f"{last_x:.1f},{last_y:.1f} {left + w:.1f},{last_y:.1f}"
    names = {d: what for d, _, what in quantiles}
    for t, s in known[1:]:
        x, y = xy(t, s)
        what = names.get(t, f"day {t:.0f}")
        chart.points.append(Point(x, y, title=f"{what} (day {t:.0f}): {_pct(s)} not bought yet"))
    chart.lines.append(Line(left, top + h, left + w, top + h, css="axis"))
    chart.lines.append(Line(left, top, left, top + h, css="axis"))
    hx, hy = xy(0, 0.5)
    chart.lines.append(Line(hx, hy, left + w, hy, css="guide"))
    for s in (1.0, 0.5, 0.0):
        chart.texts.append(Text(x=left - 6, y=xy(0, s)[1] + 4, text=_pct(s), anchor="end", css="tick"))
    for t in [0.0, *sorted(p_within)]:
        if t <= x_max:
            chart.texts.append(Text(x=xy(t, 0)[0], y=top + h + 16, text=f"day {t:.0f}" if t else "0", css="tick"))
    if m is not None and math.isfinite(m):
        label = f"median {m:.0f} days"
        mx = xy(m, 0)[0]
        chart.lines.append(Line(mx, top, mx, top + h, css="median", label=label))
        anchor = "end" if mx > left + w * 0.6 else "start"
        chart.texts.append(Text(x=mx + (-4 if anchor == "end" else 4), y=top + h - 6, text=label, anchor=anchor,
                                css="median-label"))
    elif m is not None:
        chart.note = "The chance that this customer ever buys again stays below 50%: there is no median."
    return chart


def trend(labels: Sequence[str], values: Sequence[float | None], *, title: str) -> Chart | None:
    """A small line of a 0..1 value (churn probability) over runs, oldest left; None with fewer than two."""
    known = [(i, v) for i, v in enumerate(values) if v is not None and not math.isnan(v)]
    if len(known) < 2:
        return None
    width, height = 240, 80
    chart = Chart(title=title, description=f"{title} in each stored run, oldest first.", width=width, height=height)
    left, top, w, h = 8, 8, width - 16, height - 16
    step = w / max(len(values) - 1, 1)
    coords = [(left + i * step, top + (1.0 - v) * h) for i, v in known]
    chart.path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    chart.path_css = "curve"
    for (i, v), (x, y) in zip(known, coords, strict=True):
        chart.points.append(Point(x, y, title=f"{labels[i]}: {_pct(v)}"))
    chart.lines.append(Line(left, top + h, left + w, top + h, css="axis"))
    return chart


def purchase_timeline(purchases: Sequence[tuple[str, float]], as_of: str, *, money) -> Chart | None:
    """The customer's purchases as bars on a time axis ending at ``as_of`` (height: the amount).

    Parameters
    ----------
    purchases : sequence of (str, float)
        ``(YYYY-MM-DD, amount)``, oldest first, as the store keeps them.
    as_of : str
        The run's as-of date: the axis ends there, so the silence since the last purchase shows.
    money : callable
        Formats an amount for the bars' titles (the page's currency format).

    Returns
    -------
    Chart or None
        None when there is no purchase.
    """
    if not purchases:
        return None
    import datetime as dt

    days = [dt.date.fromisoformat(d) for d, _ in purchases]
    end = dt.date.fromisoformat(str(as_of)[:10])
    start = min(days)
    span = max((end - start).days, 1)
    largest = max((a for _, a in purchases), default=0.0) or 1.0
    chart = Chart(title="Purchase history",
                  description=f"{len(purchases)} purchase days from {start} to {days[-1]}, amount as height; "
                              f"the axis ends at the as-of date {end}.")
    left, top, w, h = _plot_box()
    bar = max(min(w / (2 * len(purchases)), 6.0), 1.5)
    for day, (label, amount) in zip(days, purchases, strict=True):
        x = left + (day - start).days / span * (w - bar)
        height = max(amount, 0.0) / largest * h
        chart.bars.append(Bar(x, top + h - height, bar, max(height, 1.0), css="bar",
                              title=f"{label}: {money(amount)}"))
    chart.lines.append(Line(left, top + h, left + w, top + h, css="axis"))
    chart.texts += [Text(left, top + h + 16, str(start), anchor="start", css="tick"),
                    Text(left + w, top + h + 16, str(end), anchor="end", css="tick"),
                    Text(left - 4, top + 8, money(largest), anchor="end", css="tick")]
    return chart


def share_bar(share: float, largest: float = 1.0, width: float = 120, height: float = 10) -> Chart:
    """A bar of ``share`` against the ``largest`` share shown beside it (which fills ``width``)."""
    chart = Chart(title="", description="", width=width, height=height)
    scale = largest if largest and not math.isnan(largest) and largest > 0 else 1.0
    s = 0.0 if share is None or math.isnan(share) else min(max(share / scale, 0.0), 1.0)
    chart.bars.append(Bar(0, 0, max(width * s, 1.0), height, css="bar"))
    return chart
