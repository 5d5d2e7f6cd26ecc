"""Fit time and quality against the number of rows: the default detector and cleanlab.

Generates ``make_classification`` tables (20 features, 10 informative, 5
classes, as float32) of 1k to 10M rows, flips 10% of the labels, and times,
in the same process and on the same rows:

- ``GradientOutlierDetector(random_state=0).fit(X, y)``, end to end (the
  fastest of 5 fits up to 100k rows, where one takes a second or two and a
  shared machine's noise is as large: the same fit measured 0.9 to 1.3 s),
  split into training (the epochs of that
  fit's own network, from its history), scoring (the per-sample gradients and
  the scorer over every row: a ``score_samples`` call on the fitted detector)
  and the rest (validation, scaling, the noise-rate estimate's forward pass);
- cleanlab's label-quality scores on 5-fold out-of-fold probabilities of a
  logistic regression and of ``HistGradientBoostingClassifier``;
- up to 100k rows, the previous schedule's two regimes, rebuilt as skorch
  nets on standardized features (`previous_net`): batches of about n/16 rows
  (at most 256) at a learning rate of 1e-3 for up to 100 epochs through
  torch's ``DataLoader`` (used up to 32,768 rows), and batches of 2,048 rows
  at 8e-3 for up to 15 epochs (used above);

and scores each ranking by AUROC against the flips. cleanlab's gradient
boosting is left out above 1M rows (it would take hours here), and every
method above the rows the machine's memory holds. A plot of time and AUROC
against the rows goes beside the table.

    python benchmarks/bench_scaling.py           # 1k to 10M rows
    python benchmarks/bench_scaling.py --quick   # CI: 3k and 40k rows
"""

import os
import sys
import time

import numpy as np
import torch
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
from skorch import NeuralNetClassifier

from skogad import GradientOutlierDetector, TabularMLP
from skogad._schedule import ArrayBatches, module_schedule
from skogad.noise import flip_labels

SIZES = [
    1_000,
    2_000,
    5_000,
    10_000,
    20_000,
    32_000,
    34_000,
    60_000,
    100_000,
    1_000_000,
    10_000_000,
]
QUICK_SIZES = [3_000, 40_000]
HGB_MAX = 1_000_000
QUICK_HGB_MAX = 3_000
PREVIOUS_MAX = 100_000
QUICK_PREVIOUS_MAX = 3_000
REPEATS_UP_TO = 100_000  # sizes fitted 5 times, the fastest time kept
# make_classification's float64 table, its float32 copy, and fit's copies
BYTES_PER_ROW = 20 * 8 * 6


def data(n, seed=0):
    """``n`` rows of 20 float32 features, 5 classes, 10% of the labels flipped."""
    X, y = make_classification(
        n, 20, n_informative=10, n_classes=5, flip_y=0, random_state=seed
    )
    y_noisy, flipped = flip_labels(y, 0.1, random_state=seed)
    return X.astype(np.float32), y_noisy, flipped


def skogad_fit(X, y, repeats):
    """The default detector's fit (fastest of ``repeats``), and its parts."""
    fits = []
    for _ in range(repeats):
        det = GradientOutlierDetector(random_state=0)
        fits.append(timed(lambda det=det: det.fit(X, y)))
    det, total = min(fits, key=lambda fit: fit[1])  # its training is the split's
    history = det.nets_[0].history
    _, scoring = timed(lambda: det.score_samples(X, y))
    return det, {
        "total": total,
        "training": float(sum(history[:, "dur"])),
        "scoring": scoring,
        "epochs": len(history),
        "max epochs": det.nets_[0].max_epochs,
        "batch": det.nets_[0].batch_size,
    }


def previous_net(regime, n):
    """The previous default's network for ``n`` rows, in one of its two regimes.

    ``"small"``: what it used up to 32,768 rows; ``"large"``: above. Given
    as a skorch net, it is trained on the rows as given: features are
    standardized before, as the default does.
    """
    if regime == "small":  # as a torch module given to skogad still trains
        schedule = module_schedule(n)
    else:
        schedule = {
            "batch_size": 2048,
            "lr": 8e-3,
            "max_epochs": 15,
            "iterator_train": ArrayBatches,
            "iterator_valid": ArrayBatches,
        }
    return NeuralNetClassifier(
        TabularMLP,
        module__n_features=20,
        module__n_outputs=5,
        criterion=torch.nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        train_split=None,
        iterator_train__shuffle=True,
        device="cpu",
        verbose=0,
        **schedule,
    )


