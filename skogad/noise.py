"""Plant label noise, to measure how well harmful rows are found."""

import numbers

import numpy as np
from sklearn.base import clone
from sklearn.model_selection import StratifiedKFold, cross_val_predict
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_array, check_random_state

__all__ = ["flip_labels"]

KINDS = ("uniform", "pair", "instance")

# The smallest weight a row's flip gets under kind="instance", relative to
# the largest possible (1): where the reference model is sure of every row,
# flips still reach the requested rate, spread over the rows it is surest of.
MIN_WEIGHT = 1e-3


def flip_labels(
    y, rate, random_state=None, *, kind="uniform", X=None, reference=None, cv=5
):
    """Flip a fraction of labels to another class.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        Class labels (any sortable labels, at least two classes).
    rate : float
        Mean probability that a row's label is flipped, in [0, 1].
    random_state : int, RandomState instance or None, default=None
        Seeds the choice of rows and of their new labels, and, for
        ``kind="instance"``, the folds and the reference model's own seed.
    kind : {"uniform", "pair", "instance"}, default="uniform"
        ``"uniform"``: each row is flipped with probability ``rate``, to any
        other class, uniformly.
        ``"pair"``: each row is flipped with probability ``rate``, to the next
        class (in sorted order, the last going to the first):
        class-conditional noise, like annotators who confuse one class with
        one other.
        ``"instance"``: annotators' noise, which depends on the row. The
        ``reference`` model, fitted out of fold on the clean labels, gives
        each row the probability ``q`` of the other class it finds most
        likely; the row is flipped to that class with probability
        ``min(1, c q)``, with ``c`` set so that the probabilities average
        ``rate``. Rows near another class are flipped most, and flips go to
        the classes they resemble, as in human relabelling of CIFAR-10
        (CIFAR-10N). Where ``rate`` asks for more flips than the rows near
        other classes give, the rest fall on rows ``reference`` is sure of
        (``q`` counts as at least 0.001), evenly.
    X : array-like of shape (n_samples, n_features), default=None
        The features, numeric; required by ``kind="instance"`` and only used
        by it.
    reference : scikit-learn classifier with ``predict_proba``, default=None
        Finds how close each row is to the other classes, for
        ``kind="instance"``. ``None``: a vote of the 10 nearest neighbours on
        standardized features. Cloned; its ``random_state``, where it has one
        left at ``None``, is drawn from ``random_state``.
    cv : int, default=5
        Folds for the reference model's out-of-fold probabilities (fewer where
        a class has fewer rows, at least 2).

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

    Instance noise flips the rows that look like another class: in iris,
    between versicolor (1) and virginica (2), here none of the well-separated
    setosa (0):

    >>> from sklearn.datasets import load_iris
    >>> X, y = load_iris(return_X_y=True)
    >>> y_noisy, flipped = flip_labels(y, 0.1, 0, kind="instance", X=X)
    >>> sorted(set(zip(y[flipped].tolist(), y_noisy[flipped].tolist())))
    [(1, 2), (2, 1)]
    """
    y = np.asarray(y)
    if not isinstance(rate, numbers.Real) or not 0 <= rate <= 1:
        raise ValueError(f"rate must be in [0, 1], got {rate!r}.")
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, got {kind!r}.")
    if kind != "instance" and (X is not None or reference is not None):
        raise ValueError(
            f"X and reference are used by kind='instance' only, not kind={kind!r}."
        )
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError("Flipping labels needs at least two classes.")
    rng = check_random_state(random_state)
    position = np.searchsorted(classes, y)
    if kind == "instance":
        flipped, target = _instance_flips(X, y, position, rate, rng, reference, cv)
        return np.where(flipped, classes[target], y), flipped
    flipped = rng.rand(len(y)) < rate
    if kind == "uniform":
        shift = rng.randint(1, len(classes), size=len(y))
    else:
        shift = 1
    y_noisy = np.where(flipped, classes[(position + shift) % len(classes)], y)
    return y_noisy, flipped


def _instance_flips(X, y, position, rate, rng, reference, cv):
    """Which rows ``kind="instance"`` flips, and each row's new class index."""
    if X is None:
        raise ValueError("kind='instance' needs the features X.")
    X = check_array(X, dtype="numeric", ensure_all_finite=True)
    if len(X) != len(y):
        raise ValueError(f"X has {len(X)} rows and y {len(y)}.")
    if not isinstance(cv, numbers.Integral) or cv < 2:
        raise ValueError(f"cv must be an integer of at least 2, got {cv!r}.")
    counts = np.bincount(position)
    folds = min(cv, counts.min())
    if folds < 2:
        raise ValueError(
            "kind='instance' fits the reference model out of fold: every class "
            "needs at least 2 rows."
        )
    if reference is None:
        reference = make_pipeline(StandardScaler(), KNeighborsClassifier(10))
    model = clone(reference)
    seeds = {
        name: rng.randint(np.iinfo(np.int32).max)
        for name, value in model.get_params().items()
        if name.split("__")[-1] == "random_state" and value is None
    }
    model.set_params(**seeds)
    split = StratifiedKFold(folds, shuffle=True, random_state=rng.randint(2**31 - 1))
    proba = cross_val_predict(model, X, y, cv=split, method="predict_proba")
    rows = np.arange(len(y))
    proba[rows, position] = -np.inf
    # ties (a vote that gives every other class nothing) go to a random one
    jitter = rng.rand(*proba.shape) * 1e-9
    target = np.argmax(proba + jitter, axis=1)
    closeness = np.clip(proba[rows, target], MIN_WEIGHT, 1)
    chance = _scaled(closeness, rate)
    return rng.rand(len(y)) < chance, target


def _scaled(weights, rate):
    """``min(1, c w)``, with ``c`` such that the mean is ``rate``."""
    if rate == 0:
        return np.zeros_like(weights)
    low, high = 0.0, 1.0 / weights.min()  # at high every row has chance 1
    for _ in range(100):
        mid = (low + high) / 2
        if np.minimum(1, mid * weights).mean() < rate:
            low = mid
        else:
            high = mid
    return np.minimum(1, high * weights)
