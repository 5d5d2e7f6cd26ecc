"""Plots of a detector's results: scores, gradient space, trimming curve.

Needs matplotlib (``pip install 'skogad[plots]'``). Each function draws on
``ax`` when given, else on a new figure (made without pyplot, so it works on
machines with no display); it returns the axes, and ``ax.figure.savefig``
writes the picture.

Examples
--------
>>> from sklearn.datasets import load_breast_cancer
>>> from skogad import GradientOutlierDetector
>>> from skogad.noise import flip_labels
>>> from skogad.plots import plot_gradient_pca, plot_scores, plot_trim_curve
>>> X, y = load_breast_cancer(return_X_y=True)
>>> y_noisy, flipped = flip_labels(y, 0.1, random_state=0)
>>> det = GradientOutlierDetector(contamination=0.1, random_state=0)
>>> flags = det.fit_predict(X, y_noisy) == -1
>>> ax = plot_scores(det.train_scores_, det.offset_)
>>> G = det.gradients(X, y_noisy, params="last")  # the whole output layer
>>> ax = plot_gradient_pca(G, flags, truth=flipped)
>>> ax = plot_trim_curve(det.train_scores_, flipped, threshold=det.offset_)
>>> ax.get_xlabel()
'fraction of rows removed (most suspicious first)'
"""

import numpy as np
from sklearn.decomposition import PCA
from sklearn.utils import check_random_state

from skogad._optional import require

__all__ = ["plot_gradient_pca", "plot_scores", "plot_trim_curve", "trim_curve"]

FLAG_COLOR = "#d62728"
KEEP_COLOR = "#1f77b4"


def _axes(ax):
    if ax is not None:
        return ax
    require("matplotlib", "Plots")
    from matplotlib.figure import Figure

    return Figure(figsize=(6.4, 4.4), layout="constrained").subplots()


def _check_lengths(**arrays):
    lengths = {name: len(a) for name, a in arrays.items() if a is not None}
    if len(set(lengths.values())) > 1:
        raise ValueError(f"Inputs have different lengths: {lengths}.")


def plot_scores(scores, threshold, *, ax=None, bins=50):
    """Histogram of the outlier scores, with the threshold that flags rows.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Outlier scores, the lower the more abnormal (``train_scores_`` or
        `skogad.GradientOutlierDetector.score_samples`).
    threshold : float
        Rows scoring below it are flagged (the detector's ``offset_``).
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    bins : int, default=50
        Number of histogram bins.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.
    """
    ax = _axes(ax)
    scores = np.asarray(scores, dtype=float)
    flagged = scores < threshold
    edges = np.histogram_bin_edges(scores, bins=bins)
    ax.hist(scores[~flagged], bins=edges, color=KEEP_COLOR, label="kept")
    ax.hist(
        scores[flagged],
        bins=edges,
        color=FLAG_COLOR,
        label=f"flagged ({flagged.sum()} of {len(scores)})",
    )
    ax.axvline(threshold, color="black", linestyle="--", label="threshold")
    ax.set_xlabel("outlier score (lower = more suspicious)")
    ax.set_ylabel("rows")
    ax.set_title("Score distribution")
    ax.legend()
    return ax