def previous_auroc(regime, X, y, flipped):
    Xs = StandardScaler().fit_transform(X).astype(np.float32)
    det = GradientOutlierDetector(previous_net(regime, len(X)), random_state=0)
    _, seconds = timed(lambda: det.fit(Xs, y))
    return detection(flipped, -det.train_scores_)["AUROC"], seconds


def cleanlab_scores(model, X, y):
    from cleanlab.rank import get_label_quality_scores

    proba = out_of_fold_proba(model, X, y, seed=0)
    return get_label_quality_scores(y, proba)


def fits_in_memory(n):
    free = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return n * BYTES_PER_ROW < 0.8 * free


def run(n, hgb_max, previous_max):
    X, y, flipped = data(n)
    row = {"rows": n}
    det, parts = skogad_fit(X, y, 5 if n <= REPEATS_UP_TO else 1)
    row.update(parts)
    row["skogad AUROC"] = detection(flipped, -det.train_scores_)["AUROC"]
    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    scores, row["cleanlab LR"] = timed(lambda: cleanlab_scores(logistic, X, y))
    row["cleanlab LR AUROC"] = detection(flipped, -scores)["AUROC"]
    if n <= hgb_max:
        hgb = HistGradientBoostingClassifier(random_state=0)
        scores, row["cleanlab HGB"] = timed(lambda: cleanlab_scores(hgb, X, y))
        row["cleanlab HGB AUROC"] = detection(flipped, -scores)["AUROC"]
    if n <= previous_max:
        for regime in ("small", "large"):
            auroc, seconds = previous_auroc(regime, X, y, flipped)
            row[f"previous {regime} AUROC"], row[f"previous {regime}"] = auroc, seconds
    return row


