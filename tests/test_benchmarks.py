"""The benchmark scripts run (quick mode) and write their tables."""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args, timeout=600):
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, timeout=timeout
    )


def test_bench_timing_quick(tmp_path):
    pytest.importorskip("cleanlab")
    result = run(
        str(ROOT / "benchmarks" / "bench_timing.py"), "--quick", "--out", str(tmp_path)
    )
    assert result.returncode == 0, result.stderr
    table = (tmp_path / "timing_quick.md").read_text()
    rows = [line for line in table.splitlines() if line.startswith("| breast")]
    # 4 timings x 2 scorers + cleanlab, each with an AUROC in [0, 1]
    assert len(rows) == 9
    for row in rows:
        auroc = float(row.split("|")[4].split("±")[0])
        assert 0.5 < auroc <= 1.0, row


def test_bench_gradients_quick(tmp_path):
    result = run(
        str(ROOT / "benchmarks" / "bench_gradients.py"),
        "--quick",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    table = (tmp_path / "gradients_quick.md").read_text()
    for heading in ["## Targets", "### logistic", "### mlp3", "## Scale run"]:
        assert heading in table
    speed = [line for line in table.splitlines() if line.startswith("| skogad")]
    assert len(speed) >= 8  # skogad's methods, for both models
    for line in speed:  # samples/s in every measured cell
        cells = [c for c in line.split("|")[2:-1] if c.strip() != "—"]
        assert cells and all(float(c.split("·")[0].replace(",", "")) > 0 for c in cells)
    aurocs = {}
    for line in table.splitlines():
        if line.startswith("| digits"):
            cells = [c.strip() for c in line.split("|")[1:-1]]
            aurocs[(cells[1], cells[2], cells[3])] = float(cells[5].split("±")[0])
    assert len(aurocs) == 10
    assert aurocs[("last", "exact", "—")] > 0.9
    assert all(0.5 < a <= 1 for a in aurocs.values())


def test_demo_command_prints_its_figures():
    result = run("-m", "skogad", "demo", "--dataset", "wine")
    assert result.returncode == 0, result.stderr
    assert "precision" in result.stdout and "oracle" in result.stdout


def test_demo_figures():
    from skogad._cli.demo import run_demo

    figures = run_demo(
        "breast_cancer", noise=0.2, contamination=0.2, seed=0, out=lambda *a: None
    )
    # A detector that ranked at random would sit near 0.5 AUROC and 0.2 precision.
    assert figures["auroc"] > 0.85
    assert figures["precision"] > 0.5
    assert figures["accuracy_oracle"] >= figures["accuracy_noisy"] - 0.05


def test_cli_rejects_bad_arguments():
    result = run("-m", "skogad", "demo", "--noise", "2", timeout=120)
    assert result.returncode == 2
    assert "--noise must be between 0 and 1" in result.stderr


def test_bench_label_noise_quick(tmp_path):
    pytest.importorskip("cleanlab")
    pytest.importorskip("matplotlib")
    result = run(
        str(ROOT / "benchmarks" / "bench_label_noise.py"),
        "--quick",
        "--out",
        str(tmp_path),
    )
    assert result.returncode == 0, result.stderr
    table = (tmp_path / "label_noise_quick.md").read_text()
    for heading in ["## Summary at 20% noise", "## Test accuracy", "## Detection per"]:
        assert heading in table
    auroc = {}
    for line in table.splitlines():
        cells = [c.strip() for c in line.split("|")[1:-1]]
        if len(cells) == 8 and cells[0] == "breast_cancer":
            auroc[cells[3]] = float(cells[4].split("±")[0])
    assert len(auroc) == 12  # every method ran
    assert all(0 <= a <= 1 for a in auroc.values())
    # 20% flips: random ranking sits near 0.5, skogad's default near 0.98
    assert 0.3 < auroc["random"] < 0.7
    assert auroc["skogad default (l2, output, early_stopping)"] > 0.9
    accuracy = [
        line
        for line in table.splitlines()
        if line.startswith("| breast_cancer | uniform |")
    ]
    assert any("oracle" in line for line in accuracy)
    assert (tmp_path / "label_noise_quick.png").read_bytes().startswith(b"\x89PNG")
