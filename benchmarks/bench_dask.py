"""`skogad clean --engine dask` on 1M and 10M rows, with 1 and 2 workers.

A table of 20 float32 features, 3 classes and 10% of its labels flipped is
written as Parquet files of 1M rows (the quick mode: 40k rows in 20k-row
files). Each run is a fresh process that starts a LocalCluster of 1 or 2
worker processes (1 thread each), runs the whole clean job on it, and
reports the time split (fit on the sample / scoring and the threshold /
writing), the peak resident memory of each worker and of the client, and
the AUROC of every row's score against the flips. References, in this
process: single-process `skogad clean` (the local engine) on the 1M-row
table as one file, and the in-process `score_samples` rate of the detector
the job fitted on its sample, on one thread (as a worker has) and on all.

`--rows N [N ...]` runs those sizes instead (with 2 workers unless
`--workers` says otherwise), generating the table file by file, and writes
its table into the section "Larger runs" of the same results file, keeping
the rest: `python benchmarks/bench_dask.py --rows 100000000`.
"""

import json
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from _common import (
    detection,
    header,
    limit_threads,
    make_parser,
    output_stem,
    parse_args,
    table,
    timed,
    write_markdown,
)

FEATURES, CLASSES, NOISE = 20, 3, 0.10
FILE_ROWS = 1_000_000
SIZES = (1_000_000, 4_000_000, 10_000_000)
QUICK_FILE_ROWS, QUICK_SIZES = 20_000, (40_000,)
MAX_FIT_ROWS = 1_000_000
QUICK_MAX_FIT_ROWS = 10_000


def write_table(folder, n_rows, file_rows):
    """Parquet files of ``file_rows`` rows; each file's rows from its own seed."""
    import pandas as pd

    rng = np.random.default_rng(0)
    centres = rng.normal(scale=0.9, size=(CLASSES, FEATURES))
    folder.mkdir(parents=True)
    for i in range(int(np.ceil(n_rows / file_rows))):
        rows = min(file_rows, n_rows - i * file_rows)
        rng = np.random.default_rng(1000 + i)
        label = rng.integers(CLASSES, size=rows)
        X = (centres[label] + rng.normal(size=(rows, FEATURES))).astype(np.float32)
        flipped = rng.random(rows) < NOISE
        shift = rng.integers(1, CLASSES, size=rows)
        given = np.where(flipped, (label + shift) % CLASSES, label)
        frame = pd.DataFrame(X, columns=[f"f{j}" for j in range(FEATURES)])
        frame["label"] = given
        frame["flipped"] = flipped
        frame.to_parquet(folder / f"part-{i:04d}.parquet", row_group_size=250_000)


def flips(folder):
    import pyarrow.parquet as pq

    files = sorted(folder.glob("*.parquet"))
    return np.concatenate(
        [pq.read_table(f, columns=["flipped"])["flipped"].to_numpy() for f in files]
    )


def one_run(data, out, workers, max_fit_rows):
    """Run in a child process: a LocalCluster, the job, and the peak memory."""
    from distributed import Client, LocalCluster

    from skogad._cli.clean_dask import clean_partitioned
    from skogad.dask._cluster import scoring_workers

    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    with scoring_workers():  # as `skogad clean --engine dask` starts its own
        cluster = LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        )
    with (
        cluster,
        Client(cluster) as client,
    ):
        # the workers' first import of torch is the cluster's start, not the job
        client.run(lambda: __import__("skogad._detector"))
        start = time.perf_counter()
        result = clean_partitioned(
            data,
            "label",
            out=out,
            ignore=["flipped"],
            scheduler=cluster.scheduler_address,
            max_fit_rows=max_fit_rows,
            keep_scores=True,
            echo=lambda *a: None,
        )
        total = time.perf_counter() - start
        workers_peak = sorted(client.run(peak).values())
    np.save(Path(out).with_suffix(".scores.npy"), result["scores"])
    with open(Path(out).with_suffix(".detector.pkl"), "wb") as handle:
        import pickle

        pickle.dump(result["detector"], handle)
    print(
        json.dumps(
            {
                "total": total,
                **result["seconds"],
                "rows": result["n_rows"],
                "flagged": result["n_flagged"],
                "workers_peak": workers_peak,
                "client_peak": peak(),
            }
        )
    )


