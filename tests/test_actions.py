"""CleanTrainingSet's actions (drop, relabel, weight) and a frozen detector."""

import pickle

import numpy as np
import pandas as pd
import pytest
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skogad import CleanTrainingSet, GradientOutlierDetector
from skogad.noise import flip_labels
from tests._helpers import FAST, confident_class


@pytest.fixture(scope="module")
def noisy():
    """300 rows, 3 classes, 15% of the labels flipped, and a detector fitted."""
    from sklearn.datasets import make_classification

    X, y = make_classification(
        300, 8, n_informative=5, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    y_noisy, flipped = flip_labels(y, 0.15, random_state=0)
    det = GradientOutlierDetector(**FAST).fit(X, y_noisy)
    return X, y, y_noisy, flipped, det


def clean(action, noisy, estimator=None, **fit_params):
    X, _, y_noisy, _, det = noisy
    model = CleanTrainingSet(
        estimator or LogisticRegression(), detector=FrozenEstimator(det), action=action
    )
    return model.fit(X, y_noisy, **fit_params)


def test_drop_fits_on_the_unflagged_rows_and_the_confirmed_ones(noisy):
    X, _, y_noisy, _, det = noisy
    model = clean("drop", noisy)
    unflagged = det.train_scores_ >= det.offset_
    np.testing.assert_array_equal(model.inlier_mask_, unflagged)
    confirmed = ~unflagged & (confident_class(det, X, y_noisy) == y_noisy)
    np.testing.assert_array_equal(model.spared_, np.flatnonzero(confirmed))
    keep = unflagged | confirmed
    np.testing.assert_array_equal(model.sample_indices_, np.flatnonzero(keep))
    reference = LogisticRegression().fit(X[keep], y_noisy[keep])
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_)
    assert len(model.relabelled_) == 0 and model.sample_weight_ is None


def test_drop_with_another_detector_drops_every_flagged_row(noisy):
    X, _, y_noisy, _, _ = noisy
    forest = IsolationForest(contamination=0.1, random_state=0)
    model = CleanTrainingSet(LogisticRegression(), detector=forest).fit(X, y_noisy)
    np.testing.assert_array_equal(
        model.sample_indices_, np.flatnonzero(model.inlier_mask_)
    )
    assert len(model.spared_) == 0 and model.inlier_mask_.mean() == 0.9


def test_relabel_gives_flagged_rows_the_confident_label(noisy):
    X, y, y_noisy, flipped, det = noisy
    model = clean("relabel", noisy)
    flagged = ~model.inlier_mask_
    changed = model.relabelled_
    assert len(changed) > 0
    assert flagged[changed].all()  # only flagged rows change
    # the rows it fits on: every unflagged row, and the flagged ones it relabels
    assert set(np.flatnonzero(model.inlier_mask_)) <= set(model.sample_indices_)
    assert set(changed) <= set(model.sample_indices_)
    # the flagged rows kept with their own label: the network confirms it
    spared = flagged & ~np.isin(np.arange(len(X)), changed)
    spared &= np.isin(np.arange(len(X)), model.sample_indices_)
    np.testing.assert_array_equal(model.spared_, np.flatnonzero(spared))
    confident = confident_class(det, X, y_noisy)
    assert (confident[model.spared_] == y_noisy[model.spared_]).all()
    # the labels it gave: the net's, where it is confident of that class
    proba = det._training_proba(X, y_noisy)
    new = proba[changed].argmax(axis=1)
    assert (proba[changed, new] >= det.class_thresholds_[new]).all()
    # mostly flipped rows (measured 0.72; 0.15 at random), mostly given back
    # their true label (measured 0.70; about 0.36 for a random other class)
    y_fit = y_noisy.copy()
    y_fit[changed] = det.classes_[new]
    assert flipped[changed].mean() > 0.6
    assert (y_fit[changed] == y[changed]).mean() > 0.6
    keep = model.sample_indices_
    reference = LogisticRegression().fit(X[keep], y_fit[keep])
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_)


def test_relabel_keeps_the_type_of_a_series(noisy):
    X, _, y_noisy, _, _ = noisy
    names = np.array(["ant", "bee", "cat"])
    y = pd.Series(names[y_noisy], index=np.arange(len(y_noisy)) + 100)
    X = pd.DataFrame(X, index=y.index)
    det = GradientOutlierDetector(**FAST).fit(X, y)
    model = CleanTrainingSet(
        LogisticRegression(), detector=FrozenEstimator(det), action="relabel"
    ).fit(X, y)
    assert len(model.relabelled_) > 0
    assert set(model.classes_) == set(names)
    assert y.to_numpy().tolist() == names[y_noisy].tolist()  # the input untouched


