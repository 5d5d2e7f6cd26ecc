"""``skogad clean --engine dask`` on a real LocalCluster and real Parquet files.

The whole job end to end is in the slow tier; the fast tier keeps the checks
made before any work, and a corrupt footer, which needs no scoring.
"""

import hashlib

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import make_classification

pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")
pytest.importorskip("pyarrow")

from skogad._cli import main
from skogad._cli.clean import clean_table
from skogad.dask._engine import draw_positions
from tests._helpers import forged_lines, forging_table


def _table(n=1600, rare=0, planted=False):
    """``n`` rows of three classes, 10% flipped; then ``rare`` copies of the
    first rows under a fourth label the network cannot learn, some of which
    it is still confident of (flagged but kept). With ``planted``, a column
    ``planted`` marks the flipped rows and the copies ("yes"/"no")."""
    X, y = make_classification(
        n,
        5,
        n_informative=3,
        n_redundant=1,
        n_classes=3,
        n_clusters_per_class=1,
        random_state=2,
    )
    flip = np.random.default_rng(1).random(n) < 0.1
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(5)])
    frame["colour"] = np.where(X[:, 0] > 0, "red", "blue")
    frame["label"] = np.array(["a", "b", "c"])[np.where(flip, (y + 1) % 3, y)]
    frame["id"] = np.arange(n)
    copies = frame.iloc[:rare].assign(label="d", id=np.arange(n, n + rare))
    frame = pd.concat([frame, copies], ignore_index=True)
    if planted:
        bad = np.concatenate([flip, np.ones(rare, dtype=bool)])
        frame["planted"] = np.where(bad, "yes", "no")
    return frame


def _split(frame, parts):
    return [frame.iloc[rows] for rows in np.array_split(np.arange(len(frame)), parts)]


def _write(frame, folder, files=4, row_group_size=150):
    folder.mkdir()
    for i, part in enumerate(_split(frame, files)):
        part.to_parquet(folder / f"part-{i}.parquet", row_group_size=row_group_size)
    return folder


def _digests(folder):
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()
    }


def _clean(client, data, out, *extra, quiet=True):
    return main(
        [
            "clean",
            str(data),
            "--target",
            "label",
            "--ignore",
            "id",
            "--engine",
            "dask",
            "--scheduler",
            client.scheduler.address,
            "--out",
            str(out),
            *(["-q"] if quiet else []),
            *extra,
        ]
    )


@pytest.mark.slow  # the whole job on a cluster, end to end
def test_every_row_is_kept_or_reported_exactly_once(dask_client, tmp_path):
    frame = _table()
    data = _write(frame, tmp_path / "data")
    before = _digests(data)
    assert _clean(dask_client, data / "*.parquet", tmp_path / "kept") == 0
    assert _digests(data) == before  # the input is never modified
    kept = pd.read_parquet(tmp_path / "kept")
    report = pd.read_parquet(tmp_path / "kept.report")
    # the report holds the flagged rows; those marked kept are in both
    dropped = report.loc[~report["kept"], "row"]
    assert len(kept) + len(dropped) == len(frame)
    assert set(kept["id"]).isdisjoint(dropped)
    assert set(report.loc[report["kept"], "row"]) <= set(kept["id"])
    assert set(kept["id"]) | set(report["row"]) == set(range(len(frame)))
    # kept rows unchanged and in input order; report rows where they came from
    pd.testing.assert_frame_equal(
        kept.reset_index(drop=True),
        frame[frame["id"].isin(kept["id"])].reset_index(drop=True),
    )
    assert report["score"].is_monotonic_increasing
    given = frame.set_index("id").loc[report["row"], "label"].to_numpy()
    np.testing.assert_array_equal(report["given_label"].to_numpy(), given)
    assert set(report["predicted_label"]) <= {"a", "b", "c"}


