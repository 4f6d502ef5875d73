"""Marketing's web page (``/ui``): the retain list, one customer explained, the stored runs.

Server-rendered HTML (Jinja2 with autoescaping on: a stored customer id or reason is text, never
markup), charts drawn as inline SVG and one stylesheet served by the service itself, so the page
works offline and asks nothing of any other host. The router is
:mod:`crmid.serving.api.routers.ui`; this package holds what it renders with:

* :mod:`.listing`: the list's filters, sort and page as read from (and written back to) the URL;
* :mod:`.summary`: the summary band of a run (value pyramid, churn risk, value at risk), from
  GROUP BY queries of the store, kept per run (a complete run never changes);
* :mod:`.charts`: the geometry of the charts (the markup is in ``templates/charts.html``);
* :mod:`.render`: the template environment and the number formats;
* :mod:`.session`: the login cookie when the service has an API token.
"""
