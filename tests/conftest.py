"""Shared fixtures: small seeded data, real skorch nets, devices."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification, make_regression

torch.set_num_threads(1)


@pytest.fixture
def clf_data():
    X, y = make_classification(
        300, 8, n_informative=5, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    return X.astype(np.float32), y


@pytest.fixture
def reg_data():
    X, y = make_regression(200, 6, noise=0.1, random_state=0)
    return X.astype(np.float32), (y / y.std()).astype(np.float32)


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    return request.param