@pytest.mark.slow  # the whole job on a cluster, end to end
def test_the_flags_are_those_of_the_in_process_command(dask_client, tmp_path, capsys):
    frame = _table(rare=12, planted=True)
    data = _write(frame, tmp_path / "data")
    frame.to_parquet(tmp_path / "whole.parquet")
    local = clean_table(
        tmp_path / "whole.parquet",
        "label",
        ignore=["id"],
        truth="planted",
        echo=lambda *a: None,
    )
    capsys.readouterr()
    truth = ["--truth", "planted"]
    assert _clean(dask_client, data, tmp_path / "kept", *truth, quiet=False) == 0
    # (a folder as input)
    # --truth: the same precision and recall, summed over the partitions
    measured = (
        f"Against --truth 'planted' ({(frame['planted'] == 'yes').sum()} known bad "
        f"rows): precision {local['precision']:.2f}, recall {local['recall']:.2f}."
    )
    assert measured in capsys.readouterr().out
    assert 0 < local["precision"] < 1 and 0 < local["recall"] < 1
    report = pd.read_parquet(tmp_path / "kept.report")
    np.testing.assert_array_equal(
        np.sort(report["row"].to_numpy()), np.flatnonzero(local["flagged"])
    )
    expected = local["report"].loc[report["row"], "score"].to_numpy()
    np.testing.assert_allclose(report["score"].to_numpy(), expected, rtol=1e-6)
    # and so are the flagged rows it keeps: the network is sure of their label
    expected = local["report"].loc[report["row"], "kept"].to_numpy()
    np.testing.assert_array_equal(report["kept"].to_numpy(), expected)
    assert report["kept"].any()
    kept = pd.read_parquet(tmp_path / "kept")
    np.testing.assert_array_equal(kept["id"], np.flatnonzero(local["kept"]))


@pytest.mark.slow  # the whole job on a cluster, end to end
def test_a_sample_fit_is_reproducible(dask_client, tmp_path):
    data = _write(_table(), tmp_path / "data")
    reports = []
    for name in ("one", "two"):
        out = tmp_path / name
        assert _clean(dask_client, data, out, "--max-fit-rows", "700") == 0
        reports.append(pd.read_parquet(tmp_path / f"{name}.report"))
    pd.testing.assert_frame_equal(*reports)


@pytest.mark.slow  # the whole job on a cluster, end to end
def test_a_label_unseen_in_the_sample_names_its_file(dask_client, tmp_path, capsys):
    frame = _table()
    sampled = set(draw_positions(len(frame), 400, 0))
    odd = next(i for i in range(1300, 1600) if i not in sampled)  # in part-3
    frame.loc[odd, "label"] = "zebra"
    data = _write(frame, tmp_path / "data")
    code = _clean(dask_client, data, tmp_path / "kept", "--max-fit-rows", "400")
    assert code == 1
    error = capsys.readouterr().err
    assert "part-3.parquet" in error and "zebra" in error
    assert not (tmp_path / "kept").exists()
    assert not (tmp_path / "kept.report").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no leftovers


def test_a_corrupt_parquet_file_is_named_and_nothing_is_written(
    dask_client, tmp_path, capsys
):
    data = _write(_table(), tmp_path / "data")
    broken = data / "part-2.parquet"
    broken.write_bytes(broken.read_bytes()[:-40])  # a truncated footer
    assert _clean(dask_client, data, tmp_path / "kept") == 1
    assert "part-2.parquet could not be read as PARQUET" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


@pytest.mark.slow  # the whole job on a cluster, end to end
def test_a_corrupt_page_inside_a_file_leaves_nothing_at_out(
    dask_client, tmp_path, capsys
):
    data = _write(_table(), tmp_path / "data", row_group_size=400)
    broken = data / "part-1.parquet"
    raw = bytearray(broken.read_bytes())
    raw[4:600] = np.random.default_rng(0).bytes(596)  # pages garbled, footer intact
    broken.write_bytes(bytes(raw))
    assert _clean(dask_client, data, tmp_path / "kept") == 1
    assert "part-1.parquet" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


