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


def estimated_noise_rate(proba, codes):
    """Estimated fraction of rows whose given label is wrong.

    The confident joint (given label by confident label) counts the rows the
    network is confident about; each given class's share of off-diagonal rows
    is then applied to all of that class's rows, since the rows it is not
    confident about err at the same rate by assumption (cleanlab's
    calibration of the joint).

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
    n_classes = proba.shape[1]
    confident = confident_labels(proba, confident_thresholds(proba, codes))
    counted = confident >= 0
    per_class = np.bincount(codes[counted], minlength=n_classes)
    wrong = np.bincount(codes[counted & (confident != codes)], minlength=n_classes)
    share = np.divide(wrong, per_class, out=np.zeros(n_classes), where=per_class > 0)
    return float(share @ np.bincount(codes, minlength=n_classes) / len(codes))
