"""Model hyper-parameters: the one place they are set.

Everything here is a modelling choice, not a business threshold. Estimators read these values
when their own arguments are left at ``None``.
"""

from __future__ import annotations

#: BG/NBD maximum-likelihood fit
BGNBD_PARAMS: dict = {"penalizer": 0.0}

#: Gamma-Gamma maximum-likelihood fit
GAMMA_GAMMA_PARAMS: dict = {"penalizer": 0.0}
