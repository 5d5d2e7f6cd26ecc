"""CleanTrainingSet: drop the rows a detector flags, fit an estimator on the rest."""

from typing import ClassVar

import numpy as np
from sklearn.base import BaseEstimator, MetaEstimatorMixin, clone
from sklearn.utils import get_tags
from sklearn.utils.metaestimators import available_if
from sklearn.utils.validation import check_is_fitted, validate_data

from skogad._compat import HasMethods, _fit_context, _num_samples, _safe_indexing
from skogad._detector import GradientOutlierDetector
from skogad._state import fit_all_or_nothing


def _estimator_has(attr):
    def check(self):
        est = self.estimator_ if hasattr(self, "estimator_") else self.estimator
        getattr(est, attr)
        return True

    return check


class CleanTrainingSet(MetaEstimatorMixin, BaseEstimator):
    """Fit an estimator on the training rows a detector does not flag.

    ``fit(X, y)`` fits the detector on ``(X, y)``, drops the rows it flags as
    outliers (``fit_predict == -1``) and fits a clone of ``estimator`` on the
    rest. Prediction is delegated to that fitted estimator, so the whole
    thing is a drop-in replacement for ``estimator`` in a ``Pipeline``,
    ``GridSearchCV`` (the detector's ``contamination`` is tunable as
    ``detector__contamination``) or ``cross_val_score``.

    Parameters
    ----------
    estimator : estimator
        The model to fit on the clean rows; cloned.
    detector : estimator, default=None
        An outlier detector with ``fit_predict(X, y)`` returning -1/+1;
        cloned. ``None``: ``GradientOutlierDetector()``, which flags the
        rows whose label its network does not predict (an estimate of the
        noise rate).

    Attributes
    ----------
    estimator_ : estimator
        ``estimator`` fitted on the kept rows.
    detector_ : estimator
        The fitted detector.
    inlier_mask_ : ndarray of shape (n_samples,)
        True for the training rows kept.
    sample_indices_ : ndarray
        Indices of the kept rows.
    classes_ : ndarray of shape (n_classes,)
        Class labels (classifiers only).
    n_features_in_ : int
        Number of features seen during fit.
    feature_names_in_ : ndarray of shape (n_features_in_,)
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
        "detector": [None, HasMethods(["fit_predict"])],
    }

    def __init__(self, estimator, *, detector=None):
        self.estimator = estimator
        self.detector = detector

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
        """Fit the detector, drop the flagged rows, fit the estimator on the rest.

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
            are restricted to the kept rows.

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
        self.detector_ = (
            GradientOutlierDetector() if self.detector is None else clone(self.detector)
        )
        flags = np.asarray(self.detector_.fit_predict(X, y))
        self.inlier_mask_ = flags == 1
        self.sample_indices_ = np.flatnonzero(self.inlier_mask_)
        if len(self.sample_indices_) == 0:
            raise ValueError("The detector flagged every row; nothing is left to fit.")
        keep = self.sample_indices_
        y_kept = _safe_indexing(y, keep)
        if hasattr(self.detector_, "classes_"):
            lost = np.setdiff1d(self.detector_.classes_, np.unique(y_kept))
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
        self.estimator_ = clone(self.estimator).fit(
            _safe_indexing(X, keep), y_kept, **params
        )
        if hasattr(self.estimator_, "classes_"):
            self.classes_ = self.estimator_.classes_
        return self

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
    def score(self, X, y, sample_weight=None):
        """Return the fitted estimator's ``score`` on ``(X, y)``.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Samples.
        y : array-like of shape (n_samples,)
            Their true labels or targets.
        sample_weight : array-like of shape (n_samples,), default=None
            Sample weights, passed on when given.

        Returns
        -------
        score : float
            Accuracy for a classifier, R^2 for a regressor (the estimator's
            own ``score``).
        """
        check_is_fitted(self)
        kwargs = {} if sample_weight is None else {"sample_weight": sample_weight}
        return self.estimator_.score(self._check(X), y, **kwargs)

    def _check(self, X):
        # Checks feature count/names against fit and passes X on unchanged, so
        # a DataFrame still reaches an estimator that wants column names.
        X_checked = validate_data(
            self, X, reset=False, dtype=None, ensure_all_finite=False
        )
        return X if hasattr(X, "iloc") else X_checked
