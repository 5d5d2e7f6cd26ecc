"""``skogad clean``: a table in, the kept rows and a report out.

`clean_table` is the whole job, callable from Python; ``skogad._cli`` only
parses the command line and turns `InputError` into a message and an exit
code. The job runs in this order, so that a mistake costs seconds and a
failure changes no file:

1. every output is resolved and checked (`_plan`): folders there and
   writable, no clash with the input, with each other or with a folder;
2. the table is read and its columns and values checked;
3. only then are torch and the network loaded, and the network trained;
4. every output is written in full to a temporary file beside it
   (`skogad._cli.outputs.Staged`), and only then are they renamed into
   place, one after the other in a fixed order: the plots, the report, the
   kept rows last. A job that stops before that changes nothing. One killed
   between two renames can leave new plots or a new report beside the
   previous kept rows, never new kept rows beside a previous report.
"""

import difflib
import os
import re
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skogad._cli.outputs import (
    Staged,
    check_destination,
    check_folder,
    check_replaceable,
    interrupts_held,
    modes,
    output_locks,
)
from skogad._cli.reports import (
    REPORT_FORMATS,
    against_truth,
    kept_line,
    printed_rows,
    report_facts,
    write_report,
)
from skogad._cli.tables import (
    MAX_EXPANSION,
    InputError,
    compression,
    derived_name,
    infinite_values,
    input_format,
    load_table,
    make_encoder,
    nested,
    printable,
    separator_name,
    table_format,
    write_rows,
)
from skogad._optional import require

MIN_ROWS = 20
MODELS = ("mlp", "linear")
TASKS = ("auto", "classification", "regression")
TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "f", ""}
PLOTS = ("scores.png", "gradients_pca.png", "trim_curve.png")


# ----------------------------------------------------------- the outputs
@dataclass
class _Plan:
    """Every path the job reads or writes, checked before any work."""

    data: Path
    fmt: str
    out: Path
    report: Path
    report_format: str
    plots: Path | None
    plot_names: tuple
    file_mode: int  # outputs derived from the input: its mode at most
    out_mode: int  # the kept rows: the input's own mode when they replace it
    folder_mode: int  # a new --plots folder
    group: int | None  # the input's group, which the outputs try to keep


def _plan(data, out, report, plots, with_truth, overwrite_input):
    data = Path(data)
    fmt = input_format(data)
    out = Path(out) if out else derived_name(data, "clean")
    report = Path(report) if report else derived_name(data, "report", ".csv")
    if table_format(out) != fmt:
        raise InputError(
            f"--out {out} must be a {fmt.upper()} file like the input (the kept "
            "rows are written in the input's format)."
        )
    report_format = REPORT_FORMATS.get(report.suffix.lower())
    if report_format is None:
        raise InputError(
            f"--report {report}: unknown report type {report.suffix!r}; use .csv, "
            ".html or .md."
        )
    same = {
        name
        for name, path in (("--out", out), ("--report", report))
        if path.exists() and os.path.samefile(path, data)
    }
    if "--report" in same:
        raise InputError(f"--report {report} is the input file; choose another name.")
    if same and not overwrite_input:
        raise InputError(
            f"--out {out} is the input file; pass --overwrite-input to replace it "
            "with the kept rows, or choose another name."
        )
    if out.resolve() == report.resolve():
        raise InputError("--out and --report name the same file.")
    check_destination("--out", out)
    check_destination("--report", report)
    names = PLOTS if with_truth else PLOTS[:2]
    if plots is not None:
        plots = Path(plots)
        if plots.resolve() in (out.resolve(), report.resolve()):
            raise InputError(f"--plots {plots} is also the name of --out or --report.")
        if plots.is_dir():
            check_folder("--plots", plots, plots)
            for name in names:
                if (plots / name).is_dir():
                    raise InputError(
                        f"--plots {plots}: {plots / name} is a folder; the plot "
                        "of that name cannot replace it."
                    )
                check_replaceable("--plots", plots / name)
        elif plots.exists():
            raise InputError(f"--plots {plots} is a file; name a folder.")
        else:
            check_folder("--plots", plots, plots.parent)
    return _Plan(
        data,
        fmt,
        out,
        report,
        report_format,
        plots,
        names,
        *modes(data, replaces_input=bool(same)),
    )


