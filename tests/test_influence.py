"""GradientInfluence: exact inner products of per-sample gradients, and its
guards, on small real torch and skorch models."""

import pickle

import numpy as np
import pytest
import torch
from skorch import NeuralNetClassifier
from torch import nn

from skogad import GradientInfluence
from tests._helpers import loop_gradients


def mlp(n_features=6, n_outputs=3, seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(n_features, 16), nn.Tanh(), nn.Linear(16, n_outputs))


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 6)).astype(np.float32)
    y = (X[:, 0] + X[:, 1] > 0).astype(np.int64) + (X[:, 2] > 1)
    return X, y


class TokenModel(nn.Module):
    """Token ids in, one logit row per sample out: an embedding model."""

    def __init__(self, vocab=20, width=8, n_outputs=3):
        super().__init__()
        torch.manual_seed(0)
        self.embed = nn.Embedding(vocab, width)
        self.head = nn.Linear(width, n_outputs)

    def forward(self, X):
        return self.head(torch.tanh(self.embed(X)).mean(1))


def test_influence_is_the_inner_product_of_exact_gradients(data):
    X, y = data
    model, loss = mlp(), nn.CrossEntropyLoss()
    inf = GradientInfluence(model, loss=loss, similarity="dot").fit(X, y)
    G_train = loop_gradients(model, loss, X, y).numpy()
    G_test = G_train[:5]
    np.testing.assert_allclose(inf.train_gradients_, G_train, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        inf.influence(X[:5], y[:5]), G_test @ G_train.T, rtol=1e-4, atol=1e-6
    )
    assert inf.n_train_ == 40
    assert inf.param_names_ == ["0.weight", "0.bias", "2.weight", "2.bias"]


def test_integer_inputs_go_through_torch_func():
    rng = np.random.default_rng(1)
    X = rng.integers(0, 20, size=(12, 5))
    y = rng.integers(0, 3, size=12)
    model, loss = TokenModel(), nn.CrossEntropyLoss()
    inf = GradientInfluence(model, loss=loss, similarity="dot").fit(X, y)
    G = loop_gradients(model, loss, X, y).numpy()
    np.testing.assert_allclose(inf.influence(X, y), G @ G.T, rtol=1e-4, atol=1e-6)


def test_cosine_is_scale_free(data):
    X, y = data
    model, ce = mlp(), nn.CrossEntropyLoss()

    def scaled(output, target):
        return 3.0 * ce(output, target)

    cos = GradientInfluence(model, loss=ce, similarity="cosine").fit(X, y)
    cos3 = GradientInfluence(model, loss=scaled, similarity="cosine").fit(X, y)
    dot = GradientInfluence(model, loss=ce, similarity="dot").fit(X, y)
    dot3 = GradientInfluence(model, loss=scaled, similarity="dot").fit(X, y)
    S = cos.influence(X[:7], y[:7])
    np.testing.assert_allclose(cos3.influence(X[:7], y[:7]), S, rtol=1e-4, atol=1e-6)
    np.testing.assert_allclose(
        dot3.influence(X[:7], y[:7]), 9 * dot.influence(X[:7], y[:7]), rtol=1e-4
    )
    assert np.all(np.abs(S) <= 1 + 1e-5)
    # a sample compared with itself
    np.testing.assert_allclose(np.diag(S), 1, atol=1e-5)


def test_rank_orders_by_influence(data):
    X, y = data
    inf = GradientInfluence(mlp(), loss=nn.CrossEntropyLoss()).fit(X, y)
    scores = inf.influence(X[:4], y[:4])
    full = inf.rank(X[:4], y[:4])
    assert full.shape == (4, 40)
    for row, order in zip(scores, full, strict=True):
        assert sorted(order) == list(range(40))
        assert np.all(np.diff(row[order]) <= 0)
    np.testing.assert_array_equal(inf.rank(X[:4], y[:4], k=5), full[:, :5])
    assert inf.rank(X[:4], y[:4], k=1000).shape == (4, 40)
    with pytest.raises(ValueError, match="k must be"):
        inf.rank(X[:4], y[:4], k=0)


