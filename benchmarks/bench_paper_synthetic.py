"""The paper's synthetic 2-D experiment, redone with skogad's public API.

Chhabra et al., "Outlier Gradient Analysis" (arXiv:2405.03869), first check
their method on two toy problems: a linearly separable 2-D dataset with a few
flipped labels, fitted by a logistic regression, and the half-moons with
flipped labels, fitted by a small MLP. Per-sample loss gradients of the
trained model are fed to an Isolation Forest; the rows it flags are trimmed
and the model is retrained. This script runs the same protocol with
`GradientOutlierDetector` / `CleanTrainingSet` on freshly drawn data (several
seeds) and compares, by the test accuracy of the retrained model and by how
well the flipped rows are found:

- no trimming (every noisy row);
- skogad with the paper's protocol: gradients of the output layer
  (``params="last"``) after training for all epochs (``timing="final"``),
  Isolation Forest;
- two variants (gradients at the early-stopping epoch; the gradient L2 norm
  as scorer) and skogad's own defaults, whatever this version has (the row
  names them);
- the cheap baselines: random trimming, trimming the rows of highest
  training loss (cleanlab's self-confidence on in-sample probabilities, the
  label-quality family the paper compares with) and cleanlab's
  self-confidence on 5-fold out-of-sample probabilities;
- the oracle: only the unflipped rows.

Every trimming method drops the same fraction of rows (the paper trims 10%).
Writes ``paper_synthetic.md`` (``paper_synthetic_quick.md`` with ``--quick``)
and ``paper_synthetic.png`` (the training data of the first seed, flipped and
flagged rows marked) to ``--out``.

    python benchmarks/bench_paper_synthetic.py            # 4 settings x 5 seeds
    python benchmarks/bench_paper_synthetic.py --quick    # CI: 3 settings, 1 seed
"""

import sys
import time
import warnings
from dataclasses import dataclass

import numpy as np
import torch
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
    write_markdown,
)
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from sklearn.datasets import make_blobs, make_moons
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier
from sklearn.preprocessing import StandardScaler

from skogad import CleanTrainingSet, GradientOutlierDetector, LinearModel, TabularMLP
from skogad.noise import flip_labels

# The linear toy of the paper: class 1 around (1, 2), class 0 around (3, -3)
# (read off the authors' data/toy/train.csv), roughly this spread.
BLOB_CENTERS = np.array([[3.0, -3.0], [1.0, 2.0]])
BLOB_STD = 1.5
MOONS_NOISE = 0.2
MLP_WIDTH = 32  # TabularMLP's default width for 2 features

NO_TRIM = "no trimming"
PAPER_PROTOCOL = "skogad final / iforest / last (paper protocol)"
RANDOM = "random trimming"
LOSS = "loss trimming (in-sample self-confidence)"
CLEANLAB = "cleanlab self-confidence (5-fold)"
ORACLE = "oracle (unflipped rows only)"
BASELINES = [RANDOM, LOSS, CLEANLAB]
# the results tables: a column per figure of `run_setting`, and its decimals
COLUMNS = ["method", "test accuracy", "AUROC", "precision", "recall"]
COLUMNS += ["detection accuracy", "rows dropped"]
DIGITS = [3, 3, 2, 2, 3, 1]


def skogad_methods():
    """Label -> `GradientOutlierDetector` keywords, for every skogad row.

    The paper's protocol and two variants are spelled out; the last row takes
    whatever this version of skogad defaults to (named in its label).
    """
    defaults = GradientOutlierDetector().get_params()
    default_label = DEFAULTS + " ({timing} / {scorer} / {params})".format(**defaults)
    return {
        PAPER_PROTOCOL: {"timing": "final", "scorer": "iforest", "params": "last"},
        "skogad early_stopping / iforest / last": {
            "timing": "early_stopping",
            "scorer": "iforest",
            "params": "last",
        },
        "skogad final / l2 / last": {
            "timing": "final",
            "scorer": "l2",
            "params": "last",
        },
        default_label: {},
    }


DEFAULTS = "skogad defaults"
PAPER_REPO = "https://github.com/anshuman23/outlier-gradient-analysis"
PAPER_REVIEW = "https://paperhub.cn/paper/v77ZMzbsBA"
PAPER_DETECTION_RANGE = (0.96, 0.98)


