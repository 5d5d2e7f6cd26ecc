"""Refuse a table's text and categorical columns by name, before any work.

The network takes numbers. A pandas (or Dask) DataFrame's ``category``,
``string`` or ``object`` column would otherwise fail deep in NumPy's
conversion with "could not convert string to float: 'u'", naming no column.
A frame's dtypes tell without reading its values.
"""


def check_numeric_columns(X, advice):
    """Raise ValueError naming ``X``'s non-numeric columns, if it has any.

    Parameters
    ----------
    X : object
        Checked when it is a two-dimensional frame (has ``dtypes``); anything
        else passes, to be validated as an array.
    advice : str
        What to do instead, ending the message.
    """
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or getattr(X, "ndim", 2) != 2:
        return
    import pandas as pd
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    def numbers(column, dtype):
        if is_numeric_dtype(dtype) or is_bool_dtype(dtype):
            return True
        # an in-memory object column may hold numbers, as NumPy takes them
        if pd.api.types.is_object_dtype(dtype) and isinstance(X, pd.DataFrame):
            values = X[column]
            parsed = pd.to_numeric(values, errors="coerce")
            return bool((parsed.notna() | values.isna()).all())
        return False

    bad = [
        f"{column!r} ({dtype})"
        for column, dtype in dtypes.items()
        if not numbers(column, dtype)
    ]
    if bad:
        more = ", ..." if len(bad) > 5 else ""
        raise ValueError(
            f"X has {len(bad)} non-numeric column(s): {', '.join(bad[:5])}{more}. "
            f"The network takes numbers: {advice}"
        )
