"""Random projections of per-sample gradients, applied chunk by chunk.

Two projections, both fixed by a seed so the same rows always map to the same
vectors (at fit and at score time, on any device):

- `CountSketch` for a dense gradient of ``p`` values (the general path): each
  coordinate is added, with a random sign, to one of ``k`` buckets. It keeps
  norms and inner products in expectation, needs O(p) memory for its hash and
  O(chunk * p) time, and never forms a ``p x k`` matrix.
- `KroneckerProjection` for the gradient of a linear layer, an outer product
  ``delta (x) a``: the two factors are projected separately by Gaussian
  matrices, ``(P_out delta) (x) (P_in a)``, which equals projecting the
  flattened gradient by ``P_out (x) P_in`` (as in LoGra, Choe et al. 2024)
  without forming the outer product. A factor no larger than its share of
  ``k`` is kept exact.
"""

import math

import torch

__all__ = ["CountSketch", "KroneckerProjection", "split_dimensions"]


def _generator(seed: int) -> torch.Generator:
    # Draw on the CPU with an explicit generator: the same seed gives the same
    # projection on every device.
    return torch.Generator().manual_seed(int(seed))


class CountSketch:
    """Sparse random projection of ``p``-dimensional rows to ``k`` dimensions.

    Parameters
    ----------
    n_features : int
        Input dimension ``p``.
    k : int
        Output dimension.
    seed : int
        Seed of the hash and the signs.
    device : torch.device
        Where the projection is applied.
    """

    def __init__(self, n_features: int, k: int, seed: int, device):
        g = _generator(seed)
        self.k = int(k)
        self.bucket = torch.randint(0, k, (n_features,), generator=g).to(device)
        signs = torch.randint(0, 2, (n_features,), generator=g) * 2 - 1
        self.sign = signs.to(device=device, dtype=torch.float32)

    def __call__(self, G: torch.Tensor) -> torch.Tensor:
        """Project the rows of ``G`` (chunk, p) to (chunk, k)."""
        out = G.new_zeros((G.shape[0], self.k))
        return out.index_add_(1, self.bucket, G * self.sign.to(G.dtype))


class KroneckerProjection:
    """Project ``vec(delta (x) a)`` by ``P_out (x) P_in`` without forming it.

    Parameters
    ----------
    n_out, n_in : int
        Dimensions of the two factors (``delta``: output gradient; ``a``: the
        layer input, with a 1 appended when the bias is selected).
    k : int
        Budget for this layer: the projected dimension is
        ``k_out * k_in <= max(k, 1)``, about ``sqrt(k)`` each; a factor
        smaller than its share is kept exact and the other gets the rest. With
        ``k >= n_out * n_in`` nothing is projected.
    seed : int
        Seed of the Gaussian matrices (entries of variance ``1 / k_*``, so
        squared norms are kept in expectation).
    device : torch.device
        Where the projection is applied.
    """

    def __init__(self, n_out: int, n_in: int, k: int, seed: int, device):
        k = max(int(k), 1)
        if k >= n_out * n_in:
            k_out, k_in = n_out, n_in
        else:
            k_out = min(n_out, max(1, round(math.sqrt(k))))
            k_in = min(n_in, max(1, k // k_out))
            k_out = min(n_out, max(1, k // k_in))  # what the input side left
        g = _generator(seed)
        self.p_out = self._matrix(n_out, k_out, g, device)
        self.p_in = self._matrix(n_in, k_in, g, device)
        self.k = k_out * k_in

    @staticmethod
    def _matrix(n, k, g, device):
        if k >= n:
            return None
        return (torch.randn(n, k, generator=g) / math.sqrt(k)).to(device)

    def __call__(self, delta: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
        """Project a chunk: ``delta`` (chunk, n_out), ``a`` (chunk, n_in)."""
        if self.p_out is not None:
            delta = delta @ self.p_out
        if self.p_in is not None:
            a = a @ self.p_in
        return (delta[:, :, None] * a[:, None, :]).reshape(len(delta), -1)


def split_dimensions(k: int, sizes: list[int]) -> list[int]:
    """Share ``k`` dimensions among blocks in proportion to their sizes.

    Every block gets at least one dimension; the shares sum to
    ``max(k, len(sizes))`` (largest remainders get the rounding).
    """
    total = sum(sizes)
    raw = [k * s / total for s in sizes]
    shares = [max(1, int(r)) for r in raw]
    order = sorted(range(len(sizes)), key=lambda i: raw[i] - int(raw[i]), reverse=True)
    for i in order[: max(0, k - sum(shares))]:
        shares[i] += 1
    return shares
