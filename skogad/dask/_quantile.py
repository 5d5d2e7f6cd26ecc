"""An exact quantile of scores that stay on the workers, in a few small passes.

Gathering every score to find the contamination quantile would bring 8 bytes
a row to one process (8 GB for a billion rows). Instead each pass counts, in
every partition, how many scores fall in each of `BINS` equal bins of the
range still in question; only those counts travel. The bin holding the
wanted order statistic becomes the next range. Once it holds at most
`GATHER` scores, they are gathered and the statistic read off exactly. Each
pass narrows the range by a factor of `BINS`, so a float64 range is settled
in a handful of passes whatever the number of rows; ties end it at once.
"""

import math

import numpy as np

BINS = 4096
GATHER = 65_536


def _range(block):
    if len(block) == 0:
        return np.inf, -np.inf
    return float(block.min()), float(block.max())


def _window(block, lo, hi, closed):
    return (block >= lo) & ((block <= hi) if closed else (block < hi))


def _counts(block, lo, hi, closed, edges):
    inside = block[_window(block, lo, hi, closed)]
    # bin j holds [edges[j], edges[j + 1]); the last bin is closed when the
    # window is
    where = np.searchsorted(edges, inside, side="right") - 1
    return np.bincount(np.clip(where, 0, len(edges) - 2), minlength=len(edges) - 1)


def _equal(block, value):
    return int(np.count_nonzero(block == value))


def _gather(block, lo, hi, closed):
    return block[_window(block, lo, hi, closed)]


def kth_smallest(blocks, n, k, compute):
    """The ``k``-th smallest (0-based) of ``n`` scores held in ``blocks``.

    Parameters
    ----------
    blocks : list
        The scores, one 1-d array per partition, as Dask delayed objects
        (persisted, so that each pass reads them from memory).
    n : int
        How many scores there are in all.
    k : int
        In ``[0, n)``.
    compute : callable
        ``dask.compute``, or any function with its signature.

    Returns
    -------
    value : float
    """
    from dask import delayed

    if not 0 <= k < n:
        raise ValueError(f"k={k} is not in [0, {n}).")
    ranges = compute(*[delayed(_range)(b) for b in blocks])
    lo = min(r[0] for r in ranges)
    hi = max(r[1] for r in ranges)
    below, inside, closed = 0, n, True  # scores < lo; scores in the window
    while inside > GATHER and lo < hi:
        edges = np.linspace(lo, hi, BINS + 1)
        counts = compute(*[delayed(_counts)(b, lo, hi, closed, edges) for b in blocks])
        counts = np.sum(counts, axis=0)
        before = below + np.concatenate([[0], np.cumsum(counts)])
        j = int(np.searchsorted(before, k, side="right")) - 1
        j = min(j, BINS - 1)
        below, inside = int(before[j]), int(counts[j])
        window = (float(edges[j]), float(edges[j + 1]), closed and j == BINS - 1)
        if window == (lo, hi, closed):
            # No bin is narrower: lo and hi are adjacent floats, so the
            # window holds lo alone, or lo and hi.
            equal = sum(compute(*[delayed(_equal)(b, lo) for b in blocks]))
            return lo if k - below < equal else hi
        lo, hi, closed = window
    if lo == hi:
        return lo
    values = np.concatenate(
        compute(*[delayed(_gather)(b, lo, hi, closed) for b in blocks])
    )
    return float(np.partition(values, k - below)[k - below])


def percentile(blocks, n, fraction, compute):
    """``np.percentile(all_scores, 100 * fraction)`` without gathering them.

    Linear interpolation between the two order statistics around the
    quantile, as NumPy's default method does.
    """
    h = (n - 1) * fraction
    low = math.floor(h)
    a = kth_smallest(blocks, n, low, compute)
    if h == low:
        return a
    b = kth_smallest(blocks, n, low + 1, compute)
    return float(np.percentile([a, b], 100 * (h - low)))
