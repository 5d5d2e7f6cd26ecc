"""GradientOutlierDetector.report and .gradients."""

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, load_wine
from skorch import NeuralNetClassifier
from torch import nn

from skogad import GradientOutlierDetector, TabularMLP
from skogad.noise import flip_labels

pd = pytest.importorskip("pandas")

CLASSIFICATION = [
    "score",
    "rank",
    "flagged",
    "kept",
    "given_label",
    "predicted_label",
    "predicted_proba",
    "given_proba",
]


@pytest.fixture(scope="module")
def noisy_cancer():
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    X.index = X.index + 1000  # an index that is not the row position
    y.index = X.index
    names = np.where(y == 1, "benign", "malignant")
    y_noisy, flipped = flip_labels(names, 0.1, random_state=0)
    y_noisy = pd.Series(y_noisy, index=X.index, name="diagnosis")
    det = GradientOutlierDetector(contamination=0.1, random_state=0)
    return X, y_noisy, pd.Series(names, index=X.index), flipped, det.fit(X, y_noisy)


def test_report_of_the_training_rows(noisy_cancer):
    X, y, _, _, det = noisy_cancer
    report = det.report(X, y, training=True)
    assert list(report.columns) == CLASSIFICATION
    assert report.index.name == "row" and sorted(report.index) == sorted(X.index)
    assert np.all(np.diff(report["score"]) >= 0)  # most suspicious first
    np.testing.assert_array_equal(report["rank"], np.arange(1, len(X) + 1))
    flags = pd.Series(det.fit_predict(X, y) == -1, index=X.index)
    np.testing.assert_array_equal(report["flagged"], flags[report.index])
    np.testing.assert_allclose(report.sort_index()["score"], det.train_scores_)
    assert (report["given_label"] == y[report.index]).all()
    assert set(report["predicted_label"]) <= {"benign", "malignant"}
    Xt = det.scaler_.transform(X.to_numpy()).astype(np.float32)
    proba = det.nets_[0].predict_proba(Xt)
    row = report.index[0]
    position = X.index.get_loc(row)
    assert report.loc[row, "predicted_proba"] == pytest.approx(proba[position].max())
    assert (report["predicted_proba"] >= report["given_proba"]).all()


def test_report_keeps_the_flagged_rows_whose_label_the_network_is_sure_of(
    noisy_cancer,
):
    X, y, _, _, det = noisy_cancer
    report = det.report(X, y, training=True)
    # two classes: the given label is the confident one when its probability
    # reaches its class's threshold and the other's does not, or is lower
    given = report["given_proba"].to_numpy()
    codes = (report["given_label"] == det.classes_[1]).to_numpy().astype(int)
    thresholds = det.class_thresholds_
    other = 1 - given
    confirmed = (given >= thresholds[codes]) & (
        (other < thresholds[1 - codes]) | (other < given)
    )
    flagged = report["flagged"].to_numpy()
    np.testing.assert_array_equal(report["kept"], ~flagged | confirmed)
    X_kept, _ = GradientOutlierDetector(contamination=0.1, random_state=0).fit_resample(
        X, y
    )
    assert sorted(X_kept.index) == sorted(report.index[report["kept"]])


def test_report_finds_and_corrects_planted_errors(noisy_cancer):
    X, y, truth, flipped, det = noisy_cancer
    report = det.report(X, y, training=True)
    planted = pd.Series(flipped, index=X.index)[report.index]
    top = report.head(int(flipped.sum()))
    # 10% of rows are flipped: ranking at random puts about 10% of them on top
    assert planted[top.index].mean() > 0.6
    suggested = top.loc[planted[top.index], "predicted_label"]
    assert (suggested == truth[suggested.index]).mean() > 0.9


def test_report_scores_new_rows_like_score_samples(noisy_cancer):
    X, y, _, _, det = noisy_cancer
    part, labels = X.iloc[:50], y.iloc[:50]
    report = det.report(part, labels)
    np.testing.assert_allclose(
        report.loc[part.index, "score"], det.score_samples(part, labels)
    )
    np.testing.assert_array_equal(
        report.loc[part.index, "flagged"], det.predict(part, labels) == -1
    )


