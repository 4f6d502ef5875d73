"""Numbers written into the JSON texts of a run (drivers, purchase histories), a million rows at a time."""

from __future__ import annotations

__all__ = ["number_texts"]


def number_texts(values):
    """Arrow's text of each number of ``values`` (``pyarrow.compute.cast`` to string), null for null.

    Each distinct value is formatted once and the texts taken by index: the numbers of a run's
    texts repeat (rounded effects, day counts, prices), and formatting every one of a million took
    3-4 times as long for the same texts.

    Parameters
    ----------
    values : pyarrow.Array
        Numbers.

    Returns
    -------
    pyarrow.StringArray
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(values)
    return encoded.dictionary.cast(pa.string()).take(encoded.indices)
