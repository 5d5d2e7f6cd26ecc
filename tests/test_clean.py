"""CleanTrainingSet in the scikit-learn ecosystem, and the detector as a step."""

import pickle

import numpy as np
import pytest
import sklearn
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.model_selection import GridSearchCV, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skogad import CleanTrainingSet, GradientOutlierDetector
from skogad.noise import flip_labels
from tests._helpers import FAST


def detector(contamination=0.1):
    return GradientOutlierDetector(contamination=contamination, **FAST)


@pytest.fixture(scope="module")
def binary():
    X, y = load_breast_cancer(return_X_y=True)
    return X[:300], y[:300]


def test_drops_flagged_rows_and_fits_the_rest(clf_data):
    X, y = clf_data
    model = CleanTrainingSet(LogisticRegression(), detector=detector()).fit(X, y)
    flags = detector().fit_predict(X, y)
    np.testing.assert_array_equal(model.inlier_mask_, flags == 1)
    np.testing.assert_array_equal(model.sample_indices_, np.flatnonzero(flags == 1))
    reference = LogisticRegression().fit(X[flags == 1], y[flags == 1])
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_)
    np.testing.assert_array_equal(model.predict(X), reference.predict(X))
    np.testing.assert_allclose(model.predict_proba(X), reference.predict_proba(X))
    assert model.score(X, y) == reference.score(X, y)
    np.testing.assert_array_equal(model.classes_, [0, 1, 2])
    assert model.n_features_in_ == X.shape[1]
    assert model.estimator_ is not model.estimator
    assert model.detector_ is not model.detector


def test_default_detector_trims_the_estimated_noise(clf_data):
    X, y = clf_data
    y_noisy, flipped = flip_labels(y, 0.15, random_state=0)
    # detector=None is GradientOutlierDetector(), which draws its seed from
    # numpy's global state: whatever ran before. The bounds below are checked
    # on the default detector seeded (and on the CPU, where it is
    # deterministic), so that they hold on every run.
    unseeded = CleanTrainingSet(LogisticRegression()).fit(X[:100], y_noisy[:100])
    assert isinstance(unseeded.detector_, GradientOutlierDetector)
    assert unseeded.detector_.get_params() == GradientOutlierDetector().get_params()
    seeded = GradientOutlierDetector(random_state=0, device="cpu")
    model = CleanTrainingSet(LogisticRegression(), detector=seeded).fit(X, y_noisy)
    dropped = ~model.inlier_mask_
    # contamination="auto": its estimate of the noise rate
    assert dropped.mean() == pytest.approx(model.detector_.contamination_)
    assert 0.08 < dropped.mean() < 0.3
    assert flipped[dropped].mean() > 0.5  # 0.15 if dropped at random


def test_pipeline_and_grid_search(clf_data):
    X, y = clf_data
    pipe = make_pipeline(
        StandardScaler(), CleanTrainingSet(LogisticRegression(), detector=detector())
    )
    grid = {"cleantrainingset__detector__contamination": [0.05, 0.1, 0.2]}
    search = GridSearchCV(pipe, grid, cv=2).fit(X, y)
    assert search.best_params_["cleantrainingset__detector__contamination"] in (
        0.05,
        0.1,
        0.2,
    )
    kept = search.best_estimator_[-1].inlier_mask_.mean()
    best = search.best_params_["cleantrainingset__detector__contamination"]
    assert kept == pytest.approx(1 - best, abs=0.01)


def test_cross_val_score_roc_auc(binary):
    X, y = binary
    model = make_pipeline(
        StandardScaler(), CleanTrainingSet(LogisticRegression(), detector=detector())
    )
    scores = cross_val_score(model, X, y, scoring="roc_auc", cv=3)
    assert scores.min() > 0.8  # a NaN fold fails this too


def test_tags_follow_the_estimator():
    assert is_classifier(CleanTrainingSet(LogisticRegression()))
    assert is_regressor(CleanTrainingSet(LinearRegression()))
    assert not hasattr(CleanTrainingSet(LinearRegression()), "predict_proba")
    assert not hasattr(CleanTrainingSet(LinearRegression()), "decision_function")
    assert hasattr(CleanTrainingSet(LogisticRegression()), "decision_function")


def test_regressor(reg_data):
    X, y = reg_data
    model = CleanTrainingSet(LinearRegression(), detector=detector(0.05)).fit(X, y)
    assert model.inlier_mask_.sum() == 190
    assert not hasattr(model, "classes_")
    assert model.score(X, y) > 0.9


def test_sample_weight_reaches_the_estimator_on_kept_rows(clf_data):
    X, y = clf_data
    weight = np.random.RandomState(0).uniform(0.5, 2, len(y))
    model = CleanTrainingSet(LogisticRegression(), detector=detector())
    model.fit(X, y, sample_weight=weight)
    keep = model.inlier_mask_
    reference = LogisticRegression().fit(X[keep], y[keep], sample_weight=weight[keep])
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_)
    unweighted = LogisticRegression().fit(X[keep], y[keep])
    assert not np.allclose(model.estimator_.coef_, unweighted.coef_)


