"""The skorch side: the default network, wrapping what the user gives, training.

`GradientOutlierDetector` asks this module for *members* (`fit_members`):
trained networks, each with the training rows it may score. A fitted net (or
one in a ``FrozenEstimator``) is the one member, used as it is. Otherwise the
members depend on *when* the gradients are taken (the ``timing`` parameter):

- ``"final"``: one net, trained for all its epochs;
- ``"early_stopping"``: one net, stopped where the loss on a held-out split
  was lowest (before it memorises noisy labels);
- ``"checkpoints"``: snapshots of one net taken during training, scores
  averaged over them;
- ``"out_of_fold"``: ``cv`` nets, each scoring only the rows it did not see.
"""

import copy
import inspect
import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from sklearn.base import clone
from sklearn.frozen import FrozenEstimator
from sklearn.model_selection import KFold, StratifiedKFold
from skorch import NeuralNet, NeuralNetClassifier, NeuralNetRegressor
from skorch.callbacks import Callback, EarlyStopping
from skorch.dataset import ValidSplit
from torch import nn
from tqdm.auto import tqdm

from skogad._gradients.engine import select_parameters
from skogad._schedule import MAX_TRAIN_ROWS, default_schedule, module_schedule

TIMINGS = ("early_stopping", "final", "checkpoints", "out_of_fold")
N_CHECKPOINTS = 5


class TabularMLP(nn.Module):
    """The default network: a ReLU multilayer perceptron for tabular data.

    Parameters
    ----------
    n_features : int
        Input width.
    n_outputs : int
        Output width: the number of classes (logits) or of regression targets.
    hidden_units : int, default=None
        Width of each hidden layer; by default ``2 * n_features`` clipped to
        [32, 256].
    n_hidden : int, default=2
        Number of hidden layers.
    """

    def __init__(self, n_features=1, n_outputs=2, hidden_units=None, n_hidden=2):
        super().__init__()
        if hidden_units is None:
            hidden_units = int(np.clip(2 * n_features, 32, 256))
        layers, width = [], n_features
        for _ in range(n_hidden):
            layers += [nn.Linear(width, hidden_units), nn.ReLU()]
            width = hidden_units
        layers.append(nn.Linear(width, n_outputs))
        self.layers = nn.Sequential(*layers)

    def forward(self, X):
        """Return the outputs (logits or values) for a batch of features.

        Parameters
        ----------
        X : torch.Tensor of shape (n_samples, n_features)
            A batch of features.

        Returns
        -------
        torch.Tensor of shape (n_samples, n_outputs)
            The network's outputs.
        """
        return self.layers(X)


class LinearModel(TabularMLP):
    """One linear layer: logistic (or linear) regression as a network.

    Parameters
    ----------
    n_features : int
        Input width.
    n_outputs : int
        Output width: the number of classes (logits) or of regression targets.
    """

    def __init__(self, n_features=1, n_outputs=2):
        super().__init__(n_features, n_outputs, n_hidden=0)


@dataclass
class Member:
    """A trained network and the training rows it scored at fit time.

    ``snapshot`` holds a checkpoint's weights (kept on the CPU, so a pickled
    detector loads on any machine); without one the net's own ``module_`` is
    used, which skorch pickles device-safely.
    """

    net: NeuralNet
    rows: np.ndarray  # boolean mask over the training rows
    snapshot: nn.Module | None = None

    @property
    def module(self) -> nn.Module:
        if self.snapshot is None:
            return self.net.module_
        return self.snapshot.to(self.net.device)


def is_fitted_net(net) -> bool:
    """Whether a skorch net is initialized, i.e. used as is (skorch's notion)."""
    return bool(getattr(net, "initialized_", False))


def resolve_net(net):
    """The net a user gave, unwrapped, and whether it is used as is.

    A ``FrozenEstimator`` is unwrapped and always used as is; a skorch net is
    used as is when it is initialized (`is_fitted_net`). Anything else (None,
    a torch module, an unfitted skorch net) is a template to train.
    """
    frozen = isinstance(net, FrozenEstimator)
    inner = net.estimator if frozen else net
    return inner, frozen or is_fitted_net(inner)


def _module_kwargs(module_cls, n_features, n_outputs):
    try:
        accepted = inspect.signature(module_cls).parameters
    except (TypeError, ValueError):
        return {}
    sizes = {"n_features": n_features, "n_outputs": n_outputs}
    return {f"module__{k}": v for k, v in sizes.items() if k in accepted}