def main(argv=None):
    args = parse_args(make_parser(__doc__), argv)
    limit_threads(args)
    start = time.perf_counter()
    run(2_000, 0, 0)  # first calls (torch, skorch, cleanlab) kept out of the timings
    hgb_max = QUICK_HGB_MAX if args.quick else HGB_MAX
    previous_max = QUICK_PREVIOUS_MAX if args.quick else PREVIOUS_MAX
    rows, skipped = [], []
    for n in QUICK_SIZES if args.quick else SIZES:
        if not fits_in_memory(n):
            skipped.append(n)
            continue
        rows.append(run(n, hgb_max, previous_max))
        r = rows[-1]
        print(
            f"[{time.perf_counter() - start:6.0f} s] {n:,} rows: skogad "
            f"{r['total']:.2f} s (AUROC {r['skogad AUROC']:.3f}), cleanlab LR "
            f"{r['cleanlab LR']:.1f} s, HGB {r.get('cleanlab HGB', np.nan):.1f} s",
            file=sys.stderr,
            flush=True,
        )
    stem = output_stem(args, "scaling")
    write_plot(stem.with_suffix(".png"), rows)
    lines = [
        "# Fit time against the number of rows",
        "",
        header(__file__, args.argv, "matplotlib", elapsed=time.perf_counter() - start),
        "",
        "20 float32 features (10 informative), 5 classes, 10% of the labels "
        "flipped uniformly. skogad: `GradientOutlierDetector(random_state=0)"
        ".fit(X, y)`, end to end (the fastest of 5 fits up to "
        f"{REPEATS_UP_TO:,} rows), and its parts: training (the epochs of the "
        "fit's own network, validation included, from its history), scoring "
        "(per-sample gradients and the scorer over every row, timed as "
        "`score_samples` on the fitted detector, which costs what the fit's "
        "own pass does) and the rest (scaling, validation, the noise-rate "
        "estimate's forward pass: total minus training minus scoring). Batch "
        "and epochs: the default "
        "schedule's batch size, and the epochs run out of its budget. "
        "cleanlab: label-quality scores on 5-fold out-of-fold probabilities, "
        "one run each. AUROC of each ranking against the flips. Rows/s = rows "
        "/ total seconds. skogad/HGB: skogad's total over cleanlab HGB's.",
        "",
        *table(
            [
                "rows",
                "skogad total (s)",
                "rows/s",
                "training (s)",
                "scoring (s)",
                "rest (s)",
                "batch",
                "epochs",
                "skogad AUROC",
                "cleanlab LR (s)",
                "LR AUROC",
                "cleanlab HGB (s)",
                "HGB AUROC",
                "skogad/HGB",
            ],
            [_cells(r) for r in rows],
        ),
    ]
    previous = [r for r in rows if "previous small" in r]
    if previous:
        lines += [
            "",
            "## Against the previous schedule",
            "",
            "The previous default's two regimes on the same rows, rebuilt as "
            "skorch nets on standardized features (the small one was used up "
            "to 32,768 rows, the large one above), one fit each. Target: "
            "skogad's AUROC at least the better of the two, minus 0.003.",
            "",
            *table(
                [
                    "rows",
                    "skogad (s)",
                    "skogad AUROC",
                    "previous small (s)",
                    "small AUROC",
                    "previous large (s)",
                    "large AUROC",
                    "skogad - better",
                ],
                [_previous_cells(r) for r in previous],
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
    lines += ["", f"![time and AUROC against the rows]({stem.name}.png)"]
    write_markdown(stem.with_suffix(".md"), lines)


def _cells(r):
    rest = r["total"] - r["training"] - r["scoring"]
    return [
        f"{r['rows']:,}",
        f"{r['total']:.2f}",
        f"{r['rows'] / r['total']:,.0f}",
        f"{r['training']:.2f}",
        f"{r['scoring']:.2f}",
        f"{max(rest, 0):.2f}",
        f"{r['batch']:,}",
        f"{r['epochs']} of {r['max epochs']}",
        number(r["skogad AUROC"]),
        f"{r['cleanlab LR']:.2f}",
        number(r["cleanlab LR AUROC"]),
        f"{r['cleanlab HGB']:.2f}" if "cleanlab HGB" in r else DASH,
        number(r.get("cleanlab HGB AUROC")),
        f"{r['total'] / r['cleanlab HGB']:.3f}" if "cleanlab HGB" in r else DASH,
    ]


def _previous_cells(r):
    better = max(r["previous small AUROC"], r["previous large AUROC"])
    return [
        f"{r['rows']:,}",
        f"{r['total']:.2f}",
        number(r["skogad AUROC"]),
        f"{r['previous small']:.1f}",
        number(r["previous small AUROC"]),
        f"{r['previous large']:.1f}",
        number(r["previous large AUROC"]),
        f"{r['skogad AUROC'] - better:+.4f}",
    ]


def write_plot(path, rows):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.2), layout="constrained")
    times, quality = figure.subplots(1, 2, sharex=True)
    methods = [
        ("skogad default", "total", "skogad AUROC"),
        ("cleanlab, 5-fold LR", "cleanlab LR", "cleanlab LR AUROC"),
        ("cleanlab, 5-fold HGB", "cleanlab HGB", "cleanlab HGB AUROC"),
        ("previous schedule, small", "previous small", "previous small AUROC"),
        ("previous schedule, large", "previous large", "previous large AUROC"),
    ]
    for label, seconds, auroc in methods:
        measured = [r for r in rows if seconds in r]
        if not measured:
            continue
        style = {"marker": "o", "label": label}
        if label.startswith("previous"):
            style.update(linestyle="--", alpha=0.6)
        n = [r["rows"] for r in measured]
        times.plot(n, [r[seconds] for r in measured], **style)
        quality.plot(n, [r[auroc] for r in measured], **style)
    times.set(xscale="log", yscale="log", xlabel="rows", ylabel="fit time (s)")
    quality.set(xscale="log", xlabel="rows", ylabel="AUROC against the flips")
    for ax in (times, quality):
        ax.grid(alpha=0.3, which="both")
    quality.legend(fontsize=8, loc="lower right")
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
