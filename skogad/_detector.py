"""GradientOutlierDetector: outlier gradient analysis as a scikit-learn estimator."""

from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, OutlierMixin
from sklearn.frozen import FrozenEstimator
from sklearn.preprocessing import StandardScaler
from sklearn.utils import check_random_state
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data
from skorch import NeuralNet
from torch import nn

from skogad._columns import check_numeric_columns
from skogad._compat import (
    HasMethods,
    Interval,
    StrOptions,
    _check_y,
    _fit_context,
    _safe_indexing,
)
from skogad._gradients.engine import (
    check_parameter_selection,
    gradient_array,
    resolve_device,
    select_parameters,
)
from skogad._nets import (
    TIMINGS,
    fit_members,
    predictions,
    resolve_net,
    sample_loss_fn,
    softmax_outputs,
)
from skogad._report import outlier_report
from skogad._scorers import NAMED_SCORERS, fit_scorers, make_scorer, mean_scores
from skogad._state import fingerprint, fit_all_or_nothing
from skogad._targets import (
    TASKS,
    check_label_types,
    check_missing_labels,
    decode_target,
    encode_target,
    fit_classes,
    fit_target_scaler,
    is_classification,
    warn_capped_noise_rate,
)
from skogad._threshold import (
    confident_thresholds,
    confirmed_rows,
    estimated_noise_rate,
    quantile_offset,
)

# what a DataFrame with text or categorical columns should do instead
NUMBERS_ADVICE = (
    "encode them first (a OneHotEncoder in a Pipeline before the detector, say), "
    "or use `skogad clean`, which one-hot encodes text and categorical columns "
    "itself."
)


