"""CleanTrainingSet: fit an estimator on a training set cleaned by a detector."""

from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone, is_classifier
from sklearn.frozen import FrozenEstimator
from sklearn.utils import get_tags
from sklearn.utils.metadata_routing import (
    MetadataRouter,
    MethodMapping,
    process_routing,
)
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from skogad._actions import (
    ACTIONS,
    relabel,
    sample_weight_key,
    score_weights,
)
from skogad._compat import (
    HasMethods,
    StrOptions,
    _fit_context,
    _num_samples,
    _raise_for_params,
    _routing_enabled,
    _safe_indexing,
)
from skogad._detector import GradientOutlierDetector
from skogad._state import fit_all_or_nothing


def _estimator_has(attr):
    def check(self):
        est = self.estimator_ if hasattr(self, "estimator_") else self.estimator
        getattr(est, attr)
        return True

    return check


class CleanTrainingSet(MetaEstimatorMixin, BaseEstimator):
    """Fit an estimator on a training set cleaned of the rows a detector flags.

    ``fit(X, y)`` fits the detector on ``(X, y)``, deals with the rows it flags
    as outliers (``fit_predict == -1``) as ``action`` says, and fits a clone
    of ``estimator`` on the result. Prediction is delegated to that fitted
    estimator, so the whole thing is a drop-in replacement for ``estimator``
    in a ``Pipeline``, ``GridSearchCV`` (the detector's ``contamination`` is
    tunable as ``detector__contamination``, the action as ``action``) or
    ``cross_val_score``. With scikit-learn's metadata routing enabled, it is a
    router as scikit-learn's meta-estimators are: ``fit`` and ``score`` pass
    ``estimator`` the metadata it requests (``set_fit_request``,
    ``set_score_request``), and the detector is fitted on ``(X, y)`` alone.

    Parameters
    ----------
    estimator : estimator
        The model to fit on the cleaned rows; cloned.
    detector : estimator, default=None
        An outlier detector with ``fit_predict(X, y)`` returning -1/+1;
        cloned. ``None``: ``GradientOutlierDetector()``, which flags its
        estimate of the noise rate (see its ``contamination``). A fitted
        detector wrapped in ``sklearn.frozen.FrozenEstimator`` is used as it
        is, not refitted: its flags of the rows it was fitted on are reused,
        so ``fit`` must be given those rows, in the same order (a fitted
        `GradientOutlierDetector` checks this and raises otherwise; another
        detector's ``predict(X)`` gives the flags). That way one detector fit
        can serve several estimators or actions.
    action : {"drop", "relabel", "weight"}, default="drop"
        What happens to the flagged rows. ``"drop"``: they are left out,
        except, with a `GradientOutlierDetector` on classes, those whose
        given label its network is confident of (its most probable class
        among those whose probability reaches the detector's
        ``class_thresholds_``): a rare or hard class's rows have large
        gradients without wrong labels (``spared_``). ``"relabel"``
        (classification): a flagged row takes the label its network is
        confident of (the report's ``predicted_label``), and is left out when
        the network is confident of none. ``"weight"``: every
        row is kept and the flagged ones get a ``sample_weight`` falling
        linearly with the score, from 1 at the threshold to 0 at the lowest
        score (multiplied into any ``sample_weight`` given to ``fit``); the
        estimator must take ``sample_weight`` (a ``Pipeline`` through its
        last step). ``"relabel"`` and ``"weight"`` need a
        `GradientOutlierDetector`.

    Attributes
    ----------
    estimator_ : estimator
        ``estimator`` fitted on the cleaned rows.
    detector_ : estimator
        The fitted detector (the ``FrozenEstimator`` itself when one was
        given).
    inlier_mask_ : ndarray of shape (n_samples,)
        True for the training rows the detector did not flag.
    sample_indices_ : ndarray
        Indices of the rows the estimator was fitted on: the unflagged ones,
        and the flagged ones ``"drop"`` spared or ``"relabel"`` kept; with
        ``"weight"`` all.
    spared_ : ndarray
        Indices of the flagged rows kept with their given label because the
        network is confident of it (``"drop"`` and ``"relabel"``; empty for
        ``"weight"`` and for detectors other than a classifying
        `GradientOutlierDetector`).
    relabelled_ : ndarray
        Indices of the rows whose label ``"relabel"`` replaced (empty for the
        other actions).
    sample_weight_ : ndarray of shape (n_samples,) or None
        The weights ``"weight"`` gave every training row (before any
        ``sample_weight`` passed to ``fit``); ``None`` for the other actions.
    classes_ : ndarray of shape (n_classes,)
        Class labels (classifiers only).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (``n_features_in_``,)
        Names of features seen during fit, when X is a DataFrame with string
        column names.

    See Also
    --------
    GradientOutlierDetector : The default detector.

    Examples
    --------
    >>> from sklearn.datasets import load_breast_cancer
    >>> from sklearn.linear_model import LogisticRegression
    >>> from sklearn.pipeline import make_pipeline
    >>> from sklearn.preprocessing import StandardScaler
    >>> from skogad import CleanTrainingSet, GradientOutlierDetector
    >>> X, y = load_breast_cancer(return_X_y=True)
    >>> model = CleanTrainingSet(
    ...     LogisticRegression(),
    ...     detector=GradientOutlierDetector(contamination=0.05, random_state=0),
    ... )
    >>> pipe = make_pipeline(StandardScaler(), model).fit(X, y)
    >>> int(pipe[-1].inlier_mask_.sum())
    540
    """

    _parameter_constraints: ClassVar[dict] = {
        "estimator": [HasMethods(["fit"])],
        "detector": [None, HasMethods(["fit_predict"]), FrozenEstimator],
        "action": [StrOptions(set(ACTIONS))],
    }

    def __init__(self, estimator, *, detector=None, action="drop"):
        self.estimator = estimator
        self.detector = detector
        self.action = action

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        inner = get_tags(self.estimator)
        tags.estimator_type = inner.estimator_type
        tags.classifier_tags = inner.classifier_tags
        tags.regressor_tags = inner.regressor_tags
        tags.target_tags.required = True
        return tags

    @_fit_context(prefer_skip_nested_validation=False)
    @fit_all_or_nothing
    def fit(self, X, y, **fit_params):
        """Fit the detector, act on the flagged rows, fit the estimator.

        When it raises (a ``KeyboardInterrupt`` during the detector's
        training included), the meta-estimator is left as it was before the
        call.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data.
        y : array-like of shape (n_samples,)
            Labels or targets.
        **fit_params : dict
            Passed to ``estimator.fit``; per-sample ones (such as
            ``sample_weight``, which must have one entry per row of ``X``)
            are restricted to the rows it is fitted on. With metadata routing
            enabled, only those ``estimator`` requests are passed, and one it
            has not said whether it wants raises scikit-learn's
            ``UnsetMetadataPassedError``.

        Returns
        -------
        self : CleanTrainingSet
            The fitted meta-estimator.
        """
        if y is None:
            raise ValueError(
                f"{type(self).__name__} requires y to be passed, but the target y "
                "is None."
            )
        if _routing_enabled():
            # Before the detector trains, so that metadata the estimator has
            # not requested fails at once.
            fit_params = process_routing(self, "fit", **fit_params).estimator.fit
        X_checked, y_checked = validate_data(
            self, X, y, dtype=None, ensure_all_finite=False, y_numeric=False
        )
        # DataFrames and Series go on as they are, for estimators that use
        # column names; anything else as the validated arrays.
        X = X if hasattr(X, "iloc") else X_checked
        y = y if hasattr(y, "iloc") else y_checked
        n = _num_samples(X)
        weights = fit_params.get("sample_weight")
        if weights is not None and _num_samples(weights) != n:
            # Checked before the detector trains, and against X, not the
            # kept rows the estimator would complain about.
            raise ValueError(
                f"sample_weight has {_num_samples(weights)} entries for the {n} "
                "rows of X: give one weight per row."
            )
        weight_key = self._check_action()
        flags = self._flags(X, y)
        self.inlier_mask_ = flags == 1
        flagged = ~self.inlier_mask_
        self.relabelled_ = self.spared_ = np.array([], dtype=np.intp)
        self.sample_weight_ = None
        fit_mask, y_fit = self.inlier_mask_, y
        detector = _unfrozen(self.detector_)
        on_classes = isinstance(detector, GradientOutlierDetector) and hasattr(
            detector, "classes_"
        )
        if self.action == "relabel" and not on_classes:
            raise ValueError(
                "action='relabel' replaces class labels, and the detector "
                "treated y as a regression target: use action='drop' or "
                "'weight'."
            )
        if self.action == "relabel":
            y_fit, fit_mask, changed = relabel(detector, X, y, flagged)
            self.relabelled_ = np.flatnonzero(changed)
            self.spared_ = np.flatnonzero(flagged & fit_mask & ~changed)
        elif self.action == "drop" and on_classes:
            fit_mask = detector._training_kept(X, y)
            self.spared_ = np.flatnonzero(flagged & fit_mask)
        elif self.action == "weight":
            self.sample_weight_ = score_weights(
                detector.train_scores_, detector.offset_, flagged
            )
            fit_mask = np.ones(n, dtype=bool)
        self.sample_indices_ = np.flatnonzero(fit_mask)
        if len(self.sample_indices_) == 0:
            raise ValueError("The detector flagged every row; nothing is left to fit.")
        keep = self.sample_indices_
        y_kept = _safe_indexing(y_fit, keep)
        # A continuous target for a classifier is the estimator's to refuse.
        if on_classes or (
            is_classifier(self.estimator)
            and type_of_target(y) in ("binary", "multiclass")
        ):
            lost = np.setdiff1d(np.unique(np.asarray(y)), np.unique(y_kept))
            if len(lost):
                raise ValueError(
                    f"Every training row of class(es) {lost.tolist()} was flagged; "
                    "lower the detector's contamination."
                )
        params = {
            k: _safe_indexing(v, keep)
            if hasattr(v, "__len__") and not isinstance(v, str) and len(v) == n
            else v
            for k, v in fit_params.items()
        }
        if weight_key is not None:
            given = params.get(weight_key)
            weights = self.sample_weight_[keep]
            params[weight_key] = weights if given is None else weights * given
        self.estimator_ = clone(self.estimator).fit(
            _safe_indexing(X, keep), y_kept, **params
        )
        if hasattr(self.estimator_, "classes_"):
            self.classes_ = self.estimator_.classes_
        return self

    def _check_action(self):
        """Refuse an action this detector or estimator cannot take, before fitting.

        Returns the fit parameter that takes the weights for ``"weight"``.
        """
        detector = _unfrozen(self.detector)
        if self.action != "drop" and not (
            detector is None or isinstance(detector, GradientOutlierDetector)
        ):
            raise ValueError(
                f"action={self.action!r} needs a GradientOutlierDetector (its "
                f"network's labels and scores); {type(detector).__name__} gives "
                "flags only: use action='drop'."
            )
        if self.action != "weight":
            return None
        key = sample_weight_key(self.estimator)
        if key is None:
            raise ValueError(
                f"action='weight' passes a sample_weight, and "
                f"{type(self.estimator).__name__}.fit takes none: use "
                "action='drop' or 'relabel', or an estimator that takes one."
            )
        # With routing, a Pipeline refuses "<step>__sample_weight" and routes
        # sample_weight to the steps that request it.
        return "sample_weight" if _routing_enabled() else key

    def _flags(self, X, y):
        """The detector's -1/+1 flags of the training rows; sets ``detector_``."""
        if isinstance(self.detector, FrozenEstimator):
            self.detector_ = self.detector
            detector = self.detector.estimator
            if isinstance(detector, GradientOutlierDetector):
                return detector._training_flags(X, y)
            return np.asarray(detector.predict(X))
        self.detector_ = (
            GradientOutlierDetector() if self.detector is None else clone(self.detector)
        )
        return np.asarray(self.detector_.fit_predict(X, y))

    @available_if(_estimator_has("predict"))
    def predict(self, X):
        """Predict with the estimator fitted on the clean rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,)
            The estimator's predictions.
        """
        check_is_fitted(self)
        return self.estimator_.predict(self._check(X))

    @available_if(_estimator_has("predict_proba"))
    def predict_proba(self, X):
        """Predict class probabilities with the estimator fitted on the clean rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        proba : ndarray of shape (n_samples, n_classes)
            The estimator's class probabilities, columns in ``classes_`` order.
        """
        check_is_fitted(self)
        return self.estimator_.predict_proba(self._check(X))

    @available_if(_estimator_has("predict_log_proba"))
    def predict_log_proba(self, X):
        """Predict log class probabilities with the estimator on the clean rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        log_proba : ndarray of shape (n_samples, n_classes)
            The estimator's log class probabilities.
        """
        check_is_fitted(self)
        return self.estimator_.predict_log_proba(self._check(X))

    @available_if(_estimator_has("decision_function"))
    def decision_function(self, X):
        """Compute the decision function of the estimator fitted on the clean rows.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.

        Returns
        -------
        decision : ndarray of shape (n_samples,) or (n_samples, n_classes)
            The estimator's decision function.
        """
        check_is_fitted(self)
        return self.estimator_.decision_function(self._check(X))

    @available_if(_estimator_has("score"))
    def score(self, X, y, sample_weight=None, **params):
        """Return the fitted estimator's ``score`` on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        y : array-like of shape (n_samples,)
            Their true labels or targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, passed on when given (with metadata routing
            enabled, when ``estimator`` requests them).
        **params : dict
            Other metadata for ``estimator.score``, which must request it;
            only with metadata routing enabled.

        Returns
        -------
        score : float
            Accuracy for a classifier, R^2 for a regressor (the estimator's
            own ``score``).
        """
        check_is_fitted(self)
        _raise_for_params(params, self, "score")
        # Only when given: a sample_weight=None routed to an estimator whose
        # score takes none would be refused.
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        if _routing_enabled():
            kwargs = process_routing(self, "score", **kwargs, **params).estimator.score
        return self.estimator_.score(self._check(X), y, **kwargs)

    def get_metadata_routing(self):
        """Get metadata routing of this object.

        See scikit-learn's Metadata Routing User Guide for how the routing
        mechanism works.

        Returns
        -------
        routing : MetadataRouter
            A ``sklearn.utils.metadata_routing.MetadataRouter`` encapsulating
            routing information: ``fit`` and ``score`` route to
            ``estimator``'s.
        """
        # The detector is left out: GradientOutlierDetector.fit takes no
        # metadata, and the rows it flags are those of (X, y) as given.
        # The owner is the class name, which scikit-learn 1.6's messages print
        # as it is (newer ones take the estimator too).
        router = MetadataRouter(owner=type(self).__name__)
        router.add(
            estimator=self.estimator,
            method_mapping=MethodMapping()
            .add(caller="fit", callee="fit")
            .add(caller="score", callee="score"),
        )
        return router

    def _check(self, X):
        # Checks feature count/names against fit and passes X on unchanged, so
        # a DataFrame still reaches an estimator that wants column names.
        X_checked = validate_data(
            self, X, reset=False, dtype=None, ensure_all_finite=False
        )
        return X if hasattr(X, "iloc") else X_checked


def _unfrozen(detector):
    return detector.estimator if isinstance(detector, FrozenEstimator) else detector
