"""scikit-learn's estimator checks, with the failures we expect and why."""

import sklearn
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from skogad import CleanTrainingSet, GradientOutlierDetector
from tests._helpers import FAST

Y_REQUIRED = (
    "outlier checks call fit(X) / fit_predict(X) without y; a per-sample loss "
    "gradient needs labels, so fit(X, None) raises ValueError by design"
)

EXPECTED_FAILURES = {
    "GradientOutlierDetector": {
        "check_outliers_fit_predict": Y_REQUIRED,
        "check_outliers_train": Y_REQUIRED,
    },
}
if tuple(int(p) for p in sklearn.__version__.split(".")[:2]) < (1, 7):
    # Seen on the floor versions CI tests (scikit-learn 1.6, numpy 1.24): one
    # of 20 rows changes flag between predicting all rows and a subset. A
    # score within float rounding of the threshold is the likely cause; not
    # yet verified. Later scikit-learn releases pass.
    EXPECTED_FAILURES["GradientOutlierDetector"]["check_methods_subset_invariance"] = (
        "one row flips flag between batch sizes with scikit-learn 1.6 (see above)"
    )


def _expected(estimator):
    return EXPECTED_FAILURES.get(type(estimator).__name__, {})


@parametrize_with_checks(
    [
        GradientOutlierDetector(**FAST),
        CleanTrainingSet(
            LogisticRegression(),
            detector=GradientOutlierDetector(contamination=0.1, **FAST),
        ),
    ],
    expected_failed_checks=_expected,
)
def test_sklearn_compatible(estimator, check):
    check(estimator)