@dataclass(frozen=True)
class Setting:
    """One toy problem: data, how labels are corrupted, how much is trimmed."""

    key: str
    data: str  # "blobs" or "moons"
    flips: str  # "far" (the paper's linear toy) or "uniform" (flip_labels)
    rate: float  # fraction of training labels flipped
    trim: float  # fraction of training rows every trimming method drops
    n_train: int
    description: str


SETTINGS = [
    Setting(
        "blobs-far",
        "blobs",
        "far",
        10 / 150,
        0.1,
        150,
        "linearly separable blobs; the 10 training points farthest from the "
        "true boundary (5 per class) flipped, as in the paper's linear toy; "
        "logistic regression",
    ),
    Setting(
        "blobs-uniform",
        "blobs",
        "uniform",
        0.1,
        0.1,
        150,
        "linearly separable blobs; 10% of training labels flipped at random "
        "(`flip_labels`); logistic regression",
    ),
    Setting(
        "moons",
        "moons",
        "uniform",
        0.1,
        0.1,
        250,
        "half-moons; 10% of training labels flipped at random; MLP",
    ),
    Setting(
        "moons-20",
        "moons",
        "uniform",
        0.2,
        0.2,
        250,
        "half-moons; 20% flipped at random, 20% trimmed (harder; not in the "
        "paper); MLP",
    ),
]
QUICK_SETTINGS = ["blobs-far", "moons", "moons-20"]


def make_data(setting, n_test, seed):
    """Draw one training/test set, standardize it, corrupt the training labels.

    Parameters
    ----------
    setting : Setting
        The toy problem.
    n_test : int
        Number of (clean) test rows.
    seed : int
        Seeds the draw and the flips.

    Returns
    -------
    data : dict
        ``X_train``, ``y_train`` (true labels), ``y_noisy``, ``flipped``,
        ``X_test``, ``y_test``.
    """
    n = setting.n_train + n_test
    if setting.data == "blobs":
        X, y = make_blobs(
            n, centers=BLOB_CENTERS, cluster_std=BLOB_STD, random_state=seed
        )
    else:
        X, y = make_moons(n, noise=MOONS_NOISE, random_state=seed)
    X_train, y_train = X[: setting.n_train], y[: setting.n_train]
    if setting.flips == "far":
        flipped = far_side_flips(X_train, y_train, setting.rate)
        y_noisy = np.where(flipped, 1 - y_train, y_train)
    else:
        y_noisy, flipped = flip_labels(y_train, setting.rate, random_state=seed)
    scaler = StandardScaler().fit(X_train)
    return {
        "X_train": scaler.transform(X_train),
        "y_train": y_train,
        "y_noisy": y_noisy,
        "flipped": flipped,
        "X_test": scaler.transform(X[setting.n_train :]),
        "y_test": y[setting.n_train :],
    }


def far_side_flips(X, y, rate):
    """The paper's linear-toy corruption: flip the points deepest in their class.

    Parameters
    ----------
    X : ndarray of shape (n_samples, 2)
        Blob points (unscaled).
    y : ndarray of shape (n_samples,)
        Their true labels, 0 or 1.
    rate : float
        Fraction of points to flip, half from each class.

    Returns
    -------
    flipped : ndarray of shape (n_samples,)
        True for the points farthest from the true (perpendicular-bisector)
        boundary on their own side.
    """
    axis = BLOB_CENTERS[1] - BLOB_CENTERS[0]
    margin = (X - BLOB_CENTERS.mean(axis=0)) @ (axis / np.linalg.norm(axis))
    per_class = round(rate * len(y) / 2)
    flipped = np.zeros(len(y), dtype=bool)
    for label, sign in ((1, -1), (0, 1)):
        rows = np.flatnonzero(y == label)
        flipped[rows[np.argsort(sign * margin[rows])[:per_class]]] = True
    return flipped


