"""The public API's docstrings pass numpydoc's validation.

The checks left out, and why: ES01 (an extended summary on every method),
SA01 (a See Also section on every method), EX01 (an example on every method;
the estimators have doctests) and RT02 (a return type without a name, which
numpydoc wants and the docstrings here name for readability).
"""

import importlib
import inspect

import pytest

validate = pytest.importorskip("numpydoc.validate").validate

IGNORED = {"ES01", "SA01", "EX01", "RT02"}
MODULES = ["skogad", "skogad.noise", "skogad.plots", "skogad.datasets"]


def _public_names():
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        names = getattr(module, "__all__", None) or [
            name
            for name, value in vars(module).items()
            if not name.startswith("_")
            and getattr(value, "__module__", None) == module_name
        ]
        for name in names:
            value = getattr(module, name)
            yield f"{module_name}.{name}"
            if inspect.isclass(value):
                for attr in sorted(vars(value)):
                    # available_if descriptors (delegated methods) included
                    if not attr.startswith("_") and callable(getattr(value, attr)):
                        yield f"{module_name}.{name}.{attr}"


PUBLIC = sorted(set(_public_names()))


def test_the_public_api_is_covered():
    assert "skogad.GradientOutlierDetector.fit" in PUBLIC
    assert "skogad.CleanTrainingSet.predict_proba" in PUBLIC
    assert "skogad.noise.flip_labels" in PUBLIC


@pytest.mark.parametrize("name", PUBLIC)
def test_docstring_is_valid(name):
    errors = [
        f"{code}: {message}"
        for code, message in validate(name)["errors"]
        if code not in IGNORED
    ]
    assert not errors, "\n".join(errors)