def build_net(
    net, *, classifier, n_features, n_outputs, n_samples, device, epoch_table=False
):
    """An unfitted skorch net to train, for a ``net`` that is not fitted.

    ``None`` gives the default `TabularMLP` net, trained on ``n_samples`` rows
    as `skogad._schedule.default_schedule` says; a torch module class or
    instance is wrapped with `skogad._schedule.module_schedule` (classes
    receive ``n_features``/``n_outputs`` when their constructor takes them); a
    skorch net is cloned and keeps its own schedule. Fitted nets are
    used as they are and never come here (see `is_fitted_net`). The default
    net prints skorch's table of epochs when ``epoch_table``.
    """
    if isinstance(net, NeuralNet):
        return clone(net)
    base = NeuralNetClassifier if classifier else NeuralNetRegressor
    criterion = nn.CrossEntropyLoss if classifier else nn.MSELoss
    common = {
        "criterion": criterion,
        "optimizer": torch.optim.AdamW,
        "train_split": None,
        "iterator_train__shuffle": True,
        "device": str(device),
        "verbose": 0,
    }
    if net is None:
        if epoch_table:
            quiet = {"verbose": 1}
        else:
            # skorch's per-batch callback calls are a tenth of a small table's
            # training time: with no table to print, its log and validation
            # accuracy are left out.
            quiet = {"callbacks__print_log": None}
            if classifier:
                quiet["callbacks__valid_acc"] = None
        return base(
            TabularMLP,
            module__n_features=n_features,
            module__n_outputs=n_outputs,
            **{**common, **quiet},
            **default_schedule(n_samples),
        )
    wrapped = {**common, **module_schedule(n_samples)}
    if isinstance(net, type) and issubclass(net, nn.Module):
        return base(net, **_module_kwargs(net, n_features, n_outputs), **wrapped)
    if isinstance(net, nn.Module):
        return base(copy.deepcopy(net), **wrapped)
    raise TypeError(
        "net must be None, a skorch NeuralNet (fitted or not, possibly wrapped in "
        "sklearn.frozen.FrozenEstimator), or a torch.nn.Module class or instance; "
        f"got {type(net).__name__}."
    )


def sample_loss_fn(net):
    """The net's own loss on a batch of one sample, for the gradient engine.

    Goes through ``net.get_loss`` so skorch's conventions hold (its
    ``NeuralNetClassifier`` takes the log of probabilities for ``NLLLoss``;
    a ``CrossEntropyLoss`` gets logits). Where ``get_loss`` would only call
    the criterion, the criterion itself is returned, which lets the engine
    use its closed form for cross-entropy and squared-error heads.
    """
    criterion = getattr(net, "criterion_", None)
    plain = type(net).get_loss in (NeuralNet.get_loss, NeuralNetClassifier.get_loss)
    if plain and type(criterion) in (nn.CrossEntropyLoss, nn.MSELoss):
        return criterion

    def loss(output, target):
        return net.get_loss(output, target, X=None, training=False)

    return loss


def check_trained(net):
    """Raise if the net's training loss went NaN or infinite.

    Also run on fitted nets a user gives: a skorch classifier whose module
    outputs logits but whose criterion is skorch's default ``NLLLoss`` (which
    wants probabilities) trains to a NaN loss with finite gradients, and its
    scores would silently mean nothing.
    """
    history = getattr(net, "history", None) or []
    losses = [row.get("train_loss") for row in history]
    for epoch, value in enumerate(losses, start=1):
        if value is not None and not np.isfinite(value):
            hint = "lower its learning rate or scale the features"
            if isinstance(getattr(net, "criterion_", None), nn.NLLLoss):
                hint = (
                    "NLLLoss expects the module to output probabilities; for "
                    "logits use criterion=torch.nn.CrossEntropyLoss"
                )
            raise FloatingPointError(
                f"The network's training loss became {value} at epoch {epoch}; {hint}."
            )


class _Snapshots(Callback):
    def __init__(self, epochs):
        self.epochs = epochs

    def initialize(self):
        self.modules_ = []
        return self

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) in self.epochs:
            self.modules_.append(copy.deepcopy(net.module_).cpu().eval())