def downstream_model(setting, seed):
    """The model retrained on the kept rows (and used by the loss baselines).

    Parameters
    ----------
    setting : Setting
        The toy problem.
    seed : int
        Seeds the MLP's initialisation.

    Returns
    -------
    model : classifier
        A logistic regression (blobs) or a ``MLP_WIDTH`` x ``MLP_WIDTH`` ReLU
        MLP trained with Adam until its training loss stalls (moons).
    """
    if setting.data == "blobs":
        return LogisticRegression()
    return MLPClassifier((MLP_WIDTH, MLP_WIDTH), max_iter=3000, random_state=seed)


def detector_net(setting):
    """The torch module skogad trains for the gradients: same family as above."""
    return LinearModel if setting.data == "blobs" else TabularMLP


def detection_figures(drop, flipped, scores):
    """AUROC of ``scores`` (higher = more suspect), and precision, recall and
    accuracy of ``drop`` against the flips (all NaN where nothing is dropped)."""
    f = detection(flipped, scores, drop if drop.any() else None)
    return tuple(f.get(k, np.nan) for k in ("AUROC", "precision", "recall", "accuracy"))


def lowest(values, k):
    """Boolean mask of the ``k`` smallest values."""
    mask = np.zeros(len(values), dtype=bool)
    mask[np.argsort(values, kind="stable")[:k]] = True
    return mask


def run_setting(setting, n_test, seed):
    """Every method on one draw of one setting.

    Returns
    -------
    results : dict
        Method name to ``(accuracy, auroc, precision, recall, detection
        accuracy, rows dropped)``.
    drops : dict
        Method name to the boolean mask of the training rows it dropped.
    data : dict
        The draw (see `make_data`).
    """
    data = make_data(setting, n_test, seed)
    X, y, flipped = data["X_train"], data["y_noisy"], data["flipped"]
    X_test, y_test = data["X_test"], data["y_test"]
    k = round(setting.trim * len(y))
    results, drops = {}, {}

    def record(method, drop, scores, accuracy=None):
        if accuracy is None:
            model = downstream_model(setting, seed).fit(X[~drop], y[~drop])
            accuracy = model.score(X_test, y_test)
        results[method] = (
            accuracy,
            *detection_figures(drop, flipped, scores),
            int(drop.sum()),
        )
        drops[method] = drop
        print(f"  {setting.key} seed {seed}: {method}: {accuracy:.3f}", flush=True)

    full = downstream_model(setting, seed).fit(X, y)
    record(
        "no trimming", np.zeros(len(y), dtype=bool), None, full.score(X_test, y_test)
    )
    for method, keywords in skogad_methods().items():
        detector = GradientOutlierDetector(
            detector_net(setting),
            contamination=setting.trim,
            random_state=seed,
            **keywords,
        )
        clean = CleanTrainingSet(downstream_model(setting, seed), detector=detector)
        clean.fit(X, y)
        # The paper's protocol and its variants retrain on every row not
        # flagged; the defaults' row is CleanTrainingSet's default, which
        # also keeps the flagged rows whose label the network confirms.
        record(
            method,
            ~clean.inlier_mask_,
            -clean.detector_.train_scores_,
            clean.score(X_test, y_test) if method.startswith(DEFAULTS) else None,
        )
    # Not RandomState(seed): flip_labels draws its rows from that very stream.
    noise = np.random.default_rng(seed).random(len(y))
    record(RANDOM, lowest(noise, k), 1 - noise)
    in_sample = full.predict_proba(X)[np.arange(len(y)), y]
    record(LOSS, lowest(in_sample, k), -in_sample)
    try:
        from cleanlab.rank import get_label_quality_scores
    except ImportError:  # optional: pip install cleanlab
        pass
    else:
        proba = out_of_fold_proba(downstream_model(setting, seed), X, y)
        quality = get_label_quality_scores(y, proba, method="self_confidence")
        record(CLEANLAB, lowest(quality, k), -quality)
    record(ORACLE, flipped, None)
    return results, drops, data


