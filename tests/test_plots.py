"""skogad.plots: the figures draw what they say, and save as PNG."""

import numpy as np
import pytest

pytest.importorskip("matplotlib")

from skogad.plots import plot_gradient_pca, plot_scores, plot_trim_curve, trim_curve


@pytest.fixture
def scored():
    rng = np.random.RandomState(0)
    truth = rng.rand(400) < 0.1
    scores = rng.randn(400) - 2.0 * truth
    G = rng.randn(400, 6) + 4.0 * truth[:, None]
    return scores, truth, G


def test_trim_curve_against_counting(scored):
    scores, truth, _ = scored
    fraction, precision, recall = trim_curve(scores, truth)
    order = np.argsort(scores)
    for k in (1, 10, 40, 200, 400):
        removed = truth[order[:k]]
        assert fraction[k - 1] == k / len(scores)
        assert precision[k - 1] == removed.mean()
        assert recall[k - 1] == removed.sum() / truth.sum()


def test_plot_scores_splits_at_the_threshold(scored, tmp_path):
    scores, _, _ = scored
    ax = plot_scores(scores, -1.0)
    flagged = sum(p.get_height() for p in ax.containers[1])
    assert flagged == np.sum(scores < -1.0)
    assert ax.lines[0].get_xdata()[0] == -1.0
    ax.figure.savefig(tmp_path / "scores.png")
    assert (tmp_path / "scores.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_gradient_pca_marks_flagged_and_known_rows(scored):
    scores, truth, G = scored
    flagged = scores < np.quantile(scores, 0.1)
    ax = plot_gradient_pca(G, flagged, truth=truth)
    kept, marked, known = ax.collections
    assert len(kept.get_offsets()) == np.sum(~flagged)
    assert len(marked.get_offsets()) == np.sum(flagged)
    assert len(known.get_offsets()) == np.sum(truth)
    assert "PC 1" in ax.get_xlabel()


def test_plot_gradient_pca_subsamples_keeping_flagged_rows(scored):
    scores, _, G = scored
    flagged = scores < np.quantile(scores, 0.1)
    ax = plot_gradient_pca(G, flagged, max_points=100)
    kept, marked = ax.collections
    assert len(marked.get_offsets()) == flagged.sum()
    assert len(kept.get_offsets()) + flagged.sum() == 100
    assert "100 of 400 rows" in ax.get_title()


def test_plot_trim_curve_draws_precision_and_recall(scored):
    scores, truth, _ = scored
    ax = plot_trim_curve(scores, truth, threshold=-1.0)
    precision, recall = ax.lines[:2]
    _, p, r = trim_curve(scores, truth)
    np.testing.assert_allclose(precision.get_ydata(), p[: len(precision.get_ydata())])
    np.testing.assert_allclose(recall.get_ydata(), r[: len(recall.get_ydata())])


def test_draws_on_given_axes(scored):
    from matplotlib.figure import Figure

    scores, truth, G = scored
    axes = Figure().subplots(1, 3)
    assert plot_scores(scores, 0.0, ax=axes[0]) is axes[0]
    assert plot_gradient_pca(G, scores < 0, ax=axes[1]) is axes[1]
    assert plot_trim_curve(scores, truth, ax=axes[2]) is axes[2]


def test_bad_input(scored):
    scores, truth, G = scored
    with pytest.raises(ValueError, match="different lengths"):
        plot_gradient_pca(G, truth[:10])
    with pytest.raises(ValueError, match="different lengths"):
        trim_curve(scores, truth[:-1])
    with pytest.raises(ValueError, match="marks no row as bad"):
        trim_curve(scores, np.zeros(len(scores), dtype=bool))
