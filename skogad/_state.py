"""What a fit leaves behind: all of it or nothing, and a fingerprint of its rows."""

import functools
import hashlib

import numpy as np


def fit_all_or_nothing(fit):
    """Make ``fit`` leave the estimator as it was when it raises.

    Training can be interrupted (Ctrl-C) or fail late; an estimator holding
    some attributes of the new fit and some of the last one would pass
    ``check_is_fitted`` and score with a mixture. The fitted attributes
    (public names ending in ``_``) of a previous fit are dropped when
    ``fit`` starts, and on any exception, ``KeyboardInterrupt`` included,
    everything the estimator held before the call is put back: an estimator
    never fitted stays unfitted, a fitted one keeps its previous fit.
    """

    @functools.wraps(fit)
    def wrapper(self, *args, **kwargs):
        before = dict(vars(self))
        for name in [n for n in before if n.endswith("_") and not n.startswith("_")]:
            delattr(self, name)
        try:
            return fit(self, *args, **kwargs)
        except BaseException:
            vars(self).clear()
            vars(self).update(before)
            raise

    return wrapper


def fingerprint(*arrays):
    """A digest of arrays' shapes, dtypes and bytes: equal iff the rows are.

    Used to tell whether ``report(..., training=True)`` gets the training
    rows in the order they were fitted: hashing is linear in the data and
    far cheaper than the training it guards.
    """
    digest = hashlib.blake2b(digest_size=16)
    for array in arrays:
        array = np.ascontiguousarray(array)
        digest.update(f"{array.shape}{array.dtype.str}".encode())
        digest.update(array.data)
    return digest.hexdigest()
