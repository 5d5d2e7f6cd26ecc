"""``skogad clean --engine dask``: a partitioned table on a Dask cluster.

The job, in order:

1. the input files are listed (a glob or a folder, sorted) and every Parquet
   footer read: a corrupt file is named before any work, and each
   partition's row count gives every row its global position;
2. a uniform sample of at most ``max_fit_rows`` rows is gathered, and the
   encoder and the detector are fitted on it in this process;
3. each partition is read, encoded and scored on a worker; only its scores
   (and per-class counts for ``contamination="auto"``) stay, on the worker;
4. one threshold is set over every score (`skogad.dask._engine`);
5. each partition is read again; its flagged rows become report rows, and
   those whose given label the network is confident of are kept with the
   rows not flagged, as `CleanTrainingSet` keeps them; the kept rows are
   written, as stored, to a Parquet file in a hidden folder beside
   ``--out``; the report is sorted and written beside ``--report``;
6. only then are the two folders renamed into place, the report first. A
   failure or Ctrl-C before that removes both and leaves nothing at
   ``--out`` or ``--report``.

Dask schedules, moves data and retries the tasks of a worker that dies; the
job only says what each task does.
"""

import contextlib
import os
from pathlib import Path

import numpy as np

from skogad._cli.clean import (
    _check_target,
    _column,
    _rows,
    _truth,
    check_choices,
    resolved_task,
)
from skogad._cli.outputs import interrupts_held, output_locks
from skogad._cli.partitioned import (
    check_output_folder,
    discard,
    input_files,
    parquet_partitions,
    put_in_place,
    read_frame,
    staging_folder,
    text_partitions,
    write_kept,
)
from skogad._cli.reports import against_truth, kept_line, printed_rows
from skogad._cli.tables import (
    InputError,
    as_numbers,
    category_text,
    date_numbers,
    make_encoder,
    printable,
    refuse_text_options,
)
from skogad._optional import require
from skogad._threshold import confirmed_rows

TOP = 10
# how long --scheduler may take to answer, connection and handshake each
CONNECT_SECONDS = 20


def _handshake(scheduler):
    """Raise `InputError` unless Dask's handshake at ``scheduler`` completes in time.

    A port that accepts the connection but never speaks Dask's protocol
    would otherwise keep the client waiting for ever: Dask's own connect
    timeout bounds the connection, not the handshake after it.
    """
    import asyncio

    from distributed.comm import connect

    async def shake():
        comm = await connect(scheduler, timeout=CONNECT_SECONDS)
        await comm.close()

    try:
        asyncio.run(asyncio.wait_for(shake(), CONNECT_SECONDS))
    except (TimeoutError, asyncio.TimeoutError) as exc:
        raise InputError(
            f"--scheduler {scheduler}: something answers there, but no Dask "
            f"scheduler: no handshake within {CONNECT_SECONDS} s."
        ) from exc
    except (OSError, ValueError) as exc:
        raise InputError(
            f"--scheduler {scheduler}: no Dask scheduler answers ({exc})."
        ) from exc


def _connect(scheduler, workers):
    """A client on ``scheduler``, or on a new LocalCluster of ``workers``."""
    distributed = require("distributed", "--engine dask")
    if scheduler:
        _handshake(scheduler)
        try:
            return distributed.Client(scheduler, timeout=f"{CONNECT_SECONDS}s"), None
        except OSError as exc:
            raise InputError(
                f"--scheduler {scheduler}: no Dask scheduler answers ({exc})."
            ) from exc
    from skogad.dask._cluster import scoring_workers

    with scoring_workers():
        cluster = distributed.LocalCluster(
            n_workers=workers or os.cpu_count(),
            threads_per_worker=1,
            processes=True,
            dashboard_address=":0",
            silence_logs=40,
        )
    return distributed.Client(cluster), cluster


