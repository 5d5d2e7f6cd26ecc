"""When to take the gradients: each ``timing`` option against cleanlab.

Injects uniform label flips into datasets scikit-learn ships (and one it
generates), runs `GradientOutlierDetector` with every ``timing`` and the
``iforest`` and ``l2`` scorers on the last layer's gradients (``params="last"``,
the default when this was measured), and cleanlab's label-quality scores and
``find_label_issues`` on 5-fold out-of-sample probabilities of a logistic
regression, all in the same process. Reports the AUROC of the scores against
the true flips (mean ± std over seeds), the precision/recall of each method's
own flags, and wall time.

    python benchmarks/bench_timing.py            # full: 5 datasets x 3 seeds
    python benchmarks/bench_timing.py --quick    # CI: 2 small datasets, 1 seed
"""

import numpy as np
from _common import (
    detection,
    header,
    limit_threads,
    make_parser,
    mean_std,
    out_of_fold_proba,
    output_stem,
    parse_args,
    table,
    timed,
    write_markdown,
)
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skogad import GradientOutlierDetector
from skogad.noise import flip_labels

TIMINGS = ["early_stopping", "final", "checkpoints", "out_of_fold"]
SCORERS = ["iforest", "l2"]
CLEANLAB = "cleanlab (5-fold logistic regression)"


def datasets(quick):
    yield "breast_cancer", load_breast_cancer(return_X_y=True)
    yield "wine", load_wine(return_X_y=True)
    if quick:
        return
    yield "iris", load_iris(return_X_y=True)
    yield "digits", load_digits(return_X_y=True)
    yield (
        "classif_3k",
        make_classification(3000, 20, n_informative=10, n_classes=3, random_state=0),
    )


def run_skogad(X, y, noisy, timing, scorer, seed):
    det = GradientOutlierDetector(
        timing=timing, scorer=scorer, params="last", random_state=seed
    )
    flags, seconds = timed(lambda: det.fit_predict(X, y) == -1)
    return {**detection(noisy, -det.train_scores_, flags), "time": seconds}


def run_cleanlab(X, y, noisy):
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    def fit():
        model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
        proba = out_of_fold_proba(model, X, y)
        return get_label_quality_scores(y, proba), find_label_issues(y, proba)

    (quality, issues), seconds = timed(fit)
    return {**detection(noisy, -quality, issues), "time": seconds}


def main(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument("--rate", type=float, default=0.2, help="flip rate")
    args = parse_args(parser, argv)
    limit_threads(args)
    seeds = [0] if args.quick else [0, 1, 2]

    methods = [f"skogad {t} / {s}" for t in TIMINGS for s in SCORERS] + [CLEANLAB]
    rows = []
    per_method = {m: [] for m in methods}  # (mean AUROC, mean seconds) per dataset
    for name, (X, y) in datasets(args.quick):
        X = np.asarray(X, dtype=np.float64)
        results = {m: [] for m in methods}
        for seed in seeds:
            y_noisy, noisy = flip_labels(y, args.rate, random_state=seed)
            for t in TIMINGS:
                for s in SCORERS:
                    results[f"skogad {t} / {s}"].append(
                        run_skogad(X, y_noisy, noisy, t, s, seed)
                    )
            results[CLEANLAB].append(run_cleanlab(X, y_noisy, noisy))
        for m in methods:
            column = {key: [r[key] for r in results[m]] for key in results[m][0]}
            per_method[m].append((np.mean(column["AUROC"]), np.mean(column["time"])))
            rows.append(
                [
                    name,
                    f"{X.shape[0]}x{X.shape[1]}",
                    m,
                    mean_std(column["AUROC"]),
                    mean_std(column["precision"], 2),
                    mean_std(column["recall"], 2),
                    mean_std(column["time"], 1),
                ]
            )
            print(*rows[-1], sep=" | ", flush=True)

    summary = [
        [
            m,
            f"{np.mean([a for a, _ in v]):.3f}",
            f"{np.sum([t for _, t in v]):.1f}",
        ]
        for m, v in per_method.items()
    ]
    lines = [
        "# When to take the gradients (label-noise detection)",
        "",
        header(__file__, args.argv),
        "",
        f"{args.rate:.0%} of training labels flipped uniformly to another class; "
        f"seeds {seeds}; mean ± std. AUROC: scores vs the true flips. "
        "Precision/recall: of each method's own flags (skogad: "
        "`contamination='auto'`; cleanlab: `find_label_issues`). Time: whole "
        "method (training included), seconds.",
        "",
        "## Summary over the datasets",
        "",
        *table(["method", "mean AUROC", "total time (s)"], summary),
        "",
        "## Per dataset",
        "",
        *table(
            ["data", "n x d", "method", "AUROC", "precision", "recall", "time (s)"],
            rows,
        ),
    ]
    write_markdown(output_stem(args, "timing").with_suffix(".md"), lines)


if __name__ == "__main__":
    main()
