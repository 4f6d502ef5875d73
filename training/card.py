"""The model card: what a served scorer was trained on, how it was judged, and what it serves.

Built from the scorer alone (everything it needs is in its saved ``info``), so the same card
comes from ``crmid model show``, from the MLflow run that registered the version
(``model_card/card.md`` and ``card.json``) and from ``GET /v1/version``.
"""

from __future__ import annotations

import math

__all__ = ["METHODS", "model_card", "render_card"]

#: how the served outputs are made, in words (the card's "method" section)
METHODS = {
    "churn": "P(no purchase within H days): a calibrated LightGBM classifier on stacked point-in-time "
             "snapshots, BG/NBD, or their average, as the gate chose on a later snapshot held out of training.",
    "next_purchase": "S(t), the probability of no purchase yet after t days: one calibrated classifier per knot "
                     "(made monotone, log-linear between knots) up to the last knot K; past K, BG/NBD's "
                     "conditional survival fitted on every customer, joined at K: S(t) = S(K) S_bg(t) / S_bg(K). "
                     "The median and p90 are solved on that curve, never capped.",
    "spend": "expected_spend_<h>d: a LightGBM Tweedie regression of the spend that followed each training "
             "snapshot, BG/NBD x Gamma-Gamma among its features, its level set by the classical total times the "
             "classical forecast's bias on the training windows; served per horizon only where it beat BG/NBD x "
             "Gamma-Gamma on the latest training window, else BG/NBD x Gamma-Gamma as lifetimes defines it "
             "(Gamma-Gamma on repeat purchases), or over every purchase where that form was sure to rank better "
             "on the two latest windows.",
    "drivers": "LightGBM tree contributions (TreeSHAP) of the churn log-odds, apportioned to probability points "
               "along the secant from the base probability to the customer's; a LightGBM surrogate of the "
               "served churn log-odds when BG/NBD or the blend serves churn.",
}

_METRICS = ("auc", "brier", "calibration_slope", "top_decile_lift")


def model_card(scorer, *, name: str | None = None, version: str | None = None) -> dict:
    """The card of a :class:`crmid.models.CustomerScorer` as a JSON-ready dict."""
    info = scorer.info
    gate = {}
    for output, g in info.get("gate", {}).items():
        gate[output] = {
            "source": g.get("source"),
            "reason": g.get("reason"),
            "validation_date": g.get("validation_date"),
            "metrics": {who: {k: m.get(k) for k in _METRICS if k in m} for who, m in (g.get("metrics") or {}).items()},
        }
    explained_by = ("churn classifier" if scorer.sources.get("churn") == "model" else
                    f"surrogate (R^2 {info['driver_surrogate_r2']})" if "driver_surrogate_r2" in info else "surrogate")
    return {
        "model": {"name": name, "version": version or scorer.version},
        "data": {
            "as_of": info.get("cutoff"),
            "first_transaction": info.get("data_start"),
            "last_transaction": info.get("data_end"),
            "customers_at_as_of": info.get("customers_at_cutoff"),
            "training_customers": info.get("training_customers"),
            "training_rows": info.get("training_rows"),
            "training_snapshots": len(info.get("snapshot_dates", [])),
            "sha256_16": info.get("data_sha256_16"),
        },
        "horizon_days": scorer.horizon_days,
        "knots": list(scorer.knots),
        "sources": dict(scorer.sources),
        "features": list(scorer.feature_names_),
        # optional families offered at training, each kept or not by out-of-time validation
        "feature_families": {family: {"kept": v.get("kept"), "features": v.get("features"), "reason": v.get("reason"),
                                      "skipped_columns": v.get("skipped_columns")}
                             for family, v in (info.get("feature_families") or {}).items()},
        "gate": gate,
        "next_purchase_validation": info.get("next_purchase_validation"),
        "spend": info.get("spend"),
        "drivers": explained_by,
        "baseline_only": info.get("baseline_only"),
        "training_seconds": info.get("training_seconds"),
        "seed": info.get("seed"),
        "methods": METHODS,
    }


def _fmt(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return "-" if math.isnan(value) else f"{value:.4f}"
    return str(value)


def render_card(card: dict) -> str:
    """The card as Markdown (what ``crmid model show`` prints and MLflow keeps as ``card.md``)."""
    m, d = card["model"], card["data"]
    title = f"{m['name']} version {m['version']}" if m.get("name") else str(m.get("version"))
    lines = [
        f"# Model card: {title}",
        "",
        f"- as of {d['as_of']}; transactions {d['first_transaction']} .. {d['last_transaction']} "
        f"(data sha256 {d['sha256_16'] or '-'})",
        f"- customers at the as-of date: {d['customers_at_as_of']}; trained on {d['training_customers']} customers, "
        f"{d['training_rows']} rows from {d['training_snapshots']} snapshots",
        f"- churn horizon H = {card['horizon_days']} days; survival-curve knots {card['knots']} days "
        "(BG/NBD tail past the last)",
        f"- training time {card.get('training_seconds') or '-'} s; seed {card.get('seed')}; "
        f"drivers from the {card['drivers']}",
    ]
    if card.get("baseline_only"):
        lines.append(f"- BG/NBD served everywhere: {card['baseline_only']}")
    lines += ["", "## What the gate chose, per output", "",
              "| output | served | model AUC / Brier / slope / lift | BG/NBD AUC / Brier / slope / lift | why |",
              "|---|---|---|---|---|"]
    for output, g in card["gate"].items():
        cells = []
        for who in ("model", "baseline"):
            mm = g["metrics"].get(who)
            cells.append(" / ".join(_fmt(mm.get(k)) for k in _METRICS) if mm else "-")
        reason = (g["reason"] or "").replace("|", "/")
        lines.append(f"| {output} | {g['source']} | {cells[0]} | {cells[1]} | {reason} |")
    v = card.get("next_purchase_validation")
    if v:
        lines += ["", "## Next-purchase curve on the held-out snapshot", "",
                  f"As of {v['validation_date']}, {v['n']} customers, over {v['window_days']} days: concordance "
                  f"{_fmt(v['served']['concordance'])} (BG/NBD {_fmt(v['baseline']['concordance'])}), integrated "
                  f"Brier score {_fmt(v['served']['integrated_brier'])} (BG/NBD "
                  f"{_fmt(v['baseline']['integrated_brier'])})."]
    spend = card.get("spend")
    if spend:
        lines += ["", "## Spend forecast (expected_spend_<h>d), per horizon", ""]
        for h, r in sorted(spend.items(), key=lambda kv: int(kv[0])):
            lines.append(f"- {h} days: {r.get('source')}: {r.get('reason', '')}")
    lines += ["", "## Features", "", ", ".join(card["features"]) or "(none: BG/NBD only)"]
    for family, v in (card.get("feature_families") or {}).items():
        skipped = "; ".join(f"{c}: {why}" for c, why in (v.get("skipped_columns") or {}).items())
        lines.append(f"\n- {family} features ({', '.join(v.get('features') or []) or 'none'}): {v.get('reason')}"
                     + (f" (columns not used: {skipped})" if skipped else ""))
    lines += ["", "## Method", ""]
    lines += [f"- **{k}**: {text}" for k, text in card["methods"].items()]
    return "\n".join(lines) + "\n"
