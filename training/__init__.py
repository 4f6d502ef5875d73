"""Training, evaluation and MLflow tracking of the churn and next-purchase models."""

from .evaluation import evaluate, format_comparison
from .fitting import TrainingInputError, check_training_inputs, fit_scorer
from .train import TrainResult, train

__all__ = ["fit_scorer", "evaluate", "train", "TrainResult", "format_comparison", "TrainingInputError",
           "check_training_inputs"]
