"""skogad: find harmful training samples by outlier gradient analysis.

The estimators are imported on first use (as scikit-learn does with
``__getattr__``), so that ``import skogad`` and the ``skogad --help`` command
stay quick: torch is loaded only when an estimator is.
"""

import importlib

__version__ = "0.1.0"

_PUBLIC = {
    "CleanTrainingSet": "skogad._clean",
    "GradientInfluence": "skogad._influence",
    "GradientOutlierDetector": "skogad._detector",
    "LinearModel": "skogad._nets",
    "TabularMLP": "skogad._nets",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name):
    if name in _PUBLIC:
        value = getattr(importlib.import_module(_PUBLIC[name]), name)
        globals()[name] = value  # later lookups skip this function
        return value
    raise AttributeError(f"module 'skogad' has no attribute {name!r}")


def __dir__():
    return sorted([*globals(), *__all__])