def _outputs(plan):
    """The files `plan` writes."""
    plots = [plan.plots / name for name in plan.plot_names] if plan.plots else []
    return [plan.out, plan.report, *plots]


# ------------------------------------------------------------ the columns
def _column(typed, name, flag):
    if name in typed.columns:
        return name
    by_lower = {str(c).lower(): str(c) for c in typed.columns}
    close = difflib.get_close_matches(str(name).lower(), list(by_lower), 3)
    close = [by_lower[c] for c in close]
    hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
    shown = ", ".join(map(repr, list(typed.columns)[:20]))
    more = ", ..." if typed.shape[1] > 20 else ""
    raise InputError(
        f"{flag} {name!r} is not a column of the file.{hint} Its columns: "
        f"{shown}{more}."
    )


def _rows(mask, index, limit=5):
    """'row 3' or 'rows 0, 1, 2, 3, 4, ...': where ``mask`` is true."""
    rows = list(index[np.asarray(mask)][:limit])
    listed = ", ".join(map(str, rows)) + (", ..." if np.sum(mask) > limit else "")
    return f"row {listed}" if np.sum(mask) == 1 else f"rows {listed}"


def _truth(column, name):
    pd = require("pandas", "Reading tables")
    if pd.api.types.is_bool_dtype(column):
        return column.to_numpy(dtype=bool)
    words = column.astype(object).map(lambda v: "" if pd.isna(v) else str(v).lower())
    words = words.map(lambda v: v[:-2] if v.endswith(".0") else v)  # 1.0 from floats
    unknown = ~words.isin(TRUE_WORDS | FALSE_WORDS)
    if unknown.any():
        raise InputError(
            f"--truth {name!r} must hold true/false (or 1/0, yes/no) values; "
            f"{_rows(unknown, column.index)} hold something else."
        )
    return words.isin(TRUE_WORDS).to_numpy()


def check_choices(model, task):
    """Refuse a ``--model`` or ``--task`` the command does not know."""
    if model not in MODELS:
        raise InputError(f"--model must be one of {', '.join(MODELS)}; got {model!r}.")
    if task not in TASKS:
        raise InputError(f"--task must be one of {', '.join(TASKS)}; got {task!r}.")


def _check_target(y, name):
    if nested(y):
        raise InputError(
            f"The target {name!r} holds lists or records (a Parquet list, map or "
            "struct column): give one label a row."
        )
    if y.isna().any():
        raise InputError(
            f"The target {name!r} is missing in {_rows(y.isna(), y.index)}: give "
            "every row a label, or drop the rows without one, first."
        )
    if len(y) < MIN_ROWS:
        raise InputError(
            f"The file has {len(y)} row{'s' * (len(y) != 1)}; at least {MIN_ROWS} "
            "are needed to train a network and tell unusual rows from usual ones."
        )
    if y.nunique() < 2:
        raise InputError(
            f"The target {name!r} has a single value ({y.iloc[0]!r}) in every row: "
            "there is nothing to learn, so no label can look wrong."
        )


def resolved_task(task, y, target, say):
    """``--task`` decided for ``y`` as the detector would, in the command's words.

    Returns ``"classification"`` or ``"regression"``, so that the detector
    has nothing to warn about: where ``--task auto`` takes whole numbers for
    a quantity, ``say`` gets the warning, naming the options to pass.
    """
    # Loads torch (through skorch): called once the data has been checked.
    from skogad._targets import is_classification, looks_like_labels

    labels = y.to_numpy()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            classifier = is_classification(None, labels, task)
    except ValueError as exc:
        # the estimator's words ("task='regression'", "y") as the command's
        message = re.sub(r"task='(\w+)'", r"--task \1", str(exc))
        message = re.sub(r"\by\b", f"the target {target!r}", message)
        raise InputError(message) from None
    if task == "auto" and not classifier and labels.dtype.kind in "iu":
        _, reason = looks_like_labels(labels)
        if reason:
            say(
                f"warning: --task auto reads the target {target!r} as a "
                f"quantity to predict (regression): its whole numbers {reason}. "
                "If they are class labels, pass --task classification; --task "
                "regression silences this warning."
            )
    return "classification" if classifier else "regression"


