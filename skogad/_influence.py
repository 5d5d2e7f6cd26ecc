"""GradientInfluence: which training samples drive a model on given samples.

Influence functions ask how a test sample's loss would change if a training
sample were up-weighted: ``-g_test^T H^{-1} g_train``. Outlier gradient
analysis drops the inverse Hessian; what remains are the per-sample loss
gradients that `skogad._gradients.engine` computes, here compared between test and
training samples. Training samples whose gradients point the way a test
sample's gradient points lower its loss when trained on: they are the ones
that taught the model that prediction.
"""

from numbers import Integral
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator
from sklearn.ensemble import IsolationForest
from sklearn.frozen import FrozenEstimator
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, column_or_1d
from skorch import NeuralNet
from torch import nn

from skogad._compat import Interval, StrOptions, _fit_context
from skogad._gradients.engine import gradient_array, select_parameters
from skogad._nets import check_trained, resolve_net, sample_loss_fn

SIMILARITIES = ("cosine", "dot", "outlier")


class GradientInfluence(BaseEstimator):
    """Rank training samples by their influence on the loss of test samples.

    ``fit`` computes the per-sample loss gradient of every training sample
    with respect to a trained model's parameters (exactly, chunk by chunk,
    optionally projected); ``influence`` computes the gradient of each test
    sample and compares it with the training gradients. It is the Hessian-free
    influence of outlier gradient analysis (Chhabra et al.) applied to one
    test sample at a time: the first-order estimate of how much training on a
    sample lowers the test sample's loss (``"dot"``, as TracIn and the
    "identity" baseline of DataInf), or its direction only (``"cosine"``).

    Any model and loss work, including ones whose inputs or targets are not
    tabular (images, token ids, a causal language model's shifted labels):
    ``X`` and ``y`` are arrays whose first dimension indexes samples, handed
    to the module and its loss one sample at a time.

    Parameters
    ----------
    net : skorch NeuralNet, FrozenEstimator or torch.nn.Module
        The trained model. A skorch net must be fitted (initialized); its own
        ``get_loss`` gives each sample's loss. A torch module is used as it
        is, with ``loss``.
    loss : callable, default=None
        ``loss(output, target)`` for a batch of one sample (leading dimension
        1), returning that sample's loss. Required for a torch module;
        ignored for a skorch net.
    params : {"all", "last", "output"} or list of str, default="all"
        Parameters to differentiate with respect to: every trainable one
        (``requires_grad``, e.g. only the LoRA matrices of a model with a
        frozen base), the output layer, its bias, or named parameters /
        submodules (see `GradientOutlierDetector`).
    similarity : {"cosine", "dot", "outlier"}, default="cosine"
        ``"dot"``: the gradients' inner product; ``"cosine"``: the inner
        product of the normalized gradients, which keeps samples with large
        gradients (hard or mislabeled ones) from ranking first for every test
        sample. ``"outlier"``: the paper's variant for training data that
        comes in known groups (tasks, sources; ``groups`` in `fit`): one
        ``IsolationForest`` per group is fitted on that group's training
        gradients, and every training sample of a group gets the same
        influence on a test sample, the forest's ``score_samples`` of the
        test gradient (higher = the test gradient is typical of the group).
        It ranks groups, not the samples within a group, and it uses the
        group labels, which the other two do not.
    projection : int, default=None
        Randomly project every gradient to at most this many dimensions
        (the same projection for training and test samples), so the stored
        training gradients take ``n_train * projection`` floats. Inner
        products are preserved in expectation. ``None``: exact gradients.
    batch_size : int or "auto", default="auto"
        Samples per gradient chunk (see `GradientOutlierDetector`).
    random_state : int, RandomState instance or None, default=None
        Seeds the projection.
    verbose : int, default=0
        ``>0`` shows a progress bar over gradient chunks.

    Attributes
    ----------
    train_gradients_ : ndarray of shape (n_train, n_gradient_features)
        The training samples' gradients (projected with ``projection``).
    param_names_ : list of str
        The parameters differentiated with respect to.
    n_train_ : int
        Number of training samples.
    groups_ : ndarray of shape (n_groups,)
        The training groups (``similarity="outlier"`` only).
    forests_ : list of IsolationForest
        One per group, fitted on its training gradients
        (``similarity="outlier"`` only).

    See Also
    --------
    GradientOutlierDetector : Flag training samples whose gradients are
        outliers, for all test samples at once.

    Examples
    --------
    >>> import numpy as np
    >>> import torch
    >>> from skogad import GradientInfluence
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)).astype(np.float32)
    >>> y = (X[:, 0] > 0).astype(np.int64)
    >>> model = torch.nn.Linear(3, 2)
    >>> inf = GradientInfluence(model, loss=torch.nn.CrossEntropyLoss())
    >>> scores = inf.fit(X, y).influence(X[:2], y[:2])
    >>> scores.shape
    (2, 60)
    >>> inf.rank(X[:2], y[:2], k=5).shape
    (2, 5)
    """

    _parameter_constraints: ClassVar[dict] = {
        "net": [NeuralNet, FrozenEstimator, nn.Module],
        "loss": [None, callable],
        "params": [StrOptions({"all", "last", "output"}), list, tuple],
        "similarity": [StrOptions(set(SIMILARITIES))],
        "projection": [None, Interval(Integral, 1, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    def __init__(
        self,
        net,
        *,
        loss=None,
        params="all",
        similarity="cosine",
        projection=None,
        batch_size="auto",
        random_state=None,
        verbose=0,
    ):
        self.net = net
        self.loss = loss
        self.params = params
        self.similarity = similarity
        self.projection = projection
        self.batch_size = batch_size
        self.random_state = random_state
        self.verbose = verbose

    @_fit_context(prefer_skip_nested_validation=True)
    def fit(self, X, y, groups=None):
        """Compute and store the training samples' gradients.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n_train, ...)
            Training inputs, as the model takes them (first dimension =
            samples).
        y : array-like or torch.Tensor of shape (n_train, ...)
            Their targets, as the loss takes them.
        groups : array-like of shape (n_train,), default=None
            The group of each training sample; required by
            ``similarity="outlier"`` and refused by the others.

        Returns
        -------
        self : GradientInfluence
            The fitted estimator.
        """
        if (groups is None) != (self.similarity != "outlier"):
            raise ValueError(
                "similarity='outlier' needs groups= (the group of each training "
                "sample), and the other similarities do not use them; got "
                f"similarity={self.similarity!r} "
                f"{'without' if groups is None else 'with'} groups."
            )
        self._module, self._loss = self._model()
        self.param_names_ = select_parameters(self._module, self.params)
        random_state = check_random_state(self.random_state)
        self._seed = int(random_state.randint(2**31 - 1))
        X, y = _samples(X, y)
        if groups is not None:
            groups = column_or_1d(groups)
            if len(groups) != len(X):
                raise ValueError(
                    f"groups has {len(groups)} entries for {len(X)} samples."
                )
        self.train_gradients_ = self._gradients(X, y)
        self.n_train_ = len(X)
        self._train_norms = np.linalg.norm(self.train_gradients_, axis=1)
        if groups is not None:
            self.groups_, self._group_of = np.unique(groups, return_inverse=True)
            seed = int(random_state.randint(2**31 - 1))
            self.forests_ = [
                IsolationForest(random_state=seed).fit(
                    self.train_gradients_[self._group_of == g]
                )
                for g in range(len(self.groups_))
            ]
        return self

    def gradients(self, X, y):
        """Per-sample gradients, as stored for the training samples.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n_samples, ...)
            Inputs.
        y : array-like or torch.Tensor of shape (n_samples, ...)
            Targets.

        Returns
        -------
        gradients : ndarray of shape (n_samples, n_gradient_features)
            One row of gradient features per sample.
        """
        check_is_fitted(self)
        return self._gradients(*_samples(X, y))

    def influence(self, X, y):
        """Influence of every training sample on each sample of ``(X, y)``.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n_samples, ...)
            Test inputs.
        y : array-like or torch.Tensor of shape (n_samples, ...)
            Their targets.

        Returns
        -------
        influence : ndarray of shape (n_samples, n_train)
            Larger = training on that sample lowers this sample's loss more.
        """
        G = self.gradients(X, y)
        if self.similarity == "outlier":
            by_group = np.column_stack([f.score_samples(G) for f in self.forests_])
            return by_group[:, self._group_of]
        scores = G @ self.train_gradients_.T
        if self.similarity == "cosine":
            scores /= np.maximum(np.linalg.norm(G, axis=1), _TINY)[:, None]
            scores /= np.maximum(self._train_norms, _TINY)[None, :]
        return scores

    def rank(self, X, y, k=None):
        """Training samples, most influential first, for each sample.

        Parameters
        ----------
        X : array-like or torch.Tensor of shape (n_samples, ...)
            Test inputs.
        y : array-like or torch.Tensor of shape (n_samples, ...)
            Their targets.
        k : int, default=None
            Keep the ``k`` most influential; ``None``: all ``n_train_``.

        Returns
        -------
        indices : ndarray of shape (n_samples, k)
            Row indices into the training data.
        """
        integral = isinstance(k, Integral) and not isinstance(k, bool)
        if k is not None and not (integral and k >= 1):
            raise ValueError(f"k must be None or an int >= 1, got {k!r}.")
        scores = self.influence(X, y)  # the test gradients: checked k first
        order = np.argsort(-scores, axis=1, kind="stable")
        return order if k is None else order[:, :k]

    # ------------------------------------------------------------ helpers
    def _model(self):
        net, fitted = resolve_net(self.net)
        if isinstance(net, NeuralNet):
            if not fitted:
                raise ValueError(
                    "GradientInfluence needs a trained model: fit the skorch net "
                    "first (or initialize it with trained weights)."
                )
            check_trained(net)
            return net.module_, sample_loss_fn(net)
        if not isinstance(net, nn.Module):
            raise TypeError(
                "net must be a fitted skorch NeuralNet (possibly in a "
                f"FrozenEstimator) or a torch.nn.Module; got {type(net).__name__}."
            )
        if self.loss is None:
            raise ValueError(
                "A torch module needs loss=: a callable loss(output, target) for "
                "a batch of one sample."
            )
        return net, self.loss

    def _gradients(self, X, y):
        return gradient_array(
            self._module,
            self._loss,
            X,
            y,
            self.param_names_,
            projection=self.projection,
            seed=self._seed,
            batch_size=self.batch_size,
            verbose=self.verbose,
        )

    def __getstate__(self):
        state = self.__dict__.copy()
        # the module and loss are the net's own: rebuilt from it on load
        state.pop("_module", None)
        state.pop("_loss", None)
        return state

    def __setstate__(self, state):
        self.__dict__.update(state)
        if "train_gradients_" in state:
            self._module, self._loss = self._model()


_TINY = 1e-30


def _samples(X, y):
    """``X`` and ``y`` as tensors with as many samples: float32 or int64."""
    X, y = _tensor(X, "X"), _tensor(y, "y")
    if len(X) != len(y):
        raise ValueError(
            f"X and y have different numbers of samples: {len(X)} and {len(y)}."
        )
    if len(X) == 0:
        raise ValueError("X has no samples.")
    return X, y


def _tensor(a, name):
    if isinstance(a, torch.Tensor):
        t = a.detach().cpu()
    else:
        if hasattr(a, "to_numpy"):
            a = a.to_numpy()
        array = np.asarray(a)
        if array.dtype == object or not (
            np.issubdtype(array.dtype, np.number) or array.dtype == bool
        ):
            raise ValueError(f"{name} must be numeric; got dtype {array.dtype}.")
        t = torch.from_numpy(np.ascontiguousarray(array))
    if t.ndim == 0:
        raise ValueError(f"{name} must have a first dimension indexing samples.")
    if t.is_floating_point():
        if not torch.isfinite(t).all():
            raise ValueError(f"{name} contains NaN or infinity.")
        return t.to(torch.float32)
    return t.to(torch.int64)
