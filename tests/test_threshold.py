"""The noise-rate estimate behind contamination="auto", on hand-made probabilities."""

import numpy as np
import pytest

from skogad._threshold import (
    confident_labels,
    confident_thresholds,
    estimated_noise_rate,
)


def rows(*groups):
    """Stack (count, label, probabilities) groups into proba and label codes."""
    proba = np.vstack([np.tile(p, (n, 1)) for n, _, p in groups])
    codes = np.concatenate([np.full(n, label) for n, label, _ in groups])
    return proba, codes


def test_confident_rows_of_another_class_are_counted():
    proba, codes = rows(
        (8, 0, [0.75, 0.25]),
        (2, 0, [0.25, 0.75]),  # labelled 0, confidently 1
        (10, 1, [0.25, 0.75]),
    )
    np.testing.assert_allclose(confident_thresholds(proba, codes), [0.65, 0.75])
    assert estimated_noise_rate(proba, codes) == pytest.approx(2 / 20)


def test_ambiguous_rows_are_not_counted_but_share_their_class_rate():
    proba, codes = rows(
        (8, 0, [0.75, 0.25]),
        (2, 0, [0.25, 0.75]),
        (5, 0, [0.5, 0.5]),  # below both thresholds: confident of neither
        (10, 1, [0.25, 0.75]),
    )
    thresholds = confident_thresholds(proba, codes)
    np.testing.assert_allclose(thresholds, [0.6, 0.75])
    assert (confident_labels(proba, thresholds)[10:15] == -1).all()
    # class 0: 2 of its 10 confident rows are off, so 2/10 of its 15 rows
    assert estimated_noise_rate(proba, codes) == pytest.approx(3 / 25)


def test_clean_confident_labels_estimate_zero():
    proba, codes = rows((5, 0, [0.9, 0.05, 0.05]), (5, 2, [0.1, 0.1, 0.8]))
    # class 1 has no row: its threshold is 1, so no row is put in it
    assert confident_thresholds(proba, codes)[1] == 1.0
    assert estimated_noise_rate(proba, codes) == 0.0
