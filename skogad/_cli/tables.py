"""Tables for the command line: read, encode for the net, write back unchanged.

A CSV is read twice: once as text (every value kept exactly as written, so
the kept rows are written back unchanged) and once with pandas' type
inference (what the encoder sees). Parquet files keep their types and are
read once.
"""

import csv
from pathlib import Path

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skogad._optional import require

FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
SEPARATORS = {"csv": ",", "tsv": "\t"}
MAX_CATEGORIES = 20
MISSING = "(missing)"


class InputError(Exception):
    """A problem with the user's data or files, worded as what to fix."""


def table_format(path):
    """``"csv"``, ``"tsv"`` or ``"parquet"``, from the file name's suffix."""
    fmt = FORMATS.get(Path(path).suffix.lower())
    if fmt is None:
        raise InputError(
            f"{path}: unknown file type {Path(path).suffix!r}; use one of "
            f"{', '.join(sorted(FORMATS))}."
        )
    return fmt


def input_format(path):
    """`table_format` of an input file, which must exist."""
    path = Path(path)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise InputError(f"{path} {what}: give the path of a CSV or Parquet file.")
    return table_format(path)


def read_table(path):
    """Read a table; return ``(raw, typed)`` DataFrames with the same rows.

    ``raw`` is what gets written back (for CSV, every value as its text and
    the header cells exactly as in the file); ``typed`` has inferred types and
    unique column names, for the encoder.
    """
    pd = require("pandas", "Reading tables")
    path = Path(path)
    fmt = input_format(path)
    try:
        if fmt == "parquet":
            require("pyarrow", "Reading Parquet")
            typed = pd.read_parquet(path)
            return typed, typed
        sep = SEPARATORS[fmt]
        with path.open(newline="", encoding="utf-8") as handle:
            header = next(csv.reader(handle, delimiter=sep), None)
        if not header:
            raise InputError(f"{path} is empty: it has no header row.")
        raw = pd.read_csv(
            path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8"
        )
        typed = pd.read_csv(path, sep=sep, encoding="utf-8")
    except InputError:
        raise
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text ({exc.reason}).") from exc
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{path} could not be read as {fmt.upper()}: {exc}") from exc
    # Rows longer than the header make pandas turn the first cells into an
    # index: refuse rather than lose them.
    if not isinstance(raw.index, pd.RangeIndex) or len(header) != raw.shape[1]:
        raise InputError(
            f"{path} could not be read as {fmt.upper()}: some rows have more "
            f"cells than its header ({len(header)})."
        )
    raw.columns = header  # exactly as written (pandas renames blanks, repeats)
    return raw, typed


def write_table(frame, path, fmt):
    """Write ``frame`` as ``fmt``: no index for text, pandas' own for Parquet."""
    if fmt == "parquet":
        require("pyarrow", "Writing Parquet")
        frame.to_parquet(path)
    else:
        frame.to_csv(path, sep=SEPARATORS[fmt], index=False)


def _is_numeric(column):
    pd = require("pandas", "Encoding tables")
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def make_encoder(features):
    """A ColumnTransformer for ``features`` and a plain-words account of it.

    Numeric (and boolean) columns: missing values imputed by the median with
    an indicator column, then standardized. Other columns: categories, with
    missing values as a category of their own, one-hot encoded (the
    ``MAX_CATEGORIES - 1`` most frequent, the rest pooled). Dropped: columns
    with no values, and text columns with a different value in every row
    (identifiers carry no information about other rows).

    Returns
    -------
    features : pandas.DataFrame
        The columns to encode, booleans as 0/1 and categories as text.
    encoder : ColumnTransformer
        Unfitted; outputs a DataFrame.
    account : list of str
        One line per kind of column.
    """
    pd = require("pandas", "Encoding tables")
    numeric, categorical, empty, identifiers = [], [], [], []
    columns = {}
    for name, column in features.items():
        if column.isna().all():
            empty.append(name)
        elif _is_numeric(column):
            numeric.append(name)
            columns[name] = column.astype(float)
        elif column.nunique() == len(column) > 1:
            identifiers.append(name)
        else:
            categorical.append(name)
            text = column.astype(object).map(str, na_action="ignore")
            columns[name] = text.where(column.notna(), np.nan)
    if not numeric and not categorical:
        raise InputError(
            "No column can be used as a feature: every one besides the target is "
            "empty or an identifier."
        )
    steps = []
    if numeric:
        steps.append(
            (
                "numeric",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True),
                    StandardScaler(),
                ),
                numeric,
            )
        )
    if categorical:
        steps.append(
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value=MISSING),
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        max_categories=MAX_CATEGORIES,
                        sparse_output=False,
                    ),
                ),
                categorical,
            )
        )
    encoder = ColumnTransformer(steps, verbose_feature_names_out=True)
    encoder.set_output(transform="pandas")

    def listing(names):
        return ", ".join(map(str, names))

    account = []
    if numeric:
        account.append(
            f"numeric ({len(numeric)}): {listing(numeric)} -> missing values "
            "imputed by the median (with an indicator column), standardized"
        )
    if categorical:
        account.append(
            f"categorical ({len(categorical)}): {listing(categorical)} -> "
            f"missing values as the category {MISSING!r}, one-hot (at most "
            f"{MAX_CATEGORIES} categories a column, the rarest pooled)"
        )
    if identifiers:
        account.append(
            f"dropped ({len(identifiers)}): {listing(identifiers)} -> a different "
            "value in every row (an identifier)"
        )
    if empty:
        account.append(f"dropped ({len(empty)}): {listing(empty)} -> no values")
    return pd.DataFrame(columns, index=features.index), encoder, account