@pytest.mark.slow  # the whole job on a cluster, end to end
def test_csv_files_in_parquet_partitions_out(dask_client, tmp_path):
    frame = _table(900)
    # text pandas would parse: leading zeros, "NA", a column numeric in one
    # file only; kept as the files have it, in one schema
    frame["code"] = np.where(np.arange(900) < 300, "007", "A7")
    frame["note"] = np.where(np.arange(900) % 2, "NA", "ok")
    (tmp_path / "data").mkdir()
    for i, part in enumerate(_split(frame, 3)):
        part.to_csv(tmp_path / "data" / f"{i}.csv", index=False)
    data = tmp_path / "data" / "*.csv"
    assert _clean(dask_client, data, tmp_path / "kept", "--ignore", "code") == 0
    kept = pd.read_parquet(tmp_path / "kept")
    report = pd.read_parquet(tmp_path / "kept.report")
    dropped = report.loc[~report["kept"], "row"]
    ids = kept["id"].astype(int)
    assert sorted([*ids, *dropped]) == list(range(900))
    assert all(pd.api.types.is_string_dtype(t) for t in kept.dtypes)
    np.testing.assert_array_equal(kept["code"], frame.loc[ids, "code"])
    np.testing.assert_array_equal(kept["note"], frame.loc[ids, "note"])
    written = pd.read_csv(tmp_path / "data" / "0.csv", dtype=str, keep_default_na=False)
    first = kept[ids < 300].reset_index(drop=True)
    pd.testing.assert_frame_equal(
        first, written[written["id"].isin(first["id"])].reset_index(drop=True)
    )


def test_outputs_are_checked_before_any_work(tmp_path, capsys):
    data = _write(_table(300), tmp_path / "data")
    (tmp_path / "kept").mkdir()
    base = ["clean", str(data), "--target", "label", "--engine", "dask"]
    assert main([*base, "--out", str(tmp_path / "kept")]) == 1
    assert "exists, and is not a folder this command wrote" in capsys.readouterr().err
    assert (tmp_path / "kept").is_dir()  # a folder of the user's: kept
    from skogad._cli.outputs import output_locks

    with output_locks([("--out", tmp_path / "new")]):  # another run writes there
        assert main([*base, "--out", str(tmp_path / "new")]) == 1
    err = capsys.readouterr().err
    assert f"--out {tmp_path / 'new'} is being written by another run" in err
    assert main(base) == 1
    assert "needs --out" in capsys.readouterr().err
    assert main([*base, "--out", str(tmp_path / "x"), "--sep", ","]) == 1
    assert "--sep applies to CSV" in capsys.readouterr().err
    assert main([*base[:-2], "--out", str(tmp_path / "x.csv")]) == 1  # a folder
    with pytest.raises(SystemExit):
        main([*base, "--out", str(tmp_path / "x"), "--plots", "p"])
    assert "not available with --engine dask" in capsys.readouterr().err
    assert main([*base[:-2], "--out", str(tmp_path / "x.parquet")]) == 1
    assert "--engine dask" in capsys.readouterr().err  # a folder needs it


@pytest.mark.slow  # the whole job on a cluster, end to end
def test_folder_names_are_not_patterns(dask_client, tmp_path):
    data = _write(_table(400), tmp_path / "in [1]")
    out = tmp_path / "out*[2]"
    assert _clean(dask_client, data, out) == 0
    assert len(pd.read_parquet(out)) + len(pd.read_parquet(f"{out}.report")) == 400


def test_a_truth_column_that_is_not_true_or_false_names_its_row(
    dask_client, tmp_path, capsys
):
    frame = _table(300, planted=True)
    frame.loc[250, "planted"] = "maybe"
    data = _write(frame, tmp_path / "data")
    assert _clean(dask_client, data, tmp_path / "kept", "--truth", "planted") == 1
    assert (
        "--truth 'planted' must hold true/false (or 1/0, yes/no) values; row 250 "
        in capsys.readouterr().err
    )
    assert not (tmp_path / "kept").exists()


def test_partitions_are_encoded_exactly_as_the_sample_encoder_does():
    from skogad._cli.clean_dask import _features
    from skogad._cli.tables import make_encoder

    frame = _table(400).drop(columns=["label", "id"])
    frame.loc[::7, "x1"] = np.nan  # missing in the sample: an indicator column
    frame.loc[::5, "colour"] = None
    features, encoder, _ = make_encoder(frame.iloc[:300])
    encoder.set_output(transform="default")
    encoder.fit(features)
    dates = features.attrs["dates"]
    part = frame.iloc[300:].copy()
    part.loc[part.index[:3], "x3"] = np.nan  # missing only here: imputed, no indicator
    expected = encoder.transform(
        make_encoder(part)[0].reindex(columns=features.columns)
    )
    # as the detector takes the encoder's float64 output: float32, bit for bit
    got = _features(part, dates, encoder)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, expected.astype(np.float32))
    np.testing.assert_array_equal(
        _features(part.iloc[:0], dates, encoder), np.zeros((0, expected.shape[1]))
    )