class EpochProgress(Callback):
    """A tqdm progress bar over training epochs, with the latest losses.

    The bar is closed and dropped when training ends, so fitted nets pickle.
    Training that stops before ``max_epochs`` (early stopping) ends the bar
    full, at the epochs it ran, and says so.
    """

    def __init__(self, desc="training"):
        self.desc = desc

    def on_train_begin(self, net, **kwargs):
        self.bar_ = tqdm(total=net.max_epochs, desc=self.desc, unit="epoch")

    def on_epoch_end(self, net, **kwargs):
        row = net.history[-1]
        losses = {k: f"{row[k]:.4g}" for k in ("train_loss", "valid_loss") if k in row}
        self.bar_.set_postfix(losses, refresh=False)
        self.bar_.update()

    def on_train_end(self, net, **kwargs):
        done = self.bar_.n
        if done < self.bar_.total:
            self.bar_.total = done
            self.bar_.set_description(
                f"{self.desc} (stopped at epoch {done} of at most {net.max_epochs})",
                refresh=False,
            )
            self.bar_.refresh()
        self.bar_.close()
        self.bar_ = None


def _quiet(*args):
    """EarlyStopping's message sink; a function, so fitted nets pickle."""


def with_callback(net, name, callback):
    callbacks = net.callbacks if isinstance(net.callbacks, list) else []
    return net.set_params(callbacks=[*callbacks, (name, callback)])


def _held_out_split(y, *, classifier, validation_fraction, seed):
    """The validation split for early stopping, or the reason there is none.

    Stratified where every class has two rows to split between the sets;
    then each set needs a row of every class. Sizes as scikit-learn's
    ``ShuffleSplit`` computes them.
    """
    n = len(y)
    n_valid = math.ceil(validation_fraction * n)
    n_train = math.floor((1 - validation_fraction) * n)
    if n_valid < 1 or n_train < 1:
        return None, (
            f"{n} row(s) cannot be split into a training part and a held-out "
            f"validation_fraction={validation_fraction}"
        )
    counts = np.unique(y, return_counts=True)[1] if classifier else None
    if counts is not None and counts.min() >= 2:
        k = len(counts)
        if min(n_valid, n_train) < k:
            return None, (
                f"a validation_fraction={validation_fraction} of {n} rows holds "
                f"out {n_valid}, and training keeps {n_train}: each part needs "
                f"a row of each of the {k} classes"
            )
        return ValidSplit(validation_fraction, stratified=True, random_state=seed), ""
    return ValidSplit(validation_fraction, stratified=False, random_state=seed), ""


def _fit(
    net,
    X,
    y,
    *,
    early_stopping,
    classifier,
    validation_fraction,
    patience,
    seed,
    max_rows=None,
):
    if max_rows is not None and len(X) > max_rows:
        # A sample trains the net; the other rows are scored out of sample.
        rows = np.sort(np.random.default_rng(seed).choice(len(X), max_rows, False))
        X, y = X[rows], y[rows]
    if early_stopping:
        split, reason = _held_out_split(
            y,
            classifier=classifier,
            validation_fraction=validation_fraction,
            seed=seed,
        )
        if split is None:
            # Too few rows to hold some out: train for the net's epochs
            # rather than fail (or stop on the loss of a row or two).
            warnings.warn(
                f"No early stopping: {reason}. The network is trained for all "
                f"its max_epochs={net.max_epochs} epochs instead, and may "
                "memorise noisy labels (timing='final' trains so without this "
                "warning).",
                UserWarning,
                stacklevel=2,
            )
        else:
            net.set_params(train_split=split)
            with_callback(
                net,
                "skogad_early_stopping",
                EarlyStopping(patience=patience, load_best=True, sink=_quiet),
            )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        fit_or_raise_interrupt(net, X, y)
    check_trained(net)
    return net


def _raised_by_callback(exc):
    """Whether a KeyboardInterrupt was raised by a skorch callback's own code.

    That is how skorch callbacks stop training (``EarlyStopping`` raises it
    in ``on_epoch_end``); a Ctrl-C is raised wherever Python was running.
    """
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and isinstance(tb.tb_frame.f_locals.get("self"), Callback)


