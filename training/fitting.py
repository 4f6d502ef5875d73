"""Fit the served :class:`models.CustomerScorer` from a transaction log at a cutoff (no MLflow)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from crmid.customerbase.snapshot import TransactionLog
from crmid.models import defaults
from crmid.models.churn import ChurnModel
from crmid.models.drift import reference_profile
from crmid.models.drivers import DriverSurrogate
from crmid.models.features import OFFERED_FAMILIES, SNAPSHOT_FEATURES, family_features, model_features
from crmid.models.horizon import usable_rows
from crmid.models.next_purchase import NextPurchaseModel
from crmid.models.scorer import CustomerScorer

from .gate import GateResult, validate_curve, validate_horizon
from .spend import fit_gamma_gamma, fit_spend_forecaster
from .stacking import as_log, point_in_time, snapshot_dates, stack

__all__ = [
    "InsufficientHistory",
    "TrainingInputError",
    "check_dates",
    "check_training_inputs",
    "curve_knots",
    "fit_baseline_scorer",
    "fit_scorer",
]


class TrainingInputError(ValueError):
    """The data cannot support the requested training; the message names the numbers."""


class InsufficientHistory(TrainingInputError):
    """Too little history or too few labelled customers for LightGBM; BG/NBD may still be fitted."""


def check_dates(data_start, data_end, cutoff, *, allowed_gap_days: int = 0) -> None:
    """The as-of date must lie within the data, or at most ``allowed_gap_days`` after its end."""
    cutoff = pd.Timestamp(cutoff).normalize()
    start, end = pd.Timestamp(data_start).normalize(), pd.Timestamp(data_end).normalize()
    if cutoff < start:
        raise TrainingInputError(
            f"as-of date {cutoff.date()} is before the data start {start.date()}: nothing is known at it")
    if (cutoff - end).days > allowed_gap_days:
        raise TrainingInputError(
            f"as-of date {cutoff.date()} is after the data end {end.date()} "
            f"({(cutoff - end).days} days without data would be read as silence)")


def check_training_inputs(log: TransactionLog, cutoff, horizon, *, step_days=None, allowed_gap_days: int = 0) -> None:
    """Raise :class:`TrainingInputError` before any work when the request cannot be served.

    Checks: the cutoff lies within the data, the horizon is a positive number of days, the
    history before ``cutoff - horizon`` holds at least one training snapshot, and enough
    customers are known at the cutoff.
    """
    step = defaults.SNAPSHOT_STEP_DAYS if step_days is None else int(step_days)
    if log.n_rows == 0 or log.data_start is None:
        raise TrainingInputError("no transactions to train on (0 rows)")
    try:
        h = int(horizon)
    except (TypeError, ValueError):
        raise TrainingInputError(f"horizon must be a whole number of days, got {horizon!r}") from None
    if h <= 0 or h != horizon:
        raise TrainingInputError(f"horizon must be a positive whole number of days, got {horizon}")
    cutoff = pd.Timestamp(cutoff).normalize()
    start = log.data_start.normalize()
    check_dates(start, log.data_end, cutoff, allowed_gap_days=allowed_gap_days)
    history = int((cutoff - start).days)
    needed = h + step
    if history < needed:
        raise InsufficientHistory(
            f"horizon {h} days is longer than the available history allows: training needs "
            f"{needed} days ({h} to observe + {step} of history for one snapshot) before the as-of date "
            f"{cutoff.date()}, the data start {start.date()} gives {history} days")
    n_cust = int(log.known_codes(cutoff).size)
    if n_cust < defaults.MIN_CUSTOMERS:
        raise InsufficientHistory(
            f"too few customers to train: {n_cust} known at {cutoff.date()}, at least {defaults.MIN_CUSTOMERS} needed")


def curve_knots(dates, cutoff, horizon) -> list[int]:
    """Knots of the survival curve: 30, 90, H and every extra knot some training snapshot observes."""
    longest = max(((pd.Timestamp(cutoff) - d).days for d in dates), default=0)
    return sorted({30, 90, int(horizon)} | {k for k in defaults.SURVIVAL_EXTRA_KNOTS if k <= longest})


def _enough(data, h) -> tuple[bool, int, int]:
    _, y = usable_rows(data.duration, data.event, data.followup, h)
    pos = int(y.sum())
    return (pos >= defaults.MIN_POSITIVES and y.size - pos >= defaults.MIN_POSITIVES), pos, int(y.size)


def _check_positives(log, dates, cutoff, H) -> None:
    """Enough customers who did and did not purchase within H in the training snapshots."""
    pos = rows = 0
    for d in dates:
        lab = log.labels(d, H, observed_until=cutoff, windows=())[f"purchased_within_{H}d"]
        pos += int(lab.fillna(False).sum())
        rows += len(lab)
    if pos < defaults.MIN_POSITIVES or rows - pos < defaults.MIN_POSITIVES:
        raise InsufficientHistory(
            f"too few positive labels to train: {pos} customers purchased within {H} days and "
            f"{rows - pos} did not, in {rows} training rows ({len(dates)} snapshots); "
            f"at least {defaults.MIN_POSITIVES} of each needed")


def fit_scorer(log_or_transactions, *, cutoff, horizon, gate: bool = True, seed: int | None = None,
               params: dict | None = None, num_boost_round: int | None = None,
               step_days: int | None = None, max_snapshots: int | None = None,
               max_customers: int | None = None, allowed_gap_days: int = 0,
               profiles: pd.DataFrame | None = None) -> CustomerScorer:
    """Train the churn and next-purchase models, the baselines, and gate them.

    Parameters
    ----------
    log_or_transactions : pandas.DataFrame or customerbase.snapshot.TransactionLog
        Validated transactions. A frame is cut at ``cutoff`` first: nothing after it is read.
    cutoff : date-like
        Last day of data the models may use (the as-of date of the scorer).
    horizon : int
        H in days for churn.
    gate : bool
        Validate each output against BG/NBD and serve model, blend or baseline accordingly;
        False serves the LightGBM models everywhere they exist (for comparisons).
    seed, params, num_boost_round
        LightGBM settings (defaults in :mod:`models.defaults`).
    step_days, max_snapshots
        Training snapshot spacing and count.
    max_customers : int, optional
        Stack the snapshots of at most this many customers, sampled with ``seed`` (default
        :data:`models.defaults.MAX_TRAINING_CUSTOMERS`); the served BG/NBD, Gamma-Gamma and
        calibration use every customer.
    allowed_gap_days : int
        How many days the cutoff may lie after the last transaction (see ``crmid train``).
    profiles : pandas.DataFrame, optional
        Validated customer profiles: their numeric and categorical columns become the ``profile``
        feature family (:mod:`models.profile_features`). It, and each family of
        :data:`models.features.OFFERED_FAMILIES`, is kept only when it validates better out of
        time inside the training window (:func:`training.feature_selection.validate_families`);
        ``info["feature_families"]`` says what was decided and why.

    Returns
    -------
    CustomerScorer
        ``info`` holds the cutoff, the snapshot dates, the gate report and training counts.
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    if isinstance(log_or_transactions, pd.DataFrame) and len(log_or_transactions):
        dates = log_or_transactions["date"]
        # on the whole data, before cutting it
        check_dates(dates.min(), dates.max(), cutoff, allowed_gap_days=allowed_gap_days)
    log = as_log(log_or_transactions, cutoff)
    check_training_inputs(log, cutoff, horizon, step_days=step_days, allowed_gap_days=allowed_gap_days)
    H = int(horizon)
    dates = snapshot_dates(log.data_start, cutoff, step_days=step_days, max_snapshots=max_snapshots)
    seed = defaults.SEED if seed is None else int(seed)
    sample = log.sample_customers(defaults.MAX_TRAINING_CUSTOMERS if max_customers is None else int(max_customers),
                                  seed=seed)
    _check_positives(sample, [d for d in dates if (cutoff - d).days >= H], cutoff, H)
    knots = curve_knots(dates, cutoff, H)
    feature_horizons = sorted(set(knots) | {H})
    points = [p for p in (point_in_time(sample, d, feature_horizons, observed_until=cutoff, families=OFFERED_FAMILIES)
                          for d in dates) if p is not None]
    if not any(p.followup >= H for p in points):
        raise InsufficientHistory(
            f"no training snapshot with repeat purchases is followed for {H} days before {cutoff.date()}"
        )
    common = dict(params=params, num_boost_round=num_boost_round, seed=seed)
    families, kept = _behaviour_families(points, H, feature_horizons, common)
    profile_features = None
    if profiles is not None and len(profiles):
        profile_features, families["profile"] = _profile_family(points, profiles, H, common)
    data = stack(points)
    ok, pos, rows = _enough(data, H)
    if not ok:
        raise InsufficientHistory(
            f"too few positive labels to train: {pos} customers purchased within {H} days and "
            f"{rows - pos} did not, in {rows} training rows; at least {defaults.MIN_POSITIVES} of each needed")

    ref = point_in_time(log, cutoff, feature_horizons, families=kept)
    if ref is None:
        raise TrainingInputError(f"no customer has a repeat purchase by {cutoff.date()}: BG/NBD cannot be fitted")
    if profile_features is not None:
        ref.X = profile_features.add_to(ref.X, ref.snapshot["customer_id"], profiles)
    targets = {h: float(ref.X[f"bg_p_purchase_{h}d"].mean()) for h in feature_horizons}
    model_knots = [k for k in knots if _enough(data, k)[0]]
    nxt = None
    if model_knots:
        nxt = NextPurchaseModel(model_knots, **common).fit(
            data.X, data.duration, data.event, data.followup, reference_X=ref.X, reference_p_purchase=targets)
    if nxt is not None and H in nxt.knots_:
        churn = ChurnModel.from_classifier(nxt.classifiers_[H])
    else:
        churn = ChurnModel(H, **common).fit(data.X, data.duration, data.event, data.followup,
                                            reference_X=ref.X, reference_p_purchase=targets[H])

    gg = fit_gamma_gamma(ref.snapshot)
    snap = ref.snapshot

    gate_report: dict[str, dict] = {}
    sources: dict[str, str] = {}
    outputs = {"churn": H, **{f"knot_{k}": k for k in knots}}
    results: dict[int, GateResult] = {}
    pareto_fits: dict = {}  # Pareto/NBD fitted per validation snapshot, shared by the horizons
    for name, h in outputs.items():
        trained = name == "churn" or (nxt is not None and h in nxt.knots_)
        if not trained:
            res = GateResult(h, "baseline", f"too few labelled rows to train a {h}-day classifier: BG/NBD served")
        elif not gate:
            res = GateResult(h, "model", "gate disabled")
        else:
            if h not in results:
                results[h] = validate_horizon(points, h, pareto_fits=pareto_fits, **common)
            res = results[h]
        sources[name] = res.source
        gate_report[name] = res.to_dict()

    curve_check = validate_curve(points, knots, sources=sources, pareto_fits=pareto_fits, **common) if gate else None
    pareto = _served_pareto(ref, sources, pareto_fits)
    spend = fit_spend_forecaster(sample, points, cutoff, seed=seed, reference=ref, gamma_gamma=gg, gate=gate,
                                 params=None, num_boost_round=None)
    info = {
        "cutoff": str(cutoff.date()),
        "horizon_days": H,
        "data_start": str(log.data_start.date()),
        "data_end": str(log.data_end.date()),
        "next_purchase_validation": curve_check,
        "spend": {str(h): r for h, r in spend.report_.items()},
        "snapshot_dates": [str(d.date()) for d in data.dates],
        "training_rows": len(data),
        "training_customers": int(sample.n_customers),
        "customers_at_cutoff": len(snap),
        "gate": gate_report,
        "feature_families": families,
        "lgbm_params": {**defaults.LGBM_PARAMS, **(params or {})},
        "num_boost_round": defaults.LGBM_NUM_BOOST_ROUND if num_boost_round is None else int(num_boost_round),
        "seed": seed,
    }
    # what the models were trained on, for `crmid monitor` (train adds the outputs and CLV)
    info["drift_reference"] = reference_profile(snap, SNAPSHOT_FEATURES)
    return _explained(dict(
        horizon_days=H, bgnbd=ref.bgnbd, gamma_gamma=gg, churn=churn, next_purchase=nxt, knots=knots,
        feature_horizons=feature_horizons, sources=sources, version="local", info=info, spend=spend, pareto=pareto,
        profile_features=profile_features, families=kept,
    ), ref, seed, profiles)