@pytest.mark.slow  # the whole job on a cluster, end to end
def test_a_zero_row_file_among_the_inputs(dask_client, tmp_path):
    frame = _table(600)
    data = _write(frame, tmp_path / "data", files=3)
    frame.iloc[:0].to_parquet(data / "part-1a.parquet")  # between two files
    assert _clean(dask_client, data, tmp_path / "kept") == 0
    kept = pd.read_parquet(tmp_path / "kept")
    report = pd.read_parquet(tmp_path / "kept.report")
    assert len(kept) + (~report["kept"]).sum() == len(frame)
    assert set(kept["id"]) | set(report["row"]) == set(range(len(frame)))


@pytest.mark.slow  # the whole job on a cluster, end to end
def test_files_with_their_columns_in_another_order_are_read_by_name(
    dask_client, tmp_path
):
    frame = _table(900)
    data = _write(frame, tmp_path / "data", files=3)
    middle = pd.read_parquet(data / "part-1.parquet")
    middle[middle.columns[::-1]].to_parquet(data / "part-1.parquet")
    assert _clean(dask_client, data, tmp_path / "kept") == 0
    kept = pd.read_parquet(tmp_path / "kept")
    assert list(kept.columns) == list(frame.columns)
    report = pd.read_parquet(tmp_path / "kept.report")
    assert set(kept["id"]) | set(report["row"]) == set(range(900))
    given = frame.set_index("id").loc[report["row"], "label"].to_numpy()
    np.testing.assert_array_equal(report["given_label"].to_numpy(), given)


def test_a_missing_label_is_named_by_its_row_over_all_files(
    dask_client, tmp_path, capsys
):
    frame = _table()
    frame.loc[700, "label"] = None  # in the sample: every row is
    data = _write(frame, tmp_path / "data")
    assert _clean(dask_client, data, tmp_path / "kept") == 1
    error = capsys.readouterr().err
    assert "is missing in row 700" in error and "part-1.parquet" in error


@pytest.mark.slow  # fits, then fails while scoring
def test_a_missing_label_outside_the_sample_is_named_by_row_and_file(
    dask_client, tmp_path, capsys
):
    frame = _table()
    sampled = set(draw_positions(len(frame), 400, 0))
    odd = next(i for i in range(1300, 1600) if i not in sampled)  # in part-3
    frame.loc[odd, "label"] = None
    data = _write(frame, tmp_path / "data")
    code = _clean(dask_client, data, tmp_path / "kept", "--max-fit-rows", "400")
    assert code == 1
    error = capsys.readouterr().err
    assert f"is missing in row {odd} (of " in error and "part-3.parquet" in error
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no leftovers


def test_a_listener_that_is_not_a_scheduler_fails_in_bounded_time(
    tmp_path, capsys, monkeypatch
):
    import socket
    import time

    from skogad._cli import clean_dask

    monkeypatch.setattr(clean_dask, "CONNECT_SECONDS", 2)
    data = _write(_table(300), tmp_path / "data")
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts, never speaks
        address = f"tcp://127.0.0.1:{silent.getsockname()[1]}"
        start = time.monotonic()
        code = main(
            [
                *("clean", str(data), "--target", "label", "--engine", "dask"),
                *("--scheduler", address, "--out", str(tmp_path / "kept")),
            ]
        )
    assert code == 1 and time.monotonic() - start < 30
    assert "no handshake within 2 s" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]


