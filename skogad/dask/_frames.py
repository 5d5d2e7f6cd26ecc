"""A Dask DataFrame's features and its label column, partition by partition.

Dask's optimizer plans each collection on its own: from ``dd.read_parquet``,
the label column alone is read in fewer, larger partitions than the feature
columns are, so ``table.drop(columns=label)`` and ``table[label]`` split the
rows at different places although both say ``table.npartitions``. Read
through one expression, both columns come from the same reads: each
partition of that joint table is split into its features and its label on
the worker, and the file behind it is read once.
"""

from skogad._columns import check_numeric_columns

# The label's column in the joint table; a suffix is added while X has it.
_LABEL = "__skogad_label__"


def _free_name(columns):
    name, taken = _LABEL, {str(c) for c in columns}
    while name in taken:
        name += "_"
    return name


def _joined(x, y, name, partition_info=None):
    """One partition's features with the label appended as column ``name``."""
    where = (
        "a partition"
        if partition_info is None
        else (f"partition {partition_info['number']}")
    )
    if len(x) != len(y):
        raise ValueError(
            f"{where} has {len(x)} rows of X and {len(y)} of y: X and y are split "
            "at different rows. Take both from one table (table.drop(columns="
            "label) and table[label]), or partition y as X is."
        )
    if not x.index.equals(y.index):
        raise ValueError(
            f"{where}: X's rows and y's have different index values, so they "
            "may not be the same rows. Take both from one table (table.drop("
            "columns=label) and table[label]), or give y X's index."
        )
    joint = x.copy(deep=False)
    joint[name] = y.array
    return joint


def _features(joint, name):
    return joint.drop(columns=name)


def _label(joint, name, label):
    return joint[name].rename(label)


def paired_partitions(X, y):
    """Delayed partitions of ``X`` and of ``y``, taken from one joint table.

    Parameters
    ----------
    X : dask.dataframe.DataFrame
        The features.
    y : dask.dataframe.Series or one-column dask.dataframe.DataFrame
        The label, with as many partitions as ``X``.

    Returns
    -------
    xparts, yparts : list of Delayed
        Partition ``i`` of each is the same rows, checked on the worker: a
        partition whose ``X`` and ``y`` differ in length or index raises a
        ValueError naming it.
    """
    import dask.dataframe as dd
    from dask import delayed

    if y.ndim == 2:
        if len(y.columns) != 1:
            raise ValueError(
                f"y is a Dask DataFrame with {len(y.columns)} columns; give the "
                "label as one column (a Series)."
            )
        y = y[y.columns[0]]
    if X.npartitions != y.npartitions:
        raise ValueError(
            f"X has {X.npartitions} partitions and y {y.npartitions}: "
            "partition y as X is (e.g. both columns of one DataFrame)."
        )
    name = _free_name(X.columns)
    meta = X._meta.copy()
    meta[name] = y._meta.array
    joint = dd.map_partitions(_joined, X, y, name, meta=meta, align_dataframes=False)
    parts = joint.to_delayed()
    return (
        [delayed(_features, pure=True)(p, name) for p in parts],
        [delayed(_label, pure=True)(p, name, y.name) for p in parts],
    )


def check_numeric(X):
    """Refuse a Dask DataFrame's non-numeric columns, by name, before any work."""
    check_numeric_columns(
        X,
        "encode them first (dd.get_dummies(X.categorize(columns=...)), say), or "
        "use `skogad clean --engine dask`, which one-hot encodes text and "
        "categorical columns itself.",
    )
