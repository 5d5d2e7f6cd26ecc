"""The README's Python examples run as written, each on its own."""

import contextlib
import io
import re
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"


def _blocks(kind, text=None):
    text = README.read_text() if text is None else text
    return re.findall(rf"```{kind}\n(.*?)```", text, flags=re.S)


def _rst_python_blocks(path):
    found = re.findall(
        r"^\.\. code-block:: python\n\n((?:   .*\n|\n)+)", path.read_text(), re.M
    )
    return [
        "\n".join(line[3:] for line in block.splitlines()).strip() for block in found
    ]


def test_the_readme_landing_page_and_getting_started_share_the_first_example():
    first = _blocks("python")[0].strip()
    for page in ("index.rst", "getting_started.rst"):
        assert _rst_python_blocks(ROOT / "docs" / page)[0] == first, page


@pytest.mark.slow  # trains the README's networks, end to end
def test_readme_python_blocks_run_alone_and_print_what_it_shows():
    python = _blocks("python")
    assert len(python) == 2, "the quickstart and the Dask example"
    namespaces = []
    for block in python:
        namespace, printed = {"__name__": "__main__"}, io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(block, str(README), "exec"), namespace)  # nothing shared
        namespaces.append((namespace, printed.getvalue()))
    quickstart, shown = namespaces[0]
    assert shown == _blocks("text")[0]  # the output the README prints
    assert quickstart["cleaned"].inlier_mask_.mean() < 1
    # The Dask example: digits' labels are clean, so "auto" may flag no row at
    # all; what must hold is that the lazy flags are the fitted detector's
    # verdict on every row, against the threshold set over all of them, and few.
    dask, shown = namespaces[1]
    parallel, X, y = dask["parallel"], dask["X"], dask["y"]
    flags = dask["flags"].compute()
    below = parallel.estimator_.score_samples(X, y) < parallel.offset_
    np.testing.assert_array_equal(flags, np.where(below, -1, 1))
    assert (flags == -1).mean() == pytest.approx(parallel.contamination_)
    assert parallel.contamination_ < 0.03
    assert shown == f"flagged {(flags == -1).sum()} of 1797 rows\n"


def test_the_readme_stays_short():
    # the pitch, the two commands, the quickstart, how it compares and where we
    # lose; the development detail lives in CONTRIBUTING.md
    assert len(README.read_text().splitlines()) <= 200
    assert (ROOT / "CONTRIBUTING.md").is_file()
