"""GradientOutlierDetector: behaviour, nets, scorers, labels, bad input."""

import pickle
import re

import numpy as np
import pytest
import torch
from sklearn.base import clone
from sklearn.ensemble import IsolationForest
from sklearn.exceptions import NotFittedError
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import LocalOutlierFactor
from sklearn.svm import OneClassSVM
from skorch import NeuralNetClassifier
from torch import nn

from skogad import GradientOutlierDetector, TabularMLP
from skogad.noise import flip_labels
from tests._helpers import FAST


def small_net(**kwargs):
    defaults = {
        "module__n_features": 8,
        "module__n_outputs": 3,
        "criterion": nn.CrossEntropyLoss,
        "max_epochs": 5,
        "train_split": None,
        "verbose": 0,
    }
    return NeuralNetClassifier(TabularMLP, **{**defaults, **kwargs})


@pytest.fixture(scope="module")
def frozen_net(clf_data_shared):
    """A small net fitted on `clf_data`, predicting 98% of its labels, frozen:
    a detector on it trains nothing, for the tests of what follows training
    (scorers, thresholds)."""
    net = small_net(max_epochs=30, optimizer=torch.optim.Adam, lr=0.01)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        return FrozenEstimator(net.fit(*clf_data_shared))


# ------------------------------------------------------------------ quality
def test_detects_planted_label_noise():
    from sklearn.datasets import make_classification

    X, y = make_classification(
        600, 10, n_informative=6, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    y_noisy, noisy = flip_labels(y, 0.2, random_state=0)
    det = GradientOutlierDetector(random_state=0).fit(X, y_noisy)
    auroc = roc_auc_score(noisy, -det.train_scores_)
    # random scores sit at 0.5; the default reaches about 0.95 here
    assert auroc > 0.85
    flags = det.predict(X, y_noisy) == -1
    assert flags[noisy].mean() > 5 * flags[~noisy].mean()


@pytest.mark.parametrize("params", ["last", "all"])
def test_projection_keeps_detection_quality(params):
    from sklearn.datasets import make_classification

    X, y = make_classification(
        600, 10, n_informative=6, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    y_noisy, noisy = flip_labels(y, 0.2, random_state=0)
    exact = GradientOutlierDetector(
        params=params, scorer="iforest", random_state=0
    ).fit(X, y_noisy)
    projected = GradientOutlierDetector(
        params=params, scorer="iforest", projection=24, random_state=0
    ).fit(X, y_noisy)
    n_params = sum(
        p.numel()
        for n, p in exact.nets_[0].module_.named_parameters()
        if n in exact.param_names_
    )
    assert exact.scorers_[0].n_features_in_ == n_params > 24
    assert projected.scorers_[0].n_features_in_ <= 24
    auroc = roc_auc_score(noisy, -projected.train_scores_)
    assert auroc > 0.85
    assert auroc > roc_auc_score(noisy, -exact.train_scores_) - 0.05
    # the projection is part of the fitted detector: same scores after pickling
    restored = pickle.loads(pickle.dumps(projected))
    np.testing.assert_allclose(
        restored.score_samples(X, y_noisy), projected.score_samples(X, y_noisy)
    )


def test_norm_scorers_ignore_the_projection(clf_data, fast_detector):
    X, y = clf_data
    plain = fast_detector
    assert plain.scorer == "l2" and plain.projection is None
    projected = GradientOutlierDetector(scorer="l2", projection=4, **FAST).fit(X, y)
    np.testing.assert_allclose(plain.train_scores_, projected.train_scores_)


def test_batch_size_does_not_change_scores(clf_data, fast_detector):
    X, y = clf_data
    auto = fast_detector
    small = GradientOutlierDetector(batch_size=7, **FAST).fit(X, y)
    np.testing.assert_allclose(auto.train_scores_, small.train_scores_, rtol=1e-6)
    # nor does scoring a subset of rows (to float32 rounding: a matrix product
    # of a few rows may round unlike one of many)
    rows = np.arange(0, len(X), 3)
    np.testing.assert_allclose(
        auto.decision_function(X[rows], y[rows]),
        auto.decision_function(X, y)[rows],
        rtol=1e-6,
        atol=1e-6,
    )


def test_memorised_net_scores_worse_than_early_stopped():
    """The measured reason for the default timing, kept as a regression test."""
    from sklearn.datasets import load_breast_cancer

    X, y = load_breast_cancer(return_X_y=True)
    y_noisy, noisy = flip_labels(y, 0.2, random_state=0)
    auroc = {
        timing: roc_auc_score(
            noisy,
            -GradientOutlierDetector(timing=timing, random_state=0)
            .fit(X, y_noisy)
            .train_scores_,
        )
        for timing in ["early_stopping", "final"]
    }
    # measured 0.992 against 0.960: the final net has fit more of the flips
    assert auroc["early_stopping"] > auroc["final"] + 0.02


# ----------------------------------------------------------- sklearn semantics
@pytest.mark.parametrize("contamination", [0.05, 0.1, 0.3])
def test_contamination_sets_fraction_flagged(clf_data, frozen_net, contamination):
    X, y = clf_data
    det = GradientOutlierDetector(frozen_net, contamination=contamination, **FAST)
    flags = det.fit_predict(X, y)
    assert set(np.unique(flags)) <= {-1, 1}
    assert abs((flags == -1).mean() - contamination) <= 2 / len(X)
    np.testing.assert_allclose(
        det.decision_function(X, y), det.score_samples(X, y) - det.offset_
    )


def test_fit_predict_uses_y_and_matches_predict(clf_data):
    X, y = clf_data
    det = GradientOutlierDetector(contamination=0.1, **FAST)
    flags = det.fit_predict(X, y)
    np.testing.assert_array_equal(flags, det.predict(X, y))
    np.testing.assert_allclose(det.train_scores_, det.score_samples(X, y))
    # other labels give other gradients, hence other scores
    assert not np.allclose(det.score_samples(X, (y + 1) % 3), det.train_scores_)


def test_score_without_y_uses_predicted_labels(clf_data, fast_detector):
    X, y = clf_data
    det = fast_detector
    predicted = det.nets_[0].predict(det._transform(X.astype(np.float32)))
    np.testing.assert_allclose(det.score_samples(X), det.score_samples(X, predicted))
    assert isinstance(det.score(X, y), float)


def test_same_seed_same_scores_other_seed_other_scores(clf_data):
    X, y = clf_data
    a = GradientOutlierDetector(**{**FAST, "random_state": 3}).fit(X, y).train_scores_
    b = GradientOutlierDetector(**{**FAST, "random_state": 3}).fit(X, y).train_scores_
    c = GradientOutlierDetector(**{**FAST, "random_state": 4}).fit(X, y).train_scores_
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_fit_does_not_touch_global_torch_rng(clf_data):
    X, y = clf_data
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    GradientOutlierDetector(**FAST).fit(X, y)
    torch.testing.assert_close(torch.rand(3), expected)


@pytest.fixture(scope="module", params=["early_stopping", "final", "checkpoints"])
def timed(request, clf_data_shared):
    """A detector fitted with each timing, shared by the tests that only read it.

    The net is a 10-epoch template, so that "final" and "checkpoints" (5
    snapshots: epochs 1, 3, 6, 8, 10) do not spend the default's whole budget.
    """
    X, y = clf_data_shared
    timing = request.param
    det = GradientOutlierDetector(
        small_net(max_epochs=10),
        timing=timing,
        contamination=0.1,
        random_state=0,
        device="cpu",
    )
    return timing, det.fit(X, y), X, y


def test_timings_produce_members(timed):
    timing, det, X, y = timed
    n_members = 5 if timing == "checkpoints" else 1
    assert len(det.scorers_) == n_members and len(det.nets_) == 1
    np.testing.assert_allclose(det.score_samples(X, y), det.train_scores_)


def test_out_of_fold_scores_each_row_with_the_net_that_did_not_see_it(clf_data):
    X, y = clf_data
    det = GradientOutlierDetector(**{**FAST, "timing": "out_of_fold"}, cv=3).fit(X, y)
    assert len(det.nets_) == 3
    coverage = sum(m.rows.astype(int) for m in det._members)
    assert len({id(m.module) for m in det._members}) == 3
    np.testing.assert_array_equal(coverage, 1)
    assert det.predict(X, y).shape == (len(X),)


def test_early_stopping_stops_before_max_epochs(clf_data):
    X, y = clf_data
    y_noisy, _ = flip_labels(y, 0.3, random_state=1)
    det = GradientOutlierDetector(random_state=0).fit(X, y_noisy)
    net = det.nets_[0]
    assert len(net.history) < net.max_epochs


# ------------------------------------------------------------------- nets
def test_fitted_net_is_used_as_is(clf_data):
    X, y = clf_data
    net = small_net().fit(X, y)
    weights = {k: v.clone() for k, v in net.module_.state_dict().items()}
    epochs = len(net.history)
    det = GradientOutlierDetector(net, **FAST).fit(X, y)
    assert det.nets_[0] is net and len(net.history) == epochs
    for k, v in net.module_.state_dict().items():
        torch.testing.assert_close(v, weights[k])
    assert det.scaler_ is None


def test_frozen_net_survives_clone(clf_data):
    X, y = clf_data
    net = small_net().fit(X, y)
    det = clone(GradientOutlierDetector(FrozenEstimator(net), **FAST))
    det.fit(X, y)
    assert det.nets_[0] is net


def test_unfitted_skorch_net_is_cloned_and_trained(clf_data):
    X, y = clf_data
    net = small_net()
    det = GradientOutlierDetector(net, **{**FAST, "timing": "final"}).fit(X, y)
    assert not getattr(net, "initialized_", False)
    assert len(det.nets_[0].history) == 5


class Logits(nn.Module):
    def __init__(self, n_features=1, n_outputs=2):
        super().__init__()
        self.lin = nn.Linear(n_features, n_outputs)

    def forward(self, X):
        return self.lin(X)


@pytest.mark.parametrize("net", [Logits, Logits(8, 3)], ids=["class", "instance"])
def test_torch_module_is_wrapped(clf_data, net):
    X, y = clf_data
    det = GradientOutlierDetector(net, **FAST).fit(X, y)
    assert isinstance(det.nets_[0].module_, Logits)
    assert det.param_names_ == ["lin.bias"]  # params="output"


def test_regression(reg_data):
    X, y = reg_data
    y = y.copy()
    y[:10] += 8  # corrupted targets
    det = GradientOutlierDetector(contamination=0.05, random_state=0).fit(X, y)
    assert not hasattr(det, "classes_")
    assert np.isfinite(det.offset_)
    flags = det.predict(X, y)
    assert (flags[:10] == -1).mean() >= 0.8
    with pytest.raises(ValueError, match="regressor needs y"):
        det.score_samples(X)


# ------------------------------------------------------------------ scorers
@pytest.mark.parametrize(
    "scorer",
    [
        "iforest",
        "l1",
        "l2",
        IsolationForest(n_estimators=50),
        LocalOutlierFactor(novelty=True),
        OneClassSVM(),
    ],
    ids=lambda s: s if isinstance(s, str) else type(s).__name__,
)
@pytest.mark.parametrize("contamination", ["auto", 0.1])
def test_scorers(clf_data, frozen_net, scorer, contamination):
    X, y = clf_data
    det = GradientOutlierDetector(
        frozen_net, scorer=scorer, contamination=contamination, **FAST
    )
    flags = det.fit_predict(X, y)
    assert set(np.unique(flags)) <= {-1, 1}
    if contamination == 0.1:
        assert abs((flags == -1).sum() - 30) <= 2
    if not isinstance(scorer, str):
        assert det.scorers_[0] is not scorer


def test_pyod_scorer_adapter(clf_data):
    pyod_iforest = pytest.importorskip("pyod.models.iforest")
    X, y = clf_data
    y_noisy, noisy = flip_labels(y, 0.2, random_state=0)
    det = GradientOutlierDetector(
        scorer=pyod_iforest.IForest(random_state=0), params="last", **FAST
    )
    flags = det.fit_predict(X, y_noisy)
    pyod = det.scorers_[0]
    # PyOD's "higher = more abnormal" is turned round: same ranking, sign flipped
    np.testing.assert_allclose(det.train_scores_, -pyod.decision_scores_, rtol=1e-6)
    assert set(np.unique(flags)) <= {-1, 1}
    assert roc_auc_score(noisy, -det.train_scores_) > 0.7


def test_pyod_threshold_is_the_auto_threshold_for_regression(reg_data):
    pyod_iforest = pytest.importorskip("pyod.models.iforest")
    X, y = reg_data
    det = GradientOutlierDetector(scorer=pyod_iforest.IForest(random_state=0), **FAST)
    det.fit(X, y)
    assert det.offset_ == pytest.approx(-det.scorers_[0].threshold_)


@pytest.mark.parametrize("rate", [0.0, 0.1, 0.3])
def test_auto_contamination_estimates_the_noise_rate(rate):
    from sklearn.datasets import load_digits

    X, y = load_digits(return_X_y=True)
    y_noisy, noisy = flip_labels(y, rate, random_state=0)
    det = GradientOutlierDetector(random_state=0).fit(X, y_noisy)
    flags = det.fit_predict(X, y_noisy) == -1
    assert det.contamination_ == pytest.approx(flags.mean())
    # the confident-learning estimate tracks the flips (measured: 0.000, 0.070,
    # 0.289 for 0, 0.1, 0.3); it counts only rows whose net is confident of
    # another class, so it errs low where the net has half learnt a flip
    assert abs(det.contamination_ - rate) < 0.05
    if rate:
        # measured precision 0.99 and 0.97, recall 0.72 and 0.92
        assert noisy[flags].mean() > 0.95 and flags[noisy].mean() > 0.65
    else:
        assert det.contamination_ < 0.01
    # every flagged row is one whose label the net does not predict
    report = det.report(X, y_noisy, training=True)
    disagree = report["predicted_label"] != report["given_label"]
    assert disagree[report["flagged"]].all()


# ------------------------------------------------------------------- labels
def test_string_and_noncontiguous_labels(clf_data, fast_detector):
    X, y = clf_data
    as_int = fast_detector.train_scores_
    strings = np.array(["bird", "cat", "dog"])[y]
    sparse_ints = np.array([3, 10, 42])[y]
    for labels in (strings, sparse_ints):
        fitted = GradientOutlierDetector(**FAST).fit(X, labels)
        np.testing.assert_array_equal(fitted.classes_, np.unique(labels))
        np.testing.assert_allclose(fitted.train_scores_, as_int)
        np.testing.assert_allclose(fitted.score_samples(X, labels), as_int)


def test_pandas_input(clf_data, fast_detector):
    pd = pytest.importorskip("pandas")
    X, y = clf_data
    df = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    labels = pd.Series(np.array(["a", "b", "c"])[y])
    det = GradientOutlierDetector(**FAST).fit(df, labels)
    np.testing.assert_array_equal(det.feature_names_in_, df.columns)
    expected = fast_detector.train_scores_
    np.testing.assert_allclose(det.score_samples(df, labels), expected)
    X_kept, y_kept = det.set_params(contamination=0.1).fit_resample(df, labels)
    assert isinstance(X_kept, pd.DataFrame) and isinstance(y_kept, pd.Series)
    assert len(X_kept) == len(det.sample_indices_) == 270
    assert list(X_kept.index) == list(det.sample_indices_)


# ------------------------------------------------------------- persistence
def test_pickle_and_clone(timed):
    _, det, X, y = timed
    restored = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(restored.score_samples(X, y), det.score_samples(X, y))
    np.testing.assert_array_equal(restored.predict(X, y), det.predict(X, y))
    fresh = clone(det)
    assert not hasattr(fresh, "offset_")
    assert fresh.get_params()["contamination"] == 0.1


def test_input_is_not_modified(clf_data):
    X, y = clf_data
    X_copy, y_copy = X.copy(), y.copy()
    GradientOutlierDetector(**FAST).fit(X, y).score_samples(X, y)
    np.testing.assert_array_equal(X, X_copy)
    np.testing.assert_array_equal(y, y_copy)


# ---------------------------------------------------------------- bad input
def test_y_required(clf_data):
    X, _ = clf_data
    det = GradientOutlierDetector(**FAST)
    with pytest.raises(ValueError, match="requires y to be passed"):
        det.fit(X)
    with pytest.raises(ValueError, match="requires y to be passed"):
        det.fit_predict(X)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_x(clf_data, fast_detector, bad):
    X, y = clf_data
    X = X.copy()
    X[3, 2] = bad
    with pytest.raises(ValueError, match=r"Input X contains (NaN|infinity)"):
        GradientOutlierDetector(**FAST).fit(X, y)
    with pytest.raises(ValueError, match=r"Input X contains (NaN|infinity)"):
        fast_detector.score_samples(X, y)


def test_non_finite_y(reg_data):
    X, y = reg_data
    y = y.copy()
    y[0] = np.nan
    with pytest.raises(ValueError, match="Input y contains NaN"):
        GradientOutlierDetector(**FAST).fit(X, y)


def test_length_mismatch(clf_data, fast_detector):
    X, y = clf_data
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        GradientOutlierDetector(**FAST).fit(X, y[:-1])
    with pytest.raises(ValueError, match="different numbers of samples"):
        fast_detector.score_samples(X, y[:-1])


def test_single_class(clf_data):
    X, _ = clf_data
    with pytest.raises(ValueError, match="only one class"):
        GradientOutlierDetector(**FAST).fit(X, np.zeros(len(X), dtype=int))


def test_unseen_label_at_score_time(clf_data, fast_detector):
    X, y = clf_data
    det = fast_detector
    y_bad = y.copy()
    y_bad[0] = 7
    with pytest.raises(ValueError, match=r"not trained on: \[7\]"):
        det.score_samples(X, y_bad)
    with pytest.raises(ValueError, match=r"not trained on: \[7\]"):
        det.predict(X, y_bad)
    with pytest.raises(ValueError, match=r"not trained on: \['cat'\]"):
        det.score_samples(X[:2], ["cat", "cat"])


def test_early_stopping_with_a_class_of_one_row(clf_data):
    X, y = clf_data
    y = y.copy()
    y[0] = 5  # a class with one member cannot be stratified
    det = GradientOutlierDetector(**FAST).fit(X, y)  # early stopping: a split
    np.testing.assert_array_equal(det.classes_, [0, 1, 2, 5])


def test_wrong_number_of_features(clf_data, fast_detector):
    X, y = clf_data
    with pytest.raises(ValueError, match="features"):
        fast_detector.score_samples(X[:, :5], y)


@pytest.mark.parametrize("contamination", [0, 0.6, -1, "bogus"])
def test_contamination_out_of_range(clf_data, contamination):
    X, y = clf_data
    with pytest.raises(ValueError, match="contamination"):
        GradientOutlierDetector(contamination=contamination, **FAST).fit(X, y)


@pytest.mark.parametrize(
    "params, match",
    [
        ({"scorer": "bogus"}, "scorer"),
        ({"scorer": LogisticRegression()}, "outlier detector"),
        ({"timing": "later"}, "timing"),
        ({"params": ["nope"]}, "No trainable parameter or submodule named 'nope'"),
        ({"net": "mlp"}, "net"),
        ({"projection": 0}, "projection"),
        ({"batch_size": "large"}, "batch_size"),
    ],
)
def test_bad_parameters(clf_data, params, match):
    X, y = clf_data
    with pytest.raises((ValueError, TypeError), match=match):
        GradientOutlierDetector(**{**FAST, **params}).fit(X, y)


def test_auto_contamination_needs_a_threshold_for_regression(reg_data):
    X, y = reg_data

    class NoThreshold(IsolationForest):
        def fit(self, X, y=None):
            super().fit(X)
            del self.offset_
            return self

        def score_samples(self, X):
            return -self._compute_chunked_score_samples(X)

    det = GradientOutlierDetector(scorer=NoThreshold(), **FAST)
    with pytest.raises(ValueError, match="set contamination to a float"):
        det.fit(X, y)


@pytest.mark.parametrize("method", ["score_samples", "decision_function", "predict"])
def test_not_fitted(clf_data, method):
    X, y = clf_data
    with pytest.raises(NotFittedError):
        getattr(GradientOutlierDetector(), method)(X, y)


class Exploding(nn.Module):
    def __init__(self, n_features=1, n_outputs=2):
        super().__init__()
        self.lin = nn.Linear(n_features, n_outputs)

    def forward(self, X):
        return self.lin(X) * float("inf")


def test_net_whose_loss_goes_nan(clf_data):
    X, y = clf_data
    with pytest.raises(FloatingPointError, match="training loss became nan"):
        GradientOutlierDetector(Exploding, **FAST).fit(X, y)


def test_fitted_net_trained_to_a_nan_loss(clf_data):
    # skorch's default criterion is NLLLoss, which wants probabilities: on a
    # module that outputs logits it trains to a NaN loss with finite gradients
    X, y = clf_data
    net = small_net(criterion=nn.NLLLoss, max_epochs=2).fit(X, y)
    assert not np.isfinite(net.history[-1, "train_loss"])
    with pytest.raises(FloatingPointError, match="CrossEntropyLoss"):
        GradientOutlierDetector(net, **FAST).fit(X, y)
    with pytest.raises(FloatingPointError, match="training loss became nan"):
        GradientOutlierDetector(FrozenEstimator(net), **FAST).fit(X, y)


def test_fitted_net_with_non_finite_gradients(clf_data):
    X, y = clf_data
    net = NeuralNetClassifier(
        Exploding,
        module__n_features=8,
        module__n_outputs=3,
        max_epochs=0,
        criterion=nn.CrossEntropyLoss,
        verbose=0,
    ).initialize()
    with pytest.raises(ValueError, match="create it with classes"):
        GradientOutlierDetector(net, **FAST).fit(X, y)
    net = clone(net).set_params(classes=[0, 1, 2]).initialize()
    with pytest.raises(FloatingPointError, match="NaN or infinite"):
        GradientOutlierDetector(net, **FAST).fit(X, y)


def test_grid_search_scores_a_detector_alone(clf_data, frozen_net):
    from sklearn.model_selection import GridSearchCV

    X, y = clf_data
    search = GridSearchCV(
        GradientOutlierDetector(frozen_net, **FAST), {"scorer": ["l1", "l2"]}, cv=2
    ).fit(X, y)
    assert search.best_params_["scorer"] in ("l1", "l2")
    assert np.all(np.isfinite(search.cv_results_["mean_test_score"]))


def test_verbose_shows_progress(clf_data, capsys, monkeypatch):
    # tqdm trims each line to the terminal's width, read from COLUMNS where
    # stderr is no terminal (tqdm 4.60 cuts the losses off at 80 columns, the
    # width pytest-xdist's workers set), so the test gives a wide one.
    monkeypatch.setenv("COLUMNS", "200")
    X, y = clf_data
    det = GradientOutlierDetector(verbose=1, batch_size=100, **FAST).fit(X, y)
    captured = capsys.readouterr()
    assert "gradients" in captured.err  # tqdm over the 3 chunks
    assert "training" in captured.err and "valid_loss=" in captured.err  # epochs
    assert captured.out == ""
    pickle.loads(pickle.dumps(det))  # the closed bar is not kept
    GradientOutlierDetector(verbose=2, **FAST).fit(X, y)
    assert "valid_loss" in capsys.readouterr().out  # skorch's epoch table
    # stopped early, the bar ends full at the epochs run, not at a 20 of 100
    GradientOutlierDetector(verbose=1, **FAST).fit(X, y)
    bar = capsys.readouterr().err.split("gradients")[0].split("\r")[-2]
    ran = re.search(r"stopped at epoch (\d+) of at most \d+\): 100%", bar)
    assert ran and f"| {ran[1]}/{ran[1]} [" in bar, bar
    GradientOutlierDetector(**FAST).fit(X, y)
    quiet = capsys.readouterr()
    assert quiet.err == "" and quiet.out == ""


def test_flip_labels_rejects_bad_input():
    with pytest.raises(ValueError, match="rate must be in"):
        flip_labels([0, 1], 1.5)
    with pytest.raises(ValueError, match="at least two classes"):
        flip_labels([0, 0], 0.5)


def test_text_and_categorical_columns_are_named_before_any_work():
    from sklearn.datasets import make_classification

    pd = pytest.importorskip("pandas")
    X, y = make_classification(120, 4, random_state=0)
    frame = pd.DataFrame(X, columns=list("abcd"))
    text = frame.assign(
        colour=pd.Categorical(np.resize(["u", "v"], 120)),
        name=pd.array(np.resize(["x", "y"], 120), dtype="string"),
    )
    detector = GradientOutlierDetector(**FAST)
    with pytest.raises(ValueError, match=r"2 non-numeric column\(s\): 'colour' \("):
        detector.fit(text, y)
    # numbers held in an object, string or categorical column are numbers, as
    # NumPy takes them
    numbers = frame.astype({"a": object, "b": "string"}).assign(
        c=pd.Categorical(frame["c"])
    )
    fitted = detector.fit(numbers, y)
    with pytest.raises(ValueError, match="'colour' \\(category\\)"):
        fitted.score_samples(text[["a", "b", "c", "colour"]], y)
