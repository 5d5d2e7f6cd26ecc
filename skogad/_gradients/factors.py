"""Closed forms for the per-sample gradients of linear layers.

For a linear layer ``z = W h + b`` the gradient of one sample's loss is an
outer product: ``dL/dW = delta (x) h`` and ``dL/db = delta``, where
``delta = dL/dz`` is that sample's gradient at the layer's output. So the
per-sample gradients of every selected linear layer follow from *one* batched
forward pass (which records each layer's input ``h``) and the loss gradient
at the network output (for a softmax/cross-entropy head
``softmax(z) - onehot(y)``, for a squared-error head ``2 (z - y) / n_outputs``,
for any other loss ``vmap(grad)`` of it): that is the ``delta`` of a layer
whose output is the network's output, and *one* batched backward pass carries
it to zero "probes" added to the other layers' outputs. Norms, inner
products and projections of the gradients follow from the factors without
forming the outer products:
``||delta (x) [h, 1]||_2^2 = ||delta||_2^2 (||h||_2^2 + 1)``.

This needs each selected layer to be an ``nn.Linear`` applied once per
forward pass to a ``(batch, in_features)`` input, and the network to treat the
samples of a batch independently in eval mode (as every standard layer does:
one backward pass of the per-sample output gradients then gives each sample's
own ``delta``). `LinearPlan.for_module` returns ``None`` where the selection
is not made of linear layers; `LinearPlan.check` raises `FactorsUnsupported`
where a forward pass shows the other conditions fail, and the caller falls
back to ``torch.func``.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, grad, vmap

__all__ = [
    "FactorsUnsupported",
    "LayerFactors",
    "LinearPlan",
    "linear_factors",
    "output_delta",
]


class FactorsUnsupported(RuntimeError):
    """The network does not allow the linear-layer closed form."""


@dataclass
class LayerFactors:
    """One linear layer's per-sample gradient factors for a chunk of samples.

    ``delta``: (chunk, out_features), the loss gradient at the layer output;
    ``h``: (chunk, in_features), the layer input; ``weight``/``bias``: which
    of the layer's parameters are selected.
    """

    delta: torch.Tensor
    h: torch.Tensor
    weight: bool
    bias: bool

    @property
    def a(self) -> torch.Tensor:
        """The input factor: ``h``, ``[h, 1]`` or ``[1]`` for the selection."""
        ones = self.h.new_ones((len(self.h), 1))
        if self.weight and self.bias:
            return torch.cat([self.h, ones], 1)
        return self.h if self.weight else ones

    def norms(self, ord: int) -> torch.Tensor:
        """``||grad||_1`` (``ord=1``) or ``||grad||_2^2`` (``ord=2``) per sample."""
        norm = torch.linalg.vector_norm
        d = norm(self.delta, ord, dim=1)
        h = norm(self.h, ord, dim=1) if self.weight else None
        if ord == 2:
            d = d.square()
            h = None if h is None else h.square()
        if h is None:
            return d
        return d * (h + 1.0) if self.bias else d * h

    def write(self, name: str, dest: torch.Tensor, start: int) -> int:
        """Write the flattened gradient of ``"weight"`` or ``"bias"`` into
        ``dest[:, start:]``, without temporaries; return its width."""
        n_out = self.delta.shape[1]
        if name == "bias":
            dest[:, start : start + n_out].copy_(self.delta)
            return n_out
        n_in = self.h.shape[1]
        block = dest[:, start : start + n_out * n_in].view(len(dest), n_out, n_in)
        torch.mul(self.delta[:, :, None], self.h[:, None, :], out=block)
        return n_out * n_in


@dataclass
class LinearPlan:
    """Which linear layers, and which of their parameters, are selected.

    ``layers`` maps a submodule name to its module and to the selected leaf
    names (``"weight"``, ``"bias"``); ``order`` lists ``(layer, leaf)`` in the
    order of the selected parameter names, the layout of the dense gradient.
    """

    layers: dict[str, tuple[nn.Linear, set[str]]]
    order: list[tuple[str, str]]
    output_layer: str | None = None

    @classmethod
    def for_module(
        cls, module: nn.Module, param_names: Sequence[str]
    ) -> "LinearPlan | None":
        """A plan if every selected parameter belongs to an ``nn.Linear``."""
        modules = dict(module.named_modules())
        layers: dict[str, tuple[nn.Linear, set[str]]] = {}
        order = []
        for name in param_names:
            prefix, _, leaf = name.rpartition(".")
            sub = modules.get(prefix)
            if type(sub) is not nn.Linear or leaf not in ("weight", "bias"):
                return None
            layers.setdefault(prefix, (sub, set()))[1].add(leaf)
            order.append((prefix, leaf))
        return cls(layers, order) if layers else None

    def check(self, module: nn.Module, X: torch.Tensor) -> "LinearPlan":
        """Run the module once on a few rows to see that the closed form holds.

        Sets ``output_layer``: the planned layer whose output is the network's
        output, untouched (its gradient factor is then the loss gradient at
        the output).

        Raises
        ------
        FactorsUnsupported
            If the output is not one tensor, or a planned layer is not called
            exactly once on a ``(len(X), in_features)`` input.
        """
        seen: dict[str, tuple[torch.Tensor, int]] = {}

        def hook_for(name):
            def hook(layer, args, output):
                h = args[0]
                if name in seen or h.dim() != 2 or h.shape[0] != len(X):
                    raise FactorsUnsupported(
                        f"layer {name!r} is not applied once to a "
                        "(batch, features) input"
                    )
                seen[name] = (output, output._version)

            return hook

        handles = [
            layer.register_forward_hook(hook_for(name))
            for name, (layer, _) in self.layers.items()
        ]
        try:
            with torch.no_grad():
                out = module(X)
        finally:
            for handle in handles:
                handle.remove()
        if not isinstance(out, torch.Tensor) or out.dim() < 1 or len(out) != len(X):
            raise FactorsUnsupported(
                "the output is not one tensor of one row per sample"
            )
        if len(seen) != len(self.layers):
            raise FactorsUnsupported("a selected layer is not used by forward")
        self.output_layer = next(
            (
                name
                for name, (output, version) in seen.items()
                if output is out and out._version == version
            ),
            None,
        )
        return self

    def factor_dims(self) -> list[tuple[int, int]]:
        """``(out_features, width of the input factor a)`` per layer; their
        product is the number of selected parameters of the layer."""
        dims = []
        for layer, leaves in self.layers.values():
            n_in = layer.in_features if "weight" in leaves else 0
            dims.append((layer.out_features, n_in + ("bias" in leaves)))
        return dims


def output_delta(loss_fn, out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Each sample's loss gradient with respect to the network output.

    Closed forms for ``nn.CrossEntropyLoss`` on class indices (without class
    weights): ``softmax(z) - onehot(y)`` (label smoothing mixes in the
    uniform distribution), and for ``nn.MSELoss``: ``2 (z - y)``, divided by
    the number of outputs for ``reduction="mean"``. Any other loss:
    ``vmap(grad(loss))`` over the samples.
    """
    if (
        type(loss_fn) is nn.CrossEntropyLoss
        and loss_fn.weight is None
        and out.dim() == 2
        and y.dim() == 1
        and not y.is_floating_point()
        and not bool((y == loss_fn.ignore_index).any())
    ):
        eps = loss_fn.label_smoothing
        delta = torch.softmax(out, dim=1)
        delta[torch.arange(len(y), device=y.device), y] -= 1.0 - eps
        return delta - eps / out.shape[1] if eps else delta
    if type(loss_fn) is nn.MSELoss and out.shape == y.shape:
        scale = 2.0 / out[0].numel() if loss_fn.reduction == "mean" else 2.0
        return scale * (out - y)

    def one_loss(o, t):
        return loss_fn(o.unsqueeze(0), t.unsqueeze(0)).sum()

    return vmap(grad(one_loss), randomness="error")(out, y)


