"""Reliability and safety (issue 16): interrupted fits, the task, target scale,
probability outputs, the training rows of a report, and errors that say what
to do. Real skorch nets on small generated data."""

import pickle
import warnings

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification, make_regression
from sklearn.exceptions import NotFittedError
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.utils.validation import check_is_fitted
from skorch import NeuralNetClassifier, NeuralNetRegressor
from skorch.callbacks import EarlyStopping
from torch import nn

from skogad import CleanTrainingSet, GradientOutlierDetector, TabularMLP

FAST = {"timing": "final", "random_state": 0, "device": "cpu"}


class CountingMLP(TabularMLP):
    """The default network, counting the batches it is trained on."""

    training_batches = 0
    interrupt_at = None  # raise KeyboardInterrupt at this training batch

    def forward(self, X):
        if self.training:
            type(self).training_batches += 1
            if type(self).training_batches == self.interrupt_at:
                raise KeyboardInterrupt
        return super().forward(X)


class InterruptedMLP(CountingMLP):
    interrupt_at = 3


class SoftmaxMLP(CountingMLP):
    """Outputs probabilities, which the docstring asks not to do."""

    def forward(self, X):
        return torch.softmax(super().forward(X), dim=1)


@pytest.fixture(autouse=True)
def _count_from_zero():
    for cls in (CountingMLP, InterruptedMLP, SoftmaxMLP):
        cls.training_batches = 0


@pytest.fixture
def clf():
    X, y = make_classification(
        200, 6, n_informative=4, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    return X.astype(np.float32), y


def _quick(**params):
    return GradientOutlierDetector(**{**FAST, **params})


# 1. Ctrl-C during training -------------------------------------------------


def test_an_interrupted_fit_raises_keyboard_interrupt(clf):
    with pytest.raises(KeyboardInterrupt):
        _quick(net=InterruptedMLP).fit(*clf)
    assert InterruptedMLP.training_batches == 3  # training did stop there


def test_an_interrupted_fit_leaves_no_fitted_estimator(clf):
    det = _quick(net=InterruptedMLP)
    with pytest.raises(KeyboardInterrupt):
        det.fit(*clf)
    with pytest.raises(NotFittedError):
        check_is_fitted(det)
    assert [name for name in vars(det) if name.endswith("_")] == []


def test_an_interrupted_refit_keeps_the_previous_fit(clf):
    det = _quick(net=CountingMLP).fit(*clf)
    before = dict(vars(det))
    scores = det.score_samples(*clf)
    with pytest.raises(KeyboardInterrupt):
        det.set_params(net=InterruptedMLP).fit(*clf)
    after = {k: v for k, v in vars(det).items() if k != "net"}
    assert after.keys() == {k for k in before if k != "net"}
    assert all(after[k] is before[k] for k in after)
    np.testing.assert_array_equal(det.score_samples(*clf), scores)


def test_an_interrupted_fit_of_clean_training_set_leaves_it_unfitted(clf):
    model = CleanTrainingSet(LogisticRegression(), detector=_quick(net=InterruptedMLP))
    with pytest.raises(KeyboardInterrupt):
        model.fit(*clf)
    with pytest.raises(NotFittedError):
        check_is_fitted(model)


def test_early_stopping_still_ends_training_quietly(clf):
    det = GradientOutlierDetector(patience=1, random_state=0, device="cpu")
    det.fit(*clf)  # EarlyStopping's own KeyboardInterrupt is no Ctrl-C
    assert len(det.nets_[0].history) < det.nets_[0].max_epochs


def test_a_users_early_stopping_callback_still_stops_training(clf):
    net = NeuralNetClassifier(
        CountingMLP,
        module__n_features=6,
        module__n_outputs=3,
        criterion=nn.CrossEntropyLoss,
        max_epochs=200,
        callbacks=[EarlyStopping(monitor="train_loss", patience=1, threshold=0.5)],
        verbose=0,
    )
    det = _quick(net=net, contamination=0.1).fit(*clf)
    assert len(det.nets_[0].history) < 200


# 2. task: whole-number targets -------------------------------------------


def _prices(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)).astype(np.float32)
    price = 50_000 + 15_000 * X[:, 0] + 5_000 * X[:, 1] + rng.normal(0, 2_000, n)
    return X, np.clip(np.round(price), 0, 100_000).astype(np.int64)


def test_whole_number_quantities_are_regressed_with_a_warning():
    X, y = _prices()
    with pytest.warns(UserWarning, match=r"regression.*task='classification'"):
        det = _quick().fit(X, y)
    assert not hasattr(det, "classes_")
    assert det.target_scaler_ is not None