def _behaviour_families(points, H: int, feature_horizons, common: dict) -> tuple[dict, list[str]]:
    """Judge each offered feature family on this data; take the columns of those not kept out again.

    Returns the verdicts by family and the kept families, in :data:`OFFERED_FAMILIES` order.
    """
    from .feature_selection import validate_families

    offered = {f: family_features(f, feature_horizons) for f in OFFERED_FAMILIES}
    verdicts = validate_families(points, H, offered, model_features(feature_horizons, families=()), **common)
    kept = [f for f in OFFERED_FAMILIES if verdicts[f]["kept"]]
    dropped = [c for f, cols in offered.items() if f not in kept for c in cols]
    for p in points:
        p.X = p.X.drop(columns=dropped)
    return verdicts, kept


def _profile_family(points, profiles: pd.DataFrame, H: int, common: dict):
    """The profile features added to every training snapshot, kept or taken out again by validation.

    Returns the fitted :class:`models.profile_features.ProfileFeatures` (None when not kept) and
    the verdict.
    """
    from crmid.models.profile_features import ProfileFeatures

    from .feature_selection import validate_families

    encoder = ProfileFeatures().fit(profiles)
    if not encoder.feature_names_:
        return None, {"family": "profile", "features": [], "kept": False, "skipped_columns": encoder.skipped_,
                      "reason": "no numeric, yes/no or categorical column in the profiles: not used"}
    base = list(points[0].X.columns) if points else []  # everything kept so far
    for p in points:
        p.X = encoder.add_to(p.X, p.snapshot["customer_id"], profiles)
    verdict = validate_families(points, H, {"profile": encoder.feature_names_}, base, **common)["profile"]
    verdict["skipped_columns"] = encoder.skipped_
    if verdict["kept"]:
        return encoder, verdict
    for p in points:
        p.X = p.X.drop(columns=encoder.feature_names_)
    return None, verdict


