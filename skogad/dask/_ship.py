"""The fitted detector, made ready to travel to the workers once.

A worker needs the fitted network and scorer, nothing of the training data
nor of the device it was fitted on. `on_cpu` copies the detector with every
network on the CPU, so it loads on a worker with no GPU. `shared` puts that
copy, pickled, into the task graph as a single piece of data: every partition's task
depends on that one key, so Dask sends it to each worker once (and sends it
again, from the graph, to a worker that replaces one that died), instead of
pickling it into every task.
"""

import pickle
import threading
import uuid

import torch


def on_cpu(detector):
    """A copy of a fitted detector whose networks and criteria are on the CPU.

    Parameters
    ----------
    detector : GradientOutlierDetector
        Fitted, on any device.

    Returns
    -------
    copy : GradientOutlierDetector
        Scores as ``detector`` does, on the CPU.
    """
    # One pickle round trip copies the detector with its nets shared as in
    # the original; skorch maps CUDA tensors to the CPU where CUDA is absent.
    copy = pickle.loads(pickle.dumps(detector))
    for net in getattr(copy, "nets_", []):
        net.device = "cpu"
        for name in [*net._modules, *net._criteria]:
            part = getattr(net, f"{name}_", None)
            if isinstance(part, torch.nn.Module):
                part.to("cpu")
    return copy


class Shipped:
    """A fitted detector as pickled bytes, loaded once per worker process.

    Bytes, not the detector itself, travel in the graph: a worker that is
    scoring with its copy has hooks on the network's layers, and could not
    pickle that copy for a peer at the same moment.
    """

    def __init__(self, detector):
        self.name = f"skogad-detector-{uuid.uuid4().hex}"
        self.payload = pickle.dumps(on_cpu(detector))

    def load(self):
        """The detector, unpickled on this process's first call."""
        with _LOCK:
            detector = _LOADED.get(self.name)
            if detector is None:
                if len(_LOADED) >= _KEEP:
                    _LOADED.pop(next(iter(_LOADED)))
                detector = _LOADED[self.name] = pickle.loads(self.payload)
        return detector


# Detectors already unpickled in this process, by name: the most recent few.
_LOADED = {}
_KEEP = 4
_LOCK = threading.Lock()


def loaded(detector):
    """``detector`` itself, or the detector a `Shipped` carries."""
    return detector.load() if isinstance(detector, Shipped) else detector


def shared(detector):
    """``detector`` on the CPU, as one Dask delayed object for every task."""
    from dask import delayed

    shipped = Shipped(detector)
    return delayed(shipped, name=shipped.name, traverse=False)