@pytest.mark.parametrize(
    "y",
    [
        np.arange(300) % 3,  # class codes, 100 rows each
        np.arange(300) % 3 + 0.0,  # the same as floats
        np.array(["cat", "dog", "emu"] * 100),  # strings
        np.array(["a", "b"] * 150, dtype=object),
        np.arange(300) % 2 * 1000,  # two values
    ],
    ids=["codes", "float codes", "strings", "objects", "binary"],
)
def test_labels_stay_classes_without_a_warning(y):
    X = np.random.default_rng(0).normal(size=(300, 4)).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        det = _quick(net=CountingMLP).set_params(timing="final").fit(X, y)
    assert len(det.classes_) == len(np.unique(y))


def test_task_overrides_the_guess():
    X, y = _prices(120)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        as_classes = _quick(task="classification").fit(X, y % 20 + 18)
        as_targets = _quick(task="regression").fit(X, np.arange(120) % 3)
    assert len(as_classes.classes_) == 20
    assert not hasattr(as_targets, "classes_")


def test_counts_the_net_cannot_predict_as_classes_suggest_task_regression():
    # Counts 0..12 that take every value look like class codes; the net then
    # predicts few of them exactly, and the fit says so.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(400, 5)).astype(np.float32)
    counts = np.minimum(rng.poisson(np.exp(1.5 + 0.6 * X[:, 0])), 12)
    assert np.array_equal(np.unique(counts), np.arange(13))
    det = GradientOutlierDetector(random_state=0, device="cpu")
    with pytest.warns(UserWarning, match=r"flags the most.*task='regression'"):
        det.fit(X, counts)
    assert det.contamination_ == pytest.approx(0.5, abs=0.01)


def test_a_skorch_net_decides_the_task():
    X, y = _prices(120)
    net = NeuralNetClassifier(
        CountingMLP,
        module__n_features=5,
        module__n_outputs=2,
        criterion=nn.CrossEntropyLoss,
        max_epochs=2,
    )
    det = _quick(net=net).fit(X, y > 50_000)
    assert len(det.classes_) == 2
    regressor = NeuralNetRegressor(
        CountingMLP, module__n_features=5, module__n_outputs=1, max_epochs=2
    )
    with pytest.raises(ValueError, match="contradicts the net"):
        _quick(net=regressor, task="classification").fit(X, y.astype(np.float32))


def test_string_labels_cannot_be_regressed():
    X, _ = _prices(60)
    with pytest.raises(ValueError, match="numeric targets"):
        _quick(task="regression").fit(X, np.array(["a", "b", "c"] * 20))


def test_a_fractional_target_cannot_be_classified():
    X, y = _prices(60)
    with pytest.raises(ValueError, match="class labels"):
        _quick(task="classification").fit(X, y / 7.0)


# 3. regression targets are standardized ----------------------------------


def _planted_regression(scale):
    X, y = make_regression(300, 6, noise=5.0, random_state=0)
    rng = np.random.default_rng(0)
    bad = rng.random(len(y)) < 0.1
    y = y / y.std()
    y[bad] += rng.choice([-3.0, 3.0], bad.sum())
    return X.astype(np.float32), y * scale, bad


def test_planted_target_errors_are_found_at_any_scale():
    aurocs = []
    for scale in (1.0, 4e5):
        X, y, bad = _planted_regression(scale)
        det = GradientOutlierDetector(random_state=0, device="cpu").fit(X, y)
        aurocs.append(roc_auc_score(bad, -det.train_scores_))
    assert min(aurocs) > 0.9, aurocs
    assert abs(aurocs[0] - aurocs[1]) < 0.02, aurocs


def test_the_report_gives_targets_in_their_own_units():
    X, y, bad = _planted_regression(4e5)
    det = GradientOutlierDetector(random_state=0, device="cpu").fit(X, y)
    report = det.report(X, y, training=True).sort_index()
    np.testing.assert_allclose(report["given_target"], y)
    np.testing.assert_allclose(
        report["residual"], report["given_target"] - report["predicted_target"]
    )
    # the planted rows are off by 3 standard deviations, in price units
    assert np.median(np.abs(report["residual"][bad])) > 2 * y.std() / 3
    assert np.median(np.abs(report["residual"][~bad])) < y.std() / 3


# 4. a module that outputs probabilities ----------------------------------


def test_a_module_that_outputs_probabilities_is_refused_before_training(clf):
    with pytest.raises(ValueError, match=r"outputs probabilities.*logits"):
        _quick(net=SoftmaxMLP).fit(*clf)
    assert SoftmaxMLP.training_batches == 0


def test_a_fitted_net_that_outputs_probabilities_is_refused(clf):
    net = NeuralNetClassifier(
        SoftmaxMLP,
        module__n_features=6,
        module__n_outputs=3,
        criterion=nn.CrossEntropyLoss,
        max_epochs=2,
        verbose=0,
    ).fit(*clf)
    with pytest.raises(ValueError, match="logits"):
        _quick(net=net).fit(*clf)


def test_probabilities_under_skorchs_nll_loss_are_accepted(clf):
    # skorch's own convention: the module outputs probabilities, and
    # NeuralNetClassifier takes their log for its default NLLLoss.
    net = NeuralNetClassifier(
        SoftmaxMLP, module__n_features=6, module__n_outputs=3, max_epochs=5
    )
    det = _quick(net=net, contamination=0.1).fit(*clf)
    assert np.isfinite(det.train_scores_).all()


