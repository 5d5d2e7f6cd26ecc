"""The paper's synthetic experiment (benchmarks/bench_paper_synthetic.py), quick mode.

Runs the script once in a subprocess and checks what it writes: the Markdown
headings, every table cell a number where one is due, skogad finding the
flipped labels far better than chance, and the PNG.
"""

import pytest

from tests._helpers import number, run_quick, table_rows

pytestmark = pytest.mark.slow

HEADER = (
    "| method | test accuracy | AUROC | precision | recall | detection accuracy "
    "| rows dropped |"
)
# what --quick runs: setting -> (training rows, fraction trimmed)
SETTINGS = {"blobs-far": (150, 0.1), "moons": (250, 0.1), "moons-20": (250, 0.2)}
PAPER_PROTOCOL = "skogad final / iforest / last (paper protocol)"
NO_TRIM = "no trimming"
ORACLE = "oracle (unflipped rows only)"


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    return tmp_path_factory.mktemp("paper_synthetic")


@pytest.fixture(scope="module")
def report(out):
    return run_quick("bench_paper_synthetic.py", out)


def tables(report):
    """Setting -> method -> the row's numbers (None where the cell is a dash)."""
    return {
        setting: {
            method: [number(c) for c in cells]
            for method, *cells in table_rows(report, f"### {setting}")
        }
        for setting in SETTINGS
    }


def test_headings(report):
    for heading in [
        "# The paper's synthetic experiment, with skogad",
        "## What the paper does",
        "## What this script does",
        "## Results",
        *(f"### {s}" for s in SETTINGS),
        "## The paper's numbers next to these",
        HEADER,
        "| quantity | paper | this run |",
    ]:
        assert heading in report, heading
    assert "Command: `python benchmarks/bench_paper_synthetic.py --quick`" in report
    for package in ["numpy", "scikit-learn", "torch", "skorch", "skogad"]:
        assert f"{package} " in report, package


def test_numbers(report):
    found = tables(report)
    assert report.count("\n### ") == len(SETTINGS)
    for setting, rows in found.items():
        n_train, trim = SETTINGS[setting]
        # 9 methods; 8 where cleanlab is not installed
        assert len(rows) >= 8, setting
        for method, (acc, auroc, precision, recall, det_acc, dropped) in rows.items():
            # test accuracy on clean rows; chance is 0.5 (measured: 0.91 to 0.97)
            assert acc > 0.85, (setting, method)
            # no ranking to score without trimming, nor for the oracle
            assert (auroc is None) == (method in (NO_TRIM, ORACLE)), (setting, method)
            assert (None in (precision, recall, det_acc)) == (method == NO_TRIM)
            if method not in (NO_TRIM, ORACLE):
                # every trimming method drops the same number of rows
                assert dropped == round(trim * n_train), (setting, method)
        assert rows[NO_TRIM][5] == 0
        assert rows[ORACLE][4] == 1


def test_skogad_finds_the_flips(report):
    found = tables(report)
    for setting, rows in found.items():
        skogad = {m: r for m, r in rows.items() if m.startswith("skogad")}
        assert len(skogad) == 4  # paper protocol, 2 variants, the defaults
        # AUROC of the scores against the true flips; chance is 0.5
        assert rows[PAPER_PROTOCOL][1] > 0.85, setting
        assert all(r[1] > 0.8 for r in skogad.values()), setting
        assert rows["random trimming"][1] < 0.7, setting
    # The paper's linear toy: every far-side flip is among the flagged rows.
    assert found["blobs-far"][PAPER_PROTOCOL][3] >= 0.9


def test_png(report, out):
    png = out / "paper_synthetic_quick.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "(paper_synthetic_quick.png)" in report
