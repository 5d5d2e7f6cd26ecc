"""The gallery scripts in examples/ run, in their quick form, and find what they say."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"

pytestmark = pytest.mark.slow  # each runs a script in a fresh interpreter

pytest.importorskip("pandas")
pytest.importorskip("matplotlib")


def run_example(name, *args):
    result = subprocess.run(
        [sys.executable, str(EXAMPLES / name), "--quick", *args],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def figures(text, label):
    return [float(v) for v in re.findall(rf"{label} (\d\.\d+)", text)]


def test_every_example_is_tested():
    tested = {
        "find_label_errors.py",
        "clean_then_train.py",
        "your_own_network.py",
        "regression_targets.py",
    }
    assert {p.name for p in EXAMPLES.glob("*.py")} == tested


def test_find_label_errors(tmp_path):
    out = run_example("find_label_errors.py", "--out", str(tmp_path))
    # 8% planted errors: random scores would give AUROC 0.5 (0.965 measured)
    assert figures(out, "planted errors:")[0] > 0.85
    for name in ("scores.png", "gradients_pca.png", "trim_curve.png"):
        assert (tmp_path / name).read_bytes().startswith(b"\x89PNG")


def test_clean_then_train():
    out = run_example("clean_then_train.py")
    plain, cleaned = figures(out, "test accuracy")
    assert 0.6 < plain < 1 and 0.6 < cleaned < 1
    assert "chosen by GridSearchCV" in out


def test_your_own_network():
    out = run_example("your_own_network.py")
    aurocs = figures(out, "AUROC")
    assert len(aurocs) == 2 and min(aurocs) > 0.75  # 15% flips; 0.5 at random


def test_regression_targets():
    out = run_example("regression_targets.py")
    assert figures(out, "corrupted rows:")[0] > 0.6  # 0.72 measured; 0.5 at random
    assert "residual" in out