def _features(frame, dates, encoder):
    """A partition's features as the network takes them: float32, encoded as
    the encoder fitted on the sample encodes them.

    Bit for bit what the detector makes of the encoder's float64 output
    (`_numeric_block`); categories go through the encoder's own step.
    """
    import pandas as pd

    width = len(encoder.get_feature_names_out())
    if not len(frame):  # a zero-row file: scikit-learn's steps refuse it
        return np.zeros((0, width), dtype=np.float32)
    out = np.empty((len(frame), width), dtype=np.float32)
    column = 0
    # The fitted ColumnTransformer's transformers in order, side by side,
    # without its checks, which cost more than the encoding itself on a
    # million rows.
    for name, step, names in encoder.transformers_:
        if isinstance(step, str):  # "drop" or "passthrough" of nothing
            continue
        if name == "numeric":
            block = _numeric_block(frame, step, names, out[:, column:], dates)
        else:
            text = pd.DataFrame({n: category_text(frame[n]) for n in names})
            block = step.transform(text)
            out[:, column : column + block.shape[1]] = block
        column += block.shape[1]
    return out


def _numeric_block(frame, pipeline, names, out, dates):
    """`make_encoder`'s fitted imputer and scaler on ``frame[names]``, into ``out``.

    Block by block of rows, the float64 operations of their ``transform``
    (a missing value set to the imputer's median; the imputer's indicator
    columns after the values; the scaler's mean subtracted, its scale
    divided), then rounded to float32: the numbers the detector makes of the
    encoder's output, without a partition-sized float64 copy. A pipeline of
    another shape is applied as it is.

    Returns
    -------
    block : ndarray
        The columns written (a view of ``out``).
    """
    import pandas as pd

    imputer, scaler = (step for _, step in pipeline.steps)
    numbers = _as_numbers(frame, names, dates)
    if (
        np.isnan(imputer.statistics_).any()
        or scaler.mean_ is None
        or scaler.scale_ is None
    ):
        values = numbers.to_numpy(dtype=float, na_value=np.nan)
        block = pipeline.transform(pd.DataFrame(values, columns=names))
        out[:, : block.shape[1]] = block
        return out[:, : block.shape[1]]
    flagged = [] if imputer.indicator_ is None else imputer.indicator_.features_
    width = len(names) + len(flagged)
    for start in range(0, len(frame), _ROWS):
        # row blocks: small temporaries, reused by the allocator, instead
        # of partition-sized ones whose pages would fault in afresh
        rows = slice(start, start + _ROWS)
        block = numbers.iloc[rows].to_numpy(dtype=float, na_value=np.nan)
        block = np.array(block, copy=True) if not block.flags.writeable else block
        missing = np.isnan(block)
        np.copyto(block, imputer.statistics_, where=missing)
        if len(flagged):
            block = np.hstack([block, missing[:, flagged]])
        block -= scaler.mean_
        block /= scaler.scale_
        out[rows, :width] = block
    return out[:, :width]


def _as_numbers(frame, names, dates):
    """``frame[names]`` as numbers: a text column the sample found numeric
    (`mostly_numbers`) read as numbers here too, and a date column as days
    (`date_numbers`, in the format ``dates`` names); a cell that is neither
    missing."""
    import pandas as pd

    numbers = frame[names]
    text = [n for n in names if not pd.api.types.is_numeric_dtype(numbers[n])]
    if not text:
        return numbers
    numbers = numbers.copy()
    for name in text:
        if name in dates:
            numbers[name] = date_numbers(numbers[name], dates[name])
        else:
            numbers[name] = as_numbers(numbers[name])
    return numbers


# rows per block when encoding: 8 MB of float64 at 16 columns
_ROWS = 65_536


def _labels(frame, target, start, where):
    """A partition's labels; a missing one named by its row over all files."""
    labels = frame[target]
    missing = labels.isna().to_numpy()
    if missing.any():
        raise InputError(
            f"The target {target!r} is missing in "
            f"{_rows(missing, start + frame.index)} (of {where}): give every row "
            "a label, or drop the rows without one, first."
        )
    return labels.to_numpy()


