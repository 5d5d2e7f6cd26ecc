"""The paper's synthetic experiment (benchmarks/bench_paper_synthetic.py), quick mode.

Runs the script once in a subprocess and checks what it writes: the Markdown
headings, every table cell a number in range, skogad finding the flipped
labels far better than chance, and the PNG.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "benchmarks" / "bench_paper_synthetic.py"
HEADER = (
    "| method | test accuracy | AUROC | precision | recall | detection accuracy "
    "| rows dropped |"
)
SETTINGS = ["blobs-far", "moons", "moons-20"]  # what --quick runs
PAPER_PROTOCOL = "skogad final / iforest / last (paper protocol)"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    out = tmp_path_factory.mktemp("paper_synthetic")
    result = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    return result, out


@pytest.fixture(scope="module")
def report(run):
    result, out = run
    assert result.returncode == 0, result.stderr
    path = out / "paper_synthetic_quick.md"
    assert path.exists()
    return path.read_text()


def number(cell):
    """The mean of a ``mean ± std`` cell, or None for an em dash."""
    cell = cell.strip()
    return None if cell == "—" else float(cell.split("±")[0])


def tables(report):
    """Setting -> method -> the row's numbers (None where the cell is a dash)."""
    found, setting = {}, None
    for line in report.splitlines():
        if line.startswith("### "):
            setting = line[4:].strip()
            found[setting] = {}
        elif setting and line.startswith("| ") and line != HEADER:
            cells = [c.strip() for c in line.strip("|").split("|")]
            found[setting][cells[0]] = [number(c) for c in cells[1:]]
        elif line.startswith("## "):
            setting = None
    return found


def test_exit_code(run):
    result, _ = run
    assert result.returncode == 0, result.stderr


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
    assert sorted(found) == sorted(SETTINGS)
    for setting, rows in found.items():
        # 9 methods; 8 where cleanlab is not installed
        assert len(rows) >= 8, setting
        for method, (acc, auroc, precision, recall, det_acc, dropped) in rows.items():
            assert 0 < acc <= 1, (setting, method)
            for value in (auroc, precision, recall, det_acc):
                assert value is None or 0 <= value <= 1, (setting, method)
            assert dropped is not None and dropped >= 0
        assert rows["no trimming"][5] == 0
        assert rows["oracle (unflipped rows only)"][4] == 1


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


def test_png(run, report):
    _, out = run
    png = out / "paper_synthetic_quick.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "(paper_synthetic_quick.png)" in report
