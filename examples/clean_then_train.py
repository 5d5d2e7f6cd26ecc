"""
Clean the training set inside a pipeline, and tune how much to drop
===================================================================

`CleanTrainingSet` fits the detector, drops what it flags and fits any
scikit-learn model on the rest. Inside a ``Pipeline`` it sees the encoded
features; in ``GridSearchCV`` the fraction dropped is one more
hyperparameter. We compare held-out accuracy (on correct labels) of a
gradient-boosting model trained on the noisy labels, with and without
cleaning.

Run: ``python examples/clean_then_train.py [--quick]``
"""

# %%
import argparse

from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.impute import SimpleImputer
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skogad import CleanTrainingSet, GradientOutlierDetector
from skogad.datasets import make_churn_table

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true", help="smaller data, fewer folds")
args = parser.parse_args()

# %%
# 20% of the training labels are flipped; the test labels are the true ones.
table = make_churn_table(1000 if args.quick else 4000, noise=0.2, random_state=1)
planted = table.pop("planted_error")
truth = table["churned"].where(
    ~planted, table["churned"].map({"yes": "no", "no": "yes"})
)
X = table.drop(columns=["churned", "customer_id"])
X_train, X_test, y_train, _, _, y_test = train_test_split(
    X, table["churned"], truth, test_size=0.3, random_state=0
)

encoder = make_column_transformer(
    (
        make_pipeline(
            SimpleImputer(strategy="median", add_indicator=True), StandardScaler()
        ),
        make_column_selector(dtype_include="number"),
    ),
    (
        make_pipeline(
            SimpleImputer(strategy="constant", fill_value="(missing)"),
            OneHotEncoder(handle_unknown="ignore", sparse_output=False),
        ),
        make_column_selector(dtype_exclude="number"),
    ),
)
model = HistGradientBoostingClassifier(
    max_iter=50 if args.quick else 200, random_state=0
)

# %%
plain = make_pipeline(encoder, model).fit(X_train, y_train)
print(f"trained on the noisy labels: test accuracy {plain.score(X_test, y_test):.3f}")

cleaned = make_pipeline(
    encoder,
    CleanTrainingSet(model, detector=GradientOutlierDetector(random_state=0)),
)
search = GridSearchCV(
    cleaned,
    {"cleantrainingset__detector__contamination": [0.05, 0.1, 0.2, 0.3]},
    cv=2 if args.quick else 3,
).fit(X_train, y_train)
best = search.best_params_["cleantrainingset__detector__contamination"]
kept = search.best_estimator_[-1].inlier_mask_
print(
    f"cleaned (contamination={best} chosen by GridSearchCV, {kept.mean():.0%} of "
    f"rows kept): test accuracy {search.score(X_test, y_test):.3f}"
)

# sphinx_gallery_thumbnail_path = "_static/thumbnails/clean_then_train.png"
