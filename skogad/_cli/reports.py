"""The per-row report of ``skogad clean``: CSV, Markdown or HTML.

Nothing in a report runs. The labels and column names in it come from the
user's data: in a CSV report, text cells a spreadsheet would run as a
formula start with ``'`` (as OWASP recommends); Markdown is escaped so that
no HTML, link or table break comes from the data; HTML is escaped.
"""

import html
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skogad._cli.tables import printable

REPORT_FORMATS = {
    ".csv": "csv",
    ".html": "html",
    ".htm": "html",
    ".md": "markdown",
    ".markdown": "markdown",
}
# A spreadsheet runs a cell starting with one of these as a formula (OWASP's
# list, with the fullwidth forms some spreadsheets accept too).
FORMULA_STARTS = tuple("=+-@|%\t\r\uff1d\uff0b\uff0d\uff20\uff5c\uff05")
NUMBER = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?")
MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]<>&|])")
NEWLINE = re.compile(r"\r\n|\r|\n")


def _spreadsheet_cell(value):
    """``value``, with a ``'`` before it if a spreadsheet would run it."""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_STARTS)
        and not NUMBER.fullmatch(value)
    ):
        return "'" + value
    return value


def _spreadsheet_safe(frame):
    frame = frame.copy()
    for name in frame.columns:
        if frame[name].dtype.kind not in "biufcmM":  # text, labels
            frame[name] = frame[name].astype(object).map(_spreadsheet_cell)
    frame.columns = [_spreadsheet_cell(str(c)) for c in frame.columns]
    frame.index.name = _spreadsheet_cell(frame.index.name)
    return frame


def _markdown_text(value):
    """``value`` as Markdown text: no HTML, no links, no table breaks."""
    lines = NEWLINE.split(str(value))
    escaped = (MARKDOWN_SPECIAL.sub(r"\\\1", printable(line)) for line in lines)
    return "<br>".join(escaped)


def _fence(text, least):
    """Backticks around ``text`` that it cannot close early."""
    runs = [len(run) for run in re.findall(r"`+", text)]
    return "`" * max(least, max(runs, default=0) + 1)


def _markdown_table(frame):
    def cell(value):
        if isinstance(value, float | np.floating):
            return f"{value:.4g}"
        return _markdown_text(value)

    columns = [frame.index.name or "row", *frame.columns]
    lines = [
        "| " + " | ".join(map(_markdown_text, columns)) + " |",
        "|" + "---|" * len(columns),
    ]
    for index, values in zip(frame.index, frame.itertuples(index=False)):
        lines.append("| " + " | ".join(map(cell, (index, *values))) + " |")
    return "\n".join(lines)


@dataclass
class Facts:
    """What the HTML and Markdown reports say above the table."""

    title: str
    lines: list  # plain text
    detector: str
    account: list
    encoder: str


def report_facts(data, target, y, detector, account, encoder, flagged, kept):
    """The `Facts` of a run of ``skogad clean``."""
    if hasattr(detector, "classes_"):
        kind = f"classification, {len(detector.classes_)} classes"
    else:
        kind = "regression"
    return Facts(
        title=f"skogad report: {data.name}",
        lines=[
            f"rows: {len(y)}; target: {target!r} ({kind})",
            f"flagged: {flagged.sum()} rows ({flagged.mean():.1%}), those scoring "
            f"below {detector.offset_:.4g}",
            kept_line(int(kept.sum()), int((flagged & kept).sum())),
        ],
        detector=repr(detector),
        account=list(account),
        encoder=repr(encoder),
    )


def printed_rows(frame):
    """``frame`` as printed text, every value and column name from the data
    escaped onto its own line (`printable` without newlines): a label or a
    column name cannot add lines to the command's output."""
    shown = frame.copy()
    for name in shown.columns:
        if shown[name].dtype.kind not in "biufcmM":
            shown[name] = (
                shown[name].astype(object).map(lambda v: printable(v, newlines=False))
            )
    shown.columns = [printable(c, newlines=False) for c in shown.columns]
    if shown.index.dtype.kind not in "biufcmM":  # a stored index of the input
        shown.index = shown.index.map(lambda v: printable(v, newlines=False))
    if shown.index.name is not None:
        shown.index.name = printable(shown.index.name, newlines=False)
    return shown


def against_truth(truth, n_bad, n_hits, n_flagged):
    """Precision and recall of the flags against ``--truth``, and their line.

    ``n_bad`` rows are known bad, ``n_flagged`` are flagged, ``n_hits`` are
    both. Returns ``({"precision": p, "recall": r}, line)``.
    """
    figures = {
        "precision": n_hits / max(n_flagged, 1),
        "recall": n_hits / max(n_bad, 1),
    }
    line = (
        f"Against --truth {truth!r} ({n_bad} known bad rows): precision "
        f"{figures['precision']:.2f}, recall {figures['recall']:.2f}."
    )
    return figures, line


def kept_line(n_kept, spared):
    """How many rows were kept, and how many of them were flagged."""
    line = f"kept: {n_kept} rows"
    if spared:
        line += (
            f", {spared} of them flagged but kept: the network is confident of "
            "their given label"
        )
    return line


def report_text(report, report_format, facts=None):
    """The report as ``report_format`` text; HTML and Markdown start with ``facts``.

    A CSV report stays a plain table, readable by any CSV reader (RFC 4180);
    its text cells that a spreadsheet would run as formulas start with ``'``. Markdown
    is escaped (no HTML, links or table breaks from the data), HTML too.
    """
    if report_format == "csv":
        # CRLF (RFC 4180), so that a cell holding a lone CR is quoted too
        return _spreadsheet_safe(report).to_csv(lineterminator="\r\n")
    if report_format == "markdown":
        lines = []
        if facts is not None:
            detector = " ".join(facts.detector.split())  # a span on one line
            span = _fence(detector, 1)
            block = _fence(facts.encoder, 3)
            lines = [
                f"# {_markdown_text(facts.title)}",
                "",
                *(f"- {_markdown_text(line)}" for line in facts.lines),
                f"- detector: {span}{detector}{span}",
                "- encoding of the features:",
                *(f"  - {_markdown_text(line)}" for line in facts.account),
                "",
                block,
                facts.encoder,
                block,
                "",
            ]
        return "\n".join([*lines, _markdown_table(report)]) + "\n"
    header = []
    if facts is not None:
        header = [
            f"<h1>{html.escape(facts.title)}</h1>",
            *(f"<pre>{html.escape(line)}</pre>" for line in facts.lines),
            f"<pre>detector: {html.escape(facts.detector)}</pre>",
            *(f"<pre>{html.escape(line)}</pre>" for line in facts.account),
            f"<pre>{html.escape(facts.encoder)}</pre>",
        ]
    body = "\n".join([*header, report.to_html(escape=True)])
    return (
        "<!DOCTYPE html>\n<html><head><meta charset='utf-8'><title>skogad "
        f"report</title></head><body>\n{body}\n</body></html>\n"
    )


def write_report(report, target, report_format, facts=None):
    """Write `report_text` to ``target``, a path or a binary handle."""
    data = report_text(report, report_format, facts).encode("utf-8")
    if hasattr(target, "write"):
        target.write(data)
    else:
        Path(target).write_bytes(data)