def test_projection_keeps_the_top_ranks():
    rng = np.random.default_rng(2)
    X = rng.normal(size=(200, 10)).astype(np.float32)
    y = rng.integers(0, 4, size=200)
    torch.manual_seed(0)
    model = nn.Sequential(nn.Linear(10, 64), nn.Tanh(), nn.Linear(64, 4))
    loss = nn.CrossEntropyLoss()
    exact = GradientInfluence(model, loss=loss).fit(X, y)
    projected = GradientInfluence(model, loss=loss, projection=256, random_state=0)
    projected.fit(X, y)
    assert projected.train_gradients_.shape[1] <= 256 < exact.train_gradients_.shape[1]
    k = 10
    top_exact = exact.rank(X[:20], y[:20], k=k)
    top_projected = projected.rank(X[:20], y[:20], k=k)
    overlap = np.mean(
        [
            len(set(a) & set(b)) / k
            for a, b in zip(top_exact, top_projected, strict=True)
        ]
    )
    assert overlap >= 0.6
    S, P = exact.influence(X[:20], y[:20]), projected.influence(X[:20], y[:20])
    assert np.corrcoef(S.ravel(), P.ravel())[0, 1] > 0.8


def fitted_classifier(X, y):
    net = NeuralNetClassifier(
        mlp,
        module__n_features=X.shape[1],
        criterion=nn.CrossEntropyLoss,
        max_epochs=3,
        lr=0.1,
        train_split=None,
        verbose=0,
    )
    torch.manual_seed(0)
    return net.fit(X, y)


def test_fitted_skorch_net_needs_no_loss(data):
    X, y = data
    net = fitted_classifier(X, y)
    inf = GradientInfluence(net, similarity="dot").fit(X, y)
    G = loop_gradients(net.module_, nn.CrossEntropyLoss(), X, y).numpy()
    np.testing.assert_allclose(
        inf.influence(X[:3], y[:3]), G[:3] @ G.T, rtol=1e-4, atol=1e-6
    )


def test_unfitted_net_and_module_without_loss_are_refused(data):
    X, y = data
    unfitted = NeuralNetClassifier(mlp, criterion=nn.CrossEntropyLoss)
    with pytest.raises(ValueError, match="fit the skorch net"):
        GradientInfluence(unfitted).fit(X, y)
    with pytest.raises(ValueError, match="needs loss="):
        GradientInfluence(mlp()).fit(X, y)


def test_bad_inputs_are_refused(data):
    X, y = data
    inf = GradientInfluence(mlp(), loss=nn.CrossEntropyLoss())
    with pytest.raises(ValueError, match="different numbers of samples"):
        inf.fit(X, y[:-1])
    X_nan = X.copy()
    X_nan[3, 2] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        inf.fit(X_nan, y)
    inf.fit(X, y)
    with pytest.raises(ValueError, match="NaN"):
        inf.influence(X_nan[:5], y[:5])
    with pytest.raises(ValueError, match="different numbers of samples"):
        inf.influence(X[:5], y[:4])


@pytest.mark.parametrize("kind", ["module", "skorch"])
def test_pickle_round_trip(data, kind):
    X, y = data
    if kind == "module":
        inf = GradientInfluence(mlp(), loss=nn.CrossEntropyLoss(), projection=50)
    else:
        inf = GradientInfluence(fitted_classifier(X, y), projection=50)
    inf.set_params(random_state=0).fit(X, y)
    loaded = pickle.loads(pickle.dumps(inf))
    np.testing.assert_allclose(
        loaded.influence(X[:6], y[:6]), inf.influence(X[:6], y[:6]), rtol=1e-5
    )


def test_all_takes_only_trainable_parameters(data):
    X, y = data
    model = mlp()
    for p in model[0].parameters():  # a frozen first layer, as a LoRA base
        p.requires_grad_(False)
    loss = nn.CrossEntropyLoss()
    inf = GradientInfluence(model, loss=loss, params="all", similarity="dot")
    inf.fit(X, y)
    assert inf.param_names_ == ["2.weight", "2.bias"]
    assert inf.train_gradients_.shape == (40, 16 * 3 + 3)
    G = loop_gradients(model, loss, X, y).numpy()
    np.testing.assert_allclose(inf.train_gradients_, G, rtol=1e-4, atol=1e-6)


def test_outlier_scores_groups(data):
    X, y = data
    groups = np.repeat(["a", "b"], 20)
    inf = GradientInfluence(
        mlp(), loss=nn.CrossEntropyLoss(), similarity="outlier", random_state=0
    ).fit(X, y, groups=groups)
    scores = inf.influence(X[:5], y[:5])
    assert scores.shape == (5, 40)
    # one score per group: every training sample of a group gets it
    assert np.all(scores[:, :20] == scores[:, :1])
    assert np.all(scores[:, 20:] == scores[:, 20:21])
    with pytest.raises(ValueError, match="groups"):
        GradientInfluence(mlp(), loss=nn.CrossEntropyLoss(), similarity="outlier").fit(
            X, y
        )
    with pytest.raises(ValueError, match="groups"):
        GradientInfluence(mlp(), loss=nn.CrossEntropyLoss()).fit(X, y, groups=groups)