# 5. report(training=True) gets the training rows -------------------------


def test_a_report_on_reordered_training_rows_raises(clf):
    X, y = clf
    det = _quick().fit(X, y)
    with pytest.raises(ValueError, match="in the order they were fitted"):
        det.report(X[::-1], y[::-1], training=True)
    with pytest.raises(ValueError, match="training=False"):
        det.report(X, np.roll(y, 1), training=True)
    pd = pytest.importorskip("pandas")
    same = det.report(pd.DataFrame(X), pd.Series(y), training=True)
    assert same["score"].sort_index().tolist() == det.train_scores_.tolist()
    assert len(det.report(X[::-1], y[::-1])) == len(X)  # afresh: any rows


# 13. errors in skogad's words, and degrading where it can ------------------


@pytest.mark.parametrize(
    ("per_class", "n_classes", "labels"), [(2, 10, int), (3, 40, str)]
)
def test_too_few_rows_per_class_train_all_epochs_with_a_warning(
    per_class, n_classes, labels
):
    X = np.random.default_rng(0).normal(size=(per_class * n_classes, 4))
    y = np.repeat(np.arange(n_classes), per_class).astype(labels)
    det = GradientOutlierDetector(random_state=0, device="cpu")
    with pytest.warns(UserWarning, match=r"No early stopping.*all its max_epochs"):
        det.fit(X.astype(np.float32), y)
    assert len(det.nets_[0].history) == det.nets_[0].max_epochs
    assert len(det.classes_) == n_classes


def test_a_one_row_regression_fits_with_a_warning():
    with pytest.warns(UserWarning, match="No early stopping"):
        det = GradientOutlierDetector(random_state=0, device="cpu").fit(
            np.ones((1, 3), dtype=np.float32), [2.5]
        )
    assert det.train_scores_.shape == (1,)


@pytest.mark.parametrize("missing", [None, np.nan])
def test_missing_labels_are_named_by_row(missing, clf):
    X, _ = clf
    y = np.array(["a", "b", "c", "d"] * 50, dtype=object)
    y[[2, 7]] = missing
    with pytest.raises(ValueError, match=r"missing labels .* positions \[2, 7\]"):
        _quick().fit(X, y)


@pytest.mark.parametrize("params", [[], ["no_such_layer"]])
def test_a_parameter_selection_that_selects_nothing_is_refused_before_training(
    params, clf
):
    with pytest.raises(ValueError, match=r"params|No trainable parameter"):
        _quick(net=CountingMLP, params=params).fit(*clf)
    assert CountingMLP.training_batches == 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="CUDA is available")
def test_a_cuda_device_without_cuda_is_refused_before_training(clf):
    with pytest.raises(ValueError, match=r"device='cuda'.*device='cpu'"):
        _quick(net=CountingMLP, device="cuda").fit(*clf)
    assert CountingMLP.training_batches == 0


def test_a_classifier_as_scorer_is_refused_before_training(clf):
    with pytest.raises(TypeError, match="outlier detector"):
        _quick(net=CountingMLP, scorer=LogisticRegression()).fit(*clf)
    assert CountingMLP.training_batches == 0


def test_clean_training_set_checks_sample_weight_against_the_input(clf):
    X, y = clf
    model = CleanTrainingSet(
        LogisticRegression(), detector=_quick(net=CountingMLP, contamination=0.1)
    )
    with pytest.raises(ValueError, match="199 entries for the 200 rows of X"):
        model.fit(X, y, sample_weight=np.ones(len(y) - 1))
    assert CountingMLP.training_batches == 0


# What already held, with the new fitted state --------------------------------


@pytest.mark.parametrize("kind", ["classification", "regression"])
def test_a_pickled_detector_scores_the_same(kind, clf):
    X, y = clf if kind == "classification" else _planted_regression(4e5)[:2]
    det = _quick().fit(X, y)
    loaded = pickle.loads(pickle.dumps(det))
    np.testing.assert_array_equal(loaded.score_samples(X, y), det.score_samples(X, y))
    assert loaded.report(X, y, training=True).equals(det.report(X, y, training=True))


def test_the_same_seed_gives_the_same_scores():
    X, y, _ = _planted_regression(4e5)
    first = _quick().fit(X, y).train_scores_
    np.testing.assert_array_equal(_quick().fit(X, y).train_scores_, first)


def test_numpy_and_pandas_inputs_give_the_same_scores(clf):
    pd = pytest.importorskip("pandas")
    X, y = clf
    labels = np.array(["x", "y", "z"])[y]
    from_numpy = _quick().fit(X, labels).train_scores_
    frame = pd.DataFrame(X, columns=[f"f{i}" for i in range(X.shape[1])])
    from_pandas = _quick().fit(frame, pd.Series(labels)).train_scores_
    np.testing.assert_array_equal(from_pandas, from_numpy)