def check_folds(cv, y):
    """Raise `InputError` where ``--cv K`` asks for more folds than rows."""
    if cv is not None and cv > len(y):
        raise InputError(
            f"--cv {cv} splits the rows into {cv} folds, but the table has "
            f"{len(y)} rows: give --cv at most {len(y)} (5 or 10 is usual)."
        )


def _check_finite(columns):
    for name, mask in infinite_values(columns).items():
        value = columns[name][mask].iloc[0]
        raise InputError(
            f"Column {name!r} holds an infinite value ({value}) in "
            f"{_rows(mask, columns.index)}: write a number there, or leave the "
            "cell empty to mark it missing."
        )


# ------------------------------------------------------------ the report
def _stored_index(report, source, positions):
    """A Parquet file's stored index, as the report's first columns."""
    index = source.index
    for level in range(index.nlevels):
        name = index.names[level]
        if name is None:
            name = "index" if index.nlevels == 1 else f"index_{level}"
        name = str(name)
        while name in report.columns or name == "row":
            name = f"input_{name}"
        report.insert(level, name, index.get_level_values(level)[positions])


def _pictures(detector, X, y, flagged, truth):
    from skogad.plots import plot_gradient_pca, plot_scores, plot_trim_curve

    axes = {
        "scores.png": plot_scores(detector.train_scores_, detector.offset_),
        "gradients_pca.png": plot_gradient_pca(
            detector.gradients(X, y, params="last"), flagged, truth=truth
        ),
    }
    if truth is not None:
        axes["trim_curve.png"] = plot_trim_curve(
            detector.train_scores_, truth, threshold=detector.offset_
        )
    return {name: ax.figure for name, ax in axes.items()}


def _stage(staged, plan, report, summary, source, kept, pictures):
    """Stage every output, in the order they are renamed: kept rows last."""
    written = []
    if pictures:
        if plan.plots.is_dir():
            for name, figure in pictures.items():
                staged.file(plan.plots / name, _png(figure), plan.file_mode)
        else:
            folder = staged.folder(plan.plots, plan.folder_mode)
            for name, figure in pictures.items():
                staged.new_file(folder / name, _png(figure), plan.file_mode)
        written += [plan.plots / name for name in pictures]
    staged.file(
        plan.report,
        lambda handle: write_report(report, handle, plan.report_format, summary),
        plan.file_mode,
    )
    method = compression(plan.out)
    member = plan.out.name[: -len(plan.out.suffix)] if method else None
    staged.file(
        plan.out,
        lambda handle: write_rows(source, kept, handle, method, member),
        plan.out_mode,
    )
    return [plan.out, plan.report, *written]


def _png(figure):
    return lambda handle: figure.savefig(handle, format="png", dpi=120)


