"""The private scikit-learn helpers skogad uses, imported in one place.

scikit-learn may move or rename its private helpers between releases; when it
does, this module is the one file to change (imbalanced-learn keeps its
``sklearn_compat`` for the same reason).
"""

from sklearn.base import _fit_context
from sklearn.utils import _safe_indexing
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.metadata_routing import _raise_for_params, _routing_enabled
from sklearn.utils.validation import _check_y, _num_samples

__all__ = [
    "HasMethods",
    "Interval",
    "StrOptions",
    "_check_y",
    "_fit_context",
    "_num_samples",
    "_raise_for_params",
    "_routing_enabled",
    "_safe_indexing",
]