def _report_rows(detector, frame, scores, start, dates, encoder, target):
    """Report rows for ``frame``'s rows (a partition's flagged rows).

    Their ``kept`` column marks the flagged rows whose given label the
    network is confident of (`skogad._threshold.confirmed_rows`), which are
    kept, as `CleanTrainingSet` keeps them.
    """
    import pandas as pd

    columns = {"row": start + frame.index.to_numpy(), "score": scores}
    given = frame[target].to_numpy()
    if not detector._classifier:
        kept = np.zeros(len(frame), dtype=bool)
        return pd.DataFrame(columns | {"kept": kept, "given_target": given})
    best, top = np.zeros(0, dtype=np.int64), np.zeros(0)
    kept = np.zeros(0, dtype=bool)
    if len(frame):
        X = detector._check_X(_features(frame, dates, encoder))
        proba = detector._predictions(X, training=False, check=False)
        best = proba.argmax(axis=1)
        top = proba[np.arange(len(best)), best]
        codes = detector._encode(given)
        kept = confirmed_rows(proba, codes, detector.class_thresholds_)
    columns |= {
        "kept": kept,
        "given_label": given,
        "predicted_label": np.asarray(detector.classes_)[best],
        "predicted_proba": top,
    }
    return pd.DataFrame(columns)


def _write(detector, partition, scored, offset, start, columns, out, i, truth=None):
    """Write a partition's kept rows.

    ``columns`` is ``(dates, encoder, target)``. Returns the flagged rows'
    report rows and, with ``truth`` (the ``--truth`` column), how many of
    the partition's rows it marks bad and how many of those are flagged.
    """
    from skogad.dask._ship import loaded

    dates, encoder, target = columns
    detector = loaded(detector)
    scores = scored[0]
    flagged = scores < offset
    report, known = [], []

    def keep(frame):
        rows = _report_rows(
            detector, frame[flagged], scores[flagged], start, dates, encoder, target
        )
        report.append(rows)
        if truth is not None:
            # global row numbers, as the report gives them, in an error
            bad = _truth(frame[truth].set_axis(start + frame.index), truth)
            known.append((int(bad.sum()), int((bad & flagged).sum())))
        mask = ~flagged
        mask[np.flatnonzero(flagged)[rows["kept"].to_numpy()]] = True
        return mask

    write_kept(partition, keep, out, i)
    return report[0], (known[0] if known else (0, 0))


def _flagged_and_kept(rows):
    """A partition's flagged rows, and how many of them are kept."""
    return len(rows), int(rows["kept"].sum())


