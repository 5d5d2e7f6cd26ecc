"""The vision benchmark (benchmarks/bench_vision.py), quick mode.

Runs the script once in a subprocess on scikit-learn's digits and checks what
it writes: the Markdown headings and table headers, every table cell a number
where one is due, skogad's default finding the flipped labels far better than
chance, the PNG, and (in `run_quick`) that nothing was written to
benchmarks/results/.
"""

import pytest

from tests._helpers import BENCHMARKS, number, run_quick, table_rows

pytestmark = pytest.mark.slow

DETECTION = (
    "| data | noise | rate | method | AUROC | AP | flagged % | precision "
    "| recall | time (s) |"
)
ACCURACY = (
    "| data | noise | rate | no trimming | after skogad default | after paper "
    "protocol | oracle (unflipped only) | train accuracy on noisy labels |"
)
DEFAULT = "skogad default (early stopping, output bias, L2, auto)"
PAPER = "paper protocol (final, last layer, iforest, 0.05)"
METHODS = [
    DEFAULT,
    PAPER,
    "loss, net of skogad default",
    "loss, fully trained net (of paper protocol)",
    "cleanlab self-confidence, 5-fold logistic regression",
    "random",
]
# what --quick runs: (noise, rate) on digits, and whether the CNN is retrained
CELLS = {("uniform", 0.2): True, ("pair", 0.2): True, ("uniform", 0.4): False}


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("vision")


@pytest.fixture(scope="module")
def report(out):
    return run_quick("bench_vision.py", out, timeout=900)


def detection(report):
    """(noise, rate, method) -> [AUROC, AP, flagged %, precision, recall, s]."""
    found = {}
    for data, kind, rate, method, *cells in table_rows(report, DETECTION):
        assert data == "digits"
        key = (kind, float(rate.rstrip("%")) / 100, method)
        assert key not in found, key
        found[key] = [number(c) for c in cells]
    return found


def test_writes_its_quick_files_only(report, out):
    assert sorted(p.name for p in out.iterdir()) == [
        "vision_quick.md",
        "vision_quick.png",
    ]
    assert not (BENCHMARKS / "results" / "vision_quick.md").exists()


def test_headings(report):
    for heading in [
        "# The paper's vision experiment on a CPU: a small CNN on digits",
        "## Detection",
        "## Test accuracy before and after trimming",
        "## How this differs from the paper",
        DETECTION,
        ACCURACY,
    ]:
        assert heading in report, heading
    assert "Command: `python benchmarks/bench_vision.py --quick`" in report
    for package in ["numpy", "scikit-learn", "torch", "skorch", "skogad"]:
        assert f"{package} " in report, package
    assert "1257 training rows, 540 test rows" in report
    assert "30 epochs" in report


def test_detection_numbers(report):
    found = detection(report)
    assert set(found) == {(k, r, m) for k, r in CELLS for m in METHODS}
    for (kind, rate, method), cells in found.items():
        auroc, ap, flagged, precision, recall, seconds = cells
        # chance: AUROC 0.5 and AP the noise rate; every method but random
        # ranks the flips far above it (measured: AUROC 0.83 to 1.0)
        if method != "random":
            assert auroc > 0.75 and ap > rate + 0.2, (kind, rate, method)
        # the random ranking costs nothing; every other method trains or fits
        assert (seconds == 0) == (method == "random"), (kind, rate, method)
        if method in (DEFAULT, PAPER):
            assert 0 < flagged <= 50, (kind, rate, method)
            assert precision > rate and recall > 0.1, (kind, rate, method)
        else:
            assert flagged is None and precision is None and recall is None
    for kind, rate in CELLS:
        # contamination=0.05 flags 5% of the rows, whatever the noise
        assert found[(kind, rate, PAPER)][2] == pytest.approx(5, abs=0.2)


def test_skogad_finds_the_flips(report):
    found = detection(report)
    for kind, rate in CELLS:
        default = found[(kind, rate, DEFAULT)]
        # AUROC against the true flips; chance is 0.5 (measured: 0.96 to 1.0)
        assert default[0] > 0.9, (kind, rate)
        assert found[(kind, rate, PAPER)][0] > 0.85, (kind, rate)
        assert 0.35 < found[(kind, rate, "random")][0] < 0.65, (kind, rate)
        # most flagged rows are flipped ones, and the noise rate is estimated
        assert default[3] > 0.6, (kind, rate)
        assert abs(default[2] - 100 * rate) < 10, (kind, rate)
    # uniform flips: skogad's flags hold most of the flips
    assert found[("uniform", 0.2, DEFAULT)][4] > 0.8


def test_accuracy_numbers(report):
    rows = table_rows(report, ACCURACY)
    cells = {(kind, rate): row for _, kind, rate, *row in rows}
    assert set(cells) == {
        (kind, f"{rate:.0%}") for (kind, rate), retrain in CELLS.items() if retrain
    }
    for key, row in cells.items():
        values = [number(c) for c in row]
        assert None not in values, key
        *test_accuracies, train_accuracy = values
        # a CNN on digits is far above chance (0.1) even on noisy labels
        assert min(test_accuracies) > 0.7, key
        # the oracle trains on clean rows only
        assert values[3] > 0.9, key
        # the untrimmed net learned its noisy training labels, mostly the clean ones
        assert train_accuracy > 0.6, key


def test_png(report, out):
    png = out / "vision_quick.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "(vision_quick.png)" in report
