"""Imports of the optional dependencies, with the install command on failure."""

import importlib

EXTRAS = {
    "pandas": "pandas",
    "matplotlib": "plots",
    "pyarrow": "parquet",
    "dask": "dask",
    "distributed": "dask",
}


def require(module, purpose):
    """Import ``module`` or raise an ImportError that says how to install it.

    Parameters
    ----------
    module : str
        Top-level module name, a key of ``EXTRAS``.
    purpose : str
        What needs it, for the message ("the report", "plots").
    """
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ImportError(
            f"{purpose} needs {module}, an optional dependency of skogad: "
            f"pip install 'skogad[{EXTRAS[module]}]' (or 'skogad[cli]' for "
            "everything the command line uses)."
        ) from exc
