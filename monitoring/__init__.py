"""Monitoring and retraining: does a model's past come true, does today look like its training, is a new one better.

* :mod:`.monitor` -- the latest stored run against the champion's reference (``crmid monitor``);
* :mod:`.backtest` -- the realized accuracy of stored runs whose horizon has passed (``crmid backtest``);
* :mod:`.retrain` -- champion, challenger and BG/NBD on one out-of-time window; promotion and
  rollback through registry aliases (``crmid retrain``, ``crmid model rollback``);
* :mod:`.config` -- the thresholds and margins, in the versioned ``monitoring/config/default.yaml``.

The reference profiles a model carries and the PSI live in :mod:`crmid.models.drift` (training
saves the profile with the model; this package only reads it), so the layers import downwards only:
monitoring uses training, serving and models, never the other way round. Nothing is imported here.
"""