def fit_or_raise_interrupt(net, X, y):
    """``net.fit(X, y)``, raising the KeyboardInterrupt that skorch swallows.

    skorch's ``partial_fit`` catches ``KeyboardInterrupt`` around its
    training loop and returns as if training had ended: that is how its
    callbacks stop training, and how a Ctrl-C ends training in a notebook.
    A detector must not score a half-trained net as if nothing happened, so
    a ``KeyboardInterrupt`` that no callback raised is raised again once
    skorch has returned (after its ``on_train_end`` callbacks ran).
    """
    interrupts = []
    fit_loop = net.fit_loop

    def guarded_fit_loop(*args, **kwargs):
        try:
            return fit_loop(*args, **kwargs)
        except KeyboardInterrupt as exc:
            if not _raised_by_callback(exc):
                interrupts.append(exc)
            raise

    net.fit_loop = guarded_fit_loop  # on this clone only, and removed below
    try:
        net.fit(X, y)
    finally:
        del net.fit_loop
    if interrupts:
        raise interrupts[0]
    return net


# Rows on which a classifier's outputs are checked to be logits.
N_CHECKED_ROWS = 64


def check_logits(net, X):
    """Refuse a module that outputs probabilities to a cross-entropy loss.

    ``CrossEntropyLoss`` applies a softmax itself; given probabilities, its
    gradients say little about the labels (measured on digits with 10% of
    the labels flipped: AUROC 0.39, against 0.999 for the same module
    returning logits). Outputs in [0, 1] whose rows sum to 1, on the first
    training rows, are taken for probabilities; the check runs on the
    initialized module, before training. A net
    whose criterion expects probabilities (skorch's default ``NLLLoss``,
    which takes their log) is not checked.
    """
    if not isinstance(getattr(net, "criterion_", None), nn.CrossEntropyLoss):
        return
    with torch.random.fork_rng(devices=[]), torch.no_grad():
        out = net.forward(X[:N_CHECKED_ROWS], training=False)
    out = out[0] if isinstance(out, tuple | list) else out
    if not isinstance(out, torch.Tensor) or out.ndim != 2 or out.shape[1] < 2:
        return
    out = out.detach().float()
    if (
        out.min() >= 0
        and out.max() <= 1
        and torch.allclose(out.sum(1), torch.ones(len(out)), atol=1e-2)
    ):
        raise ValueError(
            "The network's module outputs probabilities (its outputs are in "
            "[0, 1] and each row sums to 1), and its criterion, "
            "CrossEntropyLoss, applies a softmax itself: the gradients would "
            "say little about the labels. Return the logits from forward (drop "
            "the final softmax); skorch's predict_proba applies the softmax."
        )


class _BeforeTraining(Callback):
    """Checks on the initialized module, before the first epoch is spent."""

    def __init__(self, params=None):
        self.params = params

    def on_train_begin(self, net, X=None, y=None, **kwargs):
        if self.params is not None:
            select_parameters(net.module_, self.params)
        if X is not None:
            check_logits(net, X)


def fit_members(
    net,
    X,
    y,
    *,
    classifier,
    n_outputs,
    timing,
    device,
    cv,
    validation_fraction,
    patience,
    seed,
    params=None,
    verbose=0,
):
    """The members whose gradients are scored, for the ``net`` a user gave.

    A fitted net (see `resolve_net`) is checked and used as is, scoring every
    row. Otherwise a skorch net is built (`build_net`) and trained on
    ``(X, y)`` as ``timing`` asks (`train_members`), with a progress bar over
    epochs when ``verbose``. Before any training, the initialized module is
    checked: ``params`` (when given) must select parameters of it, and a
    classifier must output logits (`check_logits`).
    """
    inner, fitted = resolve_net(net)
    if fitted:
        check_trained(inner)
        if params is not None:
            select_parameters(inner.module_, params)
        if classifier:
            check_logits(inner, X)
        return [Member(inner, np.ones(len(X), dtype=bool))]
    template = build_net(
        inner,
        classifier=classifier,
        n_features=X.shape[1],
        n_outputs=n_outputs,
        n_samples=min(len(X), MAX_TRAIN_ROWS) if inner is None else len(X),
        device=device,
        epoch_table=verbose >= 2,
    )
    with_callback(template, "skogad_checks", _BeforeTraining(params))
    if verbose:
        with_callback(template, "skogad_progress", EpochProgress())
    return train_members(
        template,
        X,
        y,
        timing=timing,
        classifier=classifier,
        cv=cv,
        validation_fraction=validation_fraction,
        patience=patience,
        seed=seed,
        max_rows=MAX_TRAIN_ROWS if inner is None else None,
    )


