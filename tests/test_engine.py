"""The gradient engine is exact: it matches one backward pass per sample."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from sklearn.frozen import FrozenEstimator
from skorch import NeuralNetClassifier, NeuralNetRegressor
from torch import nn

from skogad import GradientOutlierDetector, TabularMLP
from skogad._gradients.engine import (
    gradient_features,
    iter_per_sample_gradients,
    per_sample_gradients,
    select_parameters,
)
from skogad._nets import sample_loss_fn
from tests._helpers import loop_gradients


class BatchNormDropoutNet(nn.Module):
    def __init__(self, n_features=5, n_outputs=3):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(n_features, 16), nn.BatchNorm1d(16), nn.ReLU(), nn.Dropout(0.5)
        )
        self.head = nn.Linear(16, n_outputs)

    def forward(self, X):
        return self.head(self.body(X))


def _data(n=37, d=5, classes=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, d, generator=g)
    y = torch.randint(0, classes, (n,), generator=g)
    return X, y


@pytest.mark.parametrize("params", ["last", "all", ["layers.0"], ["layers.2.bias"]])
@pytest.mark.parametrize("batch_size", [1, 8, 1000])
def test_classifier_matches_loop(params, batch_size):
    torch.manual_seed(0)
    module = TabularMLP(5, 3, hidden_units=7)
    X, y = _data()
    loss = nn.CrossEntropyLoss()
    names = select_parameters(module, params)
    got = per_sample_gradients(module, loss, X, y, names, batch_size=batch_size)
    torch.testing.assert_close(got, loop_gradients(module, loss, X, y, names))


@pytest.mark.parametrize("params", ["last", "all"])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_regressor_matches_loop(params, reduction):
    torch.manual_seed(1)
    module = TabularMLP(4, 2, hidden_units=6)
    X = torch.randn(23, 4)
    y = torch.randn(23, 2)
    loss = nn.MSELoss(reduction=reduction)
    names = select_parameters(module, params)
    got = per_sample_gradients(module, loss, X, y, names, batch_size=5)
    torch.testing.assert_close(got, loop_gradients(module, loss, X, y, names))


def test_batchnorm_dropout_eval_mode_and_mode_restored():
    torch.manual_seed(2)
    module = BatchNormDropoutNet()
    module(torch.randn(64, 5))  # move the running statistics off their defaults
    module.train()
    X, y = _data()
    loss = nn.CrossEntropyLoss()
    names = select_parameters(module, "all")
    got = per_sample_gradients(module, loss, X, y, names, batch_size=10)
    assert module.training, "the module's own mode must be restored"
    torch.testing.assert_close(got, loop_gradients(module, loss, X, y, names))


def test_chunks_are_bounded_by_batch_size():
    module = TabularMLP(5, 3, hidden_units=7)
    X, y = _data(n=25)
    names = select_parameters(module, "last")
    sizes = [
        len(c)
        for c in iter_per_sample_gradients(
            module, nn.CrossEntropyLoss(), X, y, names, batch_size=10
        )
    ]
    assert sizes == [10, 10, 5]


def test_select_parameters():
    module = TabularMLP(5, 3, hidden_units=7)
    assert select_parameters(module, "last") == ["layers.4.weight", "layers.4.bias"]
    assert len(select_parameters(module, "all")) == 6
    assert select_parameters(module, ["layers.0"]) == [
        "layers.0.weight",
        "layers.0.bias",
    ]
    with pytest.raises(ValueError, match="No trainable parameter or submodule"):
        select_parameters(module, ["nope"])
    with pytest.raises(ValueError, match="batch_size"):
        next(
            iter_per_sample_gradients(
                module, nn.CrossEntropyLoss(), *_data(), ["layers.4.bias"], batch_size=0
            )
        )


class SoftmaxNet(nn.Module):
    """skorch's classic convention: the module outputs probabilities."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(5, 3)

    def forward(self, X):
        return torch.softmax(self.lin(X), dim=-1)


