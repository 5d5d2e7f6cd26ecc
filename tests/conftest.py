"""Shared fixtures: small seeded data, real skorch nets, devices."""

import numpy as np
import pytest
import torch
from sklearn.datasets import make_classification, make_regression

from skogad import GradientOutlierDetector
from tests._helpers import FAST

torch.set_num_threads(1)


@pytest.fixture(scope="session")
def clf_data_shared():
    """`clf_data` made once, for module-scoped fixtures: never modify it."""
    X, y = make_classification(
        300, 8, n_informative=5, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    return X.astype(np.float32), y


@pytest.fixture
def clf_data(clf_data_shared):
    X, y = clf_data_shared
    return X.copy(), y.copy()


@pytest.fixture(scope="session")
def fast_detector(clf_data_shared):
    """`GradientOutlierDetector(**FAST)` fitted on `clf_data`, made once: the
    tests that take it only score with it, never fit or set_params."""
    return GradientOutlierDetector(**FAST).fit(*clf_data_shared)


@pytest.fixture
def reg_data():
    X, y = make_regression(200, 6, noise=0.1, random_state=0)
    return X.astype(np.float32), (y / y.std()).astype(np.float32)


@pytest.fixture(params=["cpu", "cuda"])
def device(request):
    if request.param == "cuda" and not torch.cuda.is_available():
        pytest.skip("CUDA is not available")
    return request.param


@pytest.fixture(scope="session")
def dask_client():
    """A real `distributed.LocalCluster`: 2 worker processes, 1 thread each.

    Session-scoped (it takes seconds to start and the workers import torch
    once); a test that kills a worker leaves a restarted one behind. While
    it exists, Dask collections compute on it.
    """
    distributed = pytest.importorskip("distributed")
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,  # logging.ERROR: a killed worker is expected
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        yield client