def plot_gradient_pca(
    gradients, flagged, *, truth=None, ax=None, max_points=20_000, random_state=0
):
    """The rows in the first two principal components of gradient space.

    Parameters
    ----------
    gradients : array-like of shape (n_samples, n_features)
        Per-sample gradient features (`skogad.GradientOutlierDetector.gradients`).
    flagged : array-like of bool of shape (n_samples,)
        True for the rows the detector flags.
    truth : array-like of bool of shape (n_samples,), default=None
        True for rows known to be bad; circled when given.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    max_points : int, default=20000
        At most this many rows are drawn (a random subset, flagged rows
        first), to keep the picture readable.
    random_state : int, RandomState instance or None, default=0
        Seeds the PCA and the subset.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.
    """
    G = np.asarray(gradients, dtype=float)
    flagged = np.asarray(flagged, dtype=bool)
    truth = None if truth is None else np.asarray(truth, dtype=bool)
    _check_lengths(gradients=G, flagged=flagged, truth=truth)
    ax = _axes(ax)
    rng = check_random_state(random_state)
    coords = PCA(n_components=2, random_state=rng.randint(2**31 - 1)).fit(G)
    explained = coords.explained_variance_ratio_
    shown = np.arange(len(G))
    if len(G) > max_points:
        priority = flagged + rng.rand(len(G))  # flagged rows sort first
        shown = np.sort(np.argsort(-priority)[:max_points])
    xy = coords.transform(G[shown])
    kept = ~flagged[shown]
    ax.scatter(*xy[kept].T, s=6, color=KEEP_COLOR, alpha=0.5, label="kept")
    ax.scatter(*xy[~kept].T, s=14, color=FLAG_COLOR, marker="x", label="flagged")
    if truth is not None:
        bad = truth[shown]
        ax.scatter(
            *xy[bad].T,
            s=60,
            facecolors="none",
            edgecolors="black",
            linewidths=0.8,
            label=f"known bad ({truth.sum()})",
        )
    ax.set_xlabel(f"PC 1 ({explained[0]:.0%} of variance)")
    ax.set_ylabel(f"PC 2 ({explained[1]:.0%} of variance)")
    title = "Gradient space (PCA)"
    if len(shown) < len(G):
        title += f", {len(shown)} of {len(G)} rows"
    ax.set_title(title)
    ax.legend(markerscale=1.5)
    return ax


def trim_curve(scores, truth):
    """Precision and recall of removing the k lowest-scoring rows, for every k.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Outlier scores, the lower the more abnormal.
    truth : array-like of bool of shape (n_samples,)
        True for rows known to be bad.

    Returns
    -------
    fraction, precision, recall : ndarrays of shape (n_samples,)
        For k = 1..n: k/n, and the precision and recall of those k rows.
    """
    scores = np.asarray(scores, dtype=float)
    truth = np.asarray(truth, dtype=bool)
    _check_lengths(scores=scores, truth=truth)
    if not truth.any():
        raise ValueError("truth marks no row as bad: precision/recall are undefined.")
    hits = np.cumsum(truth[np.argsort(scores, kind="stable")])
    k = np.arange(1, len(scores) + 1)
    return k / len(scores), hits / k, hits / truth.sum()


def plot_trim_curve(scores, truth, *, threshold=None, ax=None, max_fraction=0.5):
    """Precision and recall of the removed rows against the fraction removed.

    Parameters
    ----------
    scores : array-like of shape (n_samples,)
        Outlier scores, the lower the more abnormal.
    truth : array-like of bool of shape (n_samples,)
        True for rows known to be bad (planted errors, audited rows).
    threshold : float, default=None
        The detector's threshold; marks the fraction it removes.
    ax : matplotlib Axes, default=None
        Where to draw; a new figure when None.
    max_fraction : float, default=0.5
        Right end of the x axis.

    Returns
    -------
    ax : matplotlib Axes
        The axes drawn on.
    """
    fraction, precision, recall = trim_curve(scores, truth)
    ax = _axes(ax)
    shown = fraction <= max_fraction
    ax.plot(fraction[shown], precision[shown], label="precision")
    ax.plot(fraction[shown], recall[shown], label="recall")
    rate = np.mean(truth)
    ax.axvline(rate, color="grey", linestyle=":", label=f"true rate ({rate:.1%})")
    if threshold is not None:
        removed = np.mean(np.asarray(scores) < threshold)
        ax.axvline(
            removed, color="black", linestyle="--", label=f"threshold ({removed:.1%})"
        )
    ax.set_xlim(0, max_fraction)
    ax.set_ylim(0, 1.02)
    ax.set_xlabel("fraction of rows removed (most suspicious first)")
    ax.set_ylabel("precision / recall")
    ax.set_title("Removing the most suspicious rows")
    ax.legend()
    return ax
