"""Churn and next-purchase models, the BG/NBD and Gamma-Gamma baselines, and the served scorer.

Exports load on first use (:mod:`crmid._lazy`): a command that needs one module of this package
(``crmid retain`` formats drivers) does not load LightGBM and SciPy with the others.
"""

from crmid._lazy import lazy_exports

_EXPORTS = {
    "BetaGeoModel": "bgnbd",
    "ChurnModel": "churn",
    "GammaGammaModel": "gamma_gamma",
    "NextPurchaseModel": "next_purchase",
    "load_scorer": "registry",
    "OUTPUT_COLUMNS": "scorer",
    "CustomerScorer": "scorer",
    "ScorerLoadError": "scorer",
}
__all__ = sorted(_EXPORTS)
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)
