"""The toolkit the benchmark scripts are built from.

Every script parses ``--quick`` and ``--out``, writes ``<name>.md`` (or
``<name>_quick.md``) whose first line after the title says how, when, where
and with what it was made, times its methods, scores rankings against the
rows whose labels were flipped, and prints ``mean ± std`` cells in Markdown
tables. Those pieces live here, once, and a new benchmark is short::

    '''skogad's default against a random ranking, on breast_cancer.'''

    from _common import (
        detection, header, limit_threads, make_parser, mean_std, output_stem,
        parse_args, random_scores, table, timed, write_markdown,
    )
    from sklearn.datasets import load_breast_cancer

    from skogad import GradientOutlierDetector
    from skogad.noise import flip_labels


    def main(argv=None):
        args = parse_args(make_parser(__doc__), argv)
        limit_threads(args)
        X, y = load_breast_cancer(return_X_y=True)
        found = {"skogad default": [], "random": []}
        for seed in [0] if args.quick else [0, 1, 2]:
            y_noisy, flipped = flip_labels(y, 0.2, random_state=seed)
            det = GradientOutlierDetector(random_state=seed)
            _, seconds = timed(lambda: det.fit(X, y_noisy))
            skogad = detection(flipped, -det.train_scores_)
            found["skogad default"].append({**skogad, "time": seconds})
            chance = detection(flipped, random_scores(len(y), seed))
            found["random"].append({**chance, "time": 0.0})
        rows = [
            [method, *(mean_std([f[k] for f in runs]) for k in ("AUROC", "time"))]
            for method, runs in found.items()
        ]
        lines = [
            "# Flipped labels in breast_cancer",
            "",
            header(__file__, args.argv),
            "",
            *table(["method", "AUROC", "time (s)"], rows),
        ]
        write_markdown(output_stem(args, "example").with_suffix(".md"), lines)


    if __name__ == "__main__":
        main()

Scripts import it as ``from _common import ...``: Python puts a script's own
folder first on ``sys.path``.
"""

import argparse
import importlib
import importlib.metadata
import os
import platform
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np

RESULTS = Path(__file__).parent / "results"
DASH = "—"  # a table cell with nothing to show
# import name -> the name the header shows (the distribution's)
SHOWN_AS = {"sklearn": "scikit-learn", "backpack": "backpack-for-pytorch"}


# ------------------------------------------------- command line and output
def make_parser(doc, quick="small CI run"):
    """An argument parser with the two options every benchmark has.

    Parameters
    ----------
    doc : str
        The script's docstring; its first line is the description.
    quick : str, default="small CI run"
        Help text of ``--quick``.

    Returns
    -------
    parser : argparse.ArgumentParser
        With ``--quick`` and ``--out`` (default ``benchmarks/results``); add
        the script's own options to it.
    """
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help=quick)
    parser.add_argument(
        "--out", default=str(RESULTS), help="folder the results are written to"
    )
    return parser


def parse_args(parser, argv=None):
    """Parse ``argv`` (default: the command line) and keep it.

    Returns
    -------
    args : argparse.Namespace
        The parsed options, and ``argv``, the list they came from (for
        `command`).
    """
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    args.argv = argv
    return args


def limit_threads(args):
    """Run torch, BLAS and OpenMP on one thread in quick mode.

    Quick runs fit tiny models, which a second thread barely speeds up; on a
    busy machine, threads that spin while they wait for each other slow them
    down tenfold (measured on 2 cores at load 7: a detector fit on
    breast_cancer took 6 s on one thread, 63 s on two; a 5-fold logistic
    regression on the 8x8 digits 48 s on two). Full runs keep the libraries'
    defaults, one thread per core.
    """
    if args.quick:
        import torch
        from threadpoolctl import threadpool_limits

        torch.set_num_threads(1)
        threadpool_limits(1)


def output_stem(args, name, *tags):
    """Where a run's results go, without the suffix; the folder is created.

    Parameters
    ----------
    args : argparse.Namespace
        Parsed options with ``out`` and ``quick``.
    name : str
        The benchmark's name, e.g. ``"timing"``.
    *tags : str
        Appended after ``_quick`` for variants that must not overwrite the
        main results, e.g. ``"answer"``.

    Returns
    -------
    stem : pathlib.Path
        ``<out>/<name>[_quick][_<tag>...]``: add ``.md`` or ``.png``.
    """
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    return out / "_".join([name, *(["quick"] if args.quick else []), *tags])


def write_markdown(path, lines):
    """Write ``lines`` to ``path``, one per line, ending in one newline; say
    so on stderr and return the path."""
    path = Path(path)
    path.write_text("\n".join(lines).rstrip("\n") + "\n")
    print(f"wrote {path}", file=sys.stderr)
    return path


# ------------------------------------------------------------------ header
def command(script, argv):
    """The command that reproduces a run: ``python benchmarks/<script> ...``.

    ``--out`` is left out: the folder changes no result.
    """
    shown, skip = [], False
    for arg in argv:
        if skip or arg == "--out" or arg.startswith("--out="):
            skip = arg == "--out"
            continue
        shown.append(arg)
    return f"python benchmarks/{Path(script).name}" + "".join(f" {a}" for a in shown)


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
        versions[SHOWN_AS.get(name, name)] = _version(name)
    for name in optional:
        try:
            versions[SHOWN_AS.get(name, name)] = _version(name)
        except ImportError:
            pass
    return ", ".join(f"{name} {version}" for name, version in versions.items())


