"""skogad: find harmful training samples by outlier gradient analysis."""

from skogad._clean import CleanTrainingSet
from skogad._detector import GradientOutlierDetector
from skogad._influence import GradientInfluence
from skogad._nets import LinearModel, TabularMLP

__all__ = [
    "CleanTrainingSet",
    "GradientInfluence",
    "GradientOutlierDetector",
    "LinearModel",
    "TabularMLP",
]
__version__ = "0.1.0"
