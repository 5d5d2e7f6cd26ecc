"""Outlier scorers on gradient space.

Every scorer is used through `ScorerAdapter`, which gives one convention
whatever the detector's origin: ``score_samples`` where lower means more
abnormal (scikit-learn's), and ``own_offset`` the detector's own threshold on
that scale, used when ``contamination="auto"``. ``needs`` says what the
scorer is fitted on: the gradient norms (the ``"l1"``/``"l2"`` scorers, so the
gradient matrix is never formed) or the (possibly projected) gradients.
"""

import numpy as np
from sklearn.base import BaseEstimator, OutlierMixin, clone, is_outlier_detector
from sklearn.ensemble import IsolationForest

NAMED_SCORERS = ("iforest", "l1", "l2")


class GradientNorm(OutlierMixin, BaseEstimator):
    """Score = minus the gradient's norm: a large gradient is abnormal.

    Parameters
    ----------
    ord : {1, 2}, default=2
        Which norm.

    Attributes
    ----------
    offset_ : float
        Tukey's upper fence on the training norms (third quartile plus 1.5
        interquartile ranges), negated: the threshold used when the
        contamination is ``"auto"``.
    """

    def __init__(self, ord=2):
        self.ord = ord

    def fit(self, X, y=None):
        """Set the threshold from the norms of the rows of ``X``."""
        return self._fit_norms(-self.score_samples(X))

    def score_samples(self, X):
        """Minus the norm of each row of ``X``."""
        return -np.linalg.norm(np.asarray(X, dtype=np.float64), ord=self.ord, axis=1)

    def _fit_norms(self, norms):
        # The detector passes norms the engine computed without forming the
        # gradient matrix.
        q1, q3 = np.percentile(norms, [25, 75])
        self.offset_ = -(q3 + 1.5 * (q3 - q1))
        return self


def make_scorer(scorer, random_state):
    """An unfitted scorer for the ``scorer`` parameter (named or an estimator)."""
    if isinstance(scorer, str):
        if scorer == "iforest":
            return IsolationForest(random_state=random_state)
        if scorer in ("l1", "l2"):
            return GradientNorm(ord=int(scorer[1]))
        raise ValueError(
            f"scorer must be one of {NAMED_SCORERS} or an outlier detector "
            f"instance, got {scorer!r}."
        )
    # A classifier has decision_function too; only outlier detectors qualify
    # through it (PyOD's declare themselves as such).
    if not hasattr(scorer, "fit") or not (
        hasattr(scorer, "score_samples")
        or (hasattr(scorer, "decision_function") and is_outlier_detector(scorer))
    ):
        raise TypeError(
            "scorer must be an outlier detector with fit and score_samples "
            "(scikit-learn) or decision_function (PyOD); got "
            f"{type(scorer).__name__}."
        )
    est = clone(scorer)
    if "random_state" in est.get_params() and est.get_params()["random_state"] is None:
        est.set_params(random_state=random_state)
    return est


class ScorerAdapter:
    """One convention for scikit-learn and PyOD detectors.

    scikit-learn detectors give ``score_samples`` (lower = more abnormal) and
    ``offset_``; PyOD detectors give ``decision_function`` with the opposite
    sign and ``threshold_``, which are negated here.
    """

    def __init__(self, estimator):
        self.estimator = estimator

    @property
    def _is_pyod(self):
        return hasattr(self.estimator, "decision_scores_")

    @property
    def needs(self):
        """What to fit and score on: ``"l1"``/``"l2"`` norms (one per row),
        computed without the gradient matrix, or the ``"matrix"``."""
        if isinstance(self.estimator, GradientNorm):
            return f"l{self.estimator.ord}"
        return "matrix"

    def fit(self, G):
        if self.needs != "matrix":
            self.estimator._fit_norms(np.asarray(G, dtype=np.float64))
        else:
            self.estimator.fit(G)
        return self

    def score_samples(self, G):
        if self.needs != "matrix":
            return -np.asarray(G, dtype=np.float64)
        if self._is_pyod:
            return -np.asarray(self.estimator.decision_function(G), dtype=np.float64)
        return np.asarray(self.estimator.score_samples(G), dtype=np.float64)

    @property
    def own_offset(self):
        """The detector's own threshold, or None when it has none."""
        if self._is_pyod:
            threshold = getattr(self.estimator, "threshold_", None)
            return None if threshold is None else -float(threshold)
        offset = getattr(self.estimator, "offset_", None)
        # OneClassSVM's offset_ is an array of one value
        return None if offset is None else float(np.asarray(offset).item())


def fit_scorers(scorer, members, gradients, n_samples, seed):
    """Fit one scorer per member on the gradients of the rows it scores.

    Parameters
    ----------
    scorer : str or estimator
        The ``scorer`` parameter (see `make_scorer`).
    members : list of Member
        Trained networks with the training rows each one scores.
    gradients : callable
        ``gradients(member, rows, needs)``: the gradient features of the
        training ``rows`` (a boolean mask) under ``member``, as
        `ScorerAdapter.needs` says.
    n_samples : int
        Number of training rows.
    seed : int
        Seed of the scorers that take one.

    Returns
    -------
    adapters : list of ScorerAdapter
        The fitted scorers, one per member.
    train_scores : ndarray of shape (n_samples,)
        Each training row's score, averaged over the members that scored it.
    """
    total, count = np.zeros(n_samples), np.zeros(n_samples)
    adapters = []
    for member in members:
        adapter = ScorerAdapter(make_scorer(scorer, seed))
        G = gradients(member, member.rows, adapter.needs)
        adapter.fit(G)
        total[member.rows] += adapter.score_samples(G)
        count[member.rows] += 1
        adapters.append(adapter)
    return adapters, total / count


def mean_scores(members, adapters, gradients):
    """Scores of new rows, averaged over every member's fitted scorer.

    ``gradients(member, needs)`` gives the rows' gradient features under
    ``member``.
    """
    scores = [
        adapter.score_samples(gradients(member, adapter.needs))
        for member, adapter in zip(members, adapters, strict=True)
    ]
    return np.mean(scores, axis=0)