def plot(path, firsts):
    """Training data of the first seed: labels, flipped rows, skogad's flags.

    Parameters
    ----------
    path : Path
        Where the PNG goes.
    firsts : list of (Setting, dict, dict)
        Per setting: the setting, its first draw, the rows each method dropped.
    """
    rows = [PAPER_PROTOCOL, list(skogad_methods())[-1]]
    fig = Figure(figsize=(4.2 * len(firsts), 8.4), layout="constrained")
    axes = fig.subplots(len(rows), len(firsts), squeeze=False)
    colors = np.array(["tab:red", "tab:blue"])
    for col, (setting, data, drops) in enumerate(firsts):
        X, y, flipped = data["X_train"], data["y_noisy"], data["flipped"]
        for row, method in enumerate(rows):
            ax = axes[row, col]
            drop = drops[method]
            ax.scatter(*X[~flipped].T, c=colors[y[~flipped]], s=14, alpha=0.7)
            ax.scatter(
                *X[flipped].T,
                c=colors[y[flipped]],
                marker="X",
                s=70,
                edgecolors="black",
                linewidths=0.8,
            )
            ax.scatter(
                *X[drop].T,
                facecolors="none",
                edgecolors="tab:orange",
                s=190,
                linewidths=1.8,
            )
            found = detection(flipped, flags=drop)
            ax.set_title(
                f"{setting.key}: {method.split(' (paper')[0]}\n"
                f"flagged {drop.sum()}, precision {found['precision']:.2f}, "
                f"recall {found['recall']:.2f}",
                fontsize=9,
            )
            ax.set_xlabel("feature 1 (standardized)", fontsize=8)
            ax.set_ylabel("feature 2 (standardized)", fontsize=8)
            ax.tick_params(labelsize=7)
    handles = [
        Line2D([], [], ls="", marker="o", color="tab:red", label="given label 0"),
        Line2D([], [], ls="", marker="o", color="tab:blue", label="given label 1"),
        Line2D(
            [], [], ls="", marker="X", mfc="white", mec="black", ms=9, label="flipped"
        ),
        Line2D(
            [],
            [],
            ls="",
            marker="o",
            mfc="none",
            mec="tab:orange",
            mew=1.8,
            ms=12,
            label="flagged by skogad",
        ),
    ]
    fig.legend(handles=handles, loc="outside lower center", ncols=4, fontsize=9)
    fig.savefig(path, dpi=100)


def paper_comparison(summary, settings):
    """Rows and sentences comparing this run with what the paper reports."""
    rows = []
    low, high = PAPER_DETECTION_RANGE
    verdicts = []
    for setting in settings:
        r = summary[setting.key]
        ours = np.nanmean(r[PAPER_PROTOCOL][4])
        others = {
            m: np.nanmean(r[m][4])
            for m in BASELINES
            if m in r and not np.isnan(r[m][4]).all()
        }
        best = max(others, key=others.get) if others else None
        n_flipped = r[ORACLE][5]
        k = round(setting.trim * setting.n_train)
        ceiling = np.mean(1 - np.abs(k - n_flipped) / setting.n_train)
        rows.append(
            [
                f"best detection accuracy possible when trimming {setting.trim:.0%}, "
                f"{setting.key}",
                "96.7% for its linear toy (10 flips, 15 rows flagged; derived "
                "here, not reported)",
                f"{ceiling:.1%}",
            ]
        )
        rows.append(
            [
                f"detection accuracy of outlier gradient trimming, {setting.key}",
                f"{low:.0%}-{high:.0%} (Table 1, as summarized in a review)",
                f"{ours:.1%}",
            ]
        )
        if best is not None:
            rows.append(
                [
                    f"detection accuracy of the best baseline run here, {setting.key}",
                    "below outlier gradient trimming (its baselines are "
                    "label-quality scores and influence functions)",
                    f"{others[best]:.1%} ({best})",
                ]
            )
        where = "inside" if low <= ours <= high else "above" if ours > high else "below"
        beaten = best is not None and others[best] > ours
        verdicts.append(
            f"{setting.key}: {ours:.1%}, {where} the paper's range; "
            + (
                f"{best} does better ({others[best]:.1%})."
                if beaten
                else "no baseline run here does better."
            )
        )
    rows.append(
        [
            "test accuracy after trimming, per method",
            "not found in the sources read (the scripts print it; the "
            "repository stores no outputs)",
            "the tables above",
        ]
    )
    rows.append(
        [
            "figure A-H (A-D linear toy + logistic regression, E-H half-moons + MLP)",
            "qualitative: the noisy samples sit apart in gradient space and the "
            "Isolation Forest flags them",
            "the plot below",
        ]
    )
    return table(["quantity", "paper", "this run"], rows), verdicts


