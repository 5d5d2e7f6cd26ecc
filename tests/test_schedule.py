"""The default network's training schedule, small and large data."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification
from skorch.dataset import Dataset
from torch.utils.data import DataLoader, Subset

import skogad._nets as nets
from skogad import GradientOutlierDetector


def test_small_data_keeps_its_schedule():
    for n, batch in [(150, 16), (1797, 112), (4454, 256), (nets.LARGE, 256)]:
        net = nets.build_net(
            None, classifier=True, n_features=4, n_outputs=3, n_samples=n, device="cpu"
        )
        assert (net.batch_size, net.lr, net.max_epochs) == (batch, 1e-3, 100)
        assert net.iterator_train is DataLoader


def test_large_data_takes_big_batches_sliced_from_the_arrays():
    net = nets.build_net(
        None,
        classifier=True,
        n_features=4,
        n_outputs=3,
        n_samples=nets.LARGE + 1,
        device="cpu",
    )
    assert net.batch_size == nets.LARGE_BATCH
    assert net.lr == pytest.approx(1e-3 * nets.LARGE_BATCH / 256)  # linear scaling
    assert net.max_epochs == nets.LARGE_EPOCHS
    assert net.iterator_train is nets.ArrayBatches
    assert net.iterator_valid is nets.ArrayBatches
    # a module the user gives keeps the schedule it was measured with
    user = nets.build_net(
        nets.TabularMLP,
        classifier=True,
        n_features=4,
        n_outputs=3,
        n_samples=nets.LARGE + 1,
        device="cpu",
    )
    assert user.batch_size == 256 and user.iterator_train is DataLoader


def test_array_batches_cover_the_rows_once_in_a_seeded_order():
    X = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10)
    subset = Subset(Dataset(X, y), [1, 3, 4, 7, 9])

    def epoch(dataset, seed, shuffle=True):
        torch.manual_seed(seed)
        return list(nets.ArrayBatches(dataset, batch_size=2, shuffle=shuffle))

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
    assert len(nets.ArrayBatches(Dataset(X, None), batch_size=4)) == 3
    np.testing.assert_array_equal(torch.cat([Xb for Xb, _ in in_order]).numpy(), X)
    assert all(len(yb) == len(Xb) for Xb, yb in in_order)  # skorch's placeholder


def test_large_path_trains_on_a_sample_and_scores_every_row(monkeypatch):
    # the large-data path, at a size a test can afford: the constants scaled
    monkeypatch.setattr(nets, "LARGE", 300)
    monkeypatch.setattr(nets, "LARGE_BATCH", 64)
    monkeypatch.setattr(nets, "MAX_TRAIN_ROWS", 400)
    X, y = make_classification(1000, 8, n_informative=5, n_classes=3, random_state=0)
    det = GradientOutlierDetector(random_state=0, device="cpu").fit(X, y)
    net = det.nets_[0]
    assert net.iterator_train is nets.ArrayBatches
    assert len(det.train_scores_) == 1000
    # 400 rows sampled, 20% of them held out: 320 train (5 batches of 64)
    batches = net.history[-1, "batches"]
    assert sum(b.get("train_batch_size", 0) for b in batches) == 320
    assert sum(b.get("valid_batch_size", 0) for b in batches) == 80
    again = GradientOutlierDetector(random_state=0, device="cpu").fit(X, y)
    np.testing.assert_array_equal(again.train_scores_, det.train_scores_)
