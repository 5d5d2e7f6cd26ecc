"""The linear-layer closed forms are exact, fall back where they do not hold,
and compute norms without the gradient matrix."""

import json
import subprocess
import sys
import textwrap

import pytest
import torch
from torch import nn

import skogad._gradients.engine as engine
from skogad import TabularMLP
from skogad._gradients.engine import gradient_features, select_parameters
from skogad._gradients.factors import FactorsUnsupported, LinearPlan
from tests._helpers import loop_gradients


class SoftmaxNet(nn.Module):
    """Outputs probabilities (skorch's NLLLoss convention): no layer's output
    is the network's output, so every delta is carried back by autograd."""

    def __init__(self, n_features=5, n_outputs=3):
        super().__init__()
        self.hidden = nn.Linear(n_features, 7)
        self.out = nn.Linear(7, n_outputs)

    def forward(self, X):
        return torch.softmax(self.out(torch.relu(self.hidden(X))), dim=-1)


class InplaceAfterHead(nn.Module):
    """Changes the head's output in place: it must not pass for the output."""

    def __init__(self, n_features=5, n_outputs=3):
        super().__init__()
        self.head = nn.Linear(n_features, n_outputs)

    def forward(self, X):
        z = self.head(X)
        z.mul_(2.0)
        return z


def nll_of_probabilities(output, target):
    return nn.functional.nll_loss(torch.log(output + 1e-7), target)