def accuracy_verdicts(summary, settings):
    """Per setting: what the flips cost, and what the paper protocol won back."""
    parts = []
    for setting in settings:
        r = summary[setting.key]
        base = r[NO_TRIM][0]
        gain = r[PAPER_PROTOCOL][0] - base
        cost = r[ORACLE][0] - base
        parts.append(
            f"{setting.key}: oracle minus no trimming {cost.mean():+.3f} ± "
            f"{cost.std():.3f}, paper protocol minus no trimming "
            f"{gain.mean():+.3f} ± {gain.std():.3f}."
        )
    return parts


def main(argv=None):
    """Run the settings, write the Markdown report and the plot."""
    args = parse_args(make_parser(__doc__), argv)
    limit_threads(args)
    warnings.filterwarnings("ignore", category=ConvergenceWarning)
    torch.set_num_threads(1)  # tiny nets: one thread is fastest, and repeatable
    seeds = [0] if args.quick else [0, 1, 2, 3, 4]
    n_test = 500 if args.quick else 2000
    settings = [s for s in SETTINGS if not args.quick or s.key in QUICK_SETTINGS]

    start = time.perf_counter()
    summary, firsts = {}, []
    for setting in settings:
        per_seed = []
        for seed in seeds:
            results, drops, data = run_setting(setting, n_test, seed)
            per_seed.append(results)
            if seed == seeds[0]:
                firsts.append((setting, data, drops))
        summary[setting.key] = {
            m: np.array([r[m] for r in per_seed]).T for m in per_seed[0]
        }
    wall = time.perf_counter() - start

    stem = output_stem(args, "paper_synthetic")
    png = stem.with_suffix(".png")
    plot(png, firsts)

    lines = [
        "# The paper's synthetic experiment, with skogad",
        "",
        header(__file__, args.argv, "matplotlib", elapsed=wall),
        "",
        "## What the paper does",
        "",
        "Chhabra et al., *Outlier Gradient Analysis: Efficiently Identifying "
        "Detrimental Training Samples for Deep Learning Models*, arXiv:2405.03869 "
        "(PMLR 267, ICML 2025). Its synthetic experiment, as read in the authors' "
        f"code ({PAPER_REPO}, `synthetic/`):",
        "",
        "- **Linear toy** (`PLOT_TOY_LR.py`, `data/toy/train.csv`, "
        "`data/toy/idx_val.csv`): 150 two-feature training points in two blobs, "
        "10 of them (6.7%) with flipped labels, all on the far side of their "
        "class; features standardized; scikit-learn logistic regression "
        "(L2, no intercept); per-sample gradients of the log-loss; pyod "
        "`IForest()` (contamination 0.1) on them.",
        "- **Half-moons** (`PLOT_TOY_MLP.py`, `BASELINES_LABEL_TOY_MLP.py`, "
        "`BASELINES_INFLUENCE_TOY_MLP.py`, `deep_model.py`): a 2-2-2-1 ReLU MLP "
        "with a sigmoid output, trained full-batch with Adam (lr 1e-3, weight "
        "decay 1e-4) for 5000 epochs; gradients of the loss with respect to the "
        "last layer's weights after training; `IForest(contamination=0.1)` flags "
        "10% of the rows, which are dropped; the MLP is retrained with the same "
        "seed and its test accuracy printed. Baselines, each dropping 10%: "
        "cleanlab label-quality scores (self-confidence, normalized margin, "
        "confidence-weighted entropy) of the trained MLP, and influence "
        "functions (exact Hessian, identity Hessian, LiSSA, DataInf). Detection "
        "is reported as scikit-learn's `classification_report` of dropped vs "
        "mislabeled rows. One dataset, seed 42.",
        "- **Reported numbers**: a figure (panels A-H) shows the two toys "
        "qualitatively "
        "(training and test sets, gradient space, influence vs. sample index "
        "colored by the Isolation Forest's verdict), without numbers. Table 1 "
        "compares outlier gradient trimming with the baselines on the synthetic "
        "data; the table itself could not be read from the sources available "
        "here. A public review of the ICML version "
        f"({PAPER_REVIEW}) summarizes it as 96-98% accuracy in identifying the "
        "mislabeled samples, ahead of every baseline: that range is the only "
        "figure compared below.",
        "",
        "## What this script does",
        "",
        f"Seeds {seeds}: each seed draws new data, new flips, new initialisations. "
        f"{n_test} clean test rows per draw. Features standardized on the "
        "training rows. Blobs: centers (3, -3) and (1, 2), standard deviation "
        f"{BLOB_STD}. Moons: `make_moons(noise={MOONS_NOISE})`. skogad trains "
        "its own net for the gradients (`LinearModel` for the blobs, "
        f"`TabularMLP`, 2 hidden layers of {MLP_WIDTH}, for the moons; "
        "cross-entropy on 2 logits, AdamW lr 1e-3, batches of ~n/16, 100 "
        "epochs), takes per-sample gradients (`params='last'`, the whole output "
        "layer, in the explicit rows; the last row leaves `timing`, `scorer` "
        "and `params` at this skogad version's defaults) and flags the "
        "`contamination` fraction of lowest scores; "
        "the downstream model is retrained on the other rows (the defaults' "
        "row: `CleanTrainingSet`'s default, which also keeps the flagged rows "
        "whose label the network confirms): "
        "scikit-learn `LogisticRegression` (blobs) or `MLPClassifier` "
        f"({MLP_WIDTH}, {MLP_WIDTH}) trained until its loss stalls (moons). "
        "The loss and cleanlab baselines score the rows with that same "
        "downstream model and drop as many rows as skogad; random trimming "
        "too. AUROC: scores against the true flips. Precision / recall / "
        "detection accuracy: of the dropped rows against the flipped rows "
        "(detection accuracy is the `accuracy` line of the paper's "
        "`classification_report`). Mean ± std over seeds.",
        "",
        "## Results",
        "",
    ]
    for setting in settings:
        rows = [
            [method, *(mean_std(v[i], d) for i, d in enumerate(DIGITS))]
            for method, v in summary[setting.key].items()
        ]
        lines += [
            f"### {setting.key}",
            "",
            f"{setting.description}; {setting.n_train} training rows, "
            f"{setting.trim:.0%} trimmed.",
            "",
            *table(COLUMNS, rows),
            "",
        ]

    comparison, verdicts = paper_comparison(summary, settings)
    lines += [
        "## The paper's numbers next to these",
        "",
        *comparison,
        "",
        "Detection accuracy of the paper protocol, per setting: " + " ".join(verdicts),
        "",
        "Test accuracy, paired by seed (mean ± std of the difference): "
        + " ".join(accuracy_verdicts(summary, settings)),
        "",
        "Differences that matter: the paper uses one fixed dataset and seed; "
        "its half-moons MLP has hidden layers of width 2, a sigmoid output and "
        "last-layer gradients without a bias, trained full-batch for 5000 "
        "epochs, whereas skogad's nets use 2 logits (last-layer weights and "
        "bias), minibatches and 100 epochs; its logistic regression is "
        "scikit-learn's, ours a linear layer trained by AdamW for the "
        "gradients; the moons' noise level and sizes are not given in the "
        "repository, and its half-moons data are not stored there. The "
        "paper's influence baselines need a Hessian and a validation set (its "
        "toy code uses the test set as validation set) and are not run here. "
        "Why detection can differ: trimming a fixed fraction caps detection "
        "accuracy (the ceiling rows above; the paper's 96-98% range contains "
        "the 96.7% ceiling of its own linear toy, which every method reaches "
        "on blobs-far here); the paper's linear toy flips only points deep inside "
        "their class, whose gradients are extreme, while uniform flips also "
        "hit points near the boundary, whose gradients look like those of "
        "correctly labeled neighbours.",
        "",
        f"![training data, flipped and flagged rows]({png.name})",
        "",
        "Plot: the first seed's training data of each setting, colored by the "
        "label the model was given; crosses are the flipped rows, orange rings "
        "the rows skogad flagged (top: paper protocol, bottom: skogad's "
        "defaults, named in the panel titles).",
        "",
    ]
    write_markdown(stem.with_suffix(".md"), lines)
    print(f"wrote {png}; {wall:.0f} s in all", file=sys.stderr)


if __name__ == "__main__":
    main()
