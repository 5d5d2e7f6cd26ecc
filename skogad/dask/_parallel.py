"""ParallelDetector: fit a detector on a sample, score partitioned data with Dask."""

from numbers import Integral
from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, OutlierMixin, clone
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted

from skogad._compat import Interval, _fit_context, _num_samples, _safe_indexing
from skogad._detector import GradientOutlierDetector
from skogad._optional import require
from skogad._threshold import quantile_offset
from skogad.dask._engine import (
    draw_positions,
    flagged_fraction,
    global_offset,
    needs_counts,
    partition_lengths,
    score_partition,
    take_rows,
)
from skogad.dask._frames import check_numeric, paired_partitions
from skogad.dask._ship import shared


def _is_dask(X):
    return hasattr(X, "dask") and hasattr(X, "__dask_graph__")


def _is_frame(X):
    return _is_dask(X) and hasattr(X, "npartitions") and not hasattr(X, "chunks")


def _below(scores, offset):
    return int(np.count_nonzero(scores < offset))


def _flags(decision):
    flags = np.where(np.asarray(decision) < 0, -1, 1)
    if hasattr(decision, "index"):
        return type(decision)(flags, index=decision.index, name="flag")
    return flags


def _series(scores, X):
    import pandas as pd

    return pd.Series(scores, index=X.index, name="score")


