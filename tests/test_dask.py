"""skogad.dask.ParallelDetector on a real LocalCluster: same answers as in-process."""

import os
import pickle
import signal
import time

import numpy as np
import pandas as pd
import pytest
import torch
from sklearn.datasets import make_classification

from skogad import GradientOutlierDetector
from tests._helpers import FAST

da = pytest.importorskip("dask.array")
dd = pytest.importorskip("dask.dataframe")
pytest.importorskip("distributed")

from skogad.dask import ParallelDetector  # noqa: E402
from skogad.dask._ship import Shipped, on_cpu  # noqa: E402


@pytest.fixture(scope="module")
def table():
    X, y = make_classification(
        1200, 6, n_informative=4, n_classes=3, n_clusters_per_class=1, random_state=1
    )
    rng = np.random.default_rng(0)
    flip = rng.random(len(y)) < 0.1
    y = np.where(flip, (y + 1) % 3, y)
    frame = pd.DataFrame(X.astype(np.float32), columns=[f"f{i}" for i in range(6)])
    frame["label"] = y
    return frame


def _dask(frame, npartitions):
    ddf = dd.from_pandas(frame, npartitions=npartitions, sort=False)
    return ddf.drop(columns="label"), ddf["label"]


def _in_process(frame, **params):
    det = GradientOutlierDetector(**(FAST | params))
    return det.fit(frame.drop(columns="label"), frame["label"])


def test_every_row_in_the_sample_gives_the_in_process_detector(dask_client, table):
    X, y = _dask(table, 4)
    parallel = ParallelDetector(GradientOutlierDetector(**FAST), random_state=0)
    parallel.fit(X, y)
    reference = _in_process(table)
    scores = parallel.score_samples(X, y)
    assert isinstance(scores, dd.Series)
    scores = scores.compute()
    expected = reference.score_samples(table.drop(columns="label"), table["label"])
    np.testing.assert_allclose(scores.to_numpy(), expected, rtol=1e-6, atol=1e-9)
    pd.testing.assert_index_equal(scores.index, table.index)
    assert parallel.offset_ == reference.offset_
    assert parallel.n_rows_ == len(table)
    np.testing.assert_array_equal(parallel.fit_rows_, np.arange(len(table)))
    flags = parallel.predict(X, y).compute().to_numpy()
    np.testing.assert_array_equal(flags, reference.fit_predict(*_xy(table)))


def _xy(frame):
    return frame.drop(columns="label"), frame["label"]


@pytest.mark.parametrize("contamination", [0.1, "auto"])
def test_a_sample_fit_thresholds_over_every_row(dask_client, table, contamination):
    detector = GradientOutlierDetector(**FAST, contamination=contamination)
    X, y = _dask(table, 5)
    parallel = ParallelDetector(detector, max_fit_rows=500, random_state=3).fit(X, y)
    assert len(parallel.fit_rows_) == 500 and parallel.n_rows_ == 1200
    # the same sample, fitted and thresholded in this process, from NumPy
    local = ParallelDetector(detector, max_fit_rows=500, random_state=3)
    local.fit(*_xy(table))
    np.testing.assert_array_equal(parallel.fit_rows_, local.fit_rows_)
    everything = local.estimator_.score_samples(*_xy(table))
    np.testing.assert_allclose(
        parallel.score_samples(X, y).compute().to_numpy(), everything, rtol=1e-6
    )
    np.testing.assert_allclose(parallel.offset_, local.offset_, rtol=1e-9)
    if contamination == 0.1:
        # exact: the quantile of all 1200 scores, not of the 500 fitted
        assert parallel.offset_ == pytest.approx(np.percentile(everything, 10))
        assert parallel.contamination_ == pytest.approx(0.1, abs=1 / 1200)
    else:
        assert 0.03 < parallel.contamination_ < 0.25  # 10% of labels were flipped
    assert parallel.contamination_ == pytest.approx(
        np.mean(everything < parallel.offset_)
    )


def test_the_sample_does_not_depend_on_the_partitioning(dask_client, table):
    fitted = [
        ParallelDetector(
            GradientOutlierDetector(**FAST), max_fit_rows=300, random_state=7
        )
        .fit(*_dask(table, parts))
        .fit_rows_
        for parts in (2, 7)
    ]
    np.testing.assert_array_equal(*fitted)
    other = ParallelDetector(
        GradientOutlierDetector(**FAST), max_fit_rows=300, random_state=8
    )
    assert not np.array_equal(fitted[0], other.fit(*_dask(table, 2)).fit_rows_)