def test_pickle_and_clone(clf_data):
    X, y = clf_data
    model = CleanTrainingSet(LogisticRegression(), detector=detector()).fit(X, y)
    restored = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(restored.predict(X), model.predict(X))
    np.testing.assert_array_equal(restored.inlier_mask_, model.inlier_mask_)
    fresh = clone(model)
    assert not hasattr(fresh, "estimator_")
    assert fresh.detector.get_params() == model.detector.get_params()


def test_pandas_passes_through(clf_data):
    pd = pytest.importorskip("pandas")
    X, y = clf_data
    df = pd.DataFrame(X, columns=[f"col{i}" for i in range(X.shape[1])])
    labels = pd.Series(np.array(["x", "y", "z"])[y], index=df.index + 100)
    model = CleanTrainingSet(LogisticRegression(), detector=detector()).fit(df, labels)
    np.testing.assert_array_equal(model.feature_names_in_, df.columns)
    np.testing.assert_array_equal(model.estimator_.feature_names_in_, df.columns)
    np.testing.assert_array_equal(model.classes_, ["x", "y", "z"])
    assert set(model.predict(df)) <= {"x", "y", "z"}
    with pytest.raises(ValueError, match="feature names"):
        model.predict(df.rename(columns={"col0": "other"}))


def test_bad_input(clf_data):
    X, y = clf_data
    model = CleanTrainingSet(LogisticRegression(), detector=detector())
    with pytest.raises(NotFittedError):
        model.predict(X)
    with pytest.raises(ValueError, match="requires y to be passed"):
        model.fit(X, None)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        model.fit(X, y[:-1])
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="Input X contains NaN"):
        model.fit(X_nan, y)


def test_refuses_to_drop_a_whole_class(clf_data):
    X, y = clf_data
    # a fourth class of four rows far from the others: Isolation Forest flags
    # exactly them, so dropping leaves three classes
    X_rare = np.vstack([X, X[:4] + 100])
    y_rare = np.concatenate([y, np.full(4, 3)])
    forest = IsolationForest(contamination=4 / len(X_rare), random_state=0)
    assert np.all(np.flatnonzero(forest.fit_predict(X_rare) == -1) >= len(X))
    model = CleanTrainingSet(LogisticRegression(), detector=forest)
    with pytest.raises(ValueError, match=r"class\(es\) \[3\] was flagged"):
        model.fit(X_rare, y_rare)


def test_drop_spares_the_rows_whose_label_the_network_confirms(clf_data):
    X, y = clf_data
    # a fourth class made of copies of other classes' rows cannot be learned:
    # its rows get the largest gradients and are all flagged, but the network
    # still puts some of them in class 3 with that class's (low) confidence
    X_rare = np.vstack([X, X[:4]])
    y_rare = np.concatenate([y, np.full(4, 3)])
    model = CleanTrainingSet(LogisticRegression(), detector=detector(0.1))
    model.fit(X_rare, y_rare)
    flagged = np.flatnonzero(~model.inlier_mask_)
    assert set(range(len(X), len(X_rare))) <= set(flagged)
    assert 0 < len(model.spared_) < len(flagged)
    assert set(model.spared_) <= set(flagged)
    assert 3 in model.estimator_.classes_
    # spared: the network's probability of the given label reaches that
    # class's threshold; a flagged row left out either falls short of it or
    # has a more probable class
    report = model.detector_.report(X_rare, y_rare, training=True).sort_index()
    thresholds = model.detector_.class_thresholds_[report["given_label"]]
    given = report["given_proba"].to_numpy()
    confident = given >= thresholds
    assert confident[model.spared_].all()
    left_out = np.setdiff1d(flagged, model.spared_)
    more_probable = report["predicted_proba"].to_numpy() > given
    assert (~confident | more_probable)[left_out].all()
    expected = np.union1d(np.flatnonzero(model.inlier_mask_), model.spared_)
    np.testing.assert_array_equal(model.sample_indices_, expected)
    # the report's kept column, and the detector as a sampler, keep those rows
    np.testing.assert_array_equal(np.flatnonzero(report["kept"]), model.sample_indices_)
    sampler = clone(model.detector)  # unfitted, the same seed
    X_kept, y_kept = sampler.fit_resample(X_rare, y_rare)
    np.testing.assert_array_equal(sampler.sample_indices_, model.sample_indices_)
    np.testing.assert_array_equal(X_kept, X_rare[model.sample_indices_])
    np.testing.assert_array_equal(y_kept, y_rare[model.sample_indices_])


def test_detector_as_imblearn_cleaning_step(clf_data):
    imblearn_pipeline = pytest.importorskip("imblearn.pipeline")
    X, y = clf_data
    pipe = imblearn_pipeline.Pipeline(
        [("clean", detector()), ("model", LogisticRegression())]
    ).fit(X, y)
    kept = pipe.named_steps["clean"].sample_indices_
    assert len(kept) == 270
    reference = LogisticRegression().fit(X[kept], y[kept])
    np.testing.assert_allclose(pipe.named_steps["model"].coef_, reference.coef_)


def test_metadata_routing_passes_y_to_predict(clf_data):
    X, y = clf_data
    with sklearn.config_context(enable_metadata_routing=True):
        pipe = make_pipeline(StandardScaler(), detector()).fit(X, y)
        routed = pipe.predict(X, y=y)
    direct = pipe[-1].predict(pipe[0].transform(X), y)
    np.testing.assert_array_equal(routed, direct)
    assert (routed == -1).sum() == 30
