"""The ``skogad`` console command."""

import argparse

from skogad._demo import DATASETS, run_demo


def main(argv=None):
    parser = argparse.ArgumentParser(
        prog="skogad",
        description="Find harmful training samples by outlier gradient analysis.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
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
    args = parser.parse_args(argv)
    if args.command == "demo":
        if not 0 < args.noise < 1:
            parser.error("--noise must be between 0 and 1")
        if not 0 < args.contamination <= 0.5:
            parser.error("--contamination must be in (0, 0.5]")
        run_demo(args.dataset, args.noise, args.contamination, args.seed)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
