"""The layers stay apart: what each import loads, checked in a fresh interpreter.

In-process these would pass vacuously, since the test session has already
imported everything.
"""

import re
import subprocess
import sys
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def modules_loaded_by(code):
    result = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport sys; print(*sorted(sys.modules))"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return set(result.stdout.split())


def test_the_gradient_engine_imports_neither_scikit_learn_nor_skorch():
    loaded = modules_loaded_by(
        "import skogad._gradients.engine, skogad._gradients.factors, "
        "skogad._gradients.projection"
    )
    assert "torch" in loaded  # the import did happen
    assert not {m for m in loaded if m.split(".")[0] in ("sklearn", "skorch")}


def test_skogad_help_does_not_load_torch():
    loaded = modules_loaded_by(
        "from skogad._cli import main\n"
        "try:\n    main(['--help'])\nexcept SystemExit as exit:\n"
        "    assert exit.code == 0"
    )
    assert "skogad._cli.main" in loaded
    assert "torch" not in loaded


def test_import_skogad_does_not_load_torch():
    loaded = modules_loaded_by("import skogad")
    assert "skogad" in loaded and "torch" not in loaded


def test_the_estimators_load_on_first_use():
    import skogad
    from skogad._detector import GradientOutlierDetector

    assert skogad.GradientOutlierDetector is GradientOutlierDetector
    assert "GradientOutlierDetector" in dir(skogad)


def test_no_test_module_imports_another():
    pattern = re.compile(r"^\s*(from|import)\s+tests\.test_", re.M)
    importing = [p.name for p in TESTS.glob("*.py") if pattern.search(p.read_text())]
    assert importing == []