def linear_factors(
    module: nn.Module,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    X: torch.Tensor,
    y: torch.Tensor,
    plan: LinearPlan,
    outputs: list | None = None,
) -> list[LayerFactors]:
    """The factors of every planned layer for one chunk (module in eval mode).

    One forward pass records each planned layer's input. The loss gradient at
    the network output (`output_delta`) is that of a layer whose output is
    the network's output; for the other layers it is carried back by one
    backward pass to zero "probes" added to their outputs.

    Parameters
    ----------
    module : torch.nn.Module
        The network, already in eval mode.
    loss_fn : callable
        ``loss_fn(output, target)`` on a batch of one sample.
    X, y : torch.Tensor
        One chunk of inputs and targets, on the module's device.
    plan : LinearPlan
        The selected layers, checked by `LinearPlan.check`.
    outputs : list, default=None
        Where to append the network's outputs for the chunk, from this same
        forward pass.

    Returns
    -------
    factors : list of LayerFactors
        In ``plan.layers`` order.
    """
    inputs: dict[str, torch.Tensor] = {}
    probes: dict[str, torch.Tensor] = {}

    def hook_for(name):
        def hook(layer, args, output):
            inputs[name] = args[0].detach()
            if name == plan.output_layer:
                return None
            probes[name] = torch.zeros_like(output, requires_grad=True)
            return output + probes[name]

        return hook

    handles = [
        layer.register_forward_hook(hook_for(name))
        for name, (layer, _) in plan.layers.items()
    ]
    # Detached parameters: autograd records only the path from the probes to
    # the output, not the graph of the whole network.
    params = {k: p.detach() for k, p in module.named_parameters()}
    buffers = dict(module.named_buffers())
    needs_backward = len(plan.layers) > (plan.output_layer is not None)
    try:
        with torch.set_grad_enabled(needs_backward):
            out = functional_call(module, (params, buffers), (X,))
    finally:
        for handle in handles:
            handle.remove()
    if outputs is not None:
        outputs.append(out.detach())
    delta_out = output_delta(loss_fn, out.detach(), y)
    deltas = dict.fromkeys(plan.layers, delta_out)
    if probes:
        carried = torch.autograd.grad(
            out, list(probes.values()), grad_outputs=delta_out, allow_unused=True
        )
        for (name, probe), delta in zip(probes.items(), carried, strict=True):
            # a layer that does not reach the output has a zero gradient
            deltas[name] = torch.zeros_like(probe) if delta is None else delta
    return [
        LayerFactors(deltas[name], inputs[name], "weight" in leaves, "bias" in leaves)
        for name, (_, leaves) in plan.layers.items()
    ]
