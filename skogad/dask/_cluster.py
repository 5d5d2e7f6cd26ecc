"""Worker processes that score quickly: the allocator setting Dask changes.

Dask's nanny starts each worker with ``MALLOC_TRIM_THRESHOLD_=65536``, so
that glibc hands freed memory back to the system at once. Setting it also
turns off glibc's adaptive mmap threshold: every large array a worker
allocates is then a fresh mapping whose pages fault in again on first use.
Scoring allocates arrays of a partition's size at every step (features,
gradients, probabilities), and under that setting a worker spent as much
time in page faults as in arithmetic: 1M rows' ``score_samples`` took
0.61-0.71 s against 0.26-0.28 s without it (164k page faults a call
against 116; measured in one worker process with one thread). The scoring
workers skogad starts leave the variable unset; their memory stays bounded
by the partitions they hold, which is what Dask's memory limits watch.
"""

import contextlib
import os

VARIABLE = "MALLOC_TRIM_THRESHOLD_"
# None unsets a variable of the nanny's environment (distributed's convention)
SCORING_ENVIRON = {f"distributed.nanny.pre-spawn-environ.{VARIABLE}": None}


@contextlib.contextmanager
def scoring_workers():
    """Within it, new Dask nannies start workers without the trim threshold.

    The nanny reads its environment when it is created and keeps it for the
    workers it restarts. It also writes that environment into this process's
    own before it starts a worker, and never takes it back, so a cluster
    started earlier in this process would have left the variable here for
    every later worker to inherit: it is lifted for the duration.
    """
    import dask

    inherited = os.environ.pop(VARIABLE, None)
    try:
        with dask.config.set(SCORING_ENVIRON):
            yield
    finally:
        if inherited is not None:
            os.environ[VARIABLE] = inherited