class ParallelDetector(MetaEstimatorMixin, OutlierMixin, BaseEstimator):
    """Fit a detector on a sample in one process; score every partition with Dask.

    For tables larger than one process's memory, kept as Dask arrays or
    DataFrames, in the manner of dask-ml's ``ParallelPostFit``. ``fit``
    draws a uniform random sample of at most ``max_fit_rows`` rows and fits
    a clone of ``estimator`` on it, in this process. Scoring then runs
    partition by partition where the data lies: the fitted detector, with
    its network moved to the CPU, is put into the task graph once and Dask
    sends it to each worker once; only each row's score travels back.

    The rows outside the sample are scored by a network that never saw them
    (out of sample); the sampled rows by the network trained on them, as
    ``GradientOutlierDetector`` scores its own training rows. When the table
    has at most ``max_fit_rows`` rows, every row is in the sample and the
    scores, threshold and flags are those of the wrapped detector fitted
    on the whole table.

    Parameters
    ----------
    estimator : GradientOutlierDetector, default=None
        The detector to fit on the sample; cloned. ``None``:
        ``GradientOutlierDetector()``. Its ``contamination`` sets the
        threshold, over *every* row's score (see ``offset_``).
    max_fit_rows : int, default=1_000_000
        The most rows the detector is fitted on.
    random_state : int, RandomState instance or None, default=None
        Draws the sample: the same table (in the same order), seed and
        ``max_fit_rows`` give the same sample however the table is
        partitioned. The wrapped detector keeps its own ``random_state``
        for training.

    Attributes
    ----------
    estimator_ : GradientOutlierDetector
        The detector fitted on the sample.
    fit_rows_ : ndarray of shape (n_sample,)
        The sample's global row positions (0-based, in the table's order).
    n_rows_ : int
        Rows of the table given to ``fit``.
    offset_ : float
        The threshold over all ``n_rows_`` scores: a float contamination's
        exact quantile of them, or for ``contamination="auto"`` the quantile
        at the noise rate estimated from every row (for a classifier; a
        regressor's scorer has its own threshold). The wrapped detector's
        own ``offset_`` when every row is in the sample.
    contamination_ : float
        The fraction of the ``n_rows_`` rows that score below ``offset_``.
    n_features_in_ : int
        Number of features seen during ``fit``.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of the features seen during ``fit``, for DataFrames with
        string column names.

    See Also
    --------
    skogad.GradientOutlierDetector : The detector fitted on the sample.

    Notes
    -----
    Needs the ``dask`` extra (``pip install 'skogad[dask]'``) for Dask
    input. Scoring runs on whatever Dask scheduler is active: a
    ``distributed.Client``'s cluster when one exists, else local threads.
    A threshold over all rows costs one pass to score them all (kept on the
    workers, 8 bytes a row) and a few passes over those scores; no more than
    a sample, per-class counts or a partition's scores reaches this process.

    Examples
    --------
    >>> import dask.array as da
    >>> from sklearn.datasets import make_classification
    >>> from skogad import GradientOutlierDetector
    >>> from skogad.dask import ParallelDetector
    >>> X, y = make_classification(n_samples=600, random_state=0)
    >>> X, y = da.from_array(X, chunks=200), da.from_array(y, chunks=200)
    >>> detector = GradientOutlierDetector(contamination=0.1, random_state=0)
    >>> parallel = ParallelDetector(detector, max_fit_rows=400, random_state=0)
    >>> parallel = parallel.fit(X, y)
    >>> len(parallel.fit_rows_), parallel.n_rows_
    (400, 600)
    >>> flags = parallel.predict(X, y)  # lazy, a Dask array
    >>> int((flags.compute() == -1).sum())
    60
    """

    _parameter_constraints: ClassVar[dict] = {
        "estimator": [GradientOutlierDetector, None],
        "max_fit_rows": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(self, estimator=None, *, max_fit_rows=1_000_000, random_state=None):
        self.estimator = estimator
        self.max_fit_rows = max_fit_rows
        self.random_state = random_state

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        return tags

    @_fit_context(prefer_skip_nested_validation=False)
    def fit(self, X, y):
        """Fit the detector on a sample of the rows; set the threshold over all.

        Parameters
        ----------
        X : array-like, Dask Array or Dask DataFrame of shape (n_samples, \
                n_features)
            The table.
        y : array-like, Dask Array or Dask Series of shape (n_samples,)
            Its labels or targets, partitioned as ``X`` is when ``X`` is a
            Dask collection.

        Returns
        -------
        self : ParallelDetector
            The fitted wrapper.
        """
        if y is None:
            raise ValueError(
                "ParallelDetector requires y: a per-sample loss gradient needs "
                "each sample's label or target."
            )
        estimator = clone(self.estimator or GradientOutlierDetector())
        seed = check_random_state(self.random_state).randint(2**31 - 1)
        if _is_dask(X):
            dask = require("dask", "Dask input")
            xparts, yparts, lengths = self._partitions(X, y, need_lengths=True)
            n_rows = int(lengths.sum())
            positions = draw_positions(n_rows, self.max_fit_rows, seed)
            X_fit, y_fit = take_rows([xparts, yparts], lengths, positions, dask.compute)
            estimator.fit(X_fit, y_fit)
            offset, share = estimator.offset_, estimator.contamination_
            if len(positions) < n_rows:
                offset, share = self._dask_offset(estimator, xparts, yparts, lengths)
        else:
            n_rows = _num_samples(X)
            positions = draw_positions(n_rows, self.max_fit_rows, seed)
            sampled = len(positions) < n_rows
            X_fit = _safe_indexing(X, positions) if sampled else X
            y_fit = _safe_indexing(y, positions) if sampled else y
            estimator.fit(X_fit, y_fit)
            offset, share = estimator.offset_, estimator.contamination_
            if sampled:
                offset, share = self._memory_offset(estimator, X, y)
        self.estimator_ = estimator
        self.fit_rows_ = positions
        self.n_rows_ = n_rows
        self.offset_ = float(offset)
        self.contamination_ = float(share)
        return self

    @staticmethod
    def _memory_offset(estimator, X, y):
        scores, counts = score_partition(
            estimator, X, y, "rows", needs_counts(estimator)
        )
        fraction = flagged_fraction(estimator, counts)
        if fraction is None:
            offset = estimator.offset_
        else:
            offset = quantile_offset(scores, fraction)
        return offset, float(np.mean(scores < offset))

    @staticmethod
    def _dask_offset(estimator, xparts, yparts, lengths):
        import dask
        from dask import delayed

        detector = shared(estimator)
        statistics = needs_counts(estimator)
        scored = dask.persist(
            *[
                delayed(score_partition)(detector, xp, yp, where, statistics)
                for xp, yp, where in zip(
                    xparts, yparts, _names(lengths, len(xparts)), strict=True
                )
            ]
        )
        n_rows = int(lengths.sum())
        offset = global_offset(estimator, scored, n_rows, dask.compute)
        below = dask.compute(*[delayed(_below)(s[0], offset) for s in scored])
        return offset, sum(below) / n_rows

    # ------------------------------------------------------------- scoring
    def score_samples(self, X, y=None):
        """Outlier score of each row; the lower, the more abnormal.

        Parameters
        ----------
        X : array-like, Dask Array or Dask DataFrame of shape (n_samples, \
                n_features)
            Rows to score.
        y : array-like, Dask Array or Dask Series of shape (n_samples,), \
                default=None
            Their labels or targets (see
            `skogad.GradientOutlierDetector.score_samples`).

        Returns
        -------
        scores : ndarray, Dask Array or Dask Series of shape (n_samples,)
            A lazy Dask collection for Dask input (a Series with ``X``'s
            index for a DataFrame), else an array. Equal, row for row, to
            ``estimator_.score_samples(X, y)``.
        """
        check_is_fitted(self)
        if not _is_dask(X):
            return self.estimator_.score_samples(X, y)
        from dask import delayed

        xparts, yparts, lengths = self._partitions(X, y, need_lengths=False)
        detector = shared(self.estimator_)
        scores = [
            delayed(score_partition)(detector, xp, yp, where, False)[0]
            for xp, yp, where in zip(
                xparts, yparts, _names(lengths, len(xparts)), strict=True
            )
        ]
        if _is_frame(X):
            import dask.dataframe as dd
            import pandas as pd

            return dd.from_delayed(
                [delayed(_series)(s, xp) for s, xp in zip(scores, xparts, strict=True)],
                meta=pd.Series(dtype=float, name="score"),
                # the read's own partitions, where the optimizer fused them
                divisions=X.divisions if len(X.divisions) == len(xparts) + 1 else None,
                verify_meta=False,
            )
        import dask.array as da

        return da.concatenate(
            [
                da.from_delayed(s, shape=(size,), dtype=float)
                for s, size in zip(scores, lengths, strict=True)
            ]
        )

    def decision_function(self, X, y=None):
        """Return ``score_samples - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like, Dask Array or Dask DataFrame of shape (n_samples, \
                n_features)
            Rows to score.
        y : array-like, Dask Array or Dask Series of shape (n_samples,), \
                default=None
            Their labels or targets.

        Returns
        -------
        decision : ndarray, Dask Array or Dask Series of shape (n_samples,)
            Lazy for Dask input.
        """
        return self.score_samples(X, y) - self.offset_

    def predict(self, X, y=None):
        """Flag outliers: ``-1`` for outliers, ``+1`` for inliers.

        Parameters
        ----------
        X : array-like, Dask Array or Dask DataFrame of shape (n_samples, \
                n_features)
            Rows to flag.
        y : array-like, Dask Array or Dask Series of shape (n_samples,), \
                default=None
            Their labels or targets.

        Returns
        -------
        labels : ndarray, Dask Array or Dask Series of shape (n_samples,)
            Lazy for Dask input.
        """
        decision = self.decision_function(X, y)
        if not _is_dask(decision):
            return _flags(decision)
        if _is_frame(X):
            import pandas as pd

            return decision.map_partitions(
                _flags, meta=pd.Series(dtype=np.int64, name="flag")
            )
        return decision.map_blocks(_flags, dtype=np.int64)

    def fit_predict(self, X, y):
        """Fit on a sample of ``(X, y)``, then flag every row of it.

        Parameters
        ----------
        X : array-like, Dask Array or Dask DataFrame of shape (n_samples, \
                n_features)
            The table.
        y : array-like, Dask Array or Dask Series of shape (n_samples,)
            Its labels or targets.

        Returns
        -------
        labels : ndarray, Dask Array or Dask Series of shape (n_samples,)
            ``-1`` for the flagged rows, ``+1`` for the others; lazy for Dask
            input.
        """
        return self.fit(X, y).predict(X, y)

    @property
    def n_features_in_(self):
        """Number of features seen during ``fit``."""
        return self.estimator_.n_features_in_

    @property
    def feature_names_in_(self):
        """Names of the features seen during ``fit``."""
        return self.estimator_.feature_names_in_

    # ------------------------------------------------------------ helpers
    @staticmethod
    def _partitions(X, y, need_lengths):
        """``X`` and ``y`` as lists of delayed partitions, and their lengths."""
        import dask

        if _is_frame(X):
            check_numeric(X)
        paired = _is_frame(X) and _is_frame(y)  # read as one table
        if paired:
            xparts, yparts = paired_partitions(X, y)
            lengths = None
        elif _is_frame(X):
            xparts = list(X.to_delayed())
            lengths = None
        else:
            if X.ndim != 2:
                raise ValueError(f"X must be 2-d; this Dask array is {X.ndim}-d.")
            X = X.rechunk({1: -1})
            xparts = list(X.to_delayed()[:, 0])
            lengths = None if np.isnan(X.chunks[0]).any() else np.array(X.chunks[0])
        if y is None:
            yparts = [None] * len(xparts)
        elif not _is_dask(y):
            raise ValueError(
                "X is a Dask collection and y is not: give y as a Dask Array or "
                "Series partitioned as X is (e.g. both columns of one DataFrame)."
            )
        elif not paired:
            if not _is_frame(y) and lengths is not None:
                if not np.isnan(y.chunks[0]).any() and len(y) == lengths.sum():
                    y = y.rechunk({0: tuple(lengths)})
            yparts = list(y.to_delayed())
            if len(yparts) != len(xparts):
                raise ValueError(
                    f"X has {len(xparts)} partitions and y {len(yparts)}: "
                    "partition y as X is (e.g. both columns of one DataFrame)."
                )
        if lengths is None and need_lengths:
            lengths = partition_lengths(xparts, dask.compute)
        return xparts, yparts, lengths


def _names(lengths, count):
    """How an error names each partition: its position and, if known, rows."""
    if lengths is None:
        return [f"partition {i}" for i in range(count)]
    starts = np.concatenate([[0], np.cumsum(lengths)])
    return [
        f"partition {i} (rows {starts[i]} to {starts[i + 1] - 1})" for i in range(count)
    ]
