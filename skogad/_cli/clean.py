"""``skogad clean``: a table in, the kept rows and a report out.

`clean_table` is the whole job, callable from Python; ``skogad._cli`` only
parses the command line and turns `InputError` into a message and an exit
code. Every check on the user's files and columns runs before the network
is trained, so a mistake costs seconds, and nothing is written until the
detector has finished.
"""

import difflib
import html
import os
from pathlib import Path

import numpy as np

from skogad._cli.tables import (
    InputError,
    input_format,
    make_encoder,
    read_table,
    table_format,
    write_table,
)
from skogad._detector import GradientOutlierDetector
from skogad._nets import LinearModel
from skogad._optional import require

MIN_ROWS = 20
REPORT_FORMATS = {
    ".csv": "csv",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
}
MODELS = {"mlp": None, "linear": LinearModel}
TRUE_WORDS = {"1", "true", "yes", "y", "t"}
FALSE_WORDS = {"0", "false", "no", "n", "f", ""}


def _paths(data, out, report, overwrite_input):
    data = Path(data)
    fmt = input_format(data)
    out = Path(out) if out else data.with_name(f"{data.stem}.clean{data.suffix}")
    report = Path(report) if report else data.with_name(f"{data.stem}.report.csv")
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
    for flag, path in (("--out", out), ("--report", report)):
        folder = path.resolve().parent
        if not folder.is_dir():
            raise InputError(f"{flag} {path}: the folder {folder} does not exist.")
        if not os.access(folder, os.W_OK):
            raise InputError(f"{flag} {path}: the folder {folder} is not writable.")
    return data, fmt, out, report, report_format


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


def _check_target(y, name):
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


def _markdown_table(frame):
    def cell(value):
        if isinstance(value, float | np.floating):
            return f"{value:.4g}"
        return str(value).replace("|", "\\|")

    columns = [frame.index.name or "row", *map(str, frame.columns)]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    for index, values in zip(frame.index, frame.itertuples(index=False)):
        lines.append("| " + " | ".join(map(cell, (index, *values))) + " |")
    return "\n".join(lines)


def _write_whole(path, write):
    """``write(temporary path)``, then rename it to ``path``.

    A write that fails half-way (a full disk) leaves ``path`` as it was, which
    matters when ``path`` is the input (``--overwrite-input``).
    """
    path = Path(path)
    temporary = path.with_name(f".{path.name}.skogad-partial")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_report(report, path, report_format, header):
    """Write the report; Markdown and HTML get ``header`` (a list of lines) on top.

    CSV reports stay a plain table, readable by any CSV reader.
    """
    path = Path(path)
    if report_format == "csv":
        report.to_csv(path)
    elif report_format == "markdown":
        path.write_text("\n".join(header) + "\n\n" + _markdown_table(report) + "\n")
    else:
        body = "\n".join(f"<pre>{html.escape(line)}</pre>" for line in header)
        path.write_text(
            "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>skogad "
            f"report</title></head><body>\n{body}\n{report.to_html()}\n</body></html>\n"
        )


def _header(data, target, y, detector, account, encoder, flagged):
    if hasattr(detector, "classes_"):
        kind = f"classification, {len(detector.classes_)} classes"
    else:
        kind = "regression"
    return [
        f"# skogad report: {data.name}",
        "",
        f"- rows: {len(y)}; target: {target!r} ({kind})",
        f"- detector: {detector!r}",
        f"- flagged: {flagged.sum()} rows ({flagged.mean():.1%}), those scoring "
        f"below {detector.offset_:.4g}",
        "- encoding of the features:",
        *(f"  - {line}" for line in account),
        "",
        "```",
        repr(encoder),
        "```",
    ]


def _plots(directory, detector, X, y, flagged, truth):
    from skogad.plots import plot_gradient_pca, plot_scores, plot_trim_curve

    directory.mkdir(parents=True, exist_ok=True)
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
    written = []
    for name, ax in axes.items():
        ax.figure.savefig(directory / name, dpi=120)
        written.append(directory / name)
    return written


def clean_table(
    data,
    target,
    *,
    out=None,
    report=None,
    contamination="auto",
    model="mlp",
    cv=None,
    seed=0,
    plots=None,
    truth=None,
    ignore=(),
    overwrite_input=False,
    verbose=0,
    echo=print,
):
    """Flag the suspicious rows of a CSV or Parquet table; write the rest.

    Parameters are those of ``skogad clean`` (see ``skogad clean --help``).
    ``echo`` receives the lines the command prints.

    Returns
    -------
    result : dict
        ``report`` (the DataFrame), ``detector`` (fitted), ``flagged`` (bool
        array over the rows), ``files`` (paths written) and, with ``truth``,
        ``precision`` and ``recall`` of the flags.
    """
    if model not in MODELS:
        raise InputError(f"--model must be one of {', '.join(MODELS)}; got {model!r}.")
    data, fmt, out, report_path, report_format = _paths(
        data, out, report, overwrite_input
    )
    if plots is not None:
        require("matplotlib", "--plots")
    raw, typed = read_table(data)
    target = _column(typed, target, "--target")
    dropped = [target]
    known_bad = None
    if truth is not None:
        dropped.append(_column(typed, truth, "--truth"))
        known_bad = _truth(typed[dropped[-1]], truth)
    dropped += [_column(typed, name, "--ignore") for name in ignore]
    y = typed[target]
    _check_target(y, target)
    features, encoder, account = make_encoder(typed.drop(columns=dropped))
    echo(f"Read {len(typed)} rows and {typed.shape[1]} columns from {data}.")
    for line in account:
        echo(f"  {line}")
    X = encoder.fit_transform(features)

    detector = GradientOutlierDetector(
        MODELS[model],
        timing="out_of_fold" if cv else "early_stopping",
        cv=cv or 5,
        contamination=contamination,
        random_state=seed,
        verbose=verbose,
    )
    flagged = detector.fit_predict(X, y.to_numpy()) == -1
    # Reported by position, then relabelled: a Parquet index may repeat.
    table = detector.report(X.reset_index(drop=True), y.to_numpy(), training=True)
    positions = table.index.to_numpy()
    if known_bad is not None:
        table["known_bad"] = known_bad[positions]
    table.index = typed.index[positions].rename(typed.index.name or "row")

    kept = raw.iloc[np.flatnonzero(~flagged)]
    _write_whole(out, lambda path: write_table(kept, path, fmt))
    header = _header(data, target, y, detector, account, encoder, flagged)
    _write_whole(
        report_path, lambda path: write_report(table, path, report_format, header)
    )
    files = [out, report_path]
    if plots is not None:
        files += _plots(Path(plots), detector, X, y.to_numpy(), flagged, known_bad)

    result = {"report": table, "detector": detector, "flagged": flagged}
    echo(
        f"Flagged {flagged.sum()} of {len(flagged)} rows ({flagged.mean():.1%}); "
        f"kept {(~flagged).sum()}."
    )
    if known_bad is not None:
        hits = np.sum(flagged & known_bad)
        result["precision"] = hits / max(flagged.sum(), 1)
        result["recall"] = hits / max(known_bad.sum(), 1)
        echo(
            f"Against --truth {truth!r} ({known_bad.sum()} known bad rows): "
            f"precision {result['precision']:.2f}, recall {result['recall']:.2f}."
        )
    shown = table.head(10)
    echo("The most suspicious rows (rank 1 = most):")
    echo(shown.to_string(float_format=lambda v: f"{v:.3f}"))
    for path in files:
        echo(f"Wrote {path}")
    result["files"] = files
    return result