def predictions(members, X, *, classifier, training, check=True):
    """Class probabilities (or predicted targets) averaged over the members' nets.

    With ``training``, ``X`` holds the rows the members were fitted on, and
    each row is averaged only over the nets that scored it at fit time (for
    out-of-fold members, the net that did not see it). ``check`` refuses a
    ``predict_proba`` whose rows are not probabilities.
    """
    nets, rows_of = {}, {}
    for member in members:
        key = id(member.net)
        nets[key] = member.net
        rows = member.rows if training else np.ones(len(X), dtype=bool)
        rows_of[key] = rows_of.get(key, False) | rows
    total, count = None, np.zeros(len(X))
    for key, net in nets.items():
        rows = rows_of[key]
        out = _predict(net, X[rows], classifier=classifier, check=check)
        if total is None:
            total = np.zeros((len(X), out.shape[1]))
        total[rows] += out
        count[rows] += 1
    return total / count[:, None]


def softmax_outputs(member):
    """Whether ``member``'s class probabilities are the softmax of its module's
    outputs, as its net's ``predict_proba`` computes them.

    So for one network (not snapshots of one) whose skorch net infers its
    prediction nonlinearity from a cross-entropy criterion: skorch then applies
    a softmax to the module's outputs.
    """
    net = member.net
    return (
        member.snapshot is None
        and isinstance(net, NeuralNetClassifier)
        and net.predict_nonlinearity == "auto"
        and type(getattr(net, "criterion_", None)) is nn.CrossEntropyLoss
    )


def _predict(net, X, *, classifier, check):
    # skorch's data loader draws a seed from torch's global generator
    with torch.random.fork_rng(devices=[]):
        if not classifier:
            out = np.asarray(net.predict(X), dtype=np.float64)
            return out.reshape(len(out), -1)
        proba = np.asarray(net.predict_proba(X), dtype=np.float64)
    if check and (proba.min() < 0 or not np.allclose(proba.sum(axis=1), 1, atol=1e-3)):
        raise ValueError(
            "The net's predict_proba does not return probabilities (rows must "
            "sum to 1): give it predict_nonlinearity='auto' or a function "
            "mapping its outputs to them."
        )
    return proba


def train_members(
    net,
    X,
    y,
    *,
    timing,
    classifier,
    cv,
    validation_fraction,
    patience,
    seed,
    max_rows=None,
):
    """Train ``net`` (unfitted, a template) on X, y as ``timing`` asks.

    Each net trains on at most ``max_rows`` of its rows, drawn at random;
    every row is still scored. Returns the members whose gradients are scored
    (see the module docstring).
    """
    n = len(X)
    everything = np.ones(n, dtype=bool)
    fit = {
        "classifier": classifier,
        "validation_fraction": validation_fraction,
        "patience": patience,
        "seed": seed,
        "max_rows": max_rows,
    }
    if timing in ("final", "early_stopping"):
        trained = _fit(
            clone(net), X, y, early_stopping=timing == "early_stopping", **fit
        )
        return [Member(trained, everything)]
    if timing == "checkpoints":
        max_epochs = net.max_epochs
        epochs = set(np.unique(np.linspace(1, max_epochs, N_CHECKPOINTS).round()))
        trained = with_callback(clone(net), "skogad_snapshots", _Snapshots(epochs))
        trained = _fit(trained, X, y, early_stopping=False, **fit)
        modules = dict(trained.callbacks_)["skogad_snapshots"].modules_
        return [Member(trained, everything, snapshot=m) for m in modules]
    if timing == "out_of_fold":
        splitter = (StratifiedKFold if classifier else KFold)(
            n_splits=cv, shuffle=True, random_state=seed
        )
        members = []
        for fold, (train, test) in enumerate(splitter.split(X, y)):
            trained = _fit(
                clone(net),
                X[train],
                y[train],
                early_stopping=True,
                **{**fit, "seed": seed + fold},
            )
            rows = np.zeros(n, dtype=bool)
            rows[test] = True
            members.append(Member(trained, rows))
        return members
    raise ValueError(f"timing must be one of {TIMINGS}, got {timing!r}.")
