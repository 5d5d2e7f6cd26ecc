"""skogad: find harmful training samples by outlier gradient analysis."""

from skogad._clean import CleanTrainingSet
from skogad._detector import GradientOutlierDetector
from skogad._nets import LinearModel, TabularMLP

__all__ = ["CleanTrainingSet", "GradientOutlierDetector", "LinearModel", "TabularMLP"]
__version__ = "0.1.0"
