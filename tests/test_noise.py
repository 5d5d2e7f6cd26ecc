"""Planted label noise: skogad.noise.flip_labels."""

import numpy as np
import pytest
from sklearn.datasets import make_blobs, make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression

from skogad.noise import flip_labels


def _line(n=900, seed=0):
    """Three classes in a row along one feature: 0 | 1 | 2."""
    rng = np.random.default_rng(seed)
    y = np.repeat([0, 1, 2], n // 3)
    X = (y * 3.0 + rng.normal(size=len(y)))[:, None]
    return X, y


@pytest.mark.parametrize("kind", ["uniform", "pair", "instance"])
def test_flips_are_reproducible_from_the_seed(kind):
    X, y = make_classification(600, 6, n_informative=4, n_classes=3, random_state=0)
    extra = {"X": X} if kind == "instance" else {}
    a = flip_labels(y, 0.2, 0, kind=kind, **extra)
    b = flip_labels(y, 0.2, 0, kind=kind, **extra)
    c = flip_labels(y, 0.2, 1, kind=kind, **extra)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert (a[1] != c[1]).any()
    y_noisy, flipped = a
    np.testing.assert_array_equal(y_noisy != y, flipped)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.3, 0.6, 1.0])
def test_instance_flips_average_the_requested_rate(rate):
    X, y = make_classification(3000, 8, n_informative=5, n_classes=4, random_state=0)
    _, flipped = flip_labels(y, rate, 0, kind="instance", X=X)
    assert abs(flipped.mean() - rate) < 0.03


def test_instance_flips_fall_on_rows_near_the_class_they_go_to():
    X, y = _line()
    y_noisy, flipped = flip_labels(y, 0.15, 0, kind="instance", X=X)
    # the middle class borders both others; the outer ones border only it
    assert set(zip(y[flipped], y_noisy[flipped])) == {(0, 1), (1, 0), (1, 2), (2, 1)}
    # flipped rows sit nearer the boundary they cross than the others
    centre = y * 3.0
    toward = np.where(y_noisy > y, 1, -1)  # the side of the class flipped to
    outer = (y == 0) | (y == 2)
    depth = np.abs(X[:, 0] - centre)
    side = np.sign(X[flipped, 0] - centre[flipped]) == toward[flipped]
    assert side.mean() > 0.95, side.mean()
    assert depth[flipped & outer].mean() > 1.5 * depth[~flipped & outer].mean()
    # uniform noise at the same rate picks rows regardless of where they are
    _, uniform = flip_labels(y, 0.15, 0)
    assert abs(depth[uniform].mean() - depth[~uniform].mean()) < 0.15


def test_instance_noise_spares_a_class_no_other_resembles():
    X, y = make_blobs(
        600, centers=[[0, 0], [0, 3], [40, 40]], cluster_std=1.0, random_state=0
    )
    _, flipped = flip_labels(y, 0.1, 0, kind="instance", X=X)
    assert flipped[y == 2].sum() == 0
    assert flipped[y < 2].mean() > 0.12  # the two overlapping classes carry it


def test_instance_noise_takes_another_reference_model_and_seeds_it():
    X, y = make_classification(800, 6, n_informative=4, n_classes=3, random_state=1)
    hgb = HistGradientBoostingClassifier(max_iter=30, early_stopping=True)
    a = flip_labels(y, 0.2, 3, kind="instance", X=X, reference=hgb)
    b = flip_labels(y, 0.2, 3, kind="instance", X=X, reference=hgb)
    np.testing.assert_array_equal(a[1], b[1])  # its early-stopping split seeded
    assert hgb.random_state is None  # the user's model is left as it was
    lr = flip_labels(y, 0.2, 3, kind="instance", X=X, reference=LogisticRegression())
    knn = flip_labels(y, 0.2, 3, kind="instance", X=X)
    assert (lr[1] != knn[1]).any() and (lr[1] != a[1]).any()


def test_instance_noise_keeps_label_types_and_leaves_y_alone():
    X, y = _line(300)
    names = np.array(["low", "mid", "high"])[y]
    before = names.copy()
    y_noisy, flipped = flip_labels(names, 0.2, 0, kind="instance", X=X, cv=3)
    np.testing.assert_array_equal(names, before)
    assert y_noisy.dtype == names.dtype and set(y_noisy) <= set(names)
    assert flipped.any()


def test_flip_labels_refuses_what_it_cannot_do():
    X, y = _line(30)
    with pytest.raises(ValueError, match="needs the features X"):
        flip_labels(y, 0.1, kind="instance")
    with pytest.raises(ValueError, match="kind='instance' only"):
        flip_labels(y, 0.1, X=X)
    with pytest.raises(ValueError, match="kind must be one of"):
        flip_labels(y, 0.1, kind="annotator")
    with pytest.raises(ValueError, match="X has 29 rows and y 30"):
        flip_labels(y, 0.1, kind="instance", X=X[:-1])
    with pytest.raises(ValueError, match="cv must be an integer"):
        flip_labels(y, 0.1, kind="instance", X=X, cv=1)
    with pytest.raises(ValueError, match="at least 2 rows"):
        flip_labels(np.r_[y[:-1], 3], 0.1, kind="instance", X=X)
    with pytest.raises(ValueError, match="rate must be in"):
        flip_labels(y, "0.1")
    with pytest.raises(ValueError):
        flip_labels(y, 0.1, kind="instance", X=np.c_[X, [np.nan] * 30])