def _classes(n=41, d=5, k=3, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randint(0, k, (n,), generator=g)


def _values(n=41, d=5, m=2, seed=0):
    g = torch.Generator().manual_seed(seed)
    return torch.randn(n, d, generator=g), torch.randn(n, m, generator=g)


CASES = {
    "cross_entropy": (lambda: TabularMLP(5, 3, 7), nn.CrossEntropyLoss(), _classes),
    "label_smoothing": (
        lambda: TabularMLP(5, 3, 7),
        nn.CrossEntropyLoss(label_smoothing=0.1),
        _classes,
    ),
    "class_weights": (
        lambda: TabularMLP(5, 3, 7),
        nn.CrossEntropyLoss(weight=torch.tensor([1.0, 2.0, 3.0]), reduction="sum"),
        _classes,
    ),
    "softmax_nll": (SoftmaxNet, nll_of_probabilities, _classes),
    "inplace_after_head": (InplaceAfterHead, nn.CrossEntropyLoss(), _classes),
    "mse_mean": (lambda: TabularMLP(5, 2, 7), nn.MSELoss(), _values),
    "mse_sum": (lambda: TabularMLP(5, 2, 7), nn.MSELoss(reduction="sum"), _values),
    "huber": (lambda: TabularMLP(5, 2, 7), nn.HuberLoss(), _values),
}


@pytest.mark.parametrize("case", sorted(CASES))
@pytest.mark.parametrize("params", ["last", "all", "first"])
@pytest.mark.parametrize("batch_size", [1, 16, "auto"])
def test_closed_form_matches_loop(case, params, batch_size):
    make, loss, data = CASES[case]
    torch.manual_seed(0)
    module = make()
    X, y = data()
    if params == "first":  # a hidden layer alone: its delta is carried back
        params = [next(n for n, m in module.named_modules() if type(m) is nn.Linear)]
    names = select_parameters(module, params)
    reference = loop_gradients(module, loss, X, y, names)
    kwargs = {"method": "factors", "batch_size": batch_size}
    dense = gradient_features(module, loss, X, y, names, **kwargs)
    torch.testing.assert_close(dense, reference)
    l1 = gradient_features(module, loss, X, y, names, output="l1", **kwargs)
    torch.testing.assert_close(l1, reference.abs().sum(1))
    l2 = gradient_features(module, loss, X, y, names, output="l2", **kwargs)
    torch.testing.assert_close(l2, reference.norm(dim=1))


@pytest.mark.parametrize(
    "names",
    [["layers.4.weight"], ["layers.2.bias"], ["layers.4.weight", "layers.0.bias"]],
)
def test_partial_layer_selections(names):
    torch.manual_seed(1)
    module = TabularMLP(5, 3, 7)
    X, y = _classes()
    loss = nn.CrossEntropyLoss()
    reference = loop_gradients(module, loss, X, y, names)
    for output, expected in [
        ("matrix", reference),
        ("l1", reference.abs().sum(1)),
        ("l2", reference.norm(dim=1)),
    ]:
        got = gradient_features(module, loss, X, y, names, output=output)
        torch.testing.assert_close(got, expected)


class SharedLayer(nn.Module):
    """One linear layer applied twice: not an outer product any more."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(5, 5)
        self.head = nn.Linear(5, 3)

    def forward(self, X):
        return self.head(self.lin(torch.relu(self.lin(X))))


class TokenLinear(nn.Module):
    """A linear layer on a (batch, positions, features) input."""

    def __init__(self):
        super().__init__()
        self.proj = nn.Linear(5, 4)
        self.head = nn.Linear(4, 3)

    def forward(self, X):
        tokens = X[:, None, :].expand(-1, 3, -1) * torch.arange(1.0, 4.0)[:, None]
        return self.head(self.proj(tokens).mean(1))


class ConvNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv1d(1, 2, 3)
        self.head = nn.Linear(6, 3)

    def forward(self, X):
        return self.head(torch.relu(self.conv(X[:, None, :])).flatten(1))


@pytest.mark.parametrize("make", [SharedLayer, TokenLinear, ConvNet])
def test_falls_back_to_torch_func_where_the_closed_form_does_not_hold(make):
    torch.manual_seed(2)
    module = make()
    X, y = _classes()
    loss = nn.CrossEntropyLoss()
    names = select_parameters(module, "all")
    reference = loop_gradients(module, loss, X, y, names)
    torch.testing.assert_close(gradient_features(module, loss, X, y, names), reference)
    l2 = gradient_features(module, loss, X, y, names, output="l2")
    torch.testing.assert_close(l2, reference.norm(dim=1))
    if make is ConvNet:  # not all linear: no plan at all
        assert LinearPlan.for_module(module, names) is None
        with pytest.raises(ValueError, match=r"nn\.Linear"):
            gradient_features(module, loss, X, y, names, method="factors")
    else:
        with pytest.raises(FactorsUnsupported):
            gradient_features(module, loss, X, y, names, method="factors")


def test_bad_arguments():
    module = TabularMLP(5, 3, 7)
    X, y = _classes()
    names = select_parameters(module, "last")
    loss = nn.CrossEntropyLoss()
    for kwargs, match in [
        ({"output": "l3"}, "output"),
        ({"method": "magic"}, "method"),
        ({"projection": 0}, "projection"),
        ({"batch_size": 0}, "batch_size"),
        ({"batch_size": "big"}, "batch_size"),
    ]:
        with pytest.raises(ValueError, match=match):
            gradient_features(module, loss, X, y, names, **kwargs)


def test_memory_budget_sets_the_chunks(monkeypatch):
    torch.manual_seed(3)
    module = TabularMLP(5, 3, 7)
    X, y = _classes(n=300)
    loss = nn.CrossEntropyLoss()
    names = select_parameters(module, "all")
    totals = []

    def progress(chunks, total):
        totals.append(total)
        return chunks

    wide = gradient_features(module, loss, X, y, names, progress=progress)
    monkeypatch.setattr(engine, "CPU_CHUNK_BYTES", 4096)
    narrow = gradient_features(module, loss, X, y, names, progress=progress)
    assert totals[0] == 1 and totals[1] > 10
    torch.testing.assert_close(wide, narrow)


@pytest.mark.parametrize("method", ["factors", "vmap"])
def test_module_mode_is_restored(method):
    module = TabularMLP(5, 3, 7).train()
    X, y = _classes()
    names = select_parameters(module, "all")
    gradient_features(module, nn.CrossEntropyLoss(), X, y, names, method=method)
    assert module.training


MEMORY_SCRIPT = textwrap.dedent(
    """
    import json, resource, sys
    import torch
    from torch import nn
    from skogad._gradients.engine import gradient_features, select_parameters

    torch.manual_seed(0)
    n, d, h = int(sys.argv[1]), 50, int(sys.argv[2])
    module = nn.Sequential(
        nn.Linear(d, h), nn.ReLU(), nn.Linear(h, h), nn.ReLU(), nn.Linear(h, 2)
    )
    X, y = torch.randn(n, d), torch.randint(0, 2, (n,))
    names = select_parameters(module, "all")
    n_params = sum(p.numel() for p in module.parameters())
    gradient_features(module, nn.CrossEntropyLoss(), X[:64], y[:64], names,
                      output="l2", method=sys.argv[3])  # warm up
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    norms = gradient_features(module, nn.CrossEntropyLoss(), X, y, names,
                              output="l2", method=sys.argv[3])
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps({"matrix_bytes": 4 * n * n_params, "peak_growth": after - before,
                      "finite": bool(torch.isfinite(norms).all()), "n": len(norms)}))
    """
)


@pytest.mark.slow  # a fresh interpreter each, and gigabyte-sized gradient work
@pytest.mark.parametrize(
    "method, n, hidden",
    [("factors", 40_000, 256), ("vmap", 8_000, 128)],
)
def test_norms_never_form_the_gradient_matrix(method, n, hidden):
    # In a fresh process, so the peak memory is this computation's alone.
    out = subprocess.run(
        [sys.executable, "-c", MEMORY_SCRIPT, str(n), str(hidden), method],
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["finite"] and result["n"] == n
    # the gradient matrix would take several GB; the norms take far less
    assert result["matrix_bytes"] > 500 * 2**20
    assert result["peak_growth"] < result["matrix_bytes"] / 4
    assert result["peak_growth"] < 400 * 2**20


@pytest.mark.skipif(not torch.cuda.is_available(), reason="CUDA is not available")
def test_cuda_matches_cpu():
    device = "cuda"
    torch.manual_seed(4)
    module = TabularMLP(5, 3, 7)
    X, y = _classes(n=200)
    loss = nn.CrossEntropyLoss()
    for params in ["last", "all"]:
        names = select_parameters(module, params)
        for output in ["matrix", "l2"]:
            for projection in [None, 8]:
                kwargs = {"output": output, "projection": projection}
                cpu = gradient_features(module, loss, X, y, names, **kwargs)
                gpu = gradient_features(
                    module.to(device), loss, X, y, names, device=device, **kwargs
                )
                module.cpu()
                assert gpu.device.type == "cpu"
                torch.testing.assert_close(gpu, cpu, rtol=1e-4, atol=1e-5)
