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
# scikit-learn asks the scores of a subset of rows to equal the whole set's to
# an absolute 1e-7. Ours are float32, and a matrix product of a few rows may
# round unlike one of many: seen 1.8e-7 apart on one of 20 rows (relative
# 6e-7), and with scikit-learn 1.6 one row within rounding of the threshold
# changed flag. test_detector.py::test_batch_size_does_not_change_scores
# checks the same invariance to float32 rounding.
EXPECTED_FAILURES["GradientOutlierDetector"]["check_methods_subset_invariance"] = (
    "float32 scores round differently for a subset of rows (see above)"
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
