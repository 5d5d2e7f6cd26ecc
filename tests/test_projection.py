"""Random projections of per-sample gradients."""

import numpy as np
import pytest
import torch
from torch import nn

from skogad import TabularMLP
from skogad._gradients.engine import gradient_features, select_parameters
from skogad._gradients.projection import (
    CountSketch,
    KroneckerProjection,
    split_dimensions,
)


def _setup(n=300, seed=0):
    torch.manual_seed(seed)
    module = TabularMLP(20, 10, 64)
    g = torch.Generator().manual_seed(seed)
    X = torch.randn(n, 20, generator=g)
    y = torch.randint(0, 10, (n,), generator=g)
    return module, X, y, nn.CrossEntropyLoss()


def test_kronecker_equals_projecting_the_flattened_outer_product():
    g = torch.Generator().manual_seed(0)
    delta, a = torch.randn(6, 9, generator=g), torch.randn(6, 31, generator=g)
    proj = KroneckerProjection(9, 31, 40, seed=3, device="cpu")
    assert proj.p_out is not None and proj.p_in is not None
    flat = (delta[:, :, None] * a[:, None, :]).reshape(6, -1)
    dense = torch.kron(proj.p_out, proj.p_in)  # (9 * 31, k_out * k_in)
    torch.testing.assert_close(proj(delta, a), flat @ dense)
    assert proj.k <= 40


def test_kronecker_keeps_small_factors_exact():
    proj = KroneckerProjection(2, 101, 64, seed=0, device="cpu")
    assert proj.p_out is None and proj.k == 64  # 2 outputs kept, 32 inputs
    assert KroneckerProjection(3, 4, 12, seed=0, device="cpu").k == 12
    assert KroneckerProjection(3, 4, 12, seed=0, device="cpu").p_in is None


def test_count_sketch_is_a_signed_bucket_sum():
    G = torch.randn(4, 50)
    sketch = CountSketch(50, 7, seed=1, device="cpu")
    expected = torch.zeros(4, 7)
    for j in range(50):
        expected[:, sketch.bucket[j]] += sketch.sign[j] * G[:, j]
    torch.testing.assert_close(sketch(G), expected)


def test_split_dimensions():
    assert split_dimensions(10, [1, 1]) == [5, 5]
    assert sum(split_dimensions(256, [650, 4160, 5000])) == 256
    assert split_dimensions(2, [100, 1, 1]) == [1, 1, 1]  # every block gets one


@pytest.mark.parametrize("method", ["factors", "vmap"])
@pytest.mark.parametrize("params", ["last", "all"])
def test_projection_is_deterministic_and_chunk_invariant(method, params):
    module, X, y, loss = _setup()
    names = select_parameters(module, params)
    kwargs = {"projection": 32, "seed": 5, "method": method}
    whole = gradient_features(module, loss, X, y, names, batch_size=300, **kwargs)
    chunks = gradient_features(module, loss, X, y, names, batch_size=7, **kwargs)
    assert whole.shape[0] == 300 and whole.shape[1] <= 32
    torch.testing.assert_close(whole, chunks)
    other = gradient_features(module, loss, X, y, names, **{**kwargs, "seed": 6})
    assert not torch.allclose(whole, other)


@pytest.mark.parametrize("method", ["factors", "vmap"])
def test_projection_keeps_norms_and_angles(method):
    module, X, y, loss = _setup()
    names = select_parameters(module, "last")
    exact = gradient_features(module, loss, X, y, names)
    ratios = []
    for seed in range(20):
        P = gradient_features(
            module, loss, X, y, names, projection=256, seed=seed, method=method
        )
        ratios.append((P.square().sum(1) / exact.square().sum(1)).mean().item())
    # unbiased squared norms: the mean ratio over seeds is 1
    assert abs(np.mean(ratios) - 1) < 0.05
    # angles survive: cosine similarities correlate with the exact ones
    unit = exact / exact.norm(dim=1, keepdim=True)
    punit = P / P.norm(dim=1, keepdim=True)
    corr = np.corrcoef((unit @ unit.T).flatten(), (punit @ punit.T).flatten())[0, 1]
    assert corr > 0.9


def test_projection_at_least_the_parameter_count_is_exact():
    module, X, y, loss = _setup(n=50)
    names = select_parameters(module, "last")  # 650 parameters
    exact = gradient_features(module, loss, X, y, names)
    for method in ["factors", "vmap"]:
        same = gradient_features(
            module, loss, X, y, names, projection=650, method=method
        )
        torch.testing.assert_close(same, exact)
