"""How the default network trains: one schedule, a smooth function of the rows.

For ``n`` training rows (those the net is fitted on, its held-out validation
part included; above `MAX_TRAIN_ROWS` a random sample of that many):

- batch size ``B(n) = clip(n / 20, 32, 4096)``: 16 optimizer steps an epoch on
  the 80% that trains, until the batch reaches 4,096 rows;
- peak learning rate ``lr(n) = 0.06 (B / 4096) ** 0.9``, reached by a linear
  warm-up over the first epoch and decayed along a cosine to zero at the last
  step (`WarmupCosine`);
- a budget of ``S(n) = 1000 min(1, (512 / B) ** 0.45)`` optimizer steps, that
  is ``max_epochs = ceil(S / ceil(0.8 n / B))``; early stopping usually ends
  training sooner;
- batches sliced straight from the arrays (`ArrayBatches`), not fetched a row at
  a time by torch's ``DataLoader``.

Every quantity moves with ``n`` by rounding alone: there is no regime switch.

Why these exponents (measured on a 2-core CPU, ``benchmarks/bench_scaling.py``
and ``benchmarks/bench_label_noise.py``): the learning rate must fall nearly
linearly with the batch, or small tables with many flipped labels (30-40% pair
flips on digits and wine) fit their noise before early stopping sees it; a
power of 2/3 lost up to 0.1 AUROC there. At that lower rate a small batch
needs about a thousand steps to learn a clean 1,000-row table. A step costs
about 0.6 ms plus 0.4 us a row, so from 512 rows a batch the budget shrinks,
keeping 100,000 rows within about a second of training. Early stopping ends
most fits well inside the budget, and a table it ends sooner than a smaller
one's can take less time than that one.
"""

import math

import numpy as np
import torch
from skorch.callbacks import Callback
from torch.utils.data import Subset

MIN_BATCH, MAX_BATCH = 32, 4096
ROWS_PER_BATCH = 20  # n / 20 rows a batch: 16 steps an epoch on the 80% trained
PEAK_LR = 0.06  # at MAX_BATCH
LR_POWER = 0.9
STEPS = 1000
STEPS_BATCH = 512  # the batch above which the step budget shrinks
STEPS_POWER = 0.45
MAX_TRAIN_ROWS = 100_000
TRAINED_FRACTION = 0.8  # early stopping's default validation_fraction held out


def batch_size(n):
    """Rows per optimizer step for ``n`` training rows: ``clip(n/20, 32, 4096)``."""
    return round(float(np.clip(n / ROWS_PER_BATCH, MIN_BATCH, MAX_BATCH)))


def learning_rate(n):
    """Peak learning rate for ``n`` rows: ``0.06 (B/4096)^0.9``."""
    return PEAK_LR * (batch_size(n) / MAX_BATCH) ** LR_POWER


def step_budget(n):
    """Optimizer steps for ``n`` rows: ``1000 min(1, (512/B)^0.45)``."""
    return STEPS * min(1.0, (STEPS_BATCH / batch_size(n)) ** STEPS_POWER)


def max_epochs(n):
    """Epochs that spend the step budget: ``ceil(S / ceil(0.8 n / B))``."""
    per_epoch = max(1, math.ceil(TRAINED_FRACTION * n / batch_size(n)))
    return math.ceil(step_budget(n) / per_epoch)


def default_schedule(n):
    """The default net's skorch parameters for ``n`` training rows.

    Parameters
    ----------
    n : int
        Rows the net is fitted on (its held-out validation part included).

    Returns
    -------
    dict
        ``batch_size``, ``lr`` (the peak), ``max_epochs``, the iterators and
        the learning-rate callback, as skorch ``NeuralNet`` parameters.

    Examples
    --------
    >>> from skogad._schedule import default_schedule
    >>> s = default_schedule(10_000)
    >>> s["batch_size"], round(s["lr"], 4), s["max_epochs"]
    (500, 0.009, 63)
    """
    return {
        "batch_size": batch_size(n),
        "lr": learning_rate(n),
        "max_epochs": max_epochs(n),
        "iterator_train": ArrayBatches,
        "iterator_valid": ArrayBatches,
        "callbacks": [("skogad_lr", WarmupCosine())],
    }