def _served_pareto(ref, sources: dict, fits: dict):
    """Pareto/NBD fitted on every customer at the cutoff, when the gate serves it somewhere (else None).

    Warm-started from the latest validation snapshot's fit: the same customers, a little later.
    """
    if "pareto" not in sources.values():
        return None
    from crmid.models.pareto_nbd import ParetoNBDModel

    latest = max((d for d, m in fits.items() if m is not None), default=None)
    return ParetoNBDModel().fit_features(ref.snapshot, init=fits.get(latest))


def fit_baseline_scorer(log_or_transactions, *, cutoff, horizon, reason: str,
                        allowed_gap_days: int = 0) -> CustomerScorer:
    """A scorer that serves BG/NBD and Gamma-Gamma everywhere: what a short history supports.

    Used by ``crmid train`` when the history cannot train or validate the LightGBM models
    (``reason`` says why; it is recorded as the gate's verdict on every output).

    Raises
    ------
    TrainingInputError
        When even BG/NBD cannot be fitted; the message says what data is needed.
    """
    cutoff = pd.Timestamp(cutoff).normalize()
    if isinstance(log_or_transactions, pd.DataFrame) and len(log_or_transactions):
        dates = log_or_transactions["date"]
        # on the whole data, before cutting it
        check_dates(dates.min(), dates.max(), cutoff, allowed_gap_days=allowed_gap_days)
    log = as_log(log_or_transactions, cutoff)
    if log.n_rows == 0 or log.data_start is None:
        raise TrainingInputError("no transactions to fit BG/NBD on (0 rows)")
    H = int(horizon)
    if H <= 0:
        raise TrainingInputError(f"horizon must be a positive whole number of days, got {horizon}")
    knots = sorted({30, 90, H})
    needed = ("BG/NBD needs customers with at least two purchases on different days before the as-of date "
              f"{cutoff.date()}")
    ref = point_in_time(log, cutoff, knots)
    if ref is None:
        raise TrainingInputError(f"no customer has a repeat purchase by {cutoff.date()}: {needed}")
    try:
        gg = fit_gamma_gamma(ref.snapshot)
    except Exception as exc:
        raise TrainingInputError(f"Gamma-Gamma cannot be fitted at {cutoff.date()} ({exc}): {needed}") from exc
    outputs = {"churn": H, **{f"knot_{k}": k for k in knots}}
    gate_report = {name: GateResult(h, "baseline", reason).to_dict() for name, h in outputs.items()}
    spend = fit_spend_forecaster(log, [], cutoff, reference=ref, gamma_gamma=gg)  # no windows: classical, with why
    info = {
        "cutoff": str(cutoff.date()),
        "horizon_days": H,
        "data_start": str(log.data_start.date()),
        "data_end": str(log.data_end.date()),
        "snapshot_dates": [],
        "training_rows": 0,
        "training_customers": 0,
        "customers_at_cutoff": len(ref.snapshot),
        "gate": gate_report,
        "baseline_only": reason,
        "spend": {str(h): r for h, r in spend.report_.items()},
    }
    info["drift_reference"] = reference_profile(ref.snapshot, SNAPSHOT_FEATURES)  # for `crmid monitor`
    return _explained(dict(
        horizon_days=H, bgnbd=ref.bgnbd, gamma_gamma=gg, churn=None, next_purchase=None, knots=knots,
        feature_horizons=knots, sources=dict.fromkeys(outputs, "baseline"), version="local", info=info, spend=spend,
        families=[],
    ), ref, defaults.SEED)