def _write_report(frame, path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    pq.write_table(pa.Table.from_pandas(frame, preserve_index=False), path)


def clean_partitioned(
    data,
    target,
    *,
    out,
    report=None,
    contamination="auto",
    model="mlp",
    task="auto",
    seed=0,
    ignore=(),
    sep=None,
    decimal=None,
    workers=None,
    scheduler=None,
    max_fit_rows=1_000_000,
    truth=None,
    keep_scores=False,
    verbose=0,
    echo=print,
):
    """Flag the suspicious rows of a partitioned table on a Dask cluster.

    Parameters are those of ``skogad clean --engine dask``; ``keep_scores``
    also gathers every row's score (8 bytes a row) into the result, for
    benchmarks.

    Returns
    -------
    result : dict
        ``detector`` (fitted on the sample), ``offset``, ``n_rows``,
        ``n_flagged``, ``n_kept`` (the rows not flagged, and the flagged
        ones whose given label the network is confident of), ``top`` (the
        most suspicious rows, a DataFrame), ``files`` (the folders written),
        ``seconds`` (``fit``, ``score``, ``write``); with ``truth``,
        ``precision`` and ``recall`` of the flags against that column (summed
        over the partitions); with ``keep_scores``, ``scores``.
    """

    def say(line):
        echo(printable(line))

    check_choices(model, task)
    if out is None:
        raise InputError("--engine dask needs --out: a new folder for the kept rows.")
    out = Path(out)
    report = Path(report) if report else out.with_name(out.name + ".report")
    if out.resolve() == report.resolve():
        raise InputError("--out and --report name the same folder.")
    previous = {
        path
        for flag, path in (("--out", out), ("--report", report))
        if check_output_folder(flag, path)
    }
    with output_locks([("--out", out), ("--report", report)]):
        require("pyarrow", "--engine dask")
        dask = require("dask", "--engine dask")
        files, fmt = input_files(data)
        for flag, path in (("--out", out), ("--report", report)):
            if any(path.resolve() in f.resolve().parents for f in files):
                raise InputError(
                    f"{flag} {path} holds input files; name another folder."
                )
        if fmt == "parquet":
            refuse_text_options(sep, decimal, "Parquet")
            partitions, lengths = parquet_partitions(files)
        else:
            partitions, lengths = text_partitions(files, fmt, sep, decimal), None

        # the output folders' hidden twins, made before any work
        staged = [staging_folder("--out", out)]
        try:
            staged.append(staging_folder("--report", report))
            client, cluster = _connect(scheduler, workers)
        except BaseException:
            discard(*staged)
            raise
        try:
            say(f"Dask: {len(client.scheduler_info()['workers'])} workers")
            if cluster is not None and client.dashboard_link:
                say(f"Dask dashboard: {client.dashboard_link}")
            result = _run(
                dask,
                partitions,
                lengths,
                files,
                target,
                out,
                report,
                staged,
                say,
                previous=previous,
                contamination=contamination,
                model=model,
                task=task,
                seed=seed,
                ignore=ignore,
                max_fit_rows=max_fit_rows,
                truth=truth,
                keep_scores=keep_scores,
                verbose=verbose,
            )
        except BaseException:
            discard(*staged)
            raise
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
        return result


def _run(
    dask,
    partitions,
    lengths,
    files,
    target,
    out,
    report,
    staged,
    say,
    *,
    previous,
    contamination,
    model,
    task,
    seed,
    ignore,
    max_fit_rows,
    truth,
    keep_scores,
    verbose,
):
    import operator
    import time

    from dask import delayed

    from skogad.dask._engine import (
        draw_positions,
        global_offset,
        needs_counts,
        partition_lengths,
        score_partition,
        take_rows,
    )

    clock = {"start": time.perf_counter()}
    frames = [delayed(read_frame)(p) for p in partitions]
    if lengths is None:
        lengths = partition_lengths(frames, dask.compute)
    lengths = np.asarray(lengths, dtype=np.int64)
    starts = np.concatenate([[0], np.cumsum(lengths)])
    n_rows = int(starts[-1])
    say(f"Found {len(files)} files: {n_rows} rows in {len(partitions)} partitions.")
    positions = draw_positions(n_rows, max_fit_rows, seed)
    (sample,) = take_rows([frames], lengths, positions, dask.compute)
    # rows named in errors as the report names them: over the sorted files
    sample = sample.set_axis(positions)
    target = _column(sample, target, "--target")
    dropped = [target, *(_column(sample, name, "--ignore") for name in ignore)]
    if truth is not None:
        truth = _column(sample, truth, "--truth")
        dropped.append(truth)
        _truth(sample[truth], truth)  # fails before the fit
    y = sample[target]
    try:
        _check_target(y, target)
    except InputError as exc:
        if not y.isna().any():
            raise
        first = int(y.index[y.isna().to_numpy()][0])
        where = partitions[np.searchsorted(starts, first, side="right") - 1].name()
        raise InputError(f"{exc} (Row {first} is in {where}.)") from None
    features, encoder, account = make_encoder(sample.drop(columns=dropped))
    dates = features.attrs["dates"]
    say(f"Fitting on a sample of {len(sample)} rows; columns:")
    for line in account:
        say(f"  {line}")

    from skogad._detector import GradientOutlierDetector
    from skogad._nets import LinearModel
    from skogad.dask._ship import shared

    detector = GradientOutlierDetector(
        LinearModel if model == "linear" else None,
        contamination=contamination,
        task=resolved_task(task, y, target, say),
        random_state=seed,
        verbose=verbose,
    )
    # NumPy out: a DataFrame output costs the workers more than the scoring
    encoder.set_output(transform="default")
    detector.fit(encoder.fit_transform(features), y.to_numpy())
    clock["fit"] = time.perf_counter()

    shipped = shared(detector)
    statistics = needs_counts(detector)
    scored = [
        delayed(score_partition)(
            shipped,
            delayed(_features)(frame, dates, encoder),
            delayed(_labels)(frame, target, int(start), part.name()),
            part.name(),
            statistics,
        )
        for frame, part, start in zip(frames, partitions, starts[:-1], strict=True)
    ]
    scored = dask.persist(*scored)
    if verbose:
        _progress(scored)
    offset = global_offset(detector, scored, n_rows, dask.compute)
    clock["score"] = time.perf_counter()

    import dask.dataframe as dd

    kept_folder, report_folder = staged
    written = dask.persist(
        *[
            delayed(_write, nout=2)(
                shipped,
                part,
                s,
                offset,
                int(start),
                (dates, encoder, target),
                str(kept_folder),
                i,
                truth,
            )
            for i, (part, s, start) in enumerate(
                zip(partitions, scored, starts[:-1], strict=True)
            )
        ]
    )
    rows = [delayed(operator.getitem)(w, 0) for w in written]
    if verbose:
        _progress(written)
    meta = _report_rows(
        detector, sample.iloc[:0], np.zeros(0), 0, dates, encoder, target
    )
    table = dd.from_delayed(list(rows), meta=meta, verify_meta=False)
    counts = dask.compute(*[delayed(_flagged_and_kept)(r) for r in rows])
    n_flagged, n_spared = (int(n) for n in np.sum(counts, axis=0))
    known = np.sum(dask.compute(*[delayed(operator.getitem)(w, 1) for w in written]), 0)
    ordered = table.sort_values("score").to_delayed()
    dask.compute(
        *[
            delayed(_write_report)(part, report_folder / f"part.{i:05d}.parquet")
            for i, part in enumerate(ordered)
        ]
    )
    top = table.nsmallest(TOP, "score").compute()
    scores = None
    if keep_scores:
        scores = np.concatenate(dask.compute(*[s[0] for s in scored]))
    clock["write"] = time.perf_counter()

    with interrupts_held():
        put_in_place([(report_folder, report), (kept_folder, out)])
        staged.clear()
    say(
        f"Flagged {n_flagged} of {n_rows} rows ({n_flagged / max(n_rows, 1):.1%}), "
        f"those scoring below {offset:.4g}; "
        f"{kept_line(n_rows - n_flagged + n_spared, n_spared)}."
    )
    measured = {}
    if truth is not None:
        measured, line = against_truth(truth, int(known[0]), int(known[1]), n_flagged)
        say(line)
    say("The most suspicious rows (row = 0-based position over the sorted files):")
    shown = printed_rows(top)
    say(shown.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    for path in (out, report):
        again = " (replaced the previous run's folder)" if path in previous else ""
        say(f"Wrote {path}{again}")
    seconds = {
        "fit": clock["fit"] - clock["start"],
        "score": clock["score"] - clock["fit"],
        "write": clock["write"] - clock["score"],
    }
    result = {
        "detector": detector,
        "offset": offset,
        "n_rows": n_rows,
        "n_flagged": n_flagged,
        "n_kept": n_rows - n_flagged + n_spared,
        "top": top,
        "files": [out, report],
        "seconds": seconds,
        **measured,
    }
    if keep_scores:
        result["scores"] = scores
    return result


def _progress(persisted):
    from distributed import futures_of, progress

    with contextlib.suppress(ValueError):
        progress(futures_of(list(persisted)))
