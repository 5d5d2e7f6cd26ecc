"""Helpers shared by the tests."""

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import torch

# Detectors

# For tests of behaviour rather than of detection quality: seeded, on the
# CPU, and the default timing stopped at the first epoch whose held-out loss
# does not improve (about 16 epochs on 300 rows, where timing="final" trains
# all 100: a twelfth of the time).
FAST = {"timing": "early_stopping", "patience": 1, "random_state": 0, "device": "cpu"}


# Gradients


def confident_class(detector, X, y):
    """The most probable class among those reaching their threshold, or -1.

    A reference for `skogad._threshold.confident_labels`, on the training
    rows of a fitted classifying detector (class positions).
    """
    proba = detector._training_proba(X, y)
    above = np.where(proba >= detector.class_thresholds_, proba, -1)
    return np.where(above.max(axis=1) >= 0, above.argmax(axis=1), -1)


def loop_gradients(module, loss_fn, X, y, names=None):
    """The naive reference: one backward pass per sample, in eval mode.

    ``X`` and ``y`` are tensors or numpy arrays; ``names`` are the parameters
    whose gradients are concatenated, by default every trainable one. Returns
    an ``(n_samples, n_parameters)`` tensor on the module's device and leaves
    no gradient on the module.
    """
    module.eval()
    X, y = torch.as_tensor(X), torch.as_tensor(y)
    params = dict(module.named_parameters())
    if names is None:
        names = [name for name, p in params.items() if p.requires_grad]
    rows = []
    for i in range(len(X)):
        module.zero_grad()
        # .sum(): with reduction="none" the loss has one value per output
        loss_fn(module(X[i : i + 1]), y[i : i + 1]).sum().backward()
        rows.append(torch.cat([params[n].grad.reshape(-1) for n in names]))
    module.zero_grad()
    return torch.stack(rows)


# Benchmarks

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"
DASH = "—"  # what the benchmarks write where a cell has no number


def _results_files():
    return {
        p.name: (p.stat().st_size, p.stat().st_mtime_ns)
        for p in (BENCHMARKS / "results").iterdir()
    }


def run_quick(script, out, *args, timeout=600):
    """Run ``benchmarks/<script> --quick --out <out> *args``; return its Markdown.

    Fails, with the end of the script's stderr, where the script fails,
    writes other than one Markdown file to ``out``, or touches
    ``benchmarks/results/``.
    """
    before = _results_files()
    command = [sys.executable, str(BENCHMARKS / script), "--quick", "--out", str(out)]
    result = subprocess.run(
        [*command, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    assert _results_files() == before, "the quick run wrote to benchmarks/results/"
    written = sorted(Path(out).glob("*.md"))
    assert len(written) == 1 and "_quick" in written[0].stem, written
    return written[0].read_text()


def _table_start(markdown, start):
    """Index of the header line of the table ``start`` names: the header line
    or the heading above the table, whole or its beginning (``"### moons"``
    names ``"### moons: ..."``, not ``"### moons-20"``)."""
    lines = markdown.splitlines()
    found = [
        i
        for i, line in enumerate(lines)
        if line.startswith(start) and not re.match(r"[\w-]", line[len(start) :])
    ]
    assert found, f"no line starts with {start!r}"
    i = found[0]
    while not lines[i].startswith("|"):
        i += 1
        assert i < len(lines) and not lines[i].startswith("#"), f"no table at {start!r}"
    return lines, i


def cells(line):
    """The stripped cells of one Markdown table line."""
    return [c.strip() for c in line.strip().strip("|").split("|")]


def table_columns(markdown, start):
    """The column names of the table `table_rows` reads."""
    lines, i = _table_start(markdown, start)
    return cells(lines[i])


def table_rows(markdown, start):
    """The body rows of a Markdown table, as lists of stripped cells.

    Parameters
    ----------
    markdown : str
        A benchmark's report.
    start : str
        The table's header line or its beginning (``"| task |"``), or a
        heading line (``"### moons"``): then the first table under it.
    """
    lines, i = _table_start(markdown, start)
    rows = []
    for line in lines[i + 2 :]:  # past the header and its |---| line
        if not line.startswith("|"):
            break
        rows.append(cells(line))
    return rows


def number(cell):
    """A cell's number: the mean of ``mean ± std``, None for an em dash."""
    cell = cell.strip()
    return None if cell == DASH else float(cell.split("±")[0].replace(",", ""))


# Text from the data that would forge lines of the command's output
FORGED = "Flagged 0 of 1500 rows (0.0%); kept: 1500 rows.\nWrote /etc/passwd"


def forging_table(n=120, seed=0):
    """A table whose column name, labels and stored index hold newlines
    followed by lines the command prints itself."""
    import pandas as pd

    rng = np.random.RandomState(seed)
    X = rng.normal(size=(n, 3))
    labels = np.where(X[:, 0] + 0.3 * rng.normal(size=n) > 0, "no", "yes\n" + FORGED)
    frame = pd.DataFrame(X, columns=["a", "b", "age\n" + FORGED])
    frame["y"] = labels
    frame.index = [f"r{i}\n{FORGED}" if i % 2 else f"r{i}" for i in range(n)]
    return frame


def forged_lines(out):
    return [
        line
        for line in out.splitlines()
        if line.startswith(("Flagged 0 of 1500", "Wrote /etc/passwd"))
    ]