def _version(module):
    found = getattr(importlib.import_module(module), "__version__", None)
    return found or importlib.metadata.version(SHOWN_AS.get(module, module))


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


def machine():
    """``"<platform>, <CPU>, <n> torch threads, <n> CPUs"``."""
    import torch

    threads = torch.get_num_threads()
    return (
        f"{platform.platform()}, {cpu_name()}, {threads} torch "
        f"thread{'s' if threads != 1 else ''}, {os.cpu_count()} CPUs"
    )


def header(script, argv, *extra, optional=("cleanlab",), elapsed=None):
    """The line under a results file's title: command, date, machine, versions.

    Parameters
    ----------
    script : str or pathlib.Path
        The script (its ``__file__``).
    argv : list of str
        Its arguments (``args.argv``).
    *extra, optional
        Passed to `library_versions`.
    elapsed : float, optional
        Seconds the run took, shown last.

    Returns
    -------
    line : str
        ``Command: `python benchmarks/...` · <date> · <machine> · <versions>``,
        then `` · <elapsed> s in all.`` where given.
    """
    line = (
        f"Command: `{command(script, argv)}` · {date.today()} · {machine()} · "
        + library_versions(*extra, optional=optional)
    )
    return line if elapsed is None else f"{line} · {elapsed:.0f} s in all."


# ------------------------------------------------------------- measurement
def timed(function):
    """Call ``function()``; return its value and the seconds it took."""
    start = time.perf_counter()
    value = function()
    return value, time.perf_counter() - start


def detection(flipped, suspicion=None, flags=None):
    """How well a ranking and a set of flags find the flipped rows.

    Parameters
    ----------
    flipped : ndarray of bool of shape (n_samples,)
        The rows whose label was flipped (the positives).
    suspicion : ndarray of shape (n_samples,), optional
        Higher = more likely flipped.
    flags : ndarray of bool of shape (n_samples,), optional
        The rows a method flags.

    Returns
    -------
    figures : dict
        From ``suspicion``: ``"AUROC"``, ``"AP"`` (average precision) and
        ``"P@k"``, the flipped share of the k most suspect rows with k the
        number of flipped rows (so also the recall at k). From ``flags``:
        ``"flagged"`` (share of rows flagged), ``"precision"`` (NaN where
        nothing is flagged), ``"recall"`` and ``"accuracy"`` (flags against
        flips, row by row).
    """
    from sklearn.metrics import average_precision_score, roc_auc_score

    flipped = np.asarray(flipped, dtype=bool)
    figures = {}
    if suspicion is not None:
        top = np.argsort(-np.asarray(suspicion), kind="stable")[: flipped.sum()]
        figures["AUROC"] = roc_auc_score(flipped, suspicion)
        figures["AP"] = average_precision_score(flipped, suspicion)
        figures["P@k"] = flipped[top].mean()
    if flags is not None:
        flags = np.asarray(flags, dtype=bool)
        figures["flagged"] = flags.mean()
        figures["precision"] = flipped[flags].mean() if flags.any() else np.nan
        figures["recall"] = flags[flipped].mean()
        figures["accuracy"] = np.mean(flags == flipped)
    return figures


def out_of_fold_proba(model, X, y, seed=None):
    """5-fold out-of-fold class probabilities (what cleanlab scores).

    Stratified folds, shuffled with ``seed``; in order where ``seed`` is None
    (scikit-learn's ``cv=5``).
    """
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    folds = StratifiedKFold(5, shuffle=seed is not None, random_state=seed)
    return cross_val_predict(model, X, y, cv=folds, method="predict_proba")


def random_scores(n, seed):
    """A random ranking of ``n`` rows, from a stream of its own.

    ``skogad.noise.flip_labels(random_state=seed)`` draws the flips from
    ``RandomState(seed)``: the ranking must not come from that same stream.
    """
    return np.random.RandomState([seed, 1]).rand(n)


# -------------------------------------------------------------- formatting
def number(value, digits=3):
    """``value`` with ``digits`` decimals, or an em dash for None or NaN."""
    if value is None or np.isnan(value):
        return DASH
    return f"{value:.{digits}f}"


def mean_std(values, digits=3):
    """``"mean ± std"`` of ``values``, ignoring NaN.

    One value is shown alone; all NaN (or none) is an em dash.
    """
    values = np.asarray(values, dtype=float).ravel()
    if np.isnan(values).all():
        return DASH
    if len(values) == 1:
        return number(values[0], digits)
    return f"{np.nanmean(values):.{digits}f} ± {np.nanstd(values):.{digits}f}"


def table(columns, rows):
    """A Markdown table: the header, its ``|---|`` line, one line per row.

    Parameters
    ----------
    columns : list of str
        Column names.
    rows : iterable of list of str
        Cells, already formatted.

    Returns
    -------
    lines : list of str
    """
    return [
        "| " + " | ".join(columns) + " |",
        "|" + "---|" * len(columns),
        *("| " + " | ".join(map(str, row)) + " |" for row in rows),
    ]