def module_schedule(n):
    """The skorch parameters for a torch module the user gives, ``n`` rows.

    Such a module may be of any size and shape, so it keeps the conservative
    schedule it was measured with: AdamW at a constant 1e-3, up to 100
    epochs, batches of about ``n/16`` rows (16 to 256), torch's
    ``DataLoader``. A skorch net the user gives keeps its own.

    Parameters
    ----------
    n : int
        Rows the net is fitted on.

    Returns
    -------
    dict
        ``batch_size``, ``lr`` and ``max_epochs``.
    """
    return {"batch_size": int(np.clip(n // 16, 16, 256)), "lr": 1e-3, "max_epochs": 100}


def warmup_cosine(step, warmup, total):
    """The learning rate's factor at optimizer ``step`` (0-based), in (0, 1].

    Rises linearly over the first ``warmup`` steps, then falls along a cosine,
    reaching 0 at step ``total``.
    """
    if step < warmup:
        return (step + 1) / warmup
    done = min(1.0, (step - warmup) / max(1, total - warmup))
    return 0.5 * (1 + math.cos(math.pi * done))


class WarmupCosine(Callback):
    """Sets the optimizer's learning rate before each training step.

    The net's ``lr`` is the peak: a linear warm-up over the first epoch's
    steps, then a cosine decay that reaches zero at the last step of
    ``max_epochs`` (the steps counted from the first epoch's training rows).
    Large batches at a high learning rate diverge without the warm-up; the
    decay lets the last epochs settle, which early stopping then keeps.
    """

    def on_train_begin(self, net, **kwargs):
        self.step_, self.warmup_, self.total_ = 0, None, None

    def on_epoch_begin(self, net, dataset_train=None, **kwargs):
        if self.total_ is None:
            per_epoch = max(1, math.ceil(len(dataset_train) / net.batch_size))
            self.warmup_, self.total_ = per_epoch, per_epoch * net.max_epochs

    def on_batch_begin(self, net, training=False, **kwargs):
        if not training:
            return
        lr = net.lr * warmup_cosine(self.step_, self.warmup_, self.total_)
        for group in net.optimizer_.param_groups:
            group["lr"] = lr
        self.step_ += 1


class ArrayBatches:
    """A skorch iterator that slices in-memory arrays a batch at a time.

    skorch's default iterator, torch's ``DataLoader``, fetches and collates
    one row at a time, so on a small network that Python work, not the
    network, is the cost of an epoch. This one indexes whole batches. It
    shuffles with torch's global generator, so the training seed still fixes
    the order (not the same order as ``DataLoader``'s).

    Parameters
    ----------
    dataset : skorch.dataset.Dataset or torch.utils.data.Subset of one
        Holding NumPy arrays ``X`` and ``y`` (``y`` may be ``None``).
    batch_size : int, default=128
        Rows per batch.
    shuffle : bool, default=False
        Whether each pass draws a new order.
    **kwargs : dict
        ``DataLoader`` options, which slicing has no use for.
    """

    def __init__(self, dataset, batch_size=128, shuffle=False, **kwargs):
        rows = None
        if isinstance(dataset, Subset):
            rows = torch.as_tensor(np.asarray(dataset.indices))
            dataset = dataset.dataset
        self.X = torch.as_tensor(np.asarray(dataset.X))
        self.y = None if dataset.y is None else torch.as_tensor(np.asarray(dataset.y))
        self.rows = rows
        self.batch_size = batch_size
        self.shuffle = shuffle

    def __len__(self):
        n = len(self.X) if self.rows is None else len(self.rows)
        return math.ceil(n / self.batch_size)

    def __iter__(self):
        n = len(self.X) if self.rows is None else len(self.rows)
        order = torch.randperm(n) if self.shuffle else None
        if self.rows is not None:
            order = self.rows if order is None else self.rows[order]
        for start in range(0, n, self.batch_size):
            if order is None:
                batch = slice(start, start + self.batch_size)
            else:
                batch = order[start : start + self.batch_size]
            X = self.X[batch]
            # skorch's Dataset gives a placeholder target where there is none
            y = torch.zeros(len(X)) if self.y is None else self.y[batch]
            yield X, y
