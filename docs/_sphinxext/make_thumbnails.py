"""Draw the gallery thumbnails of the examples that save no figure.

``python docs/_sphinxext/make_thumbnails.py`` (from the repository root, with
matplotlib installed) writes ``docs/_static/thumbnails/NAME.png`` for each
example named below; the example points at it with
``# sphinx_gallery_thumbnail_path = "_static/thumbnails/NAME.png"``. Rerun it
when such an example changes what it finds.

Each example is run as the gallery runs it (``--quick``, from ``examples/``)
and its own variables are drawn: the picture shows that run's result, and no
code of the example is repeated here. The pictures show no number, as a run
on another machine may differ from the page's in the last digit. Not part of
the build, which only reads the PNGs; the gallery makes a thumbnail anew only
when it runs the example again (the example changed, or after
``make -C docs clean``).
"""

import os
import runpy
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import roc_curve

from skogad.plots import FLAG_COLOR, KEEP_COLOR

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"
OUT = ROOT / "docs" / "_static" / "thumbnails"


def run_example(name):
    """The module variables of ``examples/NAME.py`` run with ``--quick``."""
    argv, cwd = sys.argv, os.getcwd()
    sys.argv = [f"{name}.py", "--quick"]
    os.chdir(EXAMPLES)
    try:
        return runpy.run_path(str(EXAMPLES / f"{name}.py"), run_name="__main__")
    finally:
        sys.argv = argv
        os.chdir(cwd)


def _axes():
    # the size of skogad.plots' figures, so that the gallery's thumbnails match
    return Figure(figsize=(6.4, 4.4), layout="constrained").subplots()


def clean_then_train(v):
    """Test accuracy (correct labels) without and with the cleaning step."""
    ax = _axes()
    accuracies = {
        "trained on\nthe noisy labels": v["plain"].score(v["X_test"], v["y_test"]),
        "cleaned first, the fraction\ndropped tuned by GridSearchCV": v["search"].score(
            v["X_test"], v["y_test"]
        ),
    }
    bars = ax.bar(list(accuracies), list(accuracies.values()), width=0.6)
    bars[0].set_color(FLAG_COLOR)
    bars[1].set_color(KEEP_COLOR)
    ax.set_ylim(0.5, 1)
    ax.set_ylabel("test accuracy (correct labels)")
    ax.set_title("20% of the training labels flipped")
    return ax


def regression_targets(v):
    """Given target against the network's prediction: the corrupted stray."""
    ax = _axes()
    report, corrupted = v["report"].sort_index(), np.asarray(v["corrupted"])
    given = report["given_target"].to_numpy()
    predicted = report["predicted_target"].to_numpy()
    flagged = report["flagged"].to_numpy()
    low, high = min(given.min(), predicted.min()), max(given.max(), predicted.max())
    ends = [low, high]
    ax.plot(ends, ends, color="grey", linestyle=":", label="prediction = given")
    ax.scatter(given[~flagged], predicted[~flagged], s=8, alpha=0.5, color=KEEP_COLOR)
    ax.scatter(given[flagged], predicted[flagged], s=18, marker="x", color=FLAG_COLOR)
    ax.scatter(
        given[corrupted],
        predicted[corrupted],
        s=60,
        facecolors="none",
        edgecolors="black",
        linewidths=0.8,
        label=f"corrupted ({corrupted.sum()})",
    )
    ax.collections[0].set_label("kept")
    ax.collections[1].set_label("flagged")
    ax.set_xlabel("given target (standardized)")
    ax.set_ylabel("network's prediction")
    ax.set_title("Corrupted targets in a regression")
    ax.legend(markerscale=1.5)
    return ax


def your_own_network(v):
    """ROC curves of the two detectors against the flipped labels."""
    ax = _axes()
    flipped = v["flipped"]
    for label, det, color in [
        ("all its parameters, projected to 128", v["det"], KEEP_COLOR),
        ("a net trained elsewhere, its head", v["frozen"], FLAG_COLOR),
    ]:
        fpr, tpr, _ = roc_curve(flipped, -det.train_scores_)
        ax.plot(fpr, tpr, color=color, label=label)
    ax.plot([0, 1], [0, 1], color="grey", linestyle=":", label="random")
    ax.set_xlabel("false alarms (share of correct labels flagged)")
    ax.set_ylabel("flipped labels found")
    ax.set_title("A skorch net on digits, 15% of labels flipped")
    ax.legend(loc="lower right")
    return ax


THUMBNAILS = {
    "clean_then_train": clean_then_train,
    "regression_targets": regression_targets,
    "your_own_network": your_own_network,
}


def main(names=None):
    OUT.mkdir(parents=True, exist_ok=True)
    for name in names or THUMBNAILS:
        ax = THUMBNAILS[name](run_example(name))
        ax.figure.savefig(OUT / f"{name}.png", dpi=80)
        print(f"wrote {(OUT / f'{name}.png').relative_to(ROOT)}")


if __name__ == "__main__":
    main(sys.argv[1:])
