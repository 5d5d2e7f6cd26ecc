"""Per-sample loss gradients of a torch module.

This module is the torch engine of skogad and knows nothing about scikit-learn:
given a module, a loss on a batch of one sample and the data, it yields the
exact gradient of each sample's loss with respect to a selection of the
module's parameters, chunk by chunk, so memory stays bounded for any number
of samples.
"""

from collections.abc import Callable, Iterator, Sequence

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

__all__ = [
    "iter_per_sample_gradients",
    "per_sample_gradients",
    "resolve_device",
    "select_parameters",
]


def resolve_device(device: str | torch.device | None) -> torch.device:
    """Turn ``"auto"`` (CUDA when available) or a device name into a device."""
    if device is None or device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _last_layer_names(module: nn.Module) -> list[str]:
    # The last submodule (in registration order) that owns parameters itself
    # is the output layer for the sequential-style networks used on tabular
    # data; its parameters are the paper's "last layer" selection.
    owners = [
        (name, sub)
        for name, sub in module.named_modules()
        if any(True for _ in sub.parameters(recurse=False))
    ]
    if not owners:
        raise ValueError("The module has no parameters to take gradients of.")
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
    params : {"last", "all"} or list of str
        ``"last"``: the parameters of the last submodule that has any (the
        output layer). ``"all"``: every trainable parameter. A list: parameter
        names as in ``module.named_parameters()``, or names of submodules, whose
        parameters are all taken.

    Returns
    -------
    names : list of str
        Parameter names, in the module's own order.
    """
    named = {n: p for n, p in module.named_parameters() if p.requires_grad}
    if isinstance(params, str):
        if params == "last":
            return _last_layer_names(module)
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
    """Yield per-sample gradients chunk by chunk.

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
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}.")
    named = dict(module.named_parameters())
    if device is None:
        device = next(iter(named.values())).device
    device = torch.device(device)
    selected = {n: named[n].detach() for n in param_names}
    frozen = {n: p.detach() for n, p in named.items() if n not in selected}
    buffers = dict(module.named_buffers())

    def sample_loss(sel, x, t):
        out = functional_call(module, (sel, frozen, buffers), (x.unsqueeze(0),))
        return loss_fn(out, t.unsqueeze(0)).sum()

    grad_fn = vmap(grad(sample_loss), in_dims=(None, 0, 0), randomness="error")
    was_training = module.training
    module.eval()
    try:
        for start in range(0, len(X), batch_size):
            xb = X[start : start + batch_size].to(device)
            tb = y[start : start + batch_size].to(device)
            g = grad_fn(selected, xb, tb)
            yield torch.cat([g[n].reshape(len(xb), -1) for n in param_names], 1)
    finally:
        module.train(was_training)


def per_sample_gradients(*args, **kwargs) -> torch.Tensor:
    """All per-sample gradients as one ``(n_samples, n_params)`` tensor.

    Takes the arguments of `iter_per_sample_gradients`; the chunks are moved
    to the CPU as they come, so device memory stays bounded by one chunk.
    """
    return torch.cat([g.cpu() for g in iter_per_sample_gradients(*args, **kwargs)])