def test_weight_falls_with_the_score(noisy):
    X, _, y_noisy, _, det = noisy
    model = clean("weight", noisy)
    w = model.sample_weight_
    flagged = ~model.inlier_mask_
    assert len(model.sample_indices_) == len(X)  # every row kept
    assert (w[~flagged] == 1).all()
    assert (w[flagged] < 1).all() and w.min() == 0
    order = np.argsort(det.train_scores_[flagged])
    assert (np.diff(w[flagged][order]) >= 0).all()  # lower score, lower weight
    reference = LogisticRegression().fit(X, y_noisy, sample_weight=w)
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_)


def test_weight_multiplies_a_given_weight_and_reaches_a_pipeline(noisy):
    X, _, y_noisy, _, _ = noisy
    given = np.random.RandomState(0).uniform(0.5, 2, len(X))
    pipe = make_pipeline(StandardScaler(), LogisticRegression())
    model = clean("weight", noisy, pipe, logisticregression__sample_weight=given)
    both = model.sample_weight_ * given
    reference = make_pipeline(StandardScaler(), LogisticRegression())
    reference.fit(X, y_noisy, logisticregression__sample_weight=both)
    np.testing.assert_allclose(
        model.estimator_[-1].coef_, reference[-1].coef_, rtol=1e-6
    )


def test_actions_refuse_what_they_cannot_do(noisy, reg_data):
    X, _, y_noisy, _, _ = noisy
    with pytest.raises(ValueError, match="takes none"):
        clean("weight", noisy, KNeighborsClassifier())
    forest = IsolationForest(random_state=0)
    for action in ("relabel", "weight"):
        with pytest.raises(ValueError, match="needs a GradientOutlierDetector"):
            CleanTrainingSet(LogisticRegression(), detector=forest, action=action).fit(
                X, y_noisy
            )
    Xr, yr = reg_data
    with pytest.raises(ValueError, match="regression target"):
        CleanTrainingSet(
            LinearRegression(),
            detector=GradientOutlierDetector(**FAST),
            action="relabel",
        ).fit(Xr, yr)
    with pytest.raises(ValueError, match="action"):
        CleanTrainingSet(LogisticRegression(), action="fix").fit(X, y_noisy)


def test_frozen_detector_is_reused_not_refitted(noisy):
    X, _, y_noisy, _, det = noisy
    before = det.train_scores_.copy()
    model = clean("drop", noisy, HistGradientBoostingClassifier(max_iter=20))
    assert model.detector_.estimator is det
    np.testing.assert_array_equal(det.train_scores_, before)
    # other rows than it was fitted on are refused, not silently mis-flagged
    with pytest.raises(ValueError, match="rows the detector was fitted on"):
        CleanTrainingSet(LogisticRegression(), detector=FrozenEstimator(det)).fit(
            X[::-1], y_noisy[::-1]
        )
    # a frozen detector of another kind: its predict gives the flags
    forest = IsolationForest(contamination=0.1, random_state=0).fit(X)
    model = CleanTrainingSet(LogisticRegression(), detector=FrozenEstimator(forest))
    model.fit(X, y_noisy)
    np.testing.assert_array_equal(model.inlier_mask_, forest.predict(X) == 1)


@pytest.mark.parametrize("action", ["relabel", "weight"])
def test_actions_pickle_and_predict_the_same(noisy, action):
    X, _, _, _, _ = noisy
    model = clean(action, noisy)
    again = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(again.predict(X), model.predict(X))


@pytest.mark.parametrize(
    "dtype", ["boolean", "bool", "Int64", "int64", "string", "category", "object"]
)
def test_relabel_takes_labels_of_every_dtype_fit_takes(dtype):
    from sklearn.datasets import make_classification

    X, y = make_classification(300, 6, n_informative=4, random_state=1)
    y_noisy, flipped = flip_labels(y, 0.15, random_state=1)
    as_text = dtype in ("string", "category", "object")
    values = np.where(y_noisy == 1, "yes", "no") if as_text else y_noisy
    labels = pd.Series(values).astype(dtype if dtype != "bool" else bool)
    det = GradientOutlierDetector(**FAST).fit(X, labels)
    model = CleanTrainingSet(
        LogisticRegression(), detector=FrozenEstimator(det), action="relabel"
    ).fit(X, labels)
    assert len(model.relabelled_) > 0
    # the relabelled rows mostly get their label back
    assert np.mean(flipped[model.relabelled_]) > 0.5
    assert model.predict(X[:5]).shape == (5,)
