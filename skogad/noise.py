"""Plant label noise, to measure how well harmful rows are found."""

import numpy as np
from sklearn.utils import check_random_state

__all__ = ["flip_labels"]


def flip_labels(y, rate, random_state=None, *, kind="uniform"):
    """Flip a fraction of labels to another class.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels (any sortable labels, at least two classes).
    rate : float
        Probability that each row's label is flipped, in [0, 1].
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of rows and of their new labels.
    kind : {"uniform", "pair"}, default="uniform"
        ``"uniform"``: a flipped label becomes any other class, uniformly.
        ``"pair"``: it becomes the next class (in sorted order, the last going
        to the first): class-conditional noise, like annotators who confuse
        one class with one other.

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
    >>> y_pair, flipped = flip_labels(y, 0.2, random_state=0, kind="pair")
    >>> sorted(set(zip(y[flipped].tolist(), y_pair[flipped].tolist())))
    [('a', 'b'), ('b', 'c'), ('c', 'a')]
    """
    y = np.asarray(y)
    if not 0 <= rate <= 1:
        raise ValueError(f"rate must be in [0, 1], got {rate}.")
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError("Flipping labels needs at least two classes.")
    rng = check_random_state(random_state)
    flipped = rng.rand(len(y)) < rate
    if kind == "uniform":
        shift = rng.randint(1, len(classes), size=len(y))
    elif kind == "pair":
        shift = 1
    else:
        raise ValueError(f"kind must be 'uniform' or 'pair', got {kind!r}.")
    position = np.searchsorted(classes, y)
    y_noisy = np.where(flipped, classes[(position + shift) % len(classes)], y)
    return y_noisy, flipped
