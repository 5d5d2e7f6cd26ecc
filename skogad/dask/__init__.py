"""Scale-out on Dask: fit on a sample, score each partition where it lies.

Needs the ``dask`` extra: ``pip install 'skogad[dask]'``. See
`ParallelDetector`, and ``skogad clean --engine dask`` for partitioned
Parquet or CSV files.
"""

from skogad.dask._parallel import ParallelDetector

__all__ = ["ParallelDetector"]
