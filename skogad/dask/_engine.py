"""Partition by partition: sample, score, and one threshold over every row.

The functions here take a table as two lists of Dask delayed objects, one
``X`` and one ``y`` per partition, so that the same code serves Dask arrays,
Dask DataFrames and the command line's own Parquet reader. Dask does the
scheduling, the data movement and the retries; nothing here gathers more
than a sample, a partition's worth of scores, or per-class counts.
"""

import threading

import numpy as np

from skogad._targets import warn_capped_noise_rate
from skogad._threshold import confident_counts, noise_rate_from_counts
from skogad.dask._quantile import percentile
from skogad.dask._ship import loaded


def partition_lengths(parts, compute):
    """The number of rows in each partition (one pass over them)."""
    from dask import delayed

    return np.asarray(compute(*[delayed(len)(p) for p in parts]), dtype=np.int64)


def draw_positions(n_rows, max_rows, random_state):
    """Sorted global positions of a uniform sample of ``min(n_rows, max_rows)``.

    Every row when the table fits; otherwise drawn without replacement from
    ``random_state``, so the same table, seed and ``max_rows`` give the same
    rows however the table is partitioned.
    """
    if n_rows <= max_rows:
        return np.arange(n_rows)
    rng = np.random.default_rng(random_state)
    return np.sort(rng.choice(n_rows, size=max_rows, replace=False))


def _take(part, positions):
    if hasattr(part, "iloc"):
        return part.iloc[positions]
    return part[positions]


def _concat(pieces):
    if hasattr(pieces[0], "iloc"):
        import pandas as pd

        return pd.concat(pieces)
    return np.concatenate(pieces)


def take_rows(parts, lengths, positions, compute):
    """The rows at global ``positions`` of each table in ``parts``.

    Parameters
    ----------
    parts : list of list
        For each table (``X``, ``y``), its partitions as delayed objects.
    lengths : ndarray of shape (n_partitions,)
        Rows per partition.
    positions : ndarray of shape (n_sample,)
        Sorted global row positions.
    compute : callable
        ``dask.compute``.

    Returns
    -------
    tables : list
        One concatenated array or DataFrame per table, in position order.
    """
    from dask import delayed

    starts = np.concatenate([[0], np.cumsum(lengths)])
    bounds = np.searchsorted(positions, starts)
    wanted = [
        (i, positions[bounds[i] : bounds[i + 1]] - starts[i])
        for i in range(len(lengths))
        if bounds[i + 1] > bounds[i]
    ]
    pieces = compute(
        *[[delayed(_take)(table[i], local) for table in parts] for i, local in wanted]
    )
    return [_concat([piece[t] for piece in pieces]) for t in range(len(parts))]


# The gradient engine hooks into the network's layers while it scores, and a
# worker's threads share one copy of the detector: one partition at a time per
# process. Torch's own threads still parallelise each partition.
_SCORING = threading.Lock()


def score_partition(detector, X, y, where, statistics):
    """Scores of one partition's rows and, for classification, counts.

    Runs on a worker. ``where`` names the partition in an error, so that a
    label the network never saw, say, points at the rows that hold it. An
    empty partition gives no scores and zero counts.

    Returns
    -------
    scores : ndarray of shape (n_rows,)
    counts : ndarray of shape (3, n_classes) or None
        `skogad._threshold.confident_counts` of the rows, when
        ``statistics`` asks for them (``contamination="auto"`` on a
        classifier).
    """
    detector = loaded(detector)
    try:
        if y is not None and len(y) != len(X):
            raise ValueError(
                f"X has {len(X)} rows here and y {len(y)}: X and y are split at "
                "different rows; partition y as X is."
            )
        if len(X) == 0:  # a filtered table's empty partition, a zero-row file
            return np.zeros(0), _no_counts(detector, statistics)
        with _SCORING:
            Xt = detector._check_X(X)
            target = detector._score_target(Xt, y)
            counts = None
            if statistics:
                scores, proba = detector._scores_and_proba(Xt, target)
                counts = confident_counts(proba, target, detector.class_thresholds_)
            else:
                scores = detector._score_samples(Xt, target)
    except ValueError as exc:
        index = getattr(X, "index", None)
        if "(" not in where and index is not None and len(index):
            where = f"{where} (index {index[0]} to {index[-1]})"
        raise ValueError(f"{where}: {exc}") from exc
    return scores, counts


def _no_counts(detector, statistics):
    return np.zeros((3, len(detector.classes_)), dtype=np.int64) if statistics else None


def needs_counts(detector):
    """Whether the global threshold needs `confident_counts` of every row."""
    return detector.contamination == "auto" and detector._classifier


def flagged_fraction(detector, counts):
    """The fraction of rows to flag: ``contamination``, or the noise rate.

    ``counts`` are the summed `confident_counts` of every row (``None`` where
    `needs_counts` is false). ``None`` for ``"auto"`` on a regressor, whose
    scorer has its own threshold.
    """
    if detector.contamination != "auto":
        return detector.contamination
    if not detector._classifier:
        return None
    rate = noise_rate_from_counts(counts)
    if rate > 0.5:
        warn_capped_noise_rate(rate, detector.classes_, detector.task)
    return min(rate, 0.5)


def global_offset(detector, scored, n_rows, compute):
    """The threshold over every row's score, as ``detector.contamination`` asks.

    Parameters
    ----------
    detector : GradientOutlierDetector
        Fitted (on a sample).
    scored : list of Delayed
        Each partition's `score_partition` result, persisted.
    n_rows : int
        Rows in all.
    compute : callable
        ``dask.compute``.

    Returns
    -------
    offset : float
        A float ``contamination``: its exact quantile over all the scores.
        ``"auto"`` on a classifier: the quantile at the noise rate estimated
        from every row's counts (the class thresholds are the sample's).
        ``"auto"`` on a regressor: the scorer's own threshold, which does not
        depend on the rows.
    """
    counts = None
    if needs_counts(detector):
        counts = np.sum(compute(*[s[1] for s in scored]), axis=0)
    fraction = flagged_fraction(detector, counts)
    if fraction is None:
        return detector.offset_
    return percentile([s[0] for s in scored], n_rows, fraction, compute)