def _explained(scorer_args: dict, ref, seed: int, profiles: pd.DataFrame | None = None) -> CustomerScorer:
    """The scorer, with the drivers' surrogate it needs when BG/NBD or the blend serves churn.

    The surrogate learns the served churn log-odds of the customers at the cutoff (a seeded
    sample of at most :data:`models.defaults.MAX_TRAINING_CUSTOMERS`); see :mod:`models.drivers`.
    """
    scorer = CustomerScorer(**scorer_args)
    if scorer.sources["churn"] == "model":
        return scorer
    n = len(ref.snapshot)
    rows = np.arange(n)
    if n > defaults.MAX_TRAINING_CUSTOMERS:
        rows = np.sort(np.random.default_rng(seed).choice(n, defaults.MAX_TRAINING_CUSTOMERS, replace=False))
    snap = ref.snapshot.iloc[rows]
    churn = scorer.predict(snap, profiles=profiles)["churn_probability"].to_numpy()
    names = scorer.feature_names_ or list(ref.X.columns)
    surrogate = DriverSurrogate(seed=seed).fit(ref.X.iloc[rows][names], churn)
    scorer_args["info"]["driver_surrogate_r2"] = round(surrogate.r2_, 4)
    return CustomerScorer(**scorer_args, driver_surrogate=surrogate)
