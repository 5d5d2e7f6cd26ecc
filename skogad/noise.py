"""Plant label noise, to measure how well harmful rows are found."""

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["flip_labels"]


def flip_labels(y, rate, random_state=None):
    """Flip a fraction of labels, each to another class drawn uniformly.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels (any sortable labels, at least two classes).
    rate : float
        Probability that each row's label is flipped, in [0, 1].
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of rows and of their new labels.

    Returns
    -------
    y_noisy : ndarray of shape (n_samples,)
        The labels with flips; ``y`` itself is left unchanged.
    flipped : ndarray of shape (n_samples,)
        True for the rows whose label was flipped.

    Examples
    --------
    >>> import numpy as np
    >>> from skogad.noise import flip_labels
    >>> y = np.array(["a", "b", "c"] * 100)
    >>> y_noisy, flipped = flip_labels(y, 0.2, random_state=0)
    >>> bool(np.all((y_noisy != y) == flipped)), int(flipped.sum())
    (True, 60)
    """
    y = np.asarray(y)
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be in [0, 1], got {rate}.")
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError("Flipping labels needs at least two classes.")
    rng = check_random_state(random_state)
    flipped = rng.rand(len(y)) < rate
    shift = rng.randint(1, len(classes), size=len(y))
    position = np.searchsorted(classes, y)
    y_noisy = np.where(flipped, classes[(position + shift) % len(classes)], y)
    return y_noisy, flipped
