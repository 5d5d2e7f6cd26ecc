"""Fit time against the number of rows: the default detector and cleanlab.

Generates ``make_classification`` tables (20 features, 10 informative, 5
classes, as float32) of 10k, 100k, 1M and 10M rows, flips 10% of the labels, and times,
in the same process and on the same rows:

- ``GradientOutlierDetector(random_state=0).fit(X, y)``, end to end, split
  into training (the default network, as ``fit`` trains it), scoring (the
  per-sample gradients and the scorer over every row: a ``score_samples``
  call on the fitted detector) and the rest (validation, scaling, the
  noise-rate estimate's forward pass);
- cleanlab's label-quality scores on 5-fold out-of-fold probabilities of a
  logistic regression and of ``HistGradientBoostingClassifier``;

and scores each ranking by AUROC against the flips. cleanlab's gradient
boosting is left out above 1M rows (it would take hours here), and every
method above the rows the machine's memory holds.

    python benchmarks/bench_scaling.py           # 10k to 10M rows
    python benchmarks/bench_scaling.py --quick   # CI: 3k and 40k rows
"""

import os
import sys
import time

import numpy as np
from _common import (
    DASH,
    detection,
    header,
    limit_threads,
    make_parser,
    number,
    out_of_fold_proba,
    output_stem,
    parse_args,
    table,
    timed,
    write_markdown,
)
from sklearn.datasets import make_classification
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skogad import GradientOutlierDetector
from skogad._nets import fit_members
from skogad.noise import flip_labels

SIZES = [10_000, 100_000, 1_000_000, 10_000_000]
QUICK_SIZES = [3_000, 40_000]
HGB_MAX = 1_000_000
QUICK_HGB_MAX = 3_000
# make_classification's float64 table, its float32 copy, and fit's copies
BYTES_PER_ROW = 20 * 8 * 6


def data(n, seed=0):
    """``n`` rows of 20 float32 features, 5 classes, 10% of the labels flipped."""
    X, y = make_classification(
        n, 20, n_informative=10, n_classes=5, flip_y=0, random_state=seed
    )
    y_noisy, flipped = flip_labels(y, 0.1, random_state=seed)
    return X.astype(np.float32), y_noisy, flipped


def skogad_split(X, y):
    """The default detector's fit, and the seconds of each part of it."""
    det = GradientOutlierDetector(random_state=0)
    _, total = timed(lambda: det.fit(X, y))
    # training alone, as fit does it (the same scaling, seed and schedule)
    Xt = det._transform(X)
    target = det._encode(y)
    _, training = timed(
        lambda: fit_members(
            None,
            Xt,
            target,
            classifier=True,
            n_outputs=len(det.classes_),
            timing="early_stopping",
            device="cpu",
            cv=5,
            validation_fraction=0.2,
            patience=5,
            seed=det._seed,
        )
    )
    _, scoring = timed(lambda: det.score_samples(X, y))
    return det, {"total": total, "training": training, "scoring": scoring}


def cleanlab_scores(model, X, y):
    from cleanlab.rank import get_label_quality_scores

    proba = out_of_fold_proba(model, X, y, seed=0)
    return get_label_quality_scores(y, proba)


def fits_in_memory(n):
    free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return n * BYTES_PER_ROW < 0.8 * free


def run(n, hgb_max):
    X, y, flipped = data(n)
    row = {"rows": n}
    det, parts = skogad_split(X, y)
    row.update(parts)
    row["skogad AUROC"] = detection(flipped, -det.train_scores_)["AUROC"]
    row["epochs"] = len(det.nets_[0].history)
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    scores, row["cleanlab LR"] = timed(lambda: cleanlab_scores(logistic, X, y))
    row["cleanlab LR AUROC"] = detection(flipped, -scores)["AUROC"]
    if n <= hgb_max:
        hgb = HistGradientBoostingClassifier(random_state=0)
        scores, row["cleanlab HGB"] = timed(lambda: cleanlab_scores(hgb, X, y))
        row["cleanlab HGB AUROC"] = detection(flipped, -scores)["AUROC"]
    return row


def main(argv=None):
    args = parse_args(make_parser(__doc__), argv)
    limit_threads(args)
    start = time.perf_counter()
    run(2_000, 0)  # first calls (torch, skorch, cleanlab) kept out of the timings
    hgb_max = QUICK_HGB_MAX if args.quick else HGB_MAX
    rows, skipped = [], []
    for n in QUICK_SIZES if args.quick else SIZES:
        if not fits_in_memory(n):
            skipped.append(n)
            continue
        rows.append(run(n, hgb_max))
        r = rows[-1]
        print(
            f"[{time.perf_counter() - start:6.0f} s] {n:,} rows: skogad "
            f"{r['total']:.1f} s (AUROC {r['skogad AUROC']:.3f}), cleanlab LR "
            f"{r['cleanlab LR']:.1f} s",
            file=sys.stderr,
            flush=True,
        )
    lines = [
        "# Fit time against the number of rows",
        "",
        header(__file__, args.argv, elapsed=time.perf_counter() - start),
        "",
        "20 float32 features (10 informative), 5 classes, 10% of the labels "
        "flipped uniformly. skogad: `GradientOutlierDetector(random_state=0)"
        ".fit(X, y)`, end to end, and its parts: training the default network "
        "(as `fit` trains it, timed apart), scoring (per-sample gradients and "
        "the scorer over every row, as `score_samples` on the fitted "
        "detector), and the rest (scaling, validation, the noise-rate "
        "estimate's forward pass: total minus the two). cleanlab: label-quality "
        "scores on 5-fold out-of-fold probabilities. AUROC of each ranking "
        "against the flips. Rows/s = rows / total seconds.",
        "",
        *table(
            [
                "rows",
                "skogad total (s)",
                "rows/s",
                "training (s)",
                "scoring (s)",
                "rest (s)",
                "epochs",
                "skogad AUROC",
                "cleanlab LR (s)",
                "LR AUROC",
                "cleanlab HGB (s)",
                "HGB AUROC",
            ],
            [_cells(r) for r in rows],
        ),
    ]
    if skipped:
        lines += [
            "",
            "Not run, too large for this machine's free memory: "
            + ", ".join(f"{n:,}" for n in skipped)
            + " rows.",
        ]
    if any("cleanlab HGB" not in r for r in rows):
        lines += [
            "",
            f"cleanlab with gradient boosting was not run above {hgb_max:,} rows "
            "(at its measured rate it would take hours).",
        ]
    write_markdown(output_stem(args, "scaling").with_suffix(".md"), lines)


def _cells(r):
    rest = r["total"] - r["training"] - r["scoring"]
    return [
        f"{r['rows']:,}",
        f"{r['total']:.1f}",
        f"{r['rows'] / r['total']:,.0f}",
        f"{r['training']:.1f}",
        f"{r['scoring']:.1f}",
        f"{max(rest, 0):.1f}",
        str(r["epochs"]),
        number(r["skogad AUROC"]),
        f"{r['cleanlab LR']:.1f}",
        number(r["cleanlab LR AUROC"]),
        f"{r['cleanlab HGB']:.1f}" if "cleanlab HGB" in r else DASH,
        number(r.get("cleanlab HGB AUROC")),
    ]


if __name__ == "__main__":
    main()
