"""
Corrupted targets in a regression
=================================

The detector works on regression too: the network is trained with squared
error, and a row whose target was corrupted has an unusual loss gradient.
Here 5% of the diabetes dataset's targets are replaced by random values; the
gradient-norm scorer (``scorer="l2"``) ranks them, and the report shows each
row's given target, the network's prediction and the residual. The
diabetes targets are noisy by nature (a linear model explains about half of
their variance), so some genuine rows look as odd as the corrupted ones.

Run: ``python examples/regression_targets.py [--quick]``
"""

# %%
import argparse

import numpy as np
from sklearn.datasets import load_diabetes
from sklearn.metrics import roc_auc_score

from skogad import GradientOutlierDetector

parser = argparse.ArgumentParser()
parser.add_argument("--quick", action="store_true", help="(the data is small anyway)")
parser.parse_args()

X, y = load_diabetes(return_X_y=True, as_frame=True)
y = (y - y.mean()) / y.std()
rng = np.random.RandomState(0)
corrupted = rng.rand(len(y)) < 0.05
y[corrupted] = rng.uniform(y.min(), y.max(), corrupted.sum())

# %%
det = GradientOutlierDetector(scorer="l2", contamination=0.05, random_state=0)
det.fit(X, y)
report = det.report(X, y, training=True)
print(report.head(10).to_string(float_format=lambda v: f"{v:.3f}"))
print(
    f"AUROC against the corrupted rows: "
    f"{roc_auc_score(corrupted, -det.train_scores_):.3f}"
)
flagged = report.index[report["flagged"]]
print(f"corrupted rows among the flagged: {corrupted[flagged].mean():.0%}")

# sphinx_gallery_thumbnail_path = "_static/thumbnails/regression_targets.png"
