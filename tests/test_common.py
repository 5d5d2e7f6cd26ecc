"""scikit-learn's estimator checks, with the failures we expect and why."""

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
