"""
Find the wrong labels in a table
================================

A customer-churn table with numeric and categorical columns, missing values
and an identifier, where 8% of the ``churned`` labels were flipped. We encode
it with a ``ColumnTransformer``, fit a `GradientOutlierDetector`, read its
report (most suspicious rows first, with the label the network suggests) and
draw the three diagnostic plots.

Run: ``python examples/find_label_errors.py [--quick] [--out DIR]``
"""

# %%
import argparse
from pathlib import Path

from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.impute import SimpleImputer
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from skogad import GradientOutlierDetector
from skogad.datasets import make_churn_table
from skogad.plots import plot_gradient_pca, plot_scores, plot_trim_curve

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true", help="a smaller table")
parser.add_argument("--out", default="example_output", help="folder for the plots")
args = parser.parse_args()

# %%
# The data: ``planted_error`` says which labels were flipped. It is for
# checking our work only; the detector never sees it.
table = make_churn_table(600 if args.quick else 3000, noise=0.08, random_state=0)
planted = table.pop("planted_error").to_numpy()
y = table.pop("churned")
X = table.drop(columns="customer_id")

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
Xt = encoder.fit_transform(X)

# %%
# Fit the detector and read its report. ``training=True`` reuses the scores
# computed during ``fit``, so the flags are exactly those of ``fit_predict``.
detector = GradientOutlierDetector(contamination=0.08, random_state=0)
detector.fit(Xt, y)
report = detector.report(Xt, y, training=True)
report.index = X.index[report.index]
print(report.head(10).to_string(float_format=lambda v: f"{v:.3f}"))

auroc = roc_auc_score(planted, -detector.train_scores_)
top = report.head(int(planted.sum()))
print(f"AUROC of the scores against the planted errors: {auroc:.3f}")
print(
    f"planted errors among the {len(top)} most suspicious rows: "
    f"{planted[top.index].mean():.0%}"
)

# %%
# The plots: where the threshold falls, how the flagged rows sit in gradient
# space, and precision/recall as more rows are removed.
out = Path(args.out)
out.mkdir(parents=True, exist_ok=True)
flagged = detector.train_scores_ < detector.offset_
for name, ax in {
    "scores.png": plot_scores(detector.train_scores_, detector.offset_),
    "gradients_pca.png": plot_gradient_pca(
        detector.gradients(Xt, y, params="last"), flagged, truth=planted
    ),
    "trim_curve.png": plot_trim_curve(
        detector.train_scores_, planted, threshold=detector.offset_
    ),
}.items():
    ax.figure.savefig(out / name, dpi=120)
    print(f"wrote {out / name}")

# sphinx_gallery_thumbnail_number = 2
