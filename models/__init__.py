"""Churn and next-purchase models, the BG/NBD and Gamma-Gamma baselines, and the served scorer."""

from .bgnbd import BetaGeoModel
from .churn import ChurnModel
from .gamma_gamma import GammaGammaModel
from .next_purchase import NextPurchaseModel
from .registry import load_scorer
from .scorer import OUTPUT_COLUMNS, CustomerScorer, ScorerLoadError

__all__ = [
           "OUTPUT_COLUMNS",
           "BetaGeoModel",
           "ChurnModel",
           "CustomerScorer",
           "GammaGammaModel",
           "NextPurchaseModel",
           "ScorerLoadError",
           "load_scorer",
]
