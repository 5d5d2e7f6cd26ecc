"""The ``skogad`` console command: ``demo``, ``clean`` and ``make-example``."""

import argparse
import signal
import sys
import threading
import warnings

EXIT_CODES = """\
exit status:
    0  done
    1  a problem with the data or the files: the message says what to fix
       (found before any work where it can be: paths, columns, values)
    2  a mistake on the command line (an unknown option, a missing argument)
  130  interrupted (Ctrl-C): nothing was written or changed
  143  terminated (SIGTERM, as timeout, systemd and docker stop send it): the
       same as Ctrl-C
"""
SEPARATOR_WORDS = {
    "comma": ",",
    "tab": "\t",
    "\\t": "\t",
    "semicolon": ";",
    "pipe": "|",
}


def _fraction(text):
    if text == "auto":
        return text
    try:
        value = float(text)
    except ValueError:
        value = None
    if value is None or not 0 < value <= 0.5:
        raise argparse.ArgumentTypeError(
            f"must be 'auto' or a fraction in (0, 0.5], got {text!r}"
        )
    return value


def _separator(text):
    sep = SEPARATOR_WORDS.get(text.lower(), text)
    if len(sep) != 1 or sep in '"\r\n':
        raise argparse.ArgumentTypeError(
            "must be one character other than a quote or a line break, or "
            f"comma, tab, semicolon, pipe; got {text!r}"
        )
    return sep


def _whole_number(low, high=None):
    """An argparse type: a whole number from ``low`` (to ``high``, if given)."""
    span = f"from {low} to {high}" if high is not None else f"of {low} or more"

    def parse(text):
        try:
            number = int(text)
        except ValueError:
            number = None
        if number is None or number < low or (high is not None and number > high):
            raise argparse.ArgumentTypeError(
                f"must be a whole number {span}; got {text!r}"
            )
        return number

    return parse


_seed = _whole_number(0, 2**32 - 1)
_positive = _whole_number(1)
_folds = _whole_number(2)


def _decimal(text):
    mark = {"point": ".", "comma": ","}.get(text.lower(), text)
    if mark not in (".", ","):
        raise argparse.ArgumentTypeError(
            f"must be a point or a comma ('.' or ','); got {text!r}"
        )
    return mark


def _parser():
    from skogad._cli.demo import DATASETS

    parser = argparse.ArgumentParser(
        prog="skogad",
        description="Find harmful training rows (mislabeled, corrupted) by outlier "
        "gradient analysis.",
        epilog="Run 'skogad COMMAND --help' for a command's options.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="plant label noise in a bundled dataset, flag it, show the gain",
        description="Flip a fraction of a bundled dataset's training labels, "
        "flag them with GradientOutlierDetector, and print precision/recall of "
        "the flags and test accuracy before and after cleaning.",
    )
    demo.add_argument("--dataset", choices=sorted(DATASETS), default="digits")
    demo.add_argument(
        "--noise",
        type=float,
        default=0.2,
        help="fraction of training labels flipped (default 0.2)",
    )
    demo.add_argument(
        "--contamination",
        type=float,
        default=0.2,
        help="fraction of rows skogad flags (default 0.2)",
    )
    demo.add_argument("--seed", type=_seed, default=0)

    clean = commands.add_parser(
        "clean",
        help="flag the suspicious rows of a CSV/Parquet table, write the rest",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Train a network to predict TARGET from the other columns, score every row
by how unusual its loss gradient is, and write
  - CLEAN:  the kept rows, unchanged (same columns, values, order): those
            not flagged, and the flagged rows whose given label the network
            is confident of (a rare class's rows have large gradients
            without wrong labels);
  - REPORT: every row, most suspicious first, with its score, rank, flag,
            whether it is kept, given label, the network's label (a
            suggested correction) and its probability.
Numeric columns are imputed (median) and standardized, dates read as days
since 1970-01-01 first; other columns are one-hot encoded with missing values
as a category; identifier columns and columns of lists are dropped. The
command prints what it did with each column.

DATA is a CSV or TSV file, plain or compressed (.csv.gz, .csv.bz2,
.csv.xz, .csv.zip, the same for .tsv), or a Parquet file. A .csv file may
be separated by commas, tabs, semicolons or pipes: the command finds which
from its first lines and says which it used (or give --sep).

