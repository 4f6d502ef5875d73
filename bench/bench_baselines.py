"""Benchmark: BG/NBD, Pareto/NBD and LightGBM on CDNOW, with an ablation of the feature families.

Run: ``.venv/bin/python bench/bench_baselines.py [--families regularity,silence] [--json out.json]``

Protocols (issue #19): as-of 1998-03-31 with H = 90 (h = 30, 90) and as-of 1997-12-31 with
H = 180 (h = 30, 90, 180). Everything is fitted on the log cut at the as-of date and judged on
what happened next (the *test* columns). The LightGBM classifiers are trained as
``training.fitting.fit_scorer`` trains them (stacked monthly snapshots, each described by its own
BG/NBD -- and here Pareto/NBD -- fit, rows followed for at least h days, level matched to BG/NBD
at the as-of date), for the current features (``base``) and with each feature family of
:mod:`models.features` added or removed.

Families are *chosen* on the *validation* columns only: inside the training window, each of the
last three snapshots that observe h days is scored by a classifier trained on the snapshots
before it (as the gate validates), and the AUC / Brier are averaged over those folds. The test
columns are printed to show what the choice gives; they never enter it.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import pandas as pd

from crmid.customerbase.datasets import load_cdnow
from crmid.customerbase.snapshot import TransactionLog
from crmid.models.bgnbd import BetaGeoModel, rfm_arrays
from crmid.models.features import FAMILIES, KEPT_FAMILIES, add_model_features, model_features
from crmid.models.horizon import HorizonClassifier, usable_rows
from crmid.models.metrics import binary_metrics
from crmid.models.pareto_nbd import ParetoNBDModel
from crmid.training.stacking import snapshot_dates

PROTOCOLS = (("1998-03-31", 90, (30, 90)), ("1997-12-31", 180, (30, 90, 180)))
FOLDS = 3


def _point(log, as_of, horizons, observed_until):
    """Snapshot, baselines fitted on it, every feature family, labels up to ``observed_until``."""
    snap = log.snapshot(as_of)
    bg = BetaGeoModel().fit_features(snap)
    pn = ParetoNBDModel().fit_features(snap)
    X = add_model_features(snap, bg, horizons, pareto=pn, families=FAMILIES)
    until = pd.Timestamp(observed_until)
    lab = log.labels(as_of, max(int((until - as_of).days), 1), observed_until=until, windows=())
    return {"as_of": as_of, "X": X, "bg": bg, "pn": pn, "snap": snap,
            "duration": lab["days_to_next_purchase"].to_numpy(dtype=np.float64),
            "event": lab["next_purchase_observed"].to_numpy(dtype=bool),
            "followup": int((until - as_of).days)}


LGBM: dict = {"params": None, "num_boost_round": None}  # --params / --rounds override models.defaults


def _train(points, h, cols, reference_X, reference_target):
    X = pd.concat([p["X"][cols] for p in points], ignore_index=True)
    duration = np.concatenate([p["duration"] for p in points])
    event = np.concatenate([p["event"] for p in points])
    followup = np.concatenate([np.full(len(p["X"]), p["followup"], dtype=np.float64) for p in points])
    mask, y = usable_rows(duration, event, followup, h)
    clf = HorizonClassifier(h, LGBM["params"], LGBM["num_boost_round"])
    return clf.fit(X[mask], y, reference_X=reference_X[cols], reference_target=reference_target)


def _metrics(y, p) -> dict:
    m = binary_metrics(y, p)
    return {"auc": m["auc"], "brier": m["brier"]}


def run_protocol(tx: pd.DataFrame, as_of: str, H: int, hs, configs: dict) -> dict:
    as_of = pd.Timestamp(as_of)
    full = TransactionLog(tx)
    log = TransactionLog(tx[tx["date"] <= as_of].reset_index(drop=True))
    feature_h = sorted(set(hs) | {H})
    t0 = time.perf_counter()
    ref = _point(log, as_of, feature_h, as_of)
    fit_s = time.perf_counter() - t0
    truth = full.labels(as_of, H, windows=hs)
    points = [_point(log, d, feature_h, as_of) for d in snapshot_dates(log.data_start, as_of)]
    x, t_x, T = rfm_arrays(ref["snap"])
    out = {"as_of": str(as_of.date()), "H": H, "customers": len(ref["X"]),
           "pareto_state": ref["pn"].get_state(), "bgnbd_state": ref["bg"].get_state(),
           "pareto_fit_seconds_incl_bgnbd": fit_s, "horizons": {}}
    for h in hs:
        y = truth[f"purchased_within_{h}d"].astype(bool).to_numpy()
        test = {"bgnbd": _metrics(y, ref["bg"].p_purchase_within(h, x, t_x, T)),
                "pareto": _metrics(y, ref["pn"].p_purchase_within(h, x, t_x, T))}
        observed = [p for p in points if p["followup"] >= h]
        folds = [i for i in range(len(observed)) if i >= 2][-FOLDS:]
        val = {"bgnbd": [], "pareto": []}
        for i in folds:
            v = observed[i]
            _, y_v = usable_rows(v["duration"], v["event"], np.full(len(v["X"]), v["followup"]), h)
            val["bgnbd"].append(_metrics(y_v, v["X"][f"bg_p_purchase_{h}d"]))
            val["pareto"].append(_metrics(y_v, v["X"][f"pnbd_p_purchase_{h}d"]))
        usable = [p for p in points if p["followup"] >= h]
        for name, cols_of in configs.items():
            cols = cols_of(feature_h)
            clf = _train(usable, h, cols, ref["X"], float(ref["X"][f"bg_p_purchase_{h}d"].mean()))
            test[name] = _metrics(y, clf.predict_proba(ref["X"][cols]))
            val[name] = []
            for i in folds:
                v = observed[i]
                _, y_v = usable_rows(v["duration"], v["event"], np.full(len(v["X"]), v["followup"]), h)
                clf = _train(observed[:i], h, cols, v["X"], float(v["X"][f"bg_p_purchase_{h}d"].mean()))
                val[name].append(_metrics(y_v, clf.predict_proba(v["X"][cols])))
        val_mean = {k: {m: float(np.mean([f[m] for f in v])) for m in ("auc", "brier")} for k, v in val.items()}
        out["horizons"][h] = {"test": test, "validation": val_mean, "validation_folds": val,
                              "validation_dates": [str(observed[i]["as_of"].date()) for i in folds]}
    return out


def build_configs(families: list[str], leave_one_out: bool = False) -> dict:
    """Feature sets: base, base + each family, all, (all but each family,) the kept families."""
    def cols(fams):
        return lambda hs: model_features(hs, pareto=True, families=fams)

    configs = {"base": cols(())}
    for f in families:
        configs[f"+{f}"] = cols((f,))
    if len(families) > 1:
        configs["all"] = cols(tuple(families))
        if leave_one_out:
            for f in families:
                configs[f"all-{f}"] = cols(tuple(x for x in families if x != f))
    if tuple(KEPT_FAMILIES) not in {(), *((f,) for f in families)} and tuple(KEPT_FAMILIES) != tuple(families):
        configs["kept"] = cols(KEPT_FAMILIES)
    return configs


def format_table(result: dict, configs) -> str:
    lines = [f"CDNOW as of {result['as_of']}, H = {result['H']}, {result['customers']} customers; "
             f"Pareto/NBD {({k: round(v, 4) for k, v in result['pareto_state'].items() if k in 'r alpha s beta'})}"]
    for h, entry in result["horizons"].items():
        lines.append(f"  h = {h}d   validation folds {', '.join(entry['validation_dates'])}")
        lines.append(f"  {'model':>26} | {'val AUC':>8} {'val Brier':>9} | {'test AUC':>8} {'test Brier':>10}")
        for name in ["bgnbd", "pareto", *configs]:
            v, t = entry["validation"][name], entry["test"][name]
            lines.append(f"  {name:>26} | {v['auc']:8.4f} {v['brier']:9.5f} | {t['auc']:8.4f} {t['brier']:10.5f}")
    return "\n".join(lines)


def summarise(results: list[dict], configs) -> str:
    """Mean change against ``base`` over every (protocol, h), validation and test."""
    lines = ["mean change against base over all (protocol, h):",
             f"  {'config':>26} | {'val dAUC':>9} {'val dBrier':>10} | {'test dAUC':>9} {'test dBrier':>11}"]
    for name in configs:
        d = {k: [] for k in ("va", "vb", "ta", "tb")}
        for r in results:
            for e in r["horizons"].values():
                d["va"].append(e["validation"][name]["auc"] - e["validation"]["base"]["auc"])
                d["vb"].append(e["validation"][name]["brier"] - e["validation"]["base"]["brier"])
                d["ta"].append(e["test"][name]["auc"] - e["test"]["base"]["auc"])
                d["tb"].append(e["test"][name]["brier"] - e["test"]["base"]["brier"])
        lines.append(f"  {name:>26} | {np.mean(d['va']):+9.4f} {np.mean(d['vb']):+10.5f} | "
                     f"{np.mean(d['ta']):+9.4f} {np.mean(d['tb']):+11.5f}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # returns are absent from CDNOW (no negative amounts): that family is constant there and
    # cannot be judged, so it is left out of the default ablation
    ap.add_argument("--families", default=",".join(f for f in FAMILIES if f != "returns"),
                    help="comma-separated feature families to ablate (default: all but returns)")
    ap.add_argument("--leave-one-out", action="store_true", help="also every family but one")
    ap.add_argument("--sets", help="instead of the ablation: feature sets to compare, as families joined by ',' "
                                   "and sets by '|' (e.g. 'pnbd|pnbd,decay'); base is always included")
    ap.add_argument("--params", help="LightGBM parameters overriding models.defaults, as JSON")
    ap.add_argument("--rounds", type=int, help="LightGBM boosting rounds")
    ap.add_argument("--json", help="write every figure to this file")
    args = ap.parse_args(argv)
    families = [f for f in args.families.split(",") if f]
    configs = build_configs(families, args.leave_one_out)
    if args.sets:
        configs = {"base": configs["base"]}
        for group in args.sets.split("|"):
            fams = tuple(f for f in group.split(",") if f)
            configs["+" + "+".join(fams)] = (lambda fs: lambda hs: model_features(hs, pareto=True, families=fs))(fams)
    LGBM.update(params=json.loads(args.params) if args.params else None, num_boost_round=args.rounds)
    tx = load_cdnow()
    results = []
    for as_of, H, hs in PROTOCOLS:
        t0 = time.perf_counter()
        result = run_protocol(tx, as_of, H, hs, configs)
        print(format_table(result, configs))
        print(f"  ({time.perf_counter() - t0:.0f} s)\n", flush=True)
        results.append(result)
    print(summarise(results, configs))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2, default=float)
    return 0


if __name__ == "__main__":
    sys.exit(main())
