"""The retain list's label filters, shared by `crmid retain` and the web page.

No heavy import here: the command line builds its options from it at start-up.
"""

__all__ = ["LABEL_FILTERS"]

#: option / query parameter -> the stored label column it filters on, the same for
#: `crmid retain --action ...` and the web page's ``?action=...``; a column the store lacks is
#: neither offered nor applied
LABEL_FILTERS = {
    "action": "action",
    "lifecycle": "lifecycle_stage",
    "temperature": "temperature",
    "segment": "segment",
}
