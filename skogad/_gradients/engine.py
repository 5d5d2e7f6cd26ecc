"""Per-sample loss gradients of a torch module, and what is computed from them.

This module is the torch engine of skogad and knows nothing about scikit-learn.
Given a module, a loss on a batch of one sample and the data, it computes for
each sample the exact gradient of its loss with respect to a selection of the
module's parameters, and reduces it chunk by chunk to what the caller needs:

- the dense gradients (``output="matrix"``), or a random projection of them to
  ``k`` dimensions (``projection=k``): peak memory O(chunk * p + n * k);
- their L1 or L2 norms (``output="l1"``/``"l2"``): O(n) memory, no n x p
  matrix ever.

Two methods give the same numbers. Where every selected parameter belongs to
an ``nn.Linear`` layer, the gradients are outer products whose factors come
from one batched forward and backward pass (`skogad._gradients.factors`); norms and
projections then never form the outer products. Everything else goes through
``torch.func`` (``functional_call`` + ``vmap(grad)``). The module is always
evaluated in eval mode; its own mode is restored afterwards. Chunks are sized
from the memory available on the device, computed there, and the results are
moved back to the CPU once.
"""

import contextlib
import math
from collections.abc import Callable, Iterable, Iterator, Sequence

import numpy as np
import torch
from torch import nn
from torch.func import functional_call, grad, vmap
from tqdm.auto import tqdm

from skogad._gradients.factors import FactorsUnsupported, LinearPlan, linear_factors
from skogad._gradients.projection import (
    CountSketch,
    KroneckerProjection,
    split_dimensions,
)

__all__ = [
    "OUTPUTS",
    "auto_batch_size",
    "check_parameter_selection",
    "gradient_array",
    "gradient_features",
    "iter_per_sample_gradients",
    "per_sample_gradients",
    "resolve_device",
    "select_parameters",
]

