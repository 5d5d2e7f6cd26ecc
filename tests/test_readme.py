"""The README's Python examples run as written."""

import re
from pathlib import Path

import numpy as np
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.mark.slow  # trains the README's networks and a grid search, end to end
def test_readme_python_blocks_run():
    blocks = re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.S)
    assert blocks, "the README has a quickstart"
    namespace = {}
    for block in blocks:
        exec(compile(block, str(README), "exec"), namespace)
    assert namespace["model"].inlier_mask_.mean() < 1
    assert namespace["search"].best_params_
    # The Dask example: digits' labels are clean, so "auto" may flag no row at
    # all; what must hold is that the lazy flags are the fitted detector's
    # verdict on every row, against the threshold set over all of them, and few.
    parallel, X, y = namespace["parallel"], namespace["X"], namespace["y"]
    flags = namespace["flags"].compute()
    below = parallel.estimator_.score_samples(X, y) < parallel.offset_
    np.testing.assert_array_equal(flags, np.where(below, -1, 1))
    assert (flags == -1).mean() == pytest.approx(parallel.contamination_)
    assert parallel.contamination_ < 0.03
