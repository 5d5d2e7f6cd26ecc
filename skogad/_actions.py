"""What `CleanTrainingSet` does with the rows its detector flags.

``"drop"`` leaves them out, except those whose given label the network
confirms: the rows the detector's report marks ``kept``, which its
``fit_resample`` and ``skogad clean`` keep too. ``"relabel"`` gives them the
network's label where the network is confident of one and leaves the others
out. ``"weight"`` keeps every row and gives the flagged ones a sample weight
that falls with the score.

Why a confirmed row is kept: a row of a rare or hard class has a large loss
gradient without a wrong label, because the network fits that class less
well. Confident learning counts a label as wrong only when the network is not
confident of it. Measured on spambase cut to 7% spam at 20% uniform flips, 8
seeds (``benchmarks/results/imbalanced.md``): dropping every flagged row kept
32% of the true spam rows, the spam class's F1 with gradient boosting fell to
0.44 from 0.54 without cleaning, and in one seed every row labelled spam was
flagged; keeping the confirmed ones kept 76% and gave 0.63.
"""

import numpy as np
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

from skogad._threshold import confident_labels

ACTIONS = ("drop", "relabel", "weight")


def network_labels(detector, X, y):
    """The class the network is confident each training row is in.

    Parameters
    ----------
    detector : GradientOutlierDetector
        Fitted on ``(X, y)``, a classifier.
    X, y : array-like
        The rows it was fitted on, in the same order.

    Returns
    -------
    labels : ndarray of shape (n_samples,)
        The most probable class among those whose probability reaches the
        detector's ``class_thresholds_``; meaningless where ``sure`` is False.
    sure : ndarray of bool of shape (n_samples,)
        Whether the network is confident of any class.
    """
    proba = detector._training_proba(X, y)
    confident = confident_labels(proba, detector.class_thresholds_)
    sure = confident >= 0
    return detector.classes_[np.where(sure, confident, 0)], sure


def relabel(detector, X, y, flagged):
    """The labels to fit on, and which rows to fit on, after relabelling.

    A flagged row takes the class its network is confident of (probability at
    least ``detector.class_thresholds_``), which may be its given one; a
    flagged row the network is confident of no class for is left out.

    Parameters
    ----------
    detector : GradientOutlierDetector
        Fitted on ``(X, y)``, a classifier.
    X, y : array-like
        The rows it was fitted on, in the same order.
    flagged : ndarray of bool of shape (n_samples,)
        The rows it flags.

    Returns
    -------
    labels : ndarray or pandas.Series of shape (n_samples,)
        ``y``, of the same type, with the flagged rows' labels replaced.
    fit_mask : ndarray of bool of shape (n_samples,)
        The rows to fit on.
    changed : ndarray of bool of shape (n_samples,)
        The rows whose label was replaced by another.
    """
    suggested, sure = network_labels(detector, X, y)
    sure &= flagged
    given = np.asarray(y)
    changed = sure & (suggested != given)
    if hasattr(y, "iloc"):
        import pandas as pd

        labels = y.copy()
        # in the Series' own dtype: the network's classes come back as NumPy
        # values (floats for nullable booleans and integers), which a pandas
        # extension dtype refuses
        values = pd.Series(suggested[changed]).astype(labels.dtype).array
        labels.iloc[np.flatnonzero(changed)] = values
    else:
        labels = np.array(y, copy=True)
        labels[changed] = suggested[changed]
    return labels, ~flagged | sure, changed


def score_weights(scores, offset, flagged):
    """Sample weights: 1 for kept rows, falling from 1 to 0 over the flagged ones.

    Linear in the score, from the threshold (weight 1) to the lowest score
    (weight 0), so the most suspicious row counts for nothing and a row just
    below the threshold almost fully.

    Parameters
    ----------
    scores : ndarray of shape (n_samples,)
        The detector's training scores (lower is more abnormal).
    offset : float
        Its threshold.
    flagged : ndarray of bool of shape (n_samples,)
        The rows below the threshold.

    Returns
    -------
    weights : ndarray of shape (n_samples,)
        In [0, 1].
    """
    lowest = scores.min()
    span = offset - lowest
    ramp = (scores - lowest) / span if span > 0 else np.zeros_like(scores)
    return np.where(flagged, np.clip(ramp, 0.0, 1.0), 1.0)


def sample_weight_key(estimator):
    """The fit parameter that takes ``estimator``'s sample weights, or ``None``.

    ``"sample_weight"``, or for a ``Pipeline`` ``"<last step>__sample_weight"``
    (a pipeline routes fit parameters by step name).
    """
    if isinstance(estimator, Pipeline):
        name, last = estimator.steps[-1]
        key = sample_weight_key(last)
        return None if key is None else f"{name}__{key}"
    if has_fit_parameter(estimator, "sample_weight"):
        return "sample_weight"
    return None
