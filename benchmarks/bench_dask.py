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
the job fitted on its sample.
"""

import json
import resource
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
QUICK_FILE_ROWS, QUICK_SIZES = 20_000, (20_000, 40_000)
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

    def peak():
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
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
    """Two references in this process, on the job's own detector.

    ``score_samples`` alone, on features already encoded; and a worker's
    whole work on one partition (read the file, encode, score with the
    counts ``contamination="auto"`` needs), one file after another. The
    detector was fitted on the job's encoded sample; the encoder (all
    columns numeric: an imputer and a scaler) is refitted here on the same
    kind of rows, its fit not timed.
    """
    import pickle

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
    _, seconds = timed(lambda: detector.score_samples(X, y))
    alone = len(frame) / seconds

    def partition_work():
        for part in partitions[:limit]:
            frame = read_frame(part)
            X = _features(frame, kinds, encoder)
            score_partition(detector, X, frame["label"].to_numpy(), "p", True)

    _, seconds = timed(partition_work)
    return alone, sum(lengths[:limit]) / seconds


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
    args = parse_args(make_parser(__doc__), argv)
    limit_threads(args)
    start = time.perf_counter()
    sizes = QUICK_SIZES if args.quick else SIZES
    file_rows = QUICK_FILE_ROWS if args.quick else FILE_ROWS
    max_fit_rows = QUICK_MAX_FIT_ROWS if args.quick else MAX_FIT_ROWS
    rows = []
    with tempfile.TemporaryDirectory(prefix="skogad-bench-dask-") as work:
        work = Path(work)
        references = {}
        for n in sizes:
            data = work / f"data-{n}"
            write_table(data, n, file_rows)
            truth = flips(data)
            for workers in (1, 2):
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
            references[n] = in_process_rates(r["detector"], data, 2)
            if n == sizes[0]:
                seconds, scores, peak = local_engine(data, work)
                local = {
                    "rows": n,
                    "total": seconds,
                    "AUROC": detection(truth, -scores)["AUROC"],
                    "peak": peak,
                }
    lines = [
        "# Larger than memory: `skogad clean --engine dask`",
        "",
        header(__file__, args.argv, elapsed=time.perf_counter() - start),
        "",
        f"{FEATURES} float32 features, {CLASSES} classes, {NOISE:.0%} of the "
        f"labels flipped, in Parquet files of {file_rows:,} rows. Each run: a "
        "fresh LocalCluster of 1 or 2 worker processes (1 thread each) on this "
        f"machine; the network fitted on a sample of {max_fit_rows:,} rows "
        "(the default network trains on at most 100,000 of them); "
        "`contamination='auto'`. Fit: footers, the sample, encoder and "
        "detector; scoring: every partition read, encoded and scored, and the "
        "threshold; writing: kept rows and report. Two in-process references "
        "on the job's detector: `score_samples` alone on encoded features, "
        "and a worker's work (read a file, encode, score, count) on two files "
        "in turn. Peak memory: the largest "
        "resident set of each process over the run (ru_maxrss). AUROC: every "
        "row's score against the flips.",
        "",
        *table(
            [
                "rows",
                "workers",
                "total (s)",
                "rows/s",
                "fit (s)",
                "scoring (s)",
                "writing (s)",
                "scoring rows/s per worker",
                "in-process score_samples rows/s",
                "in-process, a worker's work, rows/s",
                "worker peak (MB)",
                "client peak (MB)",
                "flagged",
                "AUROC",
            ],
            [_cells(r, references[r["rows"]]) for r in rows],
        ),
        "",
        f"Single-process `skogad clean` (local engine) on the {local['rows']:,}-row "
        f"table as one file: {local['total']:.1f} s "
        f"({local['rows'] / local['total']:,.0f} rows/s), AUROC "
        f"{local['AUROC']:.4f}, peak memory of the benchmark process "
        f"{local['peak'] / 2**20:,.0f} MB.",
    ]
    write_markdown(output_stem(args, "dask").with_suffix(".md"), lines)


def _cells(r, references):
    per_worker = r["rows"] / r["score"] / r["workers"]
    alone, work = references
    return [
        f"{r['rows']:,}",
        str(r["workers"]),
        f"{r['total']:.1f}",
        f"{r['rows'] / r['total']:,.0f}",
        f"{r['fit']:.1f}",
        f"{r['score']:.1f}",
        f"{r['write']:.1f}",
        f"{per_worker:,.0f}",
        f"{alone:,.0f}",
        f"{work:,.0f}",
        " / ".join(f"{p / 2**20:,.0f}" for p in r["workers_peak"]),
        f"{r['client_peak'] / 2**20:,.0f}",
        f"{r['flagged'] / r['rows']:.1%}",
        f"{r['AUROC']:.4f}",
    ]


if __name__ == "__main__":
    main()