What it promises:
  - the input file is never modified, unless --out names it and
    --overwrite-input is given;
  - every row is accounted for exactly once: each row is in REPORT, and
    each row it marks kept is in CLEAN, byte for byte as in DATA (a CSV's
    quoting, line ends and short rows as they were; Parquet's columns,
    types and stored index as they were, nothing added);
  - all outputs are new, or none is changed: every output path is checked
    before any work, and the outputs are written in full to temporary files
    beside them, then renamed into place (plots, REPORT, then CLEAN), so a
    new CLEAN never sits beside a previous REPORT; outputs get the input's
    permissions at most;
  - nothing in a report runs: in a CSV report, text cells that a
    spreadsheet would run as a formula (starting with = + - @ | %, a tab or
    a carriage return) start with a ' (as OWASP recommends); Markdown and
    HTML reports escape the data's text; printed text has its control
    characters escaped. CLEAN is never altered this way.""",
        epilog="example:\n  skogad make-example churn.csv\n"
        "  skogad clean churn.csv --target churned --truth planted_error "
        "--plots plots/\n\n" + EXIT_CODES,
    )
    clean.add_argument(
        "data",
        metavar="DATA",
        help="a .csv, .tsv (either may end in .gz, .bz2, .xz or .zip) or .parquet file",
    )
    clean.add_argument(
        "--target", required=True, metavar="COLUMN", help="the label column"
    )
    clean.add_argument(
        "--out",
        metavar="CLEAN",
        help="where the kept rows go, in DATA's format, compressed as its "
        "name says (default: DATA's name with .clean before the suffix, e.g. "
        "churn.clean.csv, churn.clean.csv.gz)",
    )
    clean.add_argument(
        "--report",
        metavar="REPORT",
        help="the per-row report: .csv, .html or .md, by its suffix (default: "
        "DATA's name with .report.csv); in a CSV report, text cells a "
        "spreadsheet would run as formulas start with a '",
    )
    clean.add_argument(
        "--contamination",
        type=_fraction,
        default="auto",
        metavar="F",
        help="fraction of rows to flag, in (0, 0.5]; 'auto' (default): the "
        "network's estimate of the share of wrong labels, counting the rows "
        "it is confident belong to another class (for a numeric target: "
        "unusually large errors)",
    )
    clean.add_argument(
        "--model",
        choices=["mlp", "linear"],
        default="mlp",
        help="network whose gradients are analysed: a 2-hidden-layer MLP "
        "(default) or a linear model",
    )
    clean.add_argument(
        "--task",
        choices=["auto", "classification", "regression"],
        default="auto",
        help="what the target is: 'auto' (default) decides from its values "
        "(text and two values: labels; fractional numbers: a quantity; whole "
        "numbers: labels while the classes average 10 rows or more)",
    )
    clean.add_argument(
        "--sep",
        type=_separator,
        metavar="SEP",
        help="the separator of a CSV or TSV file: one character, or comma, "
        "tab, semicolon, pipe (default: a tab for .tsv; for .csv, whichever of "
        "these splits the first lines consistently)",
    )
    clean.add_argument(
        "--decimal",
        type=_decimal,
        metavar="MARK",
        help="the decimal mark of a CSV or TSV file's numbers: point or comma "
        "(default: a point; a comma where the separator is not one and a "
        "column reads as numbers with it, as European spreadsheets export)",
    )
    clean.add_argument(
        "--max-expansion",
        type=_positive,
        default=50,
        metavar="N",
        help="refuse a compressed table (.gz, .bz2, .xz, .zip) that expands to "
        "more than N times its size on disk, or 64 MB (default 50: tables "
        "compress 3 to 20 times; a decompression bomb, a thousand)",
    )
    clean.add_argument(
        "--cv",
        type=_folds,
        metavar="K",
        help="score each row with a network trained on the other K-1 folds (K "
        "times the time; default: one network, early-stopped on a held-out 20%%)",
    )
    clean.add_argument(
        "--seed",
        type=_seed,
        default=0,
        metavar="N",
        help="random seed (default 0): same seed, same result",
    )
    clean.add_argument(
        "--plots",
        metavar="DIR",
        help="write PNG plots there: scores.png, gradients_pca.png and, with "
        "--truth, trim_curve.png (needs matplotlib)",
    )
    clean.add_argument(
        "--truth",
        metavar="COLUMN",
        help="a column marking rows known to be bad (true/false, 1/0); not used "
        "as a feature, only to measure the flags",
    )
    clean.add_argument(
        "--ignore",
        action="append",
        default=[],
        metavar="COLUMN",
        help="a column not to use as a feature (still written to CLEAN); repeat "
        "for several",
    )
    scale = clean.add_argument_group(
        "larger than memory (needs the dask extra: pip install 'skogad[dask]')"
    )
    scale.add_argument(
        "--engine",
        choices=["local", "dask"],
        default="local",
        help="'local' (default): one process reads DATA, a file. 'dask': DATA "
        "may be a glob ('data/*.parquet') or a folder of Parquet (or CSV) "
        "files; the network is fitted on a sample, every partition is scored "
        "on a Dask cluster, and --out is a new folder of Parquet partitions (or "
        "an earlier run's, replaced); "
        "the report (a folder too, default CLEAN.report) holds the flagged "
        "rows, most suspicious first, 'row' being a row's 0-based position "
        "over the files in sorted order, 'kept' marking those also written "
        "to --out",
    )
    scale.add_argument(
        "--workers",
        type=_positive,
        metavar="N",
        help="size of the LocalCluster --engine dask starts (default: one "
        "worker per CPU)",
    )
    scale.add_argument(
        "--scheduler",
        metavar="ADDRESS",
        help="join the Dask cluster whose scheduler is at ADDRESS (e.g. "
        "tcp://10.0.0.5:8786) instead of starting one; its workers must see "
        "DATA and --out at the same paths",
    )
    scale.add_argument(
        "--max-fit-rows",
        type=_positive,
        default=1_000_000,
        metavar="N",
        help="with --engine dask, fit on a uniform sample of at most N rows "
        "(default 1000000); the other rows are scored by a network that "
        "never saw them",
    )
    clean.add_argument(
        "--overwrite-input",
        action="store_true",
        help="allow --out to be DATA itself",
    )
    noise = clean.add_mutually_exclusive_group()
    noise.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        help="progress bars even when not in a terminal",
    )
    noise.add_argument(
        "-q", "--quiet", action="store_true", help="no progress bars, no summary"
    )

    example = commands.add_parser(
        "make-example",
        help="write a churn table with planted label errors, to try 'clean' on",
        description="Write a customer-churn table (numeric and categorical "
        "columns, missing values, an identifier) whose target 'churned' has "
        "planted errors, marked in the column 'planted_error'.",
        epilog=EXIT_CODES,
    )
    example.add_argument("path", metavar="PATH", help="a .csv, .tsv or .parquet file")
    example.add_argument("--rows", type=int, default=1500, help="default 1500")
    example.add_argument(
        "--noise",
        type=float,
        default=0.08,
        help="fraction of labels flipped, in [0, 0.5) (default 0.08)",
    )
    example.add_argument("--seed", type=_seed, default=0)
    example.add_argument(
        "--force", action="store_true", help="replace PATH if it exists"
    )
    return parser


def _make_example(args):
    from pathlib import Path

    from skogad._cli.outputs import Staged, check_destination, umask
    from skogad._cli.tables import (
        InputError,
        compression,
        table_format,
        write_table,
    )
    from skogad.datasets import make_churn_table

    path = Path(args.path)
    fmt = table_format(path)
    if path.exists() and not args.force:
        raise InputError(f"{path} exists; pass --force to replace it.")
    check_destination("PATH", path)
    if args.rows < 20:
        raise InputError(f"--rows must be at least 20, got {args.rows}.")
    try:
        table = make_churn_table(args.rows, noise=args.noise, random_state=args.seed)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    member = path.name[: -len(path.suffix)] if compression(path) else None
    staged = Staged()
    try:
        staged.file(
            path,
            lambda handle: write_table(table, handle, fmt, compression(path), member),
            0o666 & ~umask(),
        )
        staged.commit()
    except BaseException:
        staged.discard()
        raise
    print(
        f"Wrote {path}: {len(table)} rows, {table['planted_error'].sum()} planted "
        "label errors. Try:\n"
        f"  skogad clean {path} --target churned --truth planted_error"
    )


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised where the program is, and handled as Ctrl-C is."""