class GradientOutlierDetector(OutlierMixin, BaseEstimator):
    """Find harmful training samples as outliers in per-sample gradient space.

    A network is trained on ``(X, y)`` (or a fitted one is used), each
    sample's loss gradient with respect to the network's parameters is
    computed exactly, and an outlier detector is fitted on those gradients
    (outlier gradient analysis, Chhabra et al., ICML 2025). Mislabeled or
    corrupted rows have gradients unlike the others and get low scores.

    Parameters
    ----------
    net : None, skorch net, FrozenEstimator, torch module class or instance, \
            default=None
        The network. ``None``: a two-hidden-layer ReLU MLP (`TabularMLP`) in a
        skorch ``NeuralNetClassifier`` (cross-entropy) or ``NeuralNetRegressor``
        (squared error), trained with AdamW on standardized features by one
        schedule in the number ``n`` of rows it trains on (at most 100,000,
        drawn at random above that; every row is scored, those outside the
        sample by a net that never saw them):

        - batches of ``B = clip(n/20, 32, 4096)`` rows (16 steps an epoch on
          the 80% not held out), sliced straight from the arrays;
        - a peak learning rate of ``0.06 (B/4096)^0.9``, reached by a linear
          warm-up over the first epoch, then a cosine decay to zero;
        - a budget of ``S = 1000 min(1, (512/B)^0.45)`` optimizer steps, that
          is ``max_epochs = ceil(S / ceil(0.8 n / B))`` (63 epochs up to 10k
          rows, 20 at 100k), which early stopping may end sooner.

        Measured on 2 cores (``benchmarks/bench_scaling.py``): 0.35 to 0.73 s
        up to 10,000 rows, 1.1 s for 100,000. A torch module the user gives keeps
        the schedule it was measured with (AdamW at 1e-3, batches of about
        n/16 rows up to 256, at most 100 epochs). An unfitted skorch net is
        cloned and trained on ``(X, y)`` as is (its own loss, optimizer,
        batches and epochs; no feature scaling). A fitted
        (initialized) skorch net, or any skorch net wrapped in
        ``sklearn.frozen.FrozenEstimator``, is used as is: not retrained,
        ``timing`` does not apply, gradients are computed on its device. A torch
        module class (given ``n_features`` and ``n_outputs`` when its
        constructor takes them) or instance is wrapped like the default, with
        the module's schedule above.
        Classification modules must output logits, regression modules values: a
        module whose outputs are probabilities (rows in [0, 1] summing to 1)
        under a cross-entropy loss is refused with ``ValueError`` before
        training, since its gradients say little about the labels.
    task : {"auto", "classification", "regression"}, default="auto"
        Whether ``y`` holds class labels or regression targets. A skorch
        ``NeuralNetClassifier`` or ``NeuralNetRegressor`` given as ``net``
        decides (a contradicting ``task`` raises). ``"auto"``: strings, and
        numbers with two values, are labels; numbers with a fractional part
        are targets; whole numbers are labels when they are class codes
        (0..K-1 or 1..K, at least two rows per class on average) or take at
        most 10 values, and otherwise a quantity (prices, ages, years),
        regressed with a ``UserWarning`` that says so. Measured: integer
        prices and ages as classes had ``contamination="auto"`` flag half
        the rows, and planted errors ranked near chance on 500 rows.
    scorer : {"l2", "l1", "iforest"} or estimator, default="l2"
        Outlier detector fitted on the gradients. ``"l2"``/``"l1"``: the
        gradient norm (larger = more abnormal); ``"iforest"``:
        ``IsolationForest`` (the paper's choice). An estimator instance with
        ``fit`` and ``score_samples`` (scikit-learn: ``IsolationForest``,
        ``LocalOutlierFactor(novelty=True)``, ``OneClassSVM``) or with
        ``decision_function`` and ``decision_scores_`` (PyOD) is cloned.
    params : {"output", "last", "all"} or list of str, default="output"
        Parameters to differentiate with respect to. ``"output"``: the output
        layer's bias, whose gradient is the loss gradient with respect to the
        network's outputs (``softmax - onehot`` for cross-entropy, the
        residual for squared error); the output layer must have a bias.
        ``"last"``: the whole output layer (the paper's choice); ``"all"``:
        every trainable parameter; or named parameters / submodules. The
        defaults (``"output"`` with ``"l2"``) were measured best on the
        label-noise benchmark: a weight gradient multiplies the output
        gradient by the layer's input, whose size says nothing about the
        label (the scorers compared in ``benchmarks/results/label_noise.md``).
    timing : {"early_stopping", "final", "checkpoints", "out_of_fold"}, \
            default="early_stopping"
        When the gradients are taken, for nets this estimator trains. A net
        trained until it memorises noisy labels hides them, so the default
        stops training where the loss on a held-out ``validation_fraction``
        of the rows is lowest and restores that epoch's weights. Where the
        rows are too few to hold some out (each part needs a row of every
        class, or a regression a row), the net is trained for all its epochs
        instead, with a ``UserWarning``.
        ``"final"``: after all epochs. ``"checkpoints"``: scores averaged over
        5 snapshots taken during training. ``"out_of_fold"``: ``cv`` nets
        (each early-stopped), each row scored by the net that did not see it;
        ``cv`` times the cost.
    cv : int, default=5
        Number of folds for ``timing="out_of_fold"``.
    validation_fraction : float, default=0.2
        Held-out fraction used for early stopping.
    patience : int, default=5
        Epochs without improvement of the held-out loss before stopping.
    contamination : "auto" or float, default="auto"
        Expected fraction of outliers, which sets ``offset_``: the
        ``contamination`` quantile of the training scores. ``"auto"``, for
        classification: an estimate of the noise rate, at most 0.5, in the
        manner of confident learning: the share of training rows whose net
        is confident of a class other than the given one (its probability
        for that class reaches ``class_thresholds_``), each class's share
        applied to all its rows (out of fold for ``timing="out_of_fold"``).
        Unlike the share of rows whose label the net does not predict, this
        does not count the net's errors on ambiguous rows as noise. For
        regression: the scorer's own threshold (Tukey's upper fence on the
        norms for ``"l1"``/``"l2"``, ``IsolationForest``'s -0.5, a PyOD
        detector's ``threshold_``).
    projection : int, default=None
        Randomly project each sample's gradient to at most this many
        dimensions before an estimator scorer (``"iforest"`` or an instance)
        sees it, chunk by chunk, so memory stays O(n_samples * projection)
        however many parameters are selected. Gradients of linear layers are
        projected factor by factor (a Kronecker product of Gaussian matrices,
        as in LoGra), never forming the gradient; others by a count sketch.
        ``None``, or a value of at least the number of selected parameters:
        the exact gradients. The ``"l1"``/``"l2"`` scorers always use exact
        norms, computed without forming the gradients.
    batch_size : int or "auto", default="auto"
        Samples per gradient chunk. ``"auto"`` sizes chunks from the memory
        available on the device (a few tens of MiB on a CPU, half the free
        memory on a GPU).
    device : str, default="auto"
        Torch device for training and gradients; ``"auto"`` picks CUDA when
        available. Results are always NumPy arrays on the CPU.
    input_dtype : {"float32", "int64"}, default="float32"
        What the network is given. ``"float32"``: features, converted to
        float32. ``"int64"``: integer inputs such as token ids (for a net
        whose module starts with an embedding, e.g. a transformer over
        padded token ids); ``X`` must hold integers (floats with a fraction
        are refused, never truncated). Needs a ``net``: the default network
        takes features.
    random_state : int, RandomState instance or None, default=None
        Seeds the network's initialisation and shuffling, the validation
        split, the folds and the scorer. The same seed gives the same scores
        on the same machine.
    verbose : int, default=0
        ``>0`` shows progress bars (tqdm, on stderr) over training epochs and
        gradient chunks; ``>=2`` also prints the default net's epoch table.

    Attributes
    ----------
    nets_ : list of skorch.NeuralNet
        The fitted networks (one; ``cv`` for ``timing="out_of_fold"``).
    scorers_ : list of estimator
        The fitted outlier detector(s) on gradient space, one per member
        (network or checkpoint).
    param_names_ : list of str
        The parameters whose gradients are used.
    classes_ : ndarray of shape (n_classes,)
        Class labels (classification only).
    class_thresholds_ : ndarray of shape (n_classes,)
        Each class's mean predicted probability over the training rows given
        that label (classification only): the net is *confident* that a row
        is in a class when its probability reaches the class's threshold.
        Used to estimate the noise rate, and by ``CleanTrainingSet`` to
        relabel only where the net is confident.
    scaler_ : StandardScaler or None
        Feature scaling applied before the default network; ``None`` when a
        network was given.
    target_scaler_ : StandardScaler or None
        Standardization of the regression target(s) for a network skogad
        builds (the default, or a torch module given as ``net``), undone in
        `report`; ``None`` for classification or a skorch net.
    train_scores_ : ndarray of shape (n_samples,)
        Scores of the training rows as computed during ``fit`` (out of fold
        for ``timing="out_of_fold"``); ``fit_predict`` thresholds these.
    offset_ : float
        Threshold: ``decision_function = score_samples - offset_``.
    contamination_ : float
        Fraction of the training rows flagged (``train_scores_ < offset_``):
        the estimated noise rate with ``contamination="auto"``.
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when X is a DataFrame with string
        column names.

    See Also
    --------
    CleanTrainingSet : Drop the rows this detector flags, then fit a model.
    sklearn.ensemble.IsolationForest : The scorer ``scorer="iforest"`` fits (the
        default, ``"l2"``, is the gradient's norm).

    Notes
    -----
    ``score_samples``, ``decision_function`` and ``predict`` need the labels,
    since a loss gradient needs a target. Without ``y`` a classifier's own
    predicted label is used (whose gradient is small, so such scores only
    say how unsure the net is); a regressor raises.

    ``fit`` is all or nothing: when it raises, ``KeyboardInterrupt`` (Ctrl-C
    during training) included, the estimator is left as it was before the
    call, unfitted or with its previous fit. skorch ends training quietly on
    a Ctrl-C; this estimator raises the ``KeyboardInterrupt`` rather than
    score a half-trained network.

    References
    ----------
    A. Chhabra, B. Li, J. Chen, P. Mohapatra, H. Liu. "Outlier Gradient
    Analysis: Efficiently Identifying Detrimental Training Samples for Deep
    Learning Models". ICML 2025 (PMLR 267). arXiv:2405.03869.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from skogad import GradientOutlierDetector
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> y_noisy = y.copy()
    >>> y_noisy[:40] = 1 - y_noisy[:40]
    >>> det = GradientOutlierDetector(contamination=0.1, random_state=0)
    >>> flags = det.fit_predict(X, y_noisy)
    >>> flags.shape, sorted(set(flags.tolist()))
    ((569,), [-1, 1])
    >>> bool((flags[:40] == -1).mean() > 0.5)
    True
    """

    _parameter_constraints: ClassVar[dict] = {
        "net": [None, NeuralNet, FrozenEstimator, nn.Module, type],
        "task": [StrOptions(set(TASKS))],
        "scorer": [StrOptions(set(NAMED_SCORERS)), HasMethods(["fit"])],
        "params": [StrOptions({"output", "last", "all"}), list, tuple],
        "timing": [StrOptions(set(TIMINGS))],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "validation_fraction": [Interval(Real, 0, 1, closed="neither")],
        "patience": [Interval(Integral, 1, None, closed="left")],
        "contamination": [StrOptions({"auto"}), Interval(Real, 0, 0.5, closed="right")],
        "projection": [None, Interval(Integral, 1, None, closed="left")],
        "batch_size": [
            StrOptions({"auto"}),
            Interval(Integral, 1, None, closed="left"),
        ],
        "device": [str, torch.device],
        "input_dtype": [StrOptions({"float32", "int64"})],
        "random_state": ["random_state"],
        "verbose": ["verbose"],
    }

    # A gradient needs labels: let metadata routing pass y to these methods.
    __metadata_request__decision_function: ClassVar[dict] = {"y": True}
    __metadata_request__predict: ClassVar[dict] = {"y": True}

    def __init__(
        self,
        net=None,
        *,
        task="auto",
        scorer="l2",
        params="output",
        timing="early_stopping",
        cv=5,
        validation_fraction=0.2,
        patience=5,
        contamination="auto",
        projection=None,
        batch_size="auto",
        device="auto",
        input_dtype="float32",
        random_state=None,
        verbose=0,
    ):
        self.net = net
        self.task = task
        self.scorer = scorer
        self.params = params
        self.timing = timing
        self.cv = cv
        self.validation_fraction = validation_fraction
        self.patience = patience
        self.contamination = contamination
        self.projection = projection
        self.batch_size = batch_size
        self.device = device
        self.input_dtype = input_dtype
        self.random_state = random_state
        self.verbose = verbose

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.required = True
        tags.non_deterministic = self.device != "cpu" and torch.cuda.is_available()
        return tags

    # ------------------------------------------------------------------ fit
    @_fit_context(prefer_skip_nested_validation=True)
    @fit_all_or_nothing
    def fit(self, X, y=None):
        """Train the network, take per-sample gradients, fit the scorer.

        When it raises (a ``KeyboardInterrupt`` included), the detector is
        left as it was before the call.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Labels (classification) or targets (regression). Required: the
            default ``None`` raises ``ValueError``.

        Returns
        -------
        self : GradientOutlierDetector
            The fitted detector.
        """
        X, y = self._validate_fit_data(X, y)
        self._seed = int(check_random_state(self.random_state).randint(2**31 - 1))
        make_scorer(self.scorer, self._seed)  # refused now, not after training
        device = resolve_device(self.device)
        net, fitted = resolve_net(self.net)
        self._classifier = is_classification(net, y, self.task)
        if self._classifier:
            self.classes_ = fit_classes(y, net if fitted else None)
        # Targets are standardized for every net skogad builds (the default,
        # a torch module): a skorch net given is trained on y as it is.
        built = not fitted and not isinstance(net, NeuralNet)
        scaled = built and not self._classifier
        self.target_scaler_ = fit_target_scaler(y) if scaled else None
        target = self._encode(y)
        self.scaler_ = StandardScaler().fit(X) if net is None else None
        Xt = self._transform(X)
        self._train_rows = fingerprint(Xt, target)

        # 1. Train the network(s): when the gradients are taken is `timing`.
        self._members = fit_members(
            self.net,
            Xt,
            target,
            classifier=self._classifier,
            n_outputs=len(self.classes_) if self._classifier else target.shape[1],
            timing=self.timing,
            device=device,
            cv=self.cv,
            validation_fraction=self.validation_fraction,
            patience=self.patience,
            seed=self._seed,
            params=self.params,
            verbose=self.verbose,
        )
        self.nets_ = list({id(m.net): m.net for m in self._members}.values())
        self.param_names_ = select_parameters(self._members[0].module, self.params)

        # 2. Per-sample gradients, and an outlier detector fitted on them.
        def gradients(member, rows, needs):
            return self._gradients(member, Xt[rows], target[rows], needs)

        self._adapters, self.train_scores_ = fit_scorers(
            self.scorer, self._members, gradients, len(Xt), self._seed
        )
        self.scorers_ = [a.estimator for a in self._adapters]

        # 3. The threshold: the contamination quantile of the training scores.
        proba = None
        if self._classifier:
            proba = self._predictions(Xt, training=True, check=False)
            self.class_thresholds_ = confident_thresholds(proba, target)
        self.offset_ = self._offset(proba, target)
        self.contamination_ = float(np.mean(self.train_scores_ < self.offset_))
        return self

    def _validate_fit_data(self, X, y):
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None: a per-sample loss gradient needs each sample's label or "
                "target."
            )
        check_missing_labels(y)
        check_label_types(y)
        check_parameter_selection(self.params)
        if self.input_dtype == "int64" and self.net is None:
            raise ValueError(
                "input_dtype='int64' passes integer inputs (such as token ids) to "
                "the network, and the default network takes features: give a "
                "net whose module takes them."
            )
        check_numeric_columns(X, NUMBERS_ADVICE)
        X, y = validate_data(self, X, y, dtype=self._dtype(), y_numeric=False)
        return self._inputs(X), y

    # ------------------------------------------------------------- scoring
    def score_samples(self, X, y=None):
        """Outlier score of each sample; the lower, the more abnormal.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        y : array-like of shape (n_samples,), default=None
            Their labels or targets. Without them a classifier uses its own
            predicted labels (see Notes); a regressor raises ``ValueError``.

        Returns
        -------
        scores : ndarray of shape (n_samples,)
            The lower, the more abnormal.
        """
        Xt = self._check_X(X)
        return self._score_samples(Xt, self._score_target(Xt, y))

    def decision_function(self, X, y=None):
        """Return ``score_samples - offset_``: negative for outliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        y : array-like of shape (n_samples,), default=None
            Their labels or targets (see `score_samples`).

        Returns
        -------
        decision : ndarray of shape (n_samples,)
            Negative for the rows `predict` flags.
        """
        return self.score_samples(X, y) - self.offset_

    def predict(self, X, y=None):
        """Flag outliers: ``-1`` for outliers, ``+1`` for inliers.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        y : array-like of shape (n_samples,), default=None
            Their labels or targets (see `score_samples`).

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            ``-1`` for the flagged rows, ``+1`` for the others.
        """
        return np.where(self.decision_function(X, y) < 0, -1, 1)

    def fit_predict(self, X, y=None):
        """Fit on ``(X, y)`` and flag the training rows (-1 outlier, +1 inlier).

        Unlike ``OutlierMixin.fit_predict``, ``y`` is used: it is required.
        The flags come from ``train_scores_``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Labels or targets. Required.

        Returns
        -------
        labels : ndarray of shape (n_samples,)
            ``-1`` for the flagged training rows, ``+1`` for the others.
        """
        self.fit(X, y)
        return self._train_flags()

    def fit_resample(self, X, y):
        """Fit, then return the rows to keep (a cleaning sampler).

        The rows kept are those `CleanTrainingSet`'s default keeps (the
        report's ``kept`` column): the rows not flagged and, for a
        classification, the flagged rows whose given label the network is
        confident of (its probability reaching ``class_thresholds_``). A
        rare or hard class's rows have large loss gradients without wrong
        labels, and dropping them all would wipe the class out.

        Usable as a sampler step in an ``imblearn.pipeline.Pipeline``.
        Sets ``sample_indices_``, the indices of the kept rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data; a DataFrame stays a DataFrame.
        y : array-like of shape (n_samples,)
            Labels or targets.

        Returns
        -------
        X_resampled, y_resampled : array-like
            The kept rows of X and y, in order.
        """
        self.fit(X, y)
        keep = np.flatnonzero(self._training_kept(X, y))
        self.sample_indices_ = keep
        return _safe_indexing(X, keep), _safe_indexing(y, keep)

    def score(self, X, y):
        """Mean of `score_samples` on ``(X, y)``, for model selection.

        Higher means the rows look more typical to the fitted detector. It
        does not measure how well noise is found; to tune ``contamination``
        for a downstream model, grid-search `CleanTrainingSet` instead.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        y : array-like of shape (n_samples,)
            Their labels or targets.

        Returns
        -------
        score : float
            The mean score.
        """
        return float(np.mean(self.score_samples(X, y)))

    def report(self, X, y, *, training=False):
        """One row per sample: score, rank, flag, given and suggested label.

        Needs pandas.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples; a DataFrame's index (else a Series ``y``'s) becomes the
            report's index, so rows can be traced back.
        y : array-like of shape (n_samples,)
            Their labels or targets.
        training : bool, default=False
            ``True`` when ``(X, y)`` are the rows the detector was fitted on,
            in the same order (other rows, or another order, raise
            ``ValueError``): the report then uses the scores computed
            during fit (``train_scores_``; out of fold for
            ``timing="out_of_fold"``), so its flags are those of
            `fit_predict`, and each row's prediction comes from the net(s)
            that scored it. ``False``: the rows are scored afresh by every
            net, as by `score_samples`.

        Returns
        -------
        report : pandas.DataFrame
            Sorted most suspicious first. Classification columns: ``score``,
            ``rank`` (1 = most suspicious), ``flagged``, ``kept`` (the rows
            `CleanTrainingSet`'s default and `fit_resample` keep: those not
            flagged, and the flagged ones whose given label the network is
            confident of, its probability reaching ``class_thresholds_``),
            ``given_label``, ``predicted_label`` (the net's label: the
            suggested correction), ``predicted_proba`` (its probability),
            ``given_proba`` (the probability of the given label).
            Regression: ``score``, ``rank``, ``flagged``, ``kept`` (not
            flagged), ``given_target``, ``predicted_target``, ``residual``,
            in the target's own units. For
            ``timing="checkpoints"`` predictions come from the final net.

        Examples
        --------
        >>> from sklearn.datasets import load_wine
        >>> from skogad import GradientOutlierDetector
        >>> X, y = load_wine(return_X_y=True, as_frame=True)
        >>> y_noisy = y.copy()
        >>> y_noisy.iloc[:5] = (y.iloc[:5] + 1) % 3
        >>> det = GradientOutlierDetector(contamination=0.05, random_state=0)
        >>> report = det.fit(X, y_noisy).report(X, y_noisy, training=True)
        >>> list(report.columns)  # doctest: +NORMALIZE_WHITESPACE
        ['score', 'rank', 'flagged', 'kept', 'given_label', 'predicted_label',
         'predicted_proba', 'given_proba']
        >>> planted = report.loc[[0, 1, 2, 3, 4]]
        >>> bool(planted["rank"].max() <= 10)  # among the 10 most suspicious
        True
        >>> planted["predicted_label"].tolist()  # and the true labels suggested
        [0, 0, 0, 0, 0]
        """
        if y is None:
            raise ValueError("report needs y: the given label of each row.")
        Xt = self._check_X(X)
        y_values = _check_y(y, multi_output=not self._classifier, y_numeric=False)
        target = self._score_target(Xt, y)
        if training:
            self._check_training_rows(
                Xt, target, "training=True", ", or training=False to score them afresh"
            )
            scores = self.train_scores_
        else:
            scores = self._score_samples(Xt, target)
        predictions = self._predictions(Xt, training)
        if hasattr(X, "iloc"):
            index = X.index
        elif hasattr(y, "iloc"):
            index = y.index
        else:
            index = np.arange(len(Xt))
        if self._classifier:
            return outlier_report(
                index,
                scores,
                self.offset_,
                y_values,
                classes=self.classes_,
                codes=target,
                proba=predictions,
                thresholds=self.class_thresholds_,
            )
        return outlier_report(
            index,
            scores,
            self.offset_,
            y_values,
            predicted=decode_target(predictions, self.target_scaler_),
        )

    def gradients(self, X, y=None, *, params=None):
        """Per-sample gradient features, for inspection and plots.

        Those of the last network (the last checkpoint, or the last fold's
        net for ``timing="out_of_fold"``), projected when ``projection`` is
        set. Useful for plots (`skogad.plots.plot_gradient_pca`).

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        y : array-like of shape (n_samples,), default=None
            Their labels or targets (see `score_samples`).
        params : {"output", "last", "all"} or list of str, default=None
            Which parameters to differentiate with respect to (see the
            ``params`` parameter); ``None``: those the scorer sees
            (``param_names_``). A picture of gradient space shows more with
            ``"last"`` than with the default ``"output"``, which has one
            dimension per class.

        Returns
        -------
        gradients : ndarray of shape (n_samples, n_gradient_features)
            One row of gradient features per sample.
        """
        Xt = self._check_X(X)
        target = self._score_target(Xt, y)
        member = self._members[-1]
        names = None if params is None else select_parameters(member.module, params)
        return self._gradients(member, Xt, target, "matrix", names)

    # ------------------------------------------------------------ helpers
    def _check_training_rows(self, Xt, target, what, hint=""):
        if fingerprint(Xt, target) != self._train_rows:
            raise ValueError(
                f"{what} needs the {len(self.train_scores_)} rows the detector "
                "was fitted on, in the order they were fitted, with their "
                f"labels; these {len(Xt)} rows differ (other rows, another "
                f"order or other labels). Pass the training rows as fitted{hint}."
            )

    def _training_rows(self, X, y, what):
        """The training rows, transformed, and their targets; others raise."""
        Xt = self._check_X(X)
        target = self._score_target(Xt, y)
        self._check_training_rows(Xt, target, what)
        return Xt, target

    def _training_flags(self, X, y):
        """``fit_predict``'s flags, for the rows this detector was fitted on."""
        self._training_rows(X, y, "Reusing a fitted detector's flags")
        return self._train_flags()

    def _train_flags(self):
        return np.where(self.train_scores_ < self.offset_, -1, 1)

    def _training_kept(self, X, y):
        """The training rows to keep: not flagged, or flagged and confirmed.

        See `confirmed_rows`; a regression's flagged rows are all left out.
        """
        flagged = self.train_scores_ < self.offset_
        if not self._classifier or not flagged.any():
            return ~flagged
        Xt, target = self._training_rows(X, y, "Keeping the confirmed rows")
        proba = self._predictions(Xt, training=True, check=False)
        return ~flagged | confirmed_rows(proba, target, self.class_thresholds_)

    def _training_proba(self, X, y):
        """Class probabilities of the training rows, from the nets that scored them."""
        Xt, _ = self._training_rows(X, y, "Relabelling")
        return self._predictions(Xt, training=True, check=False)

    def _check_X(self, X):
        check_is_fitted(self)
        check_numeric_columns(X, NUMBERS_ADVICE)
        X = validate_data(self, X, dtype=self._dtype(), reset=False)
        return self._transform(self._inputs(X))

    def _dtype(self):
        return np.float32 if self.input_dtype == "float32" else "numeric"

    def _inputs(self, X):
        """``X`` as the network takes it: float32 features or int64 inputs."""
        if self.input_dtype == "float32" or np.issubdtype(X.dtype, np.integer):
            return X
        if X.dtype == bool:
            return X.astype(np.int64)
        if not np.all(np.mod(X, 1) == 0):
            raise ValueError(
                "input_dtype='int64' takes integer inputs (such as token ids), "
                "and X has values with a fractional part."
            )
        return X.astype(np.int64)

    def _score_samples(self, Xt, target):
        def gradients(member, needs):
            return self._gradients(member, Xt, target, needs)

        return mean_scores(self._members, self._adapters, gradients)

    def _scores_and_proba(self, Xt, target):
        """Scores of new rows and, for a classifier, their class probabilities.

        One network whose probabilities are the softmax of its outputs
        (`softmax_outputs`) gives both from the gradients' own forward pass;
        otherwise the probabilities take one more pass (`_predictions`).
        """
        if not (
            self._classifier
            and len(self._members) == 1
            and softmax_outputs(self._members[0])
        ):
            proba = None
            if self._classifier:
                proba = self._predictions(Xt, training=False, check=False)
            return self._score_samples(Xt, target), proba
        logits = []

        def gradients(member, needs):
            return self._gradients(member, Xt, target, needs, outputs=logits)

        scores = mean_scores(self._members, self._adapters, gradients)
        proba = torch.softmax(torch.cat(logits), dim=1).numpy().astype(np.float64)
        return scores, proba

    def _predictions(self, Xt, training, check=True):
        return predictions(
            self._members,
            Xt,
            classifier=self._classifier,
            training=training,
            check=check,
        )

    def _transform(self, X):
        X = X if self.scaler_ is None else self.scaler_.transform(X)
        dtype = np.int64 if self.input_dtype == "int64" else np.float32
        return np.ascontiguousarray(X, dtype=dtype)

    def _score_target(self, Xt, y):
        if y is None:
            if not self._classifier:
                raise ValueError(
                    "Scoring a regressor needs y: the gradient of the net's "
                    "own prediction is zero."
                )
            proba = self._predictions(Xt, training=False, check=False)
            return proba.argmax(axis=1).astype(np.int64)
        y = _check_y(column_or_1d(y), y_numeric=False, estimator=self)
        if len(y) != len(Xt):
            raise ValueError(
                f"X and y have different numbers of samples: {len(Xt)} and {len(y)}."
            )
        return self._encode(y)

    def _encode(self, y):
        """Labels as class positions, or targets scaled as the net was trained."""
        if self._classifier:
            return encode_target(y, self.classes_)
        return encode_target(y, None, self.target_scaler_)

    def _gradients(self, member, Xt, target, output, param_names=None, outputs=None):
        """Gradient features of the rows for a scorer (see `ScorerAdapter.needs`).

        ``outputs``, a list, receives the network's outputs chunk by chunk.
        """
        return gradient_array(
            member.module,
            sample_loss_fn(member.net),
            torch.from_numpy(Xt),
            torch.from_numpy(target),
            self.param_names_ if param_names is None else param_names,
            output=output,
            projection=self.projection,
            seed=self._seed,
            batch_size=self.batch_size,
            verbose=self.verbose,
            outputs=outputs,
        )

    def _offset(self, proba, target):
        if self.contamination != "auto":
            return quantile_offset(self.train_scores_, self.contamination)
        if self._classifier:
            rate = estimated_noise_rate(proba, target)
            if rate > 0.5:
                warn_capped_noise_rate(rate, self.classes_, self.task)
            return quantile_offset(self.train_scores_, min(rate, 0.5))
        offsets = [a.own_offset for a in self._adapters]
        if any(o is None for o in offsets):
            raise ValueError(
                f"contamination='auto' needs a scorer with its own threshold for "
                f"regression; {type(self.scorers_[0]).__name__} has none: set "
                "contamination to a float."
            )
        return float(np.mean(offsets))
