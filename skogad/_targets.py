"""Labels and targets as the network takes them.

Classification labels may be any hashable values (strings, non-contiguous
integers); the network sees their positions in ``classes``. Regression
targets become a float32 column per target.
"""

import numpy as np
from sklearn.utils.multiclass import type_of_target
from skorch import NeuralNetClassifier, NeuralNetRegressor


def is_classification(net, y):
    """Whether ``y`` is classified: from the skorch net's kind, else from ``y``."""
    if isinstance(net, NeuralNetRegressor):
        return False
    if isinstance(net, NeuralNetClassifier):
        return True
    kind = type_of_target(y, input_name="y", raise_unknown=True)
    if kind in ("binary", "multiclass"):
        return True
    if kind == "continuous":
        return False
    raise ValueError(
        f"y must be class labels or one continuous target per sample; got "
        f"{kind} targets."
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
    # A dict, not searchsorted: labels of mixed types (a string at score
    # time for a net trained on ints) must fail clearly, not with TypeError.
    lookup = {c: i for i, c in enumerate(np.asarray(classes).tolist())}
    labels = np.asarray(y).tolist()
    codes = np.array([lookup.get(v, -1) for v in labels], dtype=np.int64)
    if np.any(codes < 0):
        unseen = sorted({repr(v) for v, c in zip(labels, codes) if c < 0})
        raise ValueError(
            f"y has labels the network was not trained on: "
            f"[{', '.join(unseen[:10])}]; known classes: "
            f"{np.asarray(classes).tolist()}."
        )
    return codes


def encode_target(y, classes=None):
    """What the loss takes: label positions in ``classes``, else float32 targets.

    Returns an int64 array of shape (n,) for classification (``classes``
    given) and a float32 array of shape (n, n_targets) for regression.
    """
    if classes is not None:
        return encode_labels(y, classes)
    return np.asarray(y, dtype=np.float32).reshape(len(y), -1)