def _terminate(signum, frame):
    raise Terminated


def main(argv=None):
    main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _terminate) if main_thread else None
    command = "skogad"
    try:
        parser = _parser()
        args = parser.parse_args(argv)
        command = f"skogad {args.command}"
        return _run(parser, args)
    except KeyboardInterrupt as exc:
        # clean and make-example rename their outputs into place last, with
        # Ctrl-C and SIGTERM held off: interrupted, they have written nothing,
        # and their temporary files are gone.
        what = "terminated" if isinstance(exc, Terminated) else "interrupted"
        print(f"{command}: {what}; nothing was written", file=sys.stderr)
        return 143 if isinstance(exc, Terminated) else 130
    finally:
        if main_thread:
            signal.signal(
                signal.SIGTERM, signal.SIG_DFL if previous is None else previous
            )


def _run(parser, args):
    if args.command == "demo":
        from skogad._cli.demo import run_demo

        if not 0 < args.noise < 1:
            parser.error("--noise must be between 0 and 1")
        if not 0 < args.contamination <= 0.5:
            parser.error("--contamination must be in (0, 0.5]")
        run_demo(args.dataset, args.noise, args.contamination, args.seed)
        return 0

    if args.command == "clean" and args.truth is not None:
        if args.truth == args.target:
            parser.error(
                f"--truth and --target name the same column {args.target!r}: "
                "--truth marks rows known to be bad, to measure the flags "
                "against the labels; it cannot be the labels themselves"
            )
    from skogad._cli.tables import InputError, printable

    def show(message, category, filename, lineno, file=None, line=None):
        # a library's warning, in the command's voice: no source line
        text = printable(str(message), newlines=False)
        print(f"skogad {args.command}: warning: {text}", file=sys.stderr)

    try:
        with warnings.catch_warnings():
            warnings.showwarning = show
            return _job(parser, args)
    except (InputError, ImportError, OSError, ValueError, FloatingPointError) as exc:
        message = printable(exc, newlines=False)
        print(f"skogad {args.command}: error: {message}", file=sys.stderr)
        return 1


