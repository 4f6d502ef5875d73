"""MLflow pyfunc wrapper of a saved :class:`models.CustomerScorer` (models-from-code).

MLflow logs this file as the model's code, so no class instance is cloudpickled: at load time
MLflow runs the file, which declares the model with :func:`mlflow.models.set_model`, and
``load_context`` reads the scorer's plain files (LightGBM text models + JSON) from the
``scorer`` artifact. ``model_config["outputs"]`` restricts the returned columns (the churn and
next-purchase registered models are the same bundle showing their own outputs).
"""

from __future__ import annotations

import mlflow
import pandas as pd
from mlflow.pyfunc import PythonModel


class ScorerPyfunc(PythonModel):
    """pyfunc model: snapshot features in, scorer outputs out."""

    def load_context(self, context):
        from crmid.models.scorer import CustomerScorer

        self.scorer = CustomerScorer.load(context.artifacts["scorer"])
        config = context.model_config or {}
        self.outputs = list(config.get("outputs") or [])

    # the type hint says DataFrame in, DataFrame out; the columns are in the logged signature
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        # a model trained with profile features reads them from the same rows (their own column names)
        out = self.scorer.predict(model_input, profiles=model_input)
        return out[self.outputs] if self.outputs else out


mlflow.models.set_model(ScorerPyfunc())
