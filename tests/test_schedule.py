"""The default network's training schedule: one formula in the number of rows."""

import itertools
import math

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from skorch import NeuralNetClassifier
from skorch.callbacks import Callback
from skorch.dataset import Dataset
from torch.utils.data import DataLoader, Subset

import skogad._nets as nets
import skogad._schedule as schedule
from skogad import GradientOutlierDetector


def _steps(n):
    """The optimizer steps the default net may take on n rows (80% trained)."""
    return schedule.max_epochs(n) * math.ceil(0.8 * n / schedule.batch_size(n))


def test_the_schedule_is_one_formula_continuous_in_n():
    # from a few rows to millions, no size may change a quantity by more than
    # rounding does: the old schedule jumped 8x in batch and 7x in epochs
    # between 32,768 and 32,769 rows
    sizes = np.unique(np.geomspace(100, 10_000_000, 400).astype(int))
    for n in sizes:
        for m in (n + 1, int(n * 1.01)):
            b, b2 = schedule.batch_size(n), schedule.batch_size(m)
            # a 1% change of n moves the batch 1%, plus a row of rounding
            assert abs(b2 - b) <= 0.01 * b + 1, (n, m)
            lr, lr2 = schedule.learning_rate(n), schedule.learning_rate(m)
            assert abs(lr2 / lr - 1) <= schedule.LR_POWER * abs(b2 - b) / b + 1e-12, (
                n,
                m,
            )
            # the step budget is spent to within one epoch's steps
            per_epoch = math.ceil(0.8 * n / b)
            assert (
                schedule.step_budget(n)
                <= _steps(n)
                < (schedule.step_budget(n) + per_epoch)
            ), n
            if m <= schedule.MAX_TRAIN_ROWS:  # larger tables train on a sample
                assert abs(_steps(m) / _steps(n) - 1) < 0.1, (n, m)
    assert all(
        schedule.batch_size(a) <= schedule.batch_size(b)
        and schedule.learning_rate(a) <= schedule.learning_rate(b)
        for a, b in itertools.pairwise(sizes)
    )


@pytest.mark.parametrize(
    ("n", "batch", "epochs", "steps"),
    [
        (150, 32, 250, 1_000),  # iris: 4 steps an epoch
        (1_000, 50, 63, 1_008),
        (10_000, 500, 63, 1_008),
        (34_000, 1_700, 37, 592),
        (60_000, 3_000, 29, 464),
        (100_000, 4_096, 20, 400),
    ],
)
def test_batch_and_step_budget_at_a_few_sizes(n, batch, epochs, steps):
    net = nets.build_net(
        None, classifier=True, n_features=4, n_outputs=3, n_samples=n, device="cpu"
    )
    assert (net.batch_size, net.max_epochs, _steps(n)) == (batch, epochs, steps)
    assert net.lr == pytest.approx(0.06 * (batch / 4096) ** 0.9)
    assert net.iterator_train is schedule.ArrayBatches
    assert net.iterator_valid is schedule.ArrayBatches
    assert isinstance(dict(net.callbacks)["skogad_lr"], schedule.WarmupCosine)


def test_a_users_module_and_skorch_net_keep_their_own_schedule():
    for module in (nets.TabularMLP, nets.TabularMLP(4, 3)):
        user = nets.build_net(
            module,
            classifier=True,
            n_features=4,
            n_outputs=3,
            n_samples=50_000,
            device="cpu",
        )
        assert (user.batch_size, user.lr, user.max_epochs) == (256, 1e-3, 100)
        assert user.iterator_train is DataLoader
        assert not any(name == "skogad_lr" for name, _ in user.callbacks or [])
    own = NeuralNetClassifier(
        nets.TabularMLP,
        module__n_features=4,
        module__n_outputs=3,
        criterion=torch.nn.CrossEntropyLoss,
        batch_size=7,
        lr=0.123,
        max_epochs=3,
        train_split=None,
    )
    built = nets.build_net(
        own, classifier=True, n_features=4, n_outputs=3, n_samples=50_000, device="cpu"
    )
    assert (built.batch_size, built.lr, built.max_epochs) == (7, 0.123, 3)
    assert built.iterator_train is DataLoader and built.callbacks is None
    X, y = make_classification(
        60, 4, n_informative=3, n_redundant=1, n_classes=3, random_state=0
    )
    det = GradientOutlierDetector(own, random_state=0, device="cpu")
    det.fit(X.astype(np.float32), y)
    assert len(det.nets_[0].history) <= 3 and det.nets_[0].batch_size == 7