@pytest.mark.parametrize(
    "module, criterion",
    [(SoftmaxNet, nn.NLLLoss), (TabularMLP, nn.CrossEntropyLoss)],
)
def test_skorch_loss_convention_and_detector_path(module, criterion, device):
    X, y = _data(n=60)
    X, y = X.numpy(), y.numpy()
    net = NeuralNetClassifier(
        module,
        criterion=criterion,
        max_epochs=3,
        train_split=None,
        verbose=0,
        device=device,
        **(
            {"module__n_features": 5, "module__n_outputs": 3}
            if module is TabularMLP
            else {}
        ),
    ).fit(X, y)
    names = select_parameters(net.module_, "all")
    loss = sample_loss_fn(net)
    Xt = torch.from_numpy(X).to(device)
    yt = torch.from_numpy(y).to(device)
    reference = loop_gradients(net.module_, loss, Xt, yt, names).cpu()
    if criterion is nn.NLLLoss:  # skorch takes the log of the probabilities
        p = net.module_(Xt)
        manual = nn.functional.nll_loss(torch.log(p[:1] + 1e-7), yt[:1])
        torch.testing.assert_close(loss(p[:1], yt[:1]), manual, atol=1e-5, rtol=1e-5)

    det = GradientOutlierDetector(
        FrozenEstimator(net), scorer="l2", params="all", batch_size=16
    ).fit(X, y)
    expected = -np.linalg.norm(reference.numpy().astype(np.float64), axis=1)
    np.testing.assert_allclose(det.score_samples(X, y), expected, rtol=1e-4)
    np.testing.assert_allclose(det.train_scores_, expected, rtol=1e-4)


@pytest.mark.parametrize("params", ["last", "all"])
def test_regressor_detector_path(params, device):
    rng = np.random.RandomState(0)
    X = rng.randn(50, 4).astype(np.float32)
    y = (X @ rng.randn(4)).astype(np.float32).reshape(-1, 1)
    net = NeuralNetRegressor(
        TabularMLP,
        module__n_features=4,
        module__n_outputs=1,
        max_epochs=3,
        train_split=None,
        verbose=0,
        device=device,
    ).fit(X, y)
    names = select_parameters(net.module_, params)
    reference = loop_gradients(
        net.module_,
        sample_loss_fn(net),
        torch.from_numpy(X).to(device),
        torch.from_numpy(y).to(device),
        names,
    ).cpu()
    det = GradientOutlierDetector(net, scorer="l1", params=params).fit(X, y.ravel())
    expected = -np.abs(reference.numpy().astype(np.float64)).sum(axis=1)
    np.testing.assert_allclose(det.score_samples(X, y.ravel()), expected, rtol=1e-4)


@pytest.mark.parametrize("method", ["factors", "vmap"])
def test_the_outputs_are_those_of_the_module_in_eval_mode(method):
    torch.manual_seed(2)
    module = BatchNormDropoutNet()
    module.train()  # evaluated in eval mode, dropout off
    X, y = _data()
    names = select_parameters(module, "last")
    outputs = []
    gradient_features(
        module,
        nn.CrossEntropyLoss(),
        X,
        y,
        names,
        output="l2",
        batch_size=8,
        method=method,
        outputs=outputs,
    )
    assert len(outputs) == 5  # one per chunk, in row order
    module.eval()
    with torch.no_grad():
        expected = module(X)
    torch.testing.assert_close(torch.cat(outputs), expected)


@pytest.mark.parametrize("timing", ["early_stopping", "checkpoints"])
def test_scores_and_probabilities_from_one_pass_are_the_two_passes(timing):
    X, y = make_classification(300, 5, n_informative=3, n_classes=3, random_state=3)
    det = GradientOutlierDetector(timing=timing, random_state=0, device="cpu")
    det.fit(X, y)
    Xt = det._check_X(X[:120])
    target = det._encode(y[:120])
    scores, proba = det._scores_and_proba(Xt, target)
    np.testing.assert_allclose(scores, det._score_samples(Xt, target), rtol=1e-6)
    expected = det._predictions(Xt, training=False, check=False)
    np.testing.assert_allclose(proba, expected, rtol=1e-5, atol=1e-7)
