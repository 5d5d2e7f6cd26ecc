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
    from pandas.api.types import (
        is_bool_dtype,
        is_numeric_dtype,
        is_object_dtype,
        is_string_dtype,
    )

    def parse(values):
        parsed = pd.to_numeric(pd.Series(values, dtype=object), errors="coerce")
        return bool((parsed.notna() | pd.isna(values)).all())

    def numbers(position, dtype):
        if is_numeric_dtype(dtype) or is_bool_dtype(dtype):
            return True
        # categories, or an in-memory text column, that are numbers convert
        # as NumPy takes them
        if isinstance(dtype, pd.CategoricalDtype):
            categories = dtype.categories
            return is_numeric_dtype(categories.dtype) or parse(categories)
        if is_object_dtype(dtype) or is_string_dtype(dtype):
            if not isinstance(X, pd.DataFrame):  # a Dask frame: values unread
                return False
            return parse(X.iloc[:, position].to_numpy())
        return False

    bad = [
        f"{column!r} ({dtype})"
        for position, (column, dtype) in enumerate(dtypes.items())
        if not numbers(position, dtype)
    ]
    if bad:
        more = ", ..." if len(bad) > 5 else ""
        raise ValueError(
            f"X has {len(bad)} non-numeric column(s): {', '.join(bad[:5])}{more}. "
            f"The network takes numbers: {advice}"
        )
