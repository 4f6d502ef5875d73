"""Training, evaluation and MLflow tracking of the churn and next-purchase models."""


from crmid._lazy import lazy_exports

_EXPORTS = {
    "evaluate": "evaluation",
    "format_comparison": "evaluation",
    "TrainingInputError": "fitting",
    "check_training_inputs": "fitting",
    "fit_scorer": "fitting",
    "TrainResult": "train",
    "train": "train",
}
__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)

__all__ = [
    "TrainResult",
    "TrainingInputError",
    "check_training_inputs",
    "evaluate",
    "fit_scorer",
    "format_comparison",
    "train",
]