def test_an_output_folder_that_cannot_be_written_fails_before_any_work(
    tmp_path, capsys
):
    data = _write(_table(300), tmp_path / "data")
    base = ["clean", str(data), "--target", "label", "--engine", "dask"]
    # /proc takes no new folder, whatever the user's rights (root included)
    assert main([*base, "--out", "/proc/skogad-kept"]) == 1
    assert "--out /proc/skogad-kept: cannot write in /proc" in capsys.readouterr().err
    out = str(tmp_path / "kept")
    assert main([*base, "--out", out, "--report", "/proc/skogad-report"]) == 1
    assert "--report /proc/skogad-report: cannot write" in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data"]  # no leftovers


@pytest.mark.slow  # the whole job on a cluster, end to end
def test_text_from_the_data_cannot_add_lines_to_the_output(
    dask_client, tmp_path, capsys
):
    data = tmp_path / "data"
    data.mkdir()
    forging_table(600).to_parquet(data / "part-0.parquet")
    base = ["clean", str(data), "--target", "y", "--engine", "dask"]
    where = ["--scheduler", dask_client.scheduler.address, "--out", str(tmp_path / "k")]
    assert main([*base, *where, "--contamination", "0.1"]) == 0
    out = capsys.readouterr().out
    assert forged_lines(out) == []
    assert "age\\x0aFlagged 0 of 1500" in out  # the column, in the account
    assert "yes\\x0aFlagged 0 of 1500" in out  # a label, in the suspicious rows


def test_a_partition_reads_stray_cells_decimals_and_dates_as_the_sample_did():
    import decimal

    from skogad._cli.clean_dask import _features
    from skogad._cli.tables import make_encoder

    frame = _table(400).drop(columns=["label", "id", "colour"])
    frame["x1"] = frame["x1"].astype(object)
    frame.loc[[5, 350], "x1"] = "?"  # one in the sample, one in the partition
    frame["x2"] = [decimal.Decimal(f"{v:.3f}") for v in frame["x2"]]
    days = pd.Timestamp("2021-01-01") + pd.to_timedelta(np.arange(400) * 3, unit="D")
    frame["signed"] = days.strftime("%d/%m/%Y")  # day first: 13/01/2021 and on
    frame.loc[[7, 390], "signed"] = "unknown"
    frame["seen"] = days.tz_localize("Europe/Oslo")  # a Parquet timestamp column
    features, encoder, account = make_encoder(frame.iloc[:300])
    assert "numeric (7)" in account[0]
    assert "of which dates (2): signed (%d/%m/%Y), seen" in account[1]
    assert features.attrs["dates"] == {"signed": "%d/%m/%Y", "seen": None}
    encoder.set_output(transform="default")
    encoder.fit(features)
    dates = features.attrs["dates"]
    part = frame.iloc[300:]
    expected = encoder.transform(
        make_encoder(part)[0].reindex(columns=features.columns)
    )
    got = _features(part, dates, encoder)
    np.testing.assert_array_equal(got, expected.astype(np.float32))
    assert np.isfinite(got).all()  # the stray cell imputed, as in the sample


def test_a_rerun_replaces_its_own_folders_and_says_so(tmp_path, dask_client, capsys):
    data = _write(_table(300), tmp_path / "data")
    out = tmp_path / "k"
    base = ["clean", str(data), "--target", "label", "--engine", "dask", "--out"]
    where = ["--scheduler", dask_client.scheduler.address]
    assert main([*base, str(out), *where]) == 0
    first = capsys.readouterr().out
    assert f"Wrote {out}\n" in first and "replaced" not in first
    (out / "part.00009.parquet").write_bytes(b"not the new run's")  # stale
    assert main([*base, str(out), *where, "--contamination", "0.2"]) == 0
    second = capsys.readouterr().out
    assert f"Wrote {out} (replaced the previous run's folder)" in second
    assert f"Wrote {out}.report (replaced the previous run's folder)" in second
    assert not (out / "part.00009.parquet").exists()  # the whole folder replaced
    report = pd.read_parquet(f"{out}.report")
    assert len(pd.read_parquet(out)) == 300 - (~report["kept"]).sum()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "k", "k.report"]
    # never the input: an earlier output read as this run's data
    again = ["clean", str(out), "--target", "label", "--engine", "dask"]
    assert main([*again, "--out", str(out), *where]) == 1
    assert "holds input files" in capsys.readouterr().err
    assert len(pd.read_parquet(out)) == 300 - (~report["kept"]).sum()
