"""CleanTrainingSet as a metadata router: sample_weight from a Pipeline."""

import numpy as np
import pytest
import sklearn
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.datasets import make_classification
from sklearn.exceptions import UnsetMetadataPassedError
from sklearn.linear_model import LogisticRegression
from sklearn.neighbors import KNeighborsClassifier
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import StandardScaler

from skogad import CleanTrainingSet, GradientOutlierDetector
from tests._helpers import FAST


def detector():
    return GradientOutlierDetector(contamination=0.1, **FAST)


@pytest.fixture(scope="module")
def data():
    X, y = make_classification(120, 5, n_informative=3, random_state=0)
    weight = np.random.RandomState(0).uniform(0.2, 3, len(y))
    return X.astype(np.float32), y, weight


@pytest.fixture
def routing():
    with sklearn.config_context(enable_metadata_routing=True):
        yield


def pipeline(estimator, **kwargs):
    # StandardScaler.fit takes sample_weight too: routing wants it to say
    # whether it wants them, or it raises.
    return Pipeline(
        [
            ("scale", StandardScaler().set_fit_request(sample_weight=False)),
            ("clean", CleanTrainingSet(estimator, detector=detector(), **kwargs)),
        ]
    )


def test_pipeline_routes_sample_weight_to_the_estimator_on_kept_rows(data, routing):
    X, y, weight = data
    pipe = pipeline(LogisticRegression().set_fit_request(sample_weight=True))
    pipe.fit(X, y, sample_weight=weight)
    model = pipe.named_steps["clean"]
    # the detector is fitted on the rows alone: it takes no sample_weight
    Xs = StandardScaler().fit_transform(X)
    flags = detector().fit_predict(Xs, y)
    np.testing.assert_array_equal(model.inlier_mask_, flags == 1)
    keep = model.sample_indices_
    assert len(keep) < len(y)
    reference = LogisticRegression().fit(Xs[keep], y[keep], sample_weight=weight[keep])
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_)
    unweighted = LogisticRegression().fit(Xs[keep], y[keep])
    assert not np.allclose(model.estimator_.coef_, unweighted.coef_)


def test_weight_the_estimator_does_not_request_is_not_passed(data, routing):
    X, y, weight = data
    pipe = Pipeline(
        [
            ("scale", StandardScaler().set_fit_request(sample_weight=True)),
            (
                "clean",
                CleanTrainingSet(
                    LogisticRegression().set_fit_request(sample_weight=False),
                    detector=detector(),
                ),
            ),
        ]
    ).fit(X, y, sample_weight=weight)
    model = pipe.named_steps["clean"]
    Xs = StandardScaler().fit(X, sample_weight=weight).transform(X)
    keep = model.sample_indices_
    reference = LogisticRegression().fit(Xs[keep], y[keep])
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_)
    # as in a Pipeline: metadata nothing takes is an error, not dropped
    model = CleanTrainingSet(
        LogisticRegression().set_fit_request(sample_weight=False), detector=detector()
    )
    with pytest.raises(TypeError, match="not routed to any object"):
        model.fit(X, y, sample_weight=weight)


def test_unset_request_raises_sklearns_error(data, routing):
    X, y, weight = data
    message = r"LogisticRegression\.set_fit_request"
    with pytest.raises(UnsetMetadataPassedError, match=message):
        pipeline(LogisticRegression()).fit(X, y, sample_weight=weight)
    model = CleanTrainingSet(LogisticRegression(), detector=detector())
    with pytest.raises(UnsetMetadataPassedError, match=message):
        model.fit(X, y, sample_weight=weight)
    assert not hasattr(model, "detector_")


def test_score_routes_sample_weight(data, routing):
    X, y, weight = data
    estimator = LogisticRegression().set_score_request(sample_weight=True)
    model = CleanTrainingSet(estimator, detector=detector()).fit(X, y)
    weighted = model.estimator_.score(X, y, sample_weight=weight)
    assert weighted != model.estimator_.score(X, y)
    assert model.score(X, y, sample_weight=weight) == weighted
    pipe = make_pipeline(
        StandardScaler(), CleanTrainingSet(estimator, detector=detector())
    )
    pipe.fit(X, y)
    Xs = pipe[0].transform(X)
    assert pipe.score(X, y, sample_weight=weight) == pipe[-1].estimator_.score(
        Xs, y, sample_weight=weight
    )
    unset = CleanTrainingSet(LogisticRegression(), detector=detector()).fit(X, y)
    with pytest.raises(UnsetMetadataPassedError, match="set_score_request"):
        unset.score(X, y, sample_weight=weight)


class MajorityClassifier(ClassifierMixin, BaseEstimator):
    """A classifier whose fit and score take no metadata."""

    def fit(self, X, y):
        self.classes_, counts = np.unique(y, return_counts=True)
        self.majority_ = self.classes_[np.argmax(counts)]
        return self

    def predict(self, X):
        return np.full(len(X), self.majority_)

    def score(self, X, y):
        return float(np.mean(self.predict(X) == y))


def test_score_of_an_estimator_taking_no_metadata(data, routing):
    X, y, _ = data
    model = CleanTrainingSet(MajorityClassifier(), detector=detector()).fit(X, y)
    assert model.score(X, y) == model.estimator_.score(X, y)


def test_score_without_routing_is_unchanged(data):
    X, y, weight = data
    model = CleanTrainingSet(LogisticRegression(), detector=detector()).fit(X, y)
    assert model.score(X, y, sample_weight=weight) == model.estimator_.score(
        X, y, sample_weight=weight
    )
    with pytest.raises(ValueError, match="enable_metadata_routing=True"):
        model.score(X, y, other=weight)


def test_weight_action_multiplies_the_routed_weights(data, routing):
    X, y, weight = data
    estimator = LogisticRegression().set_fit_request(sample_weight=True)
    model = CleanTrainingSet(estimator, detector=detector(), action="weight")
    model.fit(X, y, sample_weight=weight)
    assert (model.sample_weight_ < 1).any()
    given = model.sample_weight_ * weight
    reference = LogisticRegression().fit(X, y, sample_weight=given)
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_)


def test_weight_action_without_request_or_weights(data, routing):
    X, y, _ = data
    # the meta-estimator's own weights need no request, as Bagging's do not
    model = CleanTrainingSet(LogisticRegression(), detector=detector(), action="weight")
    model.fit(X, y)
    reference = LogisticRegression().fit(X, y, sample_weight=model.sample_weight_)
    np.testing.assert_allclose(model.estimator_.coef_, reference.coef_)
    # a Pipeline gets them as sample_weight, routed to the step requesting it
    inner = make_pipeline(
        StandardScaler().set_fit_request(sample_weight=False),
        LogisticRegression().set_fit_request(sample_weight=True),
    )
    model = CleanTrainingSet(inner, detector=detector(), action="weight").fit(X, y)
    Xs = StandardScaler().fit_transform(X)
    reference = LogisticRegression().fit(Xs, y, sample_weight=model.sample_weight_)
    np.testing.assert_allclose(model.estimator_[-1].coef_, reference.coef_)


def test_weight_action_refuses_an_estimator_without_sample_weight(data, routing):
    X, y, _ = data
    model = CleanTrainingSet(
        KNeighborsClassifier(), detector=detector(), action="weight"
    )
    with pytest.raises(ValueError, match=r"KNeighborsClassifier\.fit takes none"):
        model.fit(X, y)