OUTPUTS = ("matrix", "l1", "l2")
METHODS = ("auto", "factors", "vmap")
# On a CPU, chunks of a few tens of MiB are fastest (measured: larger ones
# fall out of the allocator's cache into fresh pages); on a GPU half of the
# free memory is used.
CPU_CHUNK_BYTES = 64 * 2**20
GPU_MEMORY_FRACTION = 0.5


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Turn ``"auto"`` (CUDA when available) or a device name into a device.

    A device this machine does not have raises ``ValueError`` here, before
    any work, rather than an ``AssertionError`` from deep inside torch once
    a tensor is first moved there.
    """
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(
            f"device={device!r} is not a torch device: use 'auto', 'cpu', 'cuda' "
            "or 'cuda:<index>'."
        ) from exc
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise ValueError(
                f"device={device!r} asks for a CUDA GPU, and torch finds none "
                "here (torch.cuda.is_available() is False): use device='cpu', or "
                "'auto' to use a GPU only where there is one."
            )
        if resolved.index is not None and resolved.index >= count:
            raise ValueError(
                f"device={device!r} asks for CUDA GPU {resolved.index}, and this "
                f"machine has {count} (0 to {count - 1})."
            )
    if resolved.type == "mps" and not torch.backends.mps.is_available():
        raise ValueError(
            f"device={device!r} asks for Apple's MPS, which torch cannot use "
            "here: use device='cpu' or 'auto'."
        )
    return resolved


def _last_layer_names(module: nn.Module) -> list[str]:
    # The last submodule (in registration order) that owns trainable
    # parameters itself is the output layer for the sequential-style networks
    # used on tabular data, and the head of a network whose body is frozen
    # (registered before or after it); its parameters are the paper's "last
    # layer" selection.
    owners = [
        (name, sub)
        for name, sub in module.named_modules()
        if any(p.requires_grad for p in sub.parameters(recurse=False))
    ]
    if not owners:
        raise ValueError("The module has no trainable parameters to take gradients of.")
    prefix, sub = owners[-1]
    return [
        f"{prefix}.{name}" if prefix else name
        for name, p in sub.named_parameters(recurse=False)
        if p.requires_grad
    ]


def select_parameters(module: nn.Module, params: str | Sequence[str]) -> list[str]:
    """Names of the parameters whose gradients are taken.

    Parameters
    ----------
    module : torch.nn.Module
        The network.
    params : {"output", "last", "all"} or list of str
        ``"output"``: the bias of the output layer, whose gradient is the
        loss gradient with respect to the network's outputs. ``"last"``: the
        trainable parameters of the last submodule that has any (the output
        layer, or the head of a frozen body).
        ``"all"``: every trainable parameter. A list: parameter names as in
        ``module.named_parameters()``, or names of submodules, whose
        parameters are all taken.

    Returns
    -------
    names : list of str
        Parameter names, in the module's own order.
    """
    named = {n: p for n, p in module.named_parameters() if p.requires_grad}
    check_parameter_selection(params)
    if isinstance(params, str):
        if params == "last":
            return _last_layer_names(module)
        if params == "output":
            names = _last_layer_names(module)
            bias = [n for n in names if n.rsplit(".", 1)[-1] == "bias"]
            if not bias:
                raise ValueError(
                    "params='output' takes the gradient of the output layer's "
                    f"bias, and the output layer ({', '.join(names)}) has none: "
                    "use params='last' or name the parameters."
                )
            return bias
        if params == "all":
            if not named:
                raise ValueError("The module has no trainable parameters.")
            return list(named)
        params = [params]
    wanted: set[str] = set()
    for item in params:
        hits = [n for n in named if n == item or n.startswith(f"{item}.")]
        if not hits:
            raise ValueError(
                f"No trainable parameter or submodule named {item!r}; "
                f"available parameters: {sorted(named)}."
            )
        wanted.update(hits)
    return [n for n in named if n in wanted]


def check_parameter_selection(params: str | Sequence[str]) -> None:
    """Refuse a ``params`` value that can select nothing, before any work.

    Names are checked against a module by `select_parameters`; this checks
    what needs no module, so that it can run before a network is trained.
    """
    if isinstance(params, str):
        return
    if not isinstance(params, list | tuple) or not params:
        raise ValueError(
            "params must be 'output', 'last', 'all' or a non-empty list of "
            f"parameter or submodule names; got {params!r}."
        )
    bad = [item for item in params if not isinstance(item, str)]
    if bad:
        raise ValueError(
            f"params names parameters or submodules by their names (str); got {bad!r}."
        )


@contextlib.contextmanager
def _eval_mode(module: nn.Module):
    was_training = module.training
    module.eval()
    try:
        yield module
    finally:
        module.train(was_training)


def _vmap_gradient_dict(module, loss_fn, param_names):
    """``f(X_chunk, y_chunk) -> {name: (chunk, *shape)}`` by torch.func."""
    named = dict(module.named_parameters())
    selected = {n: named[n].detach() for n in param_names}
    frozen = {n: p.detach() for n, p in named.items() if n not in selected}
    buffers = dict(module.named_buffers())

    def sample_loss(sel, x, t):
        out = functional_call(module, (sel, frozen, buffers), (x.unsqueeze(0),))
        return loss_fn(out, t.unsqueeze(0)).sum()

    grad_fn = vmap(grad(sample_loss), in_dims=(None, 0, 0), randomness="error")
    return lambda xb, tb: grad_fn(selected, xb, tb)


def _check_batch_size(batch_size, *, allow_auto):
    if allow_auto and batch_size == "auto":
        return
    if (
        isinstance(batch_size, bool)
        or not isinstance(batch_size, int)
        or batch_size < 1
    ):
        expected = "'auto' or an int >= 1" if allow_auto else "an int >= 1"
        raise ValueError(f"batch_size must be {expected}, got {batch_size!r}.")


def _module_device(module: nn.Module) -> torch.device:
    return next(module.parameters()).device


def iter_per_sample_gradients(
    module: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    param_names: Sequence[str],
    *,
    batch_size: int = 1024,
    device: torch.device | str | None = None,
) -> Iterator[torch.Tensor]:
    """Yield dense per-sample gradients chunk by chunk (``torch.func``).

    Parameters
    ----------
    module : torch.nn.Module
        The network. It is evaluated in eval mode (no dropout, frozen
        batch-norm statistics); its own mode is restored afterwards.
    loss_fn : callable
        ``loss_fn(output, target)`` for a batch of one sample (leading
        dimension 1), returning that sample's loss (a scalar, or a tensor that
        is summed).
    X, y : torch.Tensor
        Inputs and targets, first dimension = samples. They may live on the
        CPU; each chunk is moved to ``device``.
    param_names : sequence of str
        Parameters to differentiate with respect to (see `select_parameters`).
    batch_size : int, default=1024
        Samples per chunk. Peak memory is about ``batch_size`` times the
        number of selected parameters (plus the activations of the chunk).
    device : torch.device or str, default=None
        Where to compute; by default the device of the module's parameters.

    Yields
    ------
    grads : torch.Tensor of shape (chunk, n_selected_parameters)
        Flattened gradients, in ``param_names`` order, on ``device``.
    """
    _check_batch_size(batch_size, allow_auto=False)
    device = torch.device(device) if device is not None else _module_device(module)
    gradients = _vmap_gradient_dict(module, loss_fn, param_names)
    with _eval_mode(module):
        for start in range(0, len(X), batch_size):
            xb = X[start : start + batch_size].to(device)
            tb = y[start : start + batch_size].to(device)
            g = gradients(xb, tb)
            yield torch.cat([g[n].reshape(len(xb), -1) for n in param_names], 1)


def per_sample_gradients(*args, **kwargs) -> torch.Tensor:
    """All per-sample gradients as one ``(n_samples, n_params)`` tensor.

    Takes the arguments of `iter_per_sample_gradients`; the chunks are moved
    to the CPU as they come, so device memory stays bounded by one chunk.
    """
    return torch.cat([g.cpu() for g in iter_per_sample_gradients(*args, **kwargs)])


# ---------------------------------------------------------------- chunk sizes
def memory_budget(device: torch.device) -> int:
    """Bytes one chunk may use on ``device``."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(GPU_MEMORY_FRACTION * free)
    available = _available_host_memory()
    if available is None:
        return CPU_CHUNK_BYTES
    return int(min(CPU_CHUNK_BYTES, available // 4))


def _available_host_memory() -> int | None:
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def _activations_per_sample(module: nn.Module, x: torch.Tensor) -> int:
    """Numbers produced by the module's leaf layers for one sample."""
    count = 0

    def hook(_, __, output):
        nonlocal count
        if isinstance(output, torch.Tensor):
            count += output.numel()

    leaves = [m for m in module.modules() if next(m.children(), None) is None]
    handles = [m.register_forward_hook(hook) for m in leaves]
    try:
        with torch.no_grad():
            module(x[:1])
    finally:
        for handle in handles:
            handle.remove()
    return count


def auto_batch_size(
    module: nn.Module,
    x: torch.Tensor,
    n_params: int,
    *,
    method: str,
    k: int | None,
    n_samples: int,
    device: torch.device,
) -> int:
    """A chunk size that keeps one chunk within `memory_budget`.

    Per sample, a chunk holds the layers' activations (a few times over, for
    the backward pass), the ``k`` projected values and, with ``torch.func``,
    about three copies of the ``p`` selected gradients (the closed form
    writes dense gradients straight into the result).
    """
    activations = _activations_per_sample(module, x)
    values = 4 * activations + (k or 0)
    if method == "vmap":
        values += 3 * n_params
    per_sample = 4 * max(values, 1)
    return int(max(1, min(n_samples, memory_budget(device) // per_sample)))


# ------------------------------------------------------------------- outputs
def _empty(shape, device):
    """A float32 result to write chunks into.

    On the CPU it is numpy's allocation, which asks the kernel for huge pages,
    and it is touched once by one thread before torch's threads write into it:
    measured here, two threads faulting in fresh pages write about ten times
    slower than one (they contend in the kernel), so a dense gradient matrix
    would cost more to store than to compute.
    """
    if device.type == "cpu":
        array = np.empty(shape, dtype=np.float32)
        array.fill(0.0)
        return torch.from_numpy(array)
    return torch.empty(shape, device=device)


class _Reducer:
    """Writes each chunk's result (norms, dense or projected gradients) into
    its rows of the output, from dense gradients or from linear factors."""

    def __init__(self, output, projection, seed, param_names, n_params, plan, device):
        self.ord = {"l1": 1, "l2": 2}.get(output)
        self.sketch = self.kron = None
        self.width = n_params
        # Projecting to as many dimensions as there are parameters would only
        # add noise: the gradients are then returned exactly.
        if output == "matrix" and projection is not None and projection < n_params:
            if plan is None:
                self.sketch = CountSketch(n_params, projection, seed, device)
                self.width = projection
            else:
                dims = plan.factor_dims()
                shares = split_dimensions(projection, [o * i for o, i in dims])
                self.kron = [
                    KroneckerProjection(n_out, n_in, share, seed + i, device)
                    for i, ((n_out, n_in), share) in enumerate(
                        zip(dims, shares, strict=True)
                    )
                ]
                self.width = sum(p.k for p in self.kron)
        if self.ord is not None:
            self.width = None
        self.plan = plan
        self.param_names = list(param_names)

    def shape(self, n):
        return (n,) if self.width is None else (n, self.width)

    def dense(self, grads, dest):
        """``grads``: parameter name -> (chunk, ...) gradient."""
        flat = [grads[name].reshape(len(dest), -1) for name in self.param_names]
        if self.ord is not None:
            if self.ord == 1:
                dest.copy_(sum(g.abs().sum(1) for g in flat))
            else:
                dest.copy_(sum(g.square().sum(1) for g in flat).sqrt())
        elif self.sketch is not None:
            dest.copy_(self.sketch(torch.cat(flat, 1)))
        else:
            start = 0
            for g in flat:
                dest[:, start : start + g.shape[1]].copy_(g)
                start += g.shape[1]

    def factors(self, factors, dest):
        if self.ord is not None:
            total = sum(f.norms(self.ord) for f in factors)
            dest.copy_(total if self.ord == 1 else total.sqrt())
        elif self.kron is not None:
            start = 0
            for proj, f in zip(self.kron, factors, strict=True):
                dest[:, start : start + proj.k].copy_(proj(f.delta, f.a))
                start += proj.k
        else:
            by_layer = dict(zip(self.plan.layers, factors, strict=True))
            start = 0
            for name, leaf in self.plan.order:
                start += by_layer[name].write(leaf, dest, start)


def gradient_features(
    module: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    param_names: Sequence[str],
    *,
    output: str = "matrix",
    projection: int | None = None,
    seed: int = 0,
    batch_size: int | str = "auto",
    device: torch.device | str | None = None,
    method: str = "auto",
    progress: Callable[[Iterable, int], Iterable] | None = None,
    outputs: list | None = None,
) -> torch.Tensor:
    """Per-sample gradients reduced to what a scorer needs, on the CPU.

    Parameters
    ----------
    module : torch.nn.Module
        The network; evaluated in eval mode, its own mode restored after.
    loss_fn : callable
        ``loss_fn(output, target)`` for a batch of one sample.
    X, y : torch.Tensor
        Inputs and targets (first dimension = samples), on any device.
    param_names : sequence of str
        Parameters to differentiate with respect to (see `select_parameters`).
    output : {"matrix", "l1", "l2"}, default="matrix"
        ``"matrix"``: the gradients, one row per sample (projected when
        ``projection`` is set); ``"l1"``/``"l2"``: their norms, computed
        without forming the gradient matrix.
    projection : int, default=None
        With ``output="matrix"``, project the gradients to at most this many
        dimensions, chunk by chunk (see `skogad._gradients.projection`).
    seed : int, default=0
        Seed of the projection.
    batch_size : int or "auto", default="auto"
        Samples per chunk; ``"auto"`` sizes chunks from the memory available
        on the device (`auto_batch_size`).
    device : torch.device or str, default=None
        Where to compute; by default the module's device.
    method : {"auto", "factors", "vmap"}, default="auto"
        ``"factors"``: the linear-layer closed form (an error where it does
        not apply); ``"vmap"``: ``torch.func`` for any module; ``"auto"``: the
        closed form where it applies, else ``torch.func``.
    progress : callable, default=None
        ``progress(iterable, total)`` wraps the loop over chunks (a progress
        bar).
    outputs : list, default=None
        Where to append the network's outputs (in eval mode), chunk by chunk
        in row order, as tensors on the CPU. The closed form takes them from
        its own forward pass; ``torch.func`` needs one more.

    Returns
    -------
    features : torch.Tensor on the CPU
        ``(n_samples, n_features)`` for ``"matrix"``, ``(n_samples,)`` for
        norms.
    """
    if output not in OUTPUTS:
        raise ValueError(f"output must be one of {OUTPUTS}, got {output!r}.")
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}.")
    if projection is not None and (isinstance(projection, bool) or projection < 1):
        raise ValueError(f"projection must be None or an int >= 1, got {projection!r}.")
    _check_batch_size(batch_size, allow_auto=True)
    device = torch.device(device) if device is not None else _module_device(module)
    named = dict(module.named_parameters())
    n_params = sum(named[n].numel() for n in param_names)
    plan = None if method == "vmap" else LinearPlan.for_module(module, param_names)
    if method == "factors" and plan is None:
        raise ValueError(
            "method='factors' needs every selected parameter to belong to an "
            "nn.Linear layer."
        )
    with _eval_mode(module):
        if plan is not None and len(X):
            try:  # a forward pass on two rows tells whether the closed form holds
                plan.check(module, X[:2].to(device))
            except FactorsUnsupported:
                if method == "factors":
                    raise
                plan = None
        if batch_size == "auto":
            batch_size = auto_batch_size(
                module,
                X[:1].to(device),
                n_params,
                method="vmap" if plan is None else "factors",
                k=projection if output == "matrix" else None,
                n_samples=max(len(X), 1),
                device=device,
            )
        reducer = _Reducer(
            output, projection, seed, param_names, n_params, plan, device
        )
        if plan is None:
            gradients = _vmap_gradient_dict(module, loss_fn, param_names)

            def compute(xb, tb, dest):
                reducer.dense(gradients(xb, tb), dest)
                if outputs is not None:
                    outputs.append(module(xb).cpu())

        else:

            def compute(xb, tb, dest):
                chunk = None if outputs is None else []
                reducer.factors(
                    linear_factors(module, loss_fn, xb, tb, plan, chunk), dest
                )
                if chunk:
                    outputs.append(chunk[0].cpu())

        # The result stays on the device and comes back in one transfer,
        # unless it would not fit there.
        shape = reducer.shape(len(X))
        size = 4 * math.prod(shape)
        on_device = device.type == "cpu" or size <= memory_budget(device)
        result = _empty(shape, device if on_device else torch.device("cpu"))
        starts = range(0, len(X), batch_size)
        if progress is not None:
            starts = progress(starts, len(starts))
        for start in starts:
            stop = min(start + batch_size, len(X))
            xb = X[start:stop].to(device)
            tb = y[start:stop].to(device)
            with torch.no_grad():  # the closed form enables what it needs
                if on_device:
                    compute(xb, tb, result[start:stop])
                else:
                    chunk = torch.empty(reducer.shape(stop - start), device=device)
                    compute(xb, tb, chunk)
                    result[start:stop].copy_(chunk)
    if result.device.type != "cpu":
        host = _empty(shape, torch.device("cpu"))
        host.copy_(result)
        result = host
    return result


def gradient_array(*args, verbose=False, **kwargs) -> np.ndarray:
    """`gradient_features` as a NumPy array, every value checked finite.

    Takes the arguments of `gradient_features` (but ``progress``); with
    ``verbose`` a progress bar runs over the chunks.

    Raises
    ------
    FloatingPointError
        If a gradient is NaN or infinite (the loss is not finite on some
        samples): a score computed from it would mean nothing.
    """

    def progress(chunks, total):
        return tqdm(chunks, total=total, desc="gradients", disable=not verbose)

    G = gradient_features(*args, progress=progress, **kwargs).numpy()
    if not np.all(np.isfinite(G)):
        raise FloatingPointError(
            "Per-sample gradients are NaN or infinite: the network's loss is not "
            "finite on some samples (check the inputs' scale and the network)."
        )
    return G