class _LearningRates(Callback):
    def initialize(self):
        self.seen_ = []
        return self

    def on_batch_end(self, net, training=False, **kwargs):
        if training:
            self.seen_.append(net.optimizer_.param_groups[0]["lr"])


def test_the_learning_rate_warms_up_over_an_epoch_then_decays_to_zero():
    n = 1_000
    net = nets.build_net(
        None, classifier=True, n_features=4, n_outputs=3, n_samples=n, device="cpu"
    )
    nets.with_callback(net, "rates", _LearningRates())
    X, y = make_classification(
        n, 4, n_informative=3, n_redundant=1, n_classes=3, random_state=0
    )
    net.fit(X.astype(np.float32), y)  # timing="final": every step is taken
    seen = np.array(dict(net.callbacks_)["rates"].seen_)
    per_epoch = math.ceil(n / net.batch_size)  # no split: every row trains
    assert len(seen) == per_epoch * net.max_epochs
    peak = net.lr
    np.testing.assert_allclose(seen[:per_epoch], peak * np.arange(1, 21) / 20)
    assert seen.max() == pytest.approx(peak)
    assert np.all(np.diff(seen[per_epoch:]) <= 0)  # the cosine only falls
    assert seen[-1] < 1e-3 * peak
    assert schedule.warmup_cosine(10, 4, 10) == 0.0
    assert schedule.warmup_cosine(0, 4, 10) == 0.25


def test_array_batches_cover_the_rows_once_in_a_seeded_order():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    subset = Subset(Dataset(X, y), [1, 3, 4, 7, 9])

    def epoch(dataset, seed, shuffle=True):
        torch.manual_seed(seed)
        return list(schedule.ArrayBatches(dataset, batch_size=2, shuffle=shuffle))

    batches = epoch(subset, 0)
    assert [len(yb) for _, yb in batches] == [2, 2, 1]
    rows = torch.cat([yb for _, yb in batches]).tolist()
    assert sorted(rows) == [1, 3, 4, 7, 9]
    for Xb, yb in batches:  # X and y stay paired
        np.testing.assert_array_equal(Xb.numpy(), X[yb.numpy()])
    assert rows == torch.cat([yb for _, yb in epoch(subset, 0)]).tolist()
    assert any(
        rows != torch.cat([yb for _, yb in epoch(subset, s)]).tolist()
        for s in range(1, 5)
    )
    in_order = epoch(Dataset(X, None), 0, shuffle=False)
    assert len(schedule.ArrayBatches(Dataset(X, None), batch_size=4)) == 3
    np.testing.assert_array_equal(torch.cat([Xb for Xb, _ in in_order]).numpy(), X)
    assert all(len(yb) == len(Xb) for Xb, yb in in_order)  # skorch's placeholder


def test_a_large_table_trains_on_a_sample_and_scores_every_row(monkeypatch):
    # the sample, at a size a test can afford: the cap scaled down
    monkeypatch.setattr(nets, "MAX_TRAIN_ROWS", 400)
    X, y = make_classification(1000, 8, n_informative=5, n_classes=3, random_state=0)
    det = GradientOutlierDetector(random_state=0, device="cpu").fit(X, y)
    net = det.nets_[0]
    assert net.iterator_train is schedule.ArrayBatches
    assert net.batch_size == schedule.batch_size(400)  # the sample's schedule
    assert len(det.train_scores_) == 1000
    # 400 rows sampled, 20% of them held out: 320 train
    batches = net.history[-1, "batches"]
    assert sum(b.get("train_batch_size", 0) for b in batches) == 320
    assert sum(b.get("valid_batch_size", 0) for b in batches) == 80
    again = GradientOutlierDetector(random_state=0, device="cpu").fit(X, y)
    np.testing.assert_array_equal(again.train_scores_, det.train_scores_)
