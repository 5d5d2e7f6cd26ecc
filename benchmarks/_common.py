"""What every benchmark's results header states about the machine and libraries."""

import importlib
import platform


def library_versions(*extra, optional=("cleanlab",)):
    """The versions the numbers depend on: ``"python 3.11.7, skogad 0.1.0, ..."``.

    Parameters
    ----------
    *extra : str
        Modules the benchmark also needs, listed after torch.
    optional : tuple of str, default=("cleanlab",)
        Modules listed last, only where installed.
    """
    names = ["skogad", "torch", *extra, "skorch", "sklearn", "numpy"]
    versions = {"python": platform.python_version()}
    for name in names:
        shown = "scikit-learn" if name == "sklearn" else name
        versions[shown] = importlib.import_module(name).__version__
    for name in optional:
        try:
            versions[name] = importlib.import_module(name).__version__
        except ImportError:
            pass
    return ", ".join(f"{name} {version}" for name, version in versions.items())


def cpu_name():
    """The CPU's model name (Linux), else what `platform` knows."""
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