def test_dask_arrays_in_dask_arrays_out(dask_client, table):
    X, y = _xy(table)
    Xd = da.from_array(X.to_numpy(), chunks=(250, 3))  # columns split too
    yd = da.from_array(y.to_numpy(), chunks=400)  # chunked unlike X
    parallel = ParallelDetector(GradientOutlierDetector(**FAST), max_fit_rows=600)
    parallel.fit(Xd, yd)
    flags = parallel.predict(Xd, yd)
    assert isinstance(flags, da.Array)
    expected = parallel.estimator_.score_samples(X.to_numpy(), y.to_numpy())
    np.testing.assert_array_equal(
        flags.compute(), np.where(expected < parallel.offset_, -1, 1)
    )
    # plain arrays in, plain arrays out
    assert isinstance(parallel.score_samples(X.to_numpy(), y.to_numpy()), np.ndarray)


def test_the_detector_travels_once_per_graph_on_the_cpu(table):
    X, y = _dask(table, 6)
    parallel = ParallelDetector(GradientOutlierDetector(**FAST)).fit(*_xy(table))
    graph = dict(parallel.score_samples(X, y).__dask_graph__())
    held = [v for v in graph.values() if isinstance(getattr(v, "value", v), Shipped)]
    assert len(held) == 1  # one key that six partitions' tasks depend on
    copy = getattr(held[0], "value", held[0]).load()
    assert isinstance(copy, GradientOutlierDetector)
    assert copy is not parallel.estimator_
    assert _devices(copy) == {"cpu"}


def _devices(detector):
    return {p.device.type for net in detector.nets_ for p in net.module_.parameters()}


def test_on_cpu_moves_a_gpu_fitted_network(table, device):
    detector = GradientOutlierDetector(**(FAST | {"device": device}))
    detector.fit(*_xy(table))
    copy = on_cpu(detector)
    assert {p.device.type for net in copy.nets_ for p in net.module_.parameters()} == {
        "cpu"
    }
    np.testing.assert_allclose(
        copy.score_samples(*_xy(table)),
        detector.score_samples(*_xy(table)),
        rtol=1e-4,
    )


def test_a_label_the_network_never_saw_names_its_partition(dask_client, table):
    X, y = _dask(table, 4)
    parallel = ParallelDetector(GradientOutlierDetector(**FAST)).fit(X, y)
    odd = table.copy()
    odd.loc[700, "label"] = 9
    X, y = _dask(odd, 4)
    with pytest.raises(ValueError, match=r"partition 2 \(index 600 to 899\).*\[9\]"):
        parallel.score_samples(X, y).compute()


def test_inputs_that_do_not_match_are_refused(table):
    X, y = _dask(table, 4)
    parallel = ParallelDetector(GradientOutlierDetector(**FAST))
    with pytest.raises(ValueError, match="y is not"):
        parallel.fit(X, table["label"])
    with pytest.raises(ValueError, match="4 partitions and y 3"):
        parallel.fit(X, y.repartition(npartitions=3))
    with pytest.raises(ValueError, match="requires y"):
        parallel.fit(X, None)
    with pytest.raises(ValueError, match="max_fit_rows"):
        ParallelDetector(max_fit_rows=0).fit(X, y)


def test_a_pickled_parallel_detector_scores_the_same(table):
    X, y = _dask(table, 3)
    parallel = ParallelDetector(GradientOutlierDetector(**FAST), max_fit_rows=800)
    parallel.fit(X, y)
    again = pickle.loads(pickle.dumps(parallel))
    np.testing.assert_array_equal(
        again.score_samples(X, y).compute(), parallel.score_samples(X, y).compute()
    )


def test_a_worker_killed_mid_run_changes_nothing(dask_client, table):
    big = pd.concat([table] * 5, ignore_index=True)
    X, y = _dask(big, 30)
    parallel = ParallelDetector(GradientOutlierDetector(**FAST)).fit(*_xy(table))
    expected = parallel.estimator_.score_samples(*_xy(big))
    blocks = parallel.score_samples(X, y).to_delayed()
    futures = dask_client.compute(blocks)
    pids = dask_client.run(os.getpid)
    while sum(f.done() for f in futures) < 3:  # scoring has started
        time.sleep(0.01)
    busy = [w for w, tasks in dask_client.processing().items() if tasks]
    os.kill(pids[busy[0] if busy else next(iter(pids))], signal.SIGKILL)
    scores = pd.concat(dask_client.gather(futures))
    np.testing.assert_allclose(scores.to_numpy(), expected, rtol=1e-6)
    assert len(dask_client.run(os.getpid)) >= 1
    assert torch.get_num_threads() >= 1


def _parquet_folder(frame, folder, files, index=False):
    """``frame`` written as Parquet files, in order, and read back with Dask.

    ``files``: how many files of equal size, or the rows where files start
    (after the first). With ``index``, the row number is kept as a column
    ``row`` that Dask reads as a sorted index (known divisions).
    """
    folder.mkdir()
    for i, rows in enumerate(np.array_split(np.arange(len(frame)), files)):
        part = frame.iloc[rows].rename_axis("row").reset_index()
        part.to_parquet(folder / f"part{i}.parquet", index=False)
    if index:
        return dd.read_parquet(
            folder / "*.parquet", index="row", calculate_divisions=True
        )
    return dd.read_parquet(folder / "*.parquet", columns=list(frame.columns))


