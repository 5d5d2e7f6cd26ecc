"""The ``skogad`` console command: ``demo``, ``clean`` and ``make-example``."""

import argparse
import sys

EXIT_CODES = """\
exit status:
  0  done
  1  a problem with the data or the files: the message says what to fix
     (problems with the data are found before anything is written)
  2  a mistake on the command line (an unknown option, a missing argument)
"""


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


def _folds(text):
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 2:
        raise argparse.ArgumentTypeError(f"must be an integer of 2 or more: {text!r}")
    return value


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
    demo.add_argument("--seed", type=int, default=0)

    clean = commands.add_parser(
        "clean",
        help="flag the suspicious rows of a CSV/Parquet table, write the rest",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""\
Train a network to predict TARGET from the other columns, score every row
by how unusual its loss gradient is, and write
  - CLEAN:  the rows not flagged, unchanged (same columns, values, order);
  - REPORT: every row, most suspicious first, with its score, rank, flag,
            given label, the network's label (a suggested correction) and
            its probability.
Numeric columns are imputed (median) and standardized; other columns are
one-hot encoded with missing values as a category; identifier columns are
dropped. The command prints what it did with each column. The input file
is never modified unless --out names it and --overwrite-input is given.""",
        epilog="example:\n  skogad make-example churn.csv\n"
        "  skogad clean churn.csv --target churned --truth planted_error "
        "--plots plots/\n\n" + EXIT_CODES,
    )
    clean.add_argument("data", metavar="DATA", help="a .csv, .tsv or .parquet file")
    clean.add_argument(
        "--target", required=True, metavar="COLUMN", help="the label column"
    )
    clean.add_argument(
        "--out",
        metavar="CLEAN",
        help="where the kept rows go, in DATA's format (default: DATA's name "
        "with .clean before the suffix, e.g. churn.clean.csv)",
    )
    clean.add_argument(
        "--report",
        metavar="REPORT",
        help="the per-row report: .csv, .html or .md, by its suffix (default: "
        "DATA's name with .report.csv)",
    )
    clean.add_argument(
        "--contamination",
        type=_fraction,
        default="auto",
        metavar="F",
        help="fraction of rows to flag, in (0, 0.5]; 'auto' (default): the "
        "rows whose label the network does not predict, its estimate of the "
        "share of wrong labels (for a numeric target: unusually large errors)",
    )
    clean.add_argument(
        "--model",
        choices=["mlp", "linear"],
        default="mlp",
        help="network whose gradients are analysed: a 2-hidden-layer MLP "
        "(default) or a linear model",
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
        type=int,
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
    example.add_argument("--seed", type=int, default=0)
    example.add_argument(
        "--force", action="store_true", help="replace PATH if it exists"
    )
    return parser


def _make_example(args):
    from pathlib import Path

    from skogad._cli.tables import InputError, table_format, write_table
    from skogad.datasets import make_churn_table

    path = Path(args.path)
    fmt = table_format(path)
    if path.exists() and not args.force:
        raise InputError(f"{path} exists; pass --force to replace it.")
    if args.rows < 20:
        raise InputError(f"--rows must be at least 20, got {args.rows}.")
    try:
        table = make_churn_table(args.rows, noise=args.noise, random_state=args.seed)
    except ValueError as exc:
        raise InputError(str(exc)) from exc
    write_table(table, path, fmt)
    print(
        f"Wrote {path}: {len(table)} rows, {table['planted_error'].sum()} planted "
        "label errors. Try:\n"
        f"  skogad clean {path} --target churned --truth planted_error"
    )


def main(argv=None):
    parser = _parser()
    args = parser.parse_args(argv)
    if args.command == "demo":
        from skogad._cli.demo import run_demo

        if not 0 < args.noise < 1:
            parser.error("--noise must be between 0 and 1")
        if not 0 < args.contamination <= 0.5:
            parser.error("--contamination must be in (0, 0.5]")
        run_demo(args.dataset, args.noise, args.contamination, args.seed)
        return 0

    from skogad._cli.tables import InputError

    try:
        if args.command == "make-example":
            _make_example(args)
            return 0
        from skogad._cli.clean import clean_table

        clean_table(
            args.data,
            args.target,
            out=args.out,
            report=args.report,
            contamination=args.contamination,
            model=args.model,
            cv=args.cv,
            seed=args.seed,
            plots=args.plots,
            truth=args.truth,
            ignore=args.ignore,
            overwrite_input=args.overwrite_input,
            verbose=int(args.verbose or (not args.quiet and sys.stderr.isatty())),
            echo=(lambda *a: None) if args.quiet else print,
        )
    except (InputError, ImportError, OSError, ValueError, FloatingPointError) as exc:
        print(f"skogad {args.command}: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