def run_job(data, work, workers, max_fit_rows, name):
    out = work / name
    done = subprocess.run(
        [
            sys.executable,
            __file__,
            "--one-run",
            str(data),
            str(out),
            str(workers),
            str(max_fit_rows),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise RuntimeError(done.stderr[-3000:])
    row = json.loads(done.stdout.strip().splitlines()[-1])
    row["scores"] = np.load(out.with_suffix(".scores.npy"))
    row["detector"] = out.with_suffix(".detector.pkl")
    return row


def in_process_rates(detector_path, data, limit):
    """References in this process, on the job's own detector.

    ``score_samples`` alone, on features already encoded, on one torch
    thread (a worker's) and on all; and a worker's whole work on one
    partition (read the file, encode, score with the counts
    ``contamination="auto"`` needs), one file after another, on one thread.
    The detector was fitted on the job's encoded sample; the encoder (all
    columns numeric: an imputer and a scaler) is refitted here on the same
    kind of rows, its fit not timed. Each time is the fastest of three
    (the partition work: of two).
    """
    import pickle

    import torch

    from skogad._cli.clean_dask import _features
    from skogad._cli.partitioned import parquet_partitions, read_frame
    from skogad._cli.tables import make_encoder
    from skogad.dask._engine import score_partition

    with open(detector_path, "rb") as handle:
        detector = pickle.load(handle)
    partitions, lengths = parquet_partitions(sorted(Path(data).glob("*.parquet")))
    frame = read_frame(partitions[0])
    features, encoder, _ = make_encoder(frame.drop(columns=["label", "flipped"]))
    encoder.set_output(transform="default")
    encoder.fit(features)
    kinds = dict.fromkeys(features.columns, True)
    X = _features(frame, kinds, encoder)
    y = frame["label"].to_numpy()

    def fastest(work, repeats=3):
        return min(timed(work)[1] for _ in range(repeats))

    def partition_work():
        for part in partitions[:limit]:
            frame = read_frame(part)
            X = _features(frame, kinds, encoder)
            score_partition(detector, X, frame["label"].to_numpy(), "p", True)

    threads = torch.get_num_threads()
    alone = len(frame) / fastest(lambda: detector.score_samples(X, y))
    torch.set_num_threads(1)
    try:
        one = len(frame) / fastest(lambda: detector.score_samples(X, y))
        work = sum(lengths[:limit]) / fastest(partition_work, 2)
    finally:
        torch.set_num_threads(threads)
    return {"all threads": alone, "one thread": one, "work": work}


def local_engine(data, work):
    """Single-process `skogad clean` on the table as one Parquet file."""
    import pandas as pd
    import pyarrow.parquet as pq

    from skogad._cli.clean import clean_table

    whole = work / "whole.parquet"
    files = sorted(Path(data).glob("*.parquet"))
    pd.concat(pq.read_table(f).to_pandas() for f in files).to_parquet(whole)
    start = time.perf_counter()
    result = clean_table(
        whole,
        "label",
        ignore=["flipped"],
        out=work / "whole.clean.parquet",
        echo=lambda *a: None,
    )
    total = time.perf_counter() - start
    scores = result["report"].sort_index()["score"].to_numpy()
    return total, scores, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def main(argv=None):
    if argv is None and sys.argv[1:2] == ["--one-run"]:
        data, out, workers, max_fit_rows = sys.argv[2:6]
        return one_run(data, out, int(workers), int(max_fit_rows))
    parser = make_parser(__doc__)
    parser.add_argument(
        "--rows",
        type=int,
        nargs="+",
        help="table sizes to run instead of the default ones; their table goes "
        "to the section 'Larger runs' of the results file",
    )
    parser.add_argument(
        "--workers",
        type=int,
        nargs="+",
        help="worker counts (default: 1 and 2; 2 with --rows)",
    )
    args = parse_args(parser, argv)
    limit_threads(args)
    start = time.perf_counter()
    sizes = args.rows or (QUICK_SIZES if args.quick else SIZES)
    counts = args.workers or ((2,) if args.rows else (1, 2))
    file_rows = QUICK_FILE_ROWS if args.quick else FILE_ROWS
    max_fit_rows = QUICK_MAX_FIT_ROWS if args.quick else MAX_FIT_ROWS
    rows, references, local = [], {}, None
    with tempfile.TemporaryDirectory(prefix="skogad-bench-dask-") as work:
        work = Path(work)
        for n in sizes:
            data = work / f"data-{n}"
            write_table(data, n, file_rows)
            truth = flips(data)
            for workers in counts:
                r = run_job(
                    data / "*.parquet",
                    work,
                    workers,
                    max_fit_rows,
                    f"kept-{n}-{workers}",
                )
                r["workers"] = workers
                r["AUROC"] = detection(truth, -r.pop("scores"))["AUROC"]
                rows.append(r)
                print(
                    f"[{time.perf_counter() - start:6.0f} s] {n:,} rows, "
                    f"{workers} workers: {r['total']:.1f} s, AUROC {r['AUROC']:.4f}",
                    file=sys.stderr,
                    flush=True,
                )
                shutil.rmtree(work / f"kept-{n}-{workers}")
                shutil.rmtree(work / f"kept-{n}-{workers}.report")
            references[n] = in_process_rates(r["detector"], data, 2)
            if not args.rows and n == sizes[0]:
                seconds, scores, peak = local_engine(data, work)
                local = {
                    "rows": n,
                    "total": seconds,
                    "AUROC": detection(truth, -scores)["AUROC"],
                    "peak": peak,
                }
            shutil.rmtree(data)  # the disk holds one table at a time
    results = *table(COLUMNS, [_cells(r, references[r["rows"]]) for r in rows]), ""
    path = output_stem(args, "dask").with_suffix(".md")
    run = header(__file__, args.argv, elapsed=time.perf_counter() - start)
    if args.rows:
        before = path.read_text() if path.exists() else ""
        kept = before.split(LARGER)[0].rstrip("\n").splitlines()
        lines = [*kept, "", LARGER, "", run, "", *_larger_intro(file_rows), *results]
    else:
        previous = path.read_text().split(LARGER) if path.exists() else [""]
        larger = [LARGER, *previous[1].splitlines()] if len(previous) > 1 else []
        lines = [
            *_intro(run, file_rows, max_fit_rows),
            *results,
            f"Single-process `skogad clean` (local engine) on the "
            f"{local['rows']:,}-row table as one file: {local['total']:.1f} s "
            f"({local['rows'] / local['total']:,.0f} rows/s), AUROC "
            f"{local['AUROC']:.4f}, peak memory of the benchmark process "
            f"{local['peak'] / 2**20:,.0f} MB.",
            "",
            *larger,
        ]
    write_markdown(path, lines)


LARGER = "## Larger runs (`--rows`)"
COLUMNS = [
    "rows",
    "workers",
    "total (s)",
    "rows/s",
    "fit (s)",
    "scoring (s)",
    "writing (s)",
    "scoring rows/s per worker",
    "in-process score_samples rows/s, 1 thread",
    "per worker / in-process, 1 thread",
    "in-process score_samples rows/s, all threads",
    "in-process, a worker's work, 1 thread, rows/s",
    "worker peak (MB)",
    "client peak (MB)",
    "flagged",
    "AUROC",
]


def _intro(run, file_rows, max_fit_rows):
    return [
        "# Larger than memory: `skogad clean --engine dask`",
        "",
        run,
        "",
        f"{FEATURES} float32 features, {CLASSES} classes, {NOISE:.0%} of the "
        f"labels flipped, in Parquet files of {file_rows:,} rows. Each run: a "
        "fresh LocalCluster of 1 or 2 worker processes (1 thread each, started "
        "as `skogad clean` starts them: without Dask's `MALLOC_TRIM_THRESHOLD_`) "
        f"on this machine; the network fitted on a sample of {max_fit_rows:,} "
        "rows (the default network trains on at most 100,000 of them); "
        "`contamination='auto'`. Fit: footers, the sample, encoder and "
        "detector; scoring: every partition read, encoded and scored, and the "
        "threshold; writing: kept rows and report. In-process references on "
        "the job's detector: `score_samples` alone on encoded features, on one "
        "torch thread (a worker's) and on all, and a worker's work (read a "
        "file, encode, score, count) on two files in turn, on one thread. "
        "Peak memory: the largest resident set of each process over the run "
        "(ru_maxrss). AUROC: every row's score against the flips.",
        "",
    ]


def _larger_intro(file_rows):
    return [
        f"The same job on larger tables, generated file by file ({file_rows:,} "
        "rows a file); each table and the job's outputs are deleted before the "
        "next size. "
        "The client's peak includes the benchmark gathering every row's score "
        "(8 bytes a row) to measure the AUROC.",
        "",
    ]


def _cells(r, references):
    per_worker = r["rows"] / r["score"] / r["workers"]
    return [
        f"{r['rows']:,}",
        str(r["workers"]),
        f"{r['total']:.1f}",
        f"{r['rows'] / r['total']:,.0f}",
        f"{r['fit']:.1f}",
        f"{r['score']:.1f}",
        f"{r['write']:.1f}",
        f"{per_worker:,.0f}",
        f"{references['one thread']:,.0f}",
        f"{per_worker / references['one thread']:.2f}",
        f"{references['all threads']:,.0f}",
        f"{references['work']:,.0f}",
        " / ".join(f"{p / 2**20:,.0f}" for p in r["workers_peak"]),
        f"{r['client_peak'] / 2**20:,.0f}",
        f"{r['flagged'] / r['rows']:.1%}",
        f"{r['AUROC']:.4f}",
    ]


if __name__ == "__main__":
    main()
