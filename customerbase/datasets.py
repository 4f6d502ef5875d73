"""Real data bundled with the project: the CDNOW transaction log."""

from __future__ import annotations

import gzip
import hashlib
from importlib import resources

import pandas as pd

__all__ = ["CDNOW_CUSTOMERS", "CDNOW_ROWS", "load_cdnow"]

#: published size of the log (Fader, Hardie & Lee 2005); the loader checks both
CDNOW_CUSTOMERS = 23_570
CDNOW_ROWS = 69_659
_CDNOW_MD5 = "37ee2da5127d4a369d6fe0052678624d"


def load_cdnow() -> pd.DataFrame:
    """Load the full CDNOW log as a contract frame.

    23,570 customers who first bought at CDNOW in the first quarter of 1997 and all their
    69,659 purchase lines up to 1998-06-30. See ``customerbase/data/CDNOW_SOURCE.md``.

    Returns
    -------
    pandas.DataFrame
        ``customer_id`` (zero-padded string), ``date`` (datetime64[ns]), ``amount`` (dollars),
        ``quantity`` (number of CDs).
    """
    raw = resources.files("crmid.customerbase").joinpath("data/CDNOW_master.txt.gz").read_bytes()
    text = gzip.decompress(raw)
    digest = hashlib.md5(text).hexdigest()
    if digest != _CDNOW_MD5:
        raise RuntimeError(f"bundled CDNOW log is corrupted: md5 {digest}, expected {_CDNOW_MD5}")
    rows = [line.split() for line in text.decode("ascii").splitlines()[1:] if line.strip()]
    frame = pd.DataFrame(rows, columns=["customer_id", "date", "quantity", "amount"])
    return pd.DataFrame(
        {
            "customer_id": frame["customer_id"].astype("string"),
            "date": pd.to_datetime(frame["date"], format="%Y%m%d").astype("datetime64[ns]"),
            "amount": frame["amount"].astype("float64"),
            "quantity": frame["quantity"].astype("int64"),
        }
    )
