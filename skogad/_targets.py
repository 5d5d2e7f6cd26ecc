"""Labels and targets as the network takes them.

Classification labels may be any hashable values (strings, non-contiguous
integers); the network sees their positions in ``classes``. Regression
targets become a float32 column per target, standardized for the default
network. Whether ``y`` is classified is the ``task`` parameter's
(`is_classification`).
"""

import warnings

import numpy as np
from sklearn.preprocessing import StandardScaler
from sklearn.utils.multiclass import type_of_target
from skorch import NeuralNetClassifier, NeuralNetRegressor

TASKS = ("auto", "classification", "regression")

# task="auto": whole numbers are class labels when they look like class codes
# (0..K-1 or 1..K, at least two rows per class on average) or take at most
# MAX_OTHER_LABELS values; otherwise they are a quantity. Measured in
# `is_classification`.
MAX_OTHER_LABELS = 10
MIN_ROWS_PER_CODE = 2


def check_missing_labels(y):
    """Raise ``ValueError`` naming the rows of ``y`` that have no label.

    ``None``, ``NaN`` and ``pandas.NA`` are missing. Checked before anything
    sorts the labels, where a ``None`` among strings fails with a
    ``TypeError`` about ``'<'``.
    """
    values = np.asarray(y)
    if values.ndim == 0:
        return  # not an array of labels: validate_data says so
    rows = values.reshape(len(values), -1)
    if values.dtype.kind == "f":
        what = "Input y contains NaN"  # scikit-learn's words, with the rows
        missing = np.flatnonzero(np.isnan(rows).any(axis=1))
    elif values.dtype.kind == "O":
        what = "y has missing labels (None or NaN)"
        missing = np.flatnonzero([_is_missing(v) for v in rows[:, 0]])
    else:
        return
    if len(missing):
        shown = ", ".join(map(str, missing[:10].tolist()))
        more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
        raise ValueError(
            f"{what} in {len(missing)} row(s), at positions [{shown}]{more}: "
            "give every row a label or target, or drop those rows first."
        )


def _is_missing(value):
    if value is None:
        return True
    try:
        return bool(value != value)  # NaN
    except TypeError:  # pandas.NA has no truth value
        return True


def is_classification(net, y, task="auto"):
    """Whether ``y`` is classified, as ``task`` says.

    A skorch ``NeuralNetClassifier`` or ``NeuralNetRegressor`` decides
    (a ``task`` that contradicts it raises). Else ``task="classification"``
    or ``"regression"`` decides, and ``"auto"`` looks at ``y`` (see
    `looks_like_labels`), warning when it regresses whole numbers.
    """
    if isinstance(net, NeuralNetRegressor | NeuralNetClassifier):
        classifier = isinstance(net, NeuralNetClassifier)
        if task != "auto" and (task == "classification") != classifier:
            raise ValueError(
                f"task={task!r} contradicts the net, a {type(net).__name__}: "
                "the net's kind decides, so leave task='auto' or give the other "
                "kind of net."
            )
        return classifier
    kind = type_of_target(y, input_name="y", raise_unknown=True)
    if kind not in ("binary", "multiclass", "continuous", "continuous-multioutput"):
        raise ValueError(
            f"y must be class labels or continuous targets; got {kind} targets."
        )
    numeric = np.asarray(y).dtype.kind in "iuf"
    if task == "regression":
        if not numeric:
            raise ValueError(
                "task='regression' needs numeric targets; y holds labels of dtype "
                f"{np.asarray(y).dtype}."
            )
        return False
    if task == "classification":
        if kind.startswith("continuous"):
            raise ValueError(
                f"task='classification' needs class labels; y has {kind} values "
                "(numbers with a fractional part, or several columns)."
            )
        return True
    if kind.startswith("continuous"):
        return False
    if kind == "binary" or not numeric:
        return True
    labels, reason = looks_like_labels(y)
    if not labels:
        warnings.warn(
            f"task='auto' treats y as a regression target: its whole numbers "
            f"{reason}, so they look like a quantity (a price, an age, a "
            "count), not class labels. If they are class labels, pass "
            "task='classification'; task='regression' silences this warning.",
            UserWarning,
            stacklevel=2,
        )
    return labels


def looks_like_labels(y):
    """Whether whole numbers (more than two values) look like class labels.

    They do when they are class codes, the integers 0..K-1 or 1..K with on
    average at least ``MIN_ROWS_PER_CODE`` rows per class, or when they take
    at most ``MAX_OTHER_LABELS`` values; otherwise (many values, not a range
    from 0 or 1) they look like a quantity. Returns the answer and, for a
    quantity, why.

    Measured with the default net on 10% planted errors, two seeds (AUROC
    and fraction flagged by ``contamination="auto"``, as classes / as a
    regression): digits (10 codes) 0.996, 11% / 0.867; 20 codes of 8 rows
    0.949, 17% / 0.605; integer prices 0 to 1e5 (500 rows, 495 values)
    0.519, 50% / 0.863, 6%; ages 18 to 90 (500 rows) 0.597, 50% / 0.860,
    6%; the same ages on 5,000 rows 0.901, 50% / 0.901, 7%. Rows per class
    alone (AutoGluon's rule, fewer than 10 makes a quantity) regressed the
    20 codes of 8 rows and classified the 5,000 ages. Counts 0 to 20 that
    take every value look like codes, and are classified (0.773, 50% /
    0.776, 6%): the fit warns when ``contamination="auto"`` then flags half
    the rows.
    """
    values = np.unique(y)
    n_values, n_rows = len(values), len(y)
    codes = any(
        np.array_equal(values, np.arange(first, first + n_values)) for first in (0, 1)
    )
    if codes and n_rows >= MIN_ROWS_PER_CODE * n_values:
        return True, ""
    if not codes and n_values <= MAX_OTHER_LABELS:
        return True, ""
    if codes:
        return False, (
            f"are {n_values} distinct values for {n_rows} rows (fewer than "
            f"{MIN_ROWS_PER_CODE} rows per class)"
        )
    return False, (
        f"take {n_values} distinct values from {values[0]:g} to {values[-1]:g} "
        "(class labels are usually 0..K-1 or 1..K, or a few values)"
    )