# ---------------------------------------------------------------- the job
def clean_table(
    data,
    target,
    *,
    out=None,
    report=None,
    contamination="auto",
    model="mlp",
    task="auto",
    cv=None,
    seed=0,
    plots=None,
    truth=None,
    ignore=(),
    sep=None,
    decimal=None,
    max_expansion=MAX_EXPANSION,
    overwrite_input=False,
    verbose=0,
    echo=print,
):
    """Flag the suspicious rows of a CSV or Parquet table; write the rest.

    Parameters are those of ``skogad clean`` (see ``skogad clean --help``).
    ``echo`` receives the lines the command prints, control characters
    escaped.

    Returns
    -------
    result : dict
        ``report`` (the DataFrame), ``detector`` (fitted), ``flagged`` and
        ``kept`` (bool arrays over the rows: see the report's columns of
        those names), ``files`` (paths written) and, with ``truth``,
        ``precision`` and ``recall`` of the flags.
    """

    def say(line):
        echo(printable(line))

    check_choices(model, task)
    if truth is not None and truth == target:
        raise InputError(
            f"--truth and --target name the same column {target!r}: --truth marks "
            "rows known to be bad, to measure the flags against."
        )
    plan = _plan(data, out, report, plots, truth is not None, overwrite_input)
    with output_locks([("--out", plan.out), ("--report", plan.report)]):
        # outputs of an earlier run, replaced in the end: said, not silent
        previous = {path for path in _outputs(plan) if path.exists()}
        if plots is not None:
            require("matplotlib", "--plots")
        source = load_table(
            plan.data, sep=sep, decimal=decimal, max_expansion=max_expansion
        )
        typed = source.typed
        target = _column(typed, target, "--target")
        dropped = [target]
        known_bad = None
        if truth is not None:
            dropped.append(_column(typed, truth, "--truth"))
            known_bad = _truth(typed[dropped[-1]], truth)
        dropped += [_column(typed, name, "--ignore") for name in ignore]
        y = typed[target]
        _check_target(y, target)
        check_folds(cv, y)
        _check_finite(typed[[target]])
        features, encoder, account = make_encoder(typed.drop(columns=dropped))
        _check_finite(features)
        how = f" ({separator_name(source.sep)})" if source.sep else ""
        if source.decimal == ",":
            how = f" ({separator_name(source.sep)}, decimal commas)"
        shape = f"{len(typed)} rows and {typed.shape[1]} columns"
        say(f"Read {shape} from {plan.data}{how}.")
        for line in account:
            say(f"  {line}")
        X = encoder.fit_transform(features)

        # torch loads here, once the files and the data have passed every check.
        from skogad._detector import GradientOutlierDetector
        from skogad._nets import LinearModel

        detector = GradientOutlierDetector(
            LinearModel if model == "linear" else None,
            timing="out_of_fold" if cv else "early_stopping",
            cv=cv or 5,
            contamination=contamination,
            task=resolved_task(task, y, target, say),
            random_state=seed,
            verbose=verbose,
        )
        flagged = detector.fit_predict(X, y.to_numpy()) == -1
        table = detector.report(X.reset_index(drop=True), y.to_numpy(), training=True)
        positions = table.index.to_numpy()
        kept = np.empty(len(flagged), dtype=bool)
        kept[positions] = table["kept"].to_numpy()
        if known_bad is not None:
            table["known_bad"] = known_bad[positions]
        table.index = table.index.rename("row")  # 0 = the first data row
        if source.index is not None:
            _stored_index(table, source, positions)
        pictures = None
        if plots is not None:
            pictures = _pictures(detector, X, y.to_numpy(), flagged, known_bad)
        summary = report_facts(
            plan.data, target, y, detector, account, encoder, flagged, kept
        )

        staged = Staged(plan.group)
        try:
            try:
                files = _stage(
                    staged, plan, table, summary, source, np.flatnonzero(kept), pictures
                )
            except OSError as exc:
                raise InputError(
                    f"could not write {exc.filename or 'an output'} "
                    f"({exc.strerror or exc}); no output was changed."
                ) from exc
            with interrupts_held():
                staged.commit()
                result = _summary(
                    say, table, detector, (flagged, kept), known_bad, truth, files
                )
                for path in files:
                    again = " (replaced the previous file)" if path in previous else ""
                    say(f"Wrote {path}{again}")
        except BaseException:
            staged.discard()
            raise
        return result


def _summary(say, table, detector, masks, known_bad, truth, files):
    flagged, kept = masks
    result = {"report": table, "detector": detector, "flagged": flagged, "kept": kept}
    say(
        f"Flagged {flagged.sum()} of {len(flagged)} rows ({flagged.mean():.1%}); "
        f"{kept_line(int(kept.sum()), int((flagged & kept).sum()))}."
    )
    if known_bad is not None:
        hits = int(np.sum(flagged & known_bad))
        figures, line = against_truth(
            truth, int(known_bad.sum()), hits, int(flagged.sum())
        )
        result |= figures
        say(line)
    shown = printed_rows(table.head(10))
    say("The most suspicious rows (rank 1 = most):")
    say(shown.to_string(float_format=lambda v: f"{v:.3f}"))
    result["files"] = files
    return result
