"""Monitoring and retraining: does a model's past come true, does today look like its training, is a new one better.

* :mod:`.drift` -- reference profiles saved with a model at training, population stability index (PSI);
* :mod:`.monitor` -- the latest stored run against the champion's reference (``crmid monitor``);
* :mod:`.backtest` -- the realized accuracy of stored runs whose horizon has passed (``crmid backtest``);
* :mod:`.retrain` -- champion, challenger and BG/NBD on one out-of-time window; promotion and
  rollback through registry aliases (``crmid retrain``, ``crmid model rollback``);
* :mod:`.config` -- the thresholds and margins, in the versioned ``monitoring/config/default.yaml``.

Nothing is imported here: :mod:`crmid.training` imports :mod:`.drift` at training time, and the
heavier modules import training and serving themselves.
"""
