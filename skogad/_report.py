"""The per-row report: score, rank, flag, kept, given label and the suggested one."""

import numpy as np

from skogad._optional import require
from skogad._threshold import confirmed_rows


def outlier_report(
    index,
    scores,
    offset,
    y,
    *,
    classes=None,
    codes=None,
    proba=None,
    thresholds=None,
    predicted=None,
):
    """A DataFrame with one row per sample, most suspicious first.

    Parameters
    ----------
    index : pandas.Index or array-like of shape (n_samples,)
        The samples' original index (row labels), kept as the report's index.
    scores : ndarray of shape (n_samples,)
        Outlier scores; the lower, the more abnormal.
    offset : float
        Threshold: rows scoring below it are flagged.
    y : array-like of shape (n_samples,) or (n_samples, n_targets)
        The given labels (classification) or targets (regression).
    classes : ndarray of shape (n_classes,), default=None
        Class labels, in the order of ``proba``'s columns (classification).
    codes : ndarray of shape (n_samples,), default=None
        Each given label's position in ``classes`` (classification).
    proba : ndarray of shape (n_samples, n_classes), default=None
        The network's class probabilities (classification).
    thresholds : ndarray of shape (n_classes,), default=None
        Each class's confidence threshold (classification): a flagged row
        is kept when the network is confident of its given label
        (`confirmed_rows`).
    predicted : ndarray of shape (n_samples,) or (n_samples, n_targets), \
            default=None
        The network's predictions (regression).

    Returns
    -------
    report : pandas.DataFrame
        Classification columns: ``score``, ``rank`` (1 = most suspicious),
        ``flagged``, ``kept`` (not flagged, or flagged with a given label
        the network is confident of), ``given_label``,
        ``predicted_label`` (the suggested correction), ``predicted_proba``
        (its probability), ``given_proba`` (the probability of the given
        label). Regression: ``score``, ``rank``, ``flagged``, ``kept`` (not
        flagged), ``given_target``, ``predicted_target``, ``residual``
        (single target; with several, the targets are left out).
    """
    pd = require("pandas", "The report")
    scores = np.asarray(scores, dtype=float)
    order = np.argsort(scores, kind="stable")
    rank = np.empty(len(scores), dtype=np.int64)
    rank[order] = np.arange(1, len(scores) + 1)
    flagged = scores < offset
    columns = {"score": scores, "rank": rank, "flagged": flagged, "kept": ~flagged}
    y = np.asarray(y)
    if y.ndim == 2 and y.shape[1] == 1:  # a column, as fit takes it
        y = y[:, 0]
    if proba is not None:
        best = proba.argmax(axis=1)
        rows = np.arange(len(y))
        columns["kept"] = ~flagged | confirmed_rows(proba, codes, thresholds)
        columns |= {
            "given_label": y,
            "predicted_label": np.asarray(classes)[best],
            "predicted_proba": proba[rows, best],
            "given_proba": proba[rows, codes],
        }
    elif predicted is not None and y.ndim == 1:
        predicted = np.asarray(predicted).reshape(len(y))
        columns |= {
            "given_target": y,
            "predicted_target": predicted,
            "residual": y - predicted,
        }
    index = index if isinstance(index, pd.Index) else pd.Index(index, name="row")
    if index.name is None:
        index = index.rename("row")
    report = pd.DataFrame(columns, index=index)
    report.attrs["threshold"] = float(offset)
    return report.iloc[order]