def warn_capped_noise_rate(rate, classes, task):
    """Warn that ``contamination="auto"`` flags half the rows, not ``rate``.

    Measured: whole-number quantities taken for classes (ages, counts, which
    no net predicts exactly) end here; class codes did not. So with many
    numeric classes the warning suggests ``task="regression"``.
    """
    quantity = (
        task == "auto"
        and np.asarray(classes).dtype.kind in "iuf"
        and len(classes) > MAX_OTHER_LABELS
    )
    advice = (
        "If y is a quantity (a count, an age) rather than class labels, pass "
        "task='regression'; if the labels are this noisy, set contamination"
        if quantity
        else "If the labels are this noisy, set contamination"
    )
    warnings.warn(
        f"The network is confident that {rate:.0%} of the training rows have "
        "another class than the given one, so contamination='auto' flags the "
        f"most it does, half of them. {advice} to the rate you expect.",
        UserWarning,
        stacklevel=3,
    )


def check_label_types(y):
    """Refuse labels that mix strings with numbers: they cannot be ordered.

    numpy and scikit-learn sort the labels, and fail with a TypeError that
    does not say it is about ``y``.
    """
    if np.asarray(y).dtype.kind in "biufUS":  # one type by construction
        return
    values = np.asarray(y, dtype=object).ravel()
    kinds = {"text" if isinstance(v, str | bytes) else "number" for v in values}
    if len(kinds) > 1:
        names = sorted({type(v).__name__ for v in values})
        raise ValueError(
            f"y mixes labels of different types ({', '.join(names)}); give every "
            "label the same type, e.g. all strings."
        )


def fit_classes(y, net=None):
    """The classes: those a fitted ``net`` knows, else the sorted labels of ``y``."""
    if net is not None:
        try:
            return np.asarray(net.classes_)
        except AttributeError as exc:
            raise ValueError(
                "The fitted net does not know its classes (it was initialized "
                "but not fitted on labels): create it with classes=[...]."
            ) from exc
    classes = np.unique(y)
    if len(classes) < 2:
        raise ValueError(
            f"y has only one class ({classes[0]!r}); at least two classes are "
            "needed to train a classifier."
        )
    return classes


def encode_labels(y, classes):
    """Each label's position in ``classes`` (int64); unknown labels raise."""
    y, classes = np.asarray(y), np.asarray(classes)
    if _same_kind(y.dtype, classes.dtype):
        # a sort, not a Python loop: 10 million labels take 4 s in a loop
        order = np.argsort(classes, kind="stable")
        ranked = classes[order]
        found = np.minimum(np.searchsorted(ranked, y), len(ranked) - 1)
        codes = np.where(ranked[found] == y, order[found], -1).astype(np.int64)
    else:
        # A dict, not searchsorted: labels of mixed types (a string at score
        # time for a net trained on ints) must fail clearly, not with TypeError.
        lookup = {c: i for i, c in enumerate(classes.tolist())}
        codes = np.array([lookup.get(v, -1) for v in y.tolist()], dtype=np.int64)
    if np.any(codes < 0):
        labels = y.tolist()
        unseen = sorted({repr(v) for v, c in zip(labels, codes) if c < 0})
        raise ValueError(
            f"y has labels the network was not trained on: "
            f"[{', '.join(unseen[:10])}]; known classes: "
            f"{np.asarray(classes).tolist()}."
        )
    return codes


def _same_kind(a, b):
    """Whether two dtypes both hold numbers (bools included) or both text."""
    numeric = "biuf"
    return (a.kind in numeric and b.kind in numeric) or (
        a.kind in "U" and b.kind in "U"
    )


def _columns(y):
    return np.asarray(y, dtype=np.float64).reshape(len(y), -1)


def fit_target_scaler(y):
    """A ``StandardScaler`` for regression targets, fitted in float64.

    The squared-error loss and its gradients scale with the target: in
    price units (~1e5) the default net's learning rate cannot fit it within
    its training (measured with a constant 1e-3 for 100 epochs), and planted
    errors were found no better than by chance.
    """
    return StandardScaler().fit(_columns(y))


def encode_target(y, classes=None, scaler=None):
    """What the loss takes: label positions in ``classes``, else float32 targets.

    Returns an int64 array of shape (n,) for classification (``classes``
    given) and a float32 array of shape (n, n_targets) for regression,
    standardized by ``scaler`` when one is given.
    """
    if classes is not None:
        return encode_labels(y, classes)
    values = _columns(y)
    if scaler is not None:
        values = scaler.transform(values)
    return values.astype(np.float32)


def decode_target(values, scaler=None):
    """Network outputs (regression) back in the target's own units."""
    values = np.asarray(values, dtype=np.float64).reshape(len(values), -1)
    return values if scaler is None else scaler.inverse_transform(values)