def _job(parser, args):
    if args.command == "make-example":
        _make_example(args)
        return 0
    if args.engine == "dask":
        _clean_dask(parser, args)
        return 0
    if args.workers or args.scheduler:
        parser.error("--workers and --scheduler need --engine dask")
    from skogad._cli.clean import clean_table

    clean_table(
        args.data,
        args.target,
        cv=args.cv,
        plots=args.plots,
        truth=args.truth,
        max_expansion=args.max_expansion,
        overwrite_input=args.overwrite_input,
        **_both_engines(args),
    )
    return 0


def _clean_dask(parser, args):
    unsupported = [
        flag
        for flag, value in (
            ("--cv", args.cv),
            ("--plots", args.plots),
            ("--overwrite-input", args.overwrite_input),
        )
        if value
    ]
    if unsupported:
        parser.error(f"{', '.join(unsupported)}: not available with --engine dask")
    from skogad._cli.clean_dask import clean_partitioned

    clean_partitioned(
        args.data,
        args.target,
        workers=args.workers,
        scheduler=args.scheduler,
        max_fit_rows=args.max_fit_rows,
        truth=args.truth,
        **_both_engines(args),
    )


def _both_engines(args):
    """The options of ``clean`` that both engines take."""
    return {
        "out": args.out,
        "report": args.report,
        "contamination": args.contamination,
        "model": args.model,
        "task": args.task,
        "seed": args.seed,
        "ignore": args.ignore,
        "sep": args.sep,
        "decimal": args.decimal,
        "verbose": int(args.verbose or (not args.quiet and sys.stderr.isatty())),
        "echo": (lambda *a: None) if args.quiet else print,
    }


if __name__ == "__main__":
    raise SystemExit(main())
