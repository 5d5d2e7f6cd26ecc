"""Label encoding: a vectorised lookup that agrees with a plain dictionary."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from skogad._targets import check_label_types, encode_labels

LABELS = st.one_of(
    st.lists(st.integers(-3, 3), min_size=1, max_size=40).map(np.array),
    st.lists(st.booleans(), min_size=1, max_size=40).map(np.array),
    st.lists(st.sampled_from([0.0, 1.5, -2.0, np.nan]), min_size=1, max_size=40).map(
        np.array
    ),
    st.lists(st.sampled_from(["a", "b", "é", ""]), min_size=1, max_size=40).map(
        np.array
    ),
)


def _by_dict(y, classes):
    lookup = {c: i for i, c in enumerate(classes.tolist())}
    return np.array([lookup.get(v, -1) for v in y.tolist()], dtype=np.int64)


@settings(max_examples=200, derandomize=True, deadline=None)
@given(y=LABELS, known=LABELS, shuffle=st.randoms(use_true_random=False))
def test_encoding_agrees_with_a_dictionary(y, known, shuffle):
    classes = list(dict.fromkeys(known.tolist()))
    shuffle.shuffle(classes)  # a fitted net's classes need not be sorted
    classes = np.array(classes)
    expected = _by_dict(y, classes)
    if np.any(expected < 0):
        with pytest.raises(ValueError, match="not trained on"):
            encode_labels(y, classes)
    else:
        np.testing.assert_array_equal(encode_labels(y, classes), expected)


def test_mixed_label_types_are_refused_and_typed_arrays_pass():
    with pytest.raises(ValueError, match="mixes labels of different types"):
        check_label_types(np.array([1, "a"], dtype=object))
    for y in (np.arange(3), np.array(["a", "b"]), np.array([True, False])):
        check_label_types(y)
    with pytest.raises(ValueError, match=r"not trained on: \['x'\]"):
        encode_labels(np.array(["x"]), np.array([0, 1]))
