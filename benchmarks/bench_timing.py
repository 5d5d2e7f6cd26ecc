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

import argparse
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import sklearn
import torch
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import cross_val_predict
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skogad
from skogad import GradientOutlierDetector
from skogad.noise import flip_labels

TIMINGS = ["early_stopping", "final", "checkpoints", "out_of_fold"]
SCORERS = ["iforest", "l2"]


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


def precision_recall(flagged, noisy):
    hits = np.sum(flagged & noisy)
    return hits / max(flagged.sum(), 1), hits / noisy.sum()


def run_skogad(X, y, noisy, timing, scorer, seed):
    t = time.perf_counter()
    det = GradientOutlierDetector(
        timing=timing, scorer=scorer, params="last", random_state=seed
    )
    flags = det.fit_predict(X, y)
    seconds = time.perf_counter() - t
    return (
        roc_auc_score(noisy, -det.train_scores_),
        *precision_recall(flags == -1, noisy),
        seconds,
    )


def run_cleanlab(X, y, noisy, seed):
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    t = time.perf_counter()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    proba = cross_val_predict(model, X, y, cv=5, method="predict_proba")
    quality = get_label_quality_scores(y, proba)
    issues = find_label_issues(y, proba)
    seconds = time.perf_counter() - t
    return (roc_auc_score(noisy, -quality), *precision_recall(issues, noisy), seconds)


def fmt(values, digits=3):
    values = np.asarray(values)
    return f"{values.mean():.{digits}f} ± {values.std():.{digits}f}"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small CI run")
    parser.add_argument("--rate", type=float, default=0.2, help="flip rate")
    parser.add_argument("--out", default=str(Path(__file__).parent / "results"))
    args = parser.parse_args(argv)
    seeds = [0] if args.quick else [0, 1, 2]
    torch.set_num_threads(max(torch.get_num_threads(), 1))

    methods = [f"skogad {t} / {s}" for t in TIMINGS for s in SCORERS]
    methods.append("cleanlab (5-fold logistic regression)")
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
            results[methods[-1]].append(run_cleanlab(X, y_noisy, noisy, seed))
        for m in methods:
            r = np.array(results[m])
            per_method[m].append((r[:, 0].mean(), r[:, 3].mean()))
            rows.append(
                (
                    name,
                    f"{X.shape[0]}x{X.shape[1]}",
                    m,
                    fmt(r[:, 0]),
                    fmt(r[:, 1], 2),
                    fmt(r[:, 2], 2),
                    fmt(r[:, 3], 1),
                )
            )
            print(*rows[-1], sep=" | ", flush=True)

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / ("timing_quick.md" if args.quick else "timing.md")
    quick_flag = " --quick" if args.quick else ""
    lines = [
        "# When to take the gradients (label-noise detection)",
        "",
        f"Command: `python benchmarks/bench_timing.py{quick_flag}`"
        f" · {date.today()} · {platform.machine()}, {torch.get_num_threads()} "
        f"torch threads · Python {platform.python_version()}, skogad "
        f"{skogad.__version__}, torch {torch.__version__}, scikit-learn "
        f"{sklearn.__version__}",
        "",
        f"{args.rate:.0%} of training labels flipped uniformly to another class; "
        f"seeds {seeds}; mean ± std. AUROC: scores vs the true flips. "
        "Precision/recall: of each method's own flags (skogad: "
        "`contamination='auto'`; cleanlab: `find_label_issues`). Time: whole "
        "method (training included), seconds.",
        "",
        "## Summary over the datasets",
        "",
        "| method | mean AUROC | total time (s) |",
        "|---|---|---|",
        *(
            f"| {m} | {np.mean([a for a, _ in v]):.3f} | "
            f"{np.sum([t for _, t in v]):.1f} |"
            for m, v in per_method.items()
        ),
        "",
        "## Per dataset",
        "",
        "| data | n x d | method | AUROC | precision | recall | time (s) |",
        "|---|---|---|---|---|---|---|",
        *("| " + " | ".join(r) + " |" for r in rows),
        "",
    ]
    path.write_text("\n".join(lines))
    print(f"wrote {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
