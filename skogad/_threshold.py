"""Where the detector draws its line: a contamination quantile, or the noise rate.

The estimate of the noise rate for ``contamination="auto"`` follows confident
learning (Northcutt, Jiang and Chuang, JAIR 2021): a row counts as mislabelled
only when the network is *confident* of another class, meaning its
probability for that class reaches the class's mean self-confidence. Counting
every row whose label the network does not predict measures the network's
error rate instead, which on naturally ambiguous data is far above the noise
rate (measured on the label-noise benchmark: 16% of clean make_classification
rows, 18% of clean credit_data rows; this count flags 7% and 13%).
"""

import numpy as np


def quantile_offset(scores, fraction):
    """The score below which ``fraction`` of ``scores`` lie."""
    return float(np.percentile(scores, 100 * fraction))


def confident_thresholds(proba, codes):
    """Each class's mean predicted probability over the rows labelled with it.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        The network's class probabilities of the training rows.
    codes : ndarray of shape (n_samples,)
        The given labels, as class positions.

    Returns
    -------
    thresholds : ndarray of shape (n_classes,)
        A class with no row keeps threshold 1, so it is never chosen.
    """
    n_classes = proba.shape[1]
    counts = np.bincount(codes, minlength=n_classes)
    sums = np.bincount(
        codes, weights=proba[np.arange(len(codes)), codes], minlength=n_classes
    )
    return np.where(counts > 0, sums / np.maximum(counts, 1), 1.0)


def confident_labels(proba, thresholds):
    """The class each row is confidently in, or -1 where it is in none.

    Of the classes whose probability reaches their threshold, the most
    probable one.
    """
    above = proba >= thresholds
    label = np.where(above, proba, -np.inf).argmax(axis=1)
    return np.where(above.any(axis=1), label, -1)


def confirmed_rows(proba, codes, thresholds):
    """Whether the network is confident of each row's given label.

    Confident: of the classes whose probability reaches their threshold, the
    given one is the most probable. A flagged row it is confident of is kept
    by `CleanTrainingSet`'s default ``"drop"``, ``fit_resample`` and
    ``skogad clean`` (why: ``skogad/_actions.py``).

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        The network's class probabilities.
    codes : ndarray of shape (n_samples,)
        The given labels, as class positions.
    thresholds : ndarray of shape (n_classes,)
        Each class's confidence threshold (``class_thresholds_``).

    Returns
    -------
    confirmed : ndarray of bool of shape (n_samples,)
    """
    return confident_labels(proba, thresholds) == np.asarray(codes)


def confident_counts(proba, codes, thresholds):
    """Per given class: its rows, its confident rows, and those confidently wrong.

    The sums `estimated_noise_rate` needs; they add up over parts of a
    table, so a partitioned table's rate is computed from its partitions'
    counts (`skogad.dask`).

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        The network's class probabilities.
    codes : ndarray of shape (n_samples,)
        The given labels, as class positions.
    thresholds : ndarray of shape (n_classes,)
        Each class's confidence threshold (`confident_thresholds`).

    Returns
    -------
    counts : ndarray of shape (3, n_classes)
        Rows labelled with each class; those of them the network is confident
        about; those it is confident belong to another class.
    """
    n_classes = proba.shape[1]
    confident = confident_labels(proba, thresholds)
    counted = confident >= 0
    return np.stack(
        [
            np.bincount(codes, minlength=n_classes),
            np.bincount(codes[counted], minlength=n_classes),
            np.bincount(codes[counted & (confident != codes)], minlength=n_classes),
        ]
    )


def noise_rate_from_counts(counts):
    """The estimated noise rate from `confident_counts` (summed over parts).

    Each given class's share of confidently wrong rows is applied to all of
    that class's rows, since the rows the network is not confident about err
    at the same rate by assumption (cleanlab's calibration of the joint).
    """
    labelled, counted, wrong = counts
    share = np.divide(wrong, counted, out=np.zeros(len(wrong)), where=counted > 0)
    return float(share @ labelled / labelled.sum())


def estimated_noise_rate(proba, codes):
    """Estimated fraction of rows whose given label is wrong.

    The confident joint (given label by confident label) counts the rows the
    network is confident about (`confident_counts`); `noise_rate_from_counts`
    turns those counts into a rate.

    Parameters
    ----------
    proba : ndarray of shape (n_samples, n_classes)
        The network's class probabilities of the training rows.
    codes : ndarray of shape (n_samples,)
        The given labels, as class positions.

    Returns
    -------
    rate : float
        In [0, 1].
    """
    thresholds = confident_thresholds(proba, codes)
    return noise_rate_from_counts(confident_counts(proba, codes, thresholds))