@pytest.mark.parametrize("divisions", ["unknown", "known"])
def test_x_and_y_as_columns_of_one_parquet_table(
    dask_client, table, tmp_path, divisions
):
    parquet = _parquet_folder(table, tmp_path / "data", 6, index=divisions == "known")
    assert parquet.known_divisions == (divisions == "known")
    X, y = parquet.drop(columns="label"), parquet["label"]
    # Dask reads the label alone in fewer, larger partitions than the features,
    # although both report the table's count: zipping them would misalign rows.
    assert X.npartitions == y.npartitions == 6
    assert len(y.to_delayed()) < len(X.to_delayed()) == 6
    parallel = ParallelDetector(GradientOutlierDetector(**FAST), random_state=0)
    parallel.fit(X, y)
    reference = _in_process(table)
    scores = parallel.score_samples(X, y).compute()
    expected = reference.score_samples(*_xy(table))
    np.testing.assert_allclose(scores.to_numpy(), expected, rtol=1e-6, atol=1e-9)
    assert parallel.offset_ == reference.offset_
    flags = parallel.predict(X, y).compute().to_numpy()
    np.testing.assert_array_equal(flags, reference.fit_predict(*_xy(table)))
    # a sample fit reads the same table too
    sampled = ParallelDetector(
        GradientOutlierDetector(**FAST), max_fit_rows=700, random_state=0
    ).fit(X, y)
    assert sampled.n_rows_ == len(table) and len(sampled.fit_rows_) == 700


def test_x_and_y_split_at_other_rows_are_refused_by_partition(table, tmp_path):
    X = _parquet_folder(table, tmp_path / "x", 4).drop(columns="label")
    parallel = ParallelDetector(GradientOutlierDetector(**FAST))
    # four files each: of 300 rows for X, of 100, 400, 400 and 300 for y
    y = _parquet_folder(table, tmp_path / "y", [100, 500, 900])["label"]
    with pytest.raises(
        ValueError, match=r"partition \d has \d+ rows of X and \d+ of y"
    ):
        parallel.fit(X, y)
    # as many rows in each partition, but not the same rows
    X, _ = _dask(table, 4)
    shuffled = table["label"].sample(frac=1, random_state=0)
    y = dd.from_pandas(shuffled, npartitions=4, sort=False)
    with pytest.raises(ValueError, match=r"partition \d: .* different index values"):
        parallel.fit(X, y)
    with pytest.raises(ValueError, match="one column"):
        parallel.fit(X, _dask(table, 4)[0][["f0", "f1"]])


def test_a_categorical_column_is_named_before_any_work(table):
    frame = table.assign(colour=pd.Categorical(np.resize(["u", "v"], len(table))))
    X, y = _dask(frame, 3)
    parallel = ParallelDetector(GradientOutlierDetector(**FAST))
    with pytest.raises(ValueError, match=r"1 non-numeric column\(s\): 'colour' \(cat"):
        parallel.fit(X, y)
    with pytest.raises(ValueError, match="'colour'"):
        parallel.fit(*_dask(table, 3)).score_samples(X, y)


def test_an_empty_partition_contributes_nothing(dask_client, table):
    ddf = dd.from_pandas(table, npartitions=4, sort=False)
    kept = ddf.map_partitions(lambda p: p[(p.index < 300) | (p.index >= 600)])
    assert kept.map_partitions(len).compute().tolist() == [300, 0, 300, 300]
    X, y = kept.drop(columns="label"), kept["label"]
    parallel = ParallelDetector(
        GradientOutlierDetector(**FAST), max_fit_rows=500, random_state=0
    ).fit(X, y)
    rows = table[(table.index < 300) | (table.index >= 600)]
    assert parallel.n_rows_ == len(rows) == 900
    scores = parallel.score_samples(X, y).compute()
    expected = parallel.estimator_.score_samples(*_xy(rows))
    np.testing.assert_allclose(scores.to_numpy(), expected, rtol=1e-6)
    assert parallel.contamination_ == np.mean(expected < parallel.offset_)


def test_scoring_workers_start_without_the_trim_threshold():
    import dask
    from distributed import Client, LocalCluster

    from skogad.dask._cluster import scoring_workers

    before = dask.config.get("distributed.nanny.pre-spawn-environ")
    with scoring_workers():
        cluster = LocalCluster(
            n_workers=1, threads_per_worker=1, dashboard_address=None, silence_logs=40
        )
    assert dask.config.get("distributed.nanny.pre-spawn-environ") == before
    with cluster, Client(cluster) as client:
        got = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
        assert list(got.values()) == [None]