@pytest.mark.filterwarnings("ignore:X does not have valid feature names")
def test_report_index_from_arrays_and_series(noisy_cancer):
    X, y, _, _, det = noisy_cancer
    positional = det.report(X.to_numpy(), y.to_numpy())
    assert sorted(positional.index) == list(range(len(X)))
    from_series = det.report(X.to_numpy(), y)
    assert sorted(from_series.index) == sorted(y.index)


def test_report_out_of_fold_matches_fit():
    X, y = load_wine(return_X_y=True)
    y_noisy, _ = flip_labels(y, 0.1, random_state=0)
    det = GradientOutlierDetector(
        timing="out_of_fold", cv=3, contamination=0.1, patience=1, random_state=0
    ).fit(X, y_noisy)
    report = det.report(X, y_noisy, training=True).sort_index()
    np.testing.assert_allclose(report["score"], det.train_scores_)
    np.testing.assert_array_equal(report["flagged"], det.train_scores_ < det.offset_)
    # each row's prediction comes from the net that did not see it
    Xt = det.scaler_.transform(X).astype(np.float32)
    for member in det._members:
        expected = member.net.predict_proba(Xt[member.rows]).max(axis=1)
        np.testing.assert_allclose(
            report["predicted_proba"][member.rows], expected, rtol=1e-6
        )


def test_report_regression(reg_data):
    X, y = reg_data
    y = y.copy()
    y[:5] += 6
    det = GradientOutlierDetector(contamination=0.05, random_state=0).fit(X, y)
    report = det.report(X, y, training=True)
    assert list(report.columns) == [
        "score",
        "rank",
        "flagged",
        "kept",
        "given_target",
        "predicted_target",
        "residual",
    ]
    np.testing.assert_allclose(
        report["residual"], report["given_target"] - report["predicted_target"]
    )
    assert (report["kept"] == ~report["flagged"]).all()  # a regression spares none
    assert set(report.index[:5]) == set(range(5))


def test_report_bad_input(noisy_cancer):
    X, y, _, _, det = noisy_cancer
    with pytest.raises(ValueError, match="report needs y"):
        det.report(X, None)
    with pytest.raises(ValueError, match="the 569 rows the detector was fitted on"):
        det.report(X.iloc[:10], y.iloc[:10], training=True)
    with pytest.raises(ValueError, match="labels the network was not trained on"):
        det.report(X.iloc[:3], ["benign", "malignant", "unknown"])


def test_report_refuses_outputs_that_are_not_probabilities(clf_data):
    X, y = clf_data
    net = NeuralNetClassifier(
        TabularMLP,
        module__n_features=8,
        module__n_outputs=3,
        criterion=nn.CrossEntropyLoss,
        predict_nonlinearity=None,  # predict_proba returns logits
        max_epochs=3,
        train_split=None,
    ).fit(X, y)
    det = GradientOutlierDetector(net, random_state=0).fit(X, y)
    with pytest.raises(ValueError, match="does not return probabilities"):
        det.report(X, y)


def test_gradients_are_what_the_scorer_saw(noisy_cancer):
    X, y, _, _, det = noisy_cancer
    G = det.gradients(X, y)
    assert G.shape == (len(X), 2)  # params="output": one entry per class
    n_hidden = det.nets_[0].module_.layers[-1].in_features
    layer = det.gradients(X, y, params="last")
    assert layer.shape == (len(X), 2 * (n_hidden + 1))
    # the weight's gradient, then the bias's: the "output" gradient
    np.testing.assert_allclose(layer[:, -2:], G, rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(det.scorers_[0].score_samples(G), det.train_scores_)


def test_report_regression_of_a_target_column(reg_data):
    X, y = reg_data
    det = GradientOutlierDetector(contamination=0.05, random_state=0)
    with pytest.warns(UserWarning, match="column-vector y"):  # scikit-learn's
        det.fit(X, y.reshape(-1, 1))
    column = det.report(X, y.reshape(-1, 1), training=True)
    pd.testing.assert_frame_equal(column, det.report(X, y, training=True))
    assert "residual" in column
