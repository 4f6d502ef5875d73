"""crmid: customer identification for CRM.

One import root. The feature packages live in the repository's top-level folders and are
installed under this one:

* :mod:`crmid.customerbase` -- data contract, validation, point-in-time snapshots, datasets;
* :mod:`crmid.rules` -- the textbook's rule families on durable-rules, and their configuration;
* :mod:`crmid.models` -- BG/NBD, Gamma-Gamma, LightGBM churn and next-purchase, the served scorer;
* :mod:`crmid.training` -- stacking, evaluation, the gate, MLflow tracking and registry;
* :mod:`crmid.serving` -- the scoring function, batch, store, retain, HTTP API, Spark.

This package itself is the application layer: the workspace settings (:mod:`crmid.config`),
the command line (:mod:`crmid.cli`) and the demo (:mod:`crmid.demo`). Importing it loads nothing
heavy.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("crmid")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0+unknown"
