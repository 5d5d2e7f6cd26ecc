"""Reading, encoding and writing tables for `skogad clean`."""

import csv

import numpy as np
import pytest

from skogad._cli.tables import (
    InputError,
    date_numbers,
    make_encoder,
    read_table,
    write_table,
)

pd = pytest.importorskip("pandas")

AWKWARD = ["007", "1.10", "NA", "", 'say "hi", ok', "multi\nline", "null", " x "]


def write_csv(path, header, rows, **kwargs):
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, **kwargs)
        writer.writerow(header)
        writer.writerows(rows)


def test_csv_values_come_back_exactly(tmp_path):
    rows = [[f"{i / 7:.5f}", AWKWARD[i % len(AWKWARD)], str(i % 2)] for i in range(40)]
    # a blank and a repeated header cell, which pandas would rename
    header = ["value", "", "value"]
    write_csv(tmp_path / "in.csv", header, rows, lineterminator="\r\n")
    raw, typed = read_table(tmp_path / "in.csv")
    assert list(raw.columns) == header
    assert list(typed.columns) == ["value", "Unnamed: 1", "value.1"]
    assert typed["value"].dtype == float and typed["value.1"].dtype == np.int64
    write_table(raw.iloc[::3], tmp_path / "out.csv", "csv")
    with open(tmp_path / "out.csv", newline="", encoding="utf-8") as handle:
        back = list(csv.reader(handle))
    assert back == [header, *rows[::3]]


def test_tsv_and_parquet_round_trip(tmp_path):
    pytest.importorskip("pyarrow")
    frame = pd.DataFrame(
        {"a": [1.5, None, 3.0], "b": pd.Categorical(["x", "y", "x"])},
        index=pd.Index(["r1", "r2", "r3"], name="id"),
    )
    frame.to_parquet(tmp_path / "in.parquet")
    raw, typed = read_table(tmp_path / "in.parquet")
    write_table(raw.iloc[[0, 2]], tmp_path / "out.parquet", "parquet")
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "out.parquet"), frame.iloc[[0, 2]]
    )
    frame.to_csv(tmp_path / "in.tsv", sep="\t", index=False)
    raw, typed = read_table(tmp_path / "in.tsv")
    assert list(typed.columns) == ["a", "b"] and raw["a"].tolist() == ["1.5", "", "3.0"]


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "is empty"),
        (b"\xff\xfe\x00garbage\n", "is not UTF-8"),
        (b'a,b\n1,"unterminated\n', "could not be read as CSV"),
        (b"a,b\n1,2,3,4\n", "could not be read as CSV"),
    ],
)
def test_unreadable_files(tmp_path, content, match):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError, match=match):
        read_table(path)


def test_missing_file_and_unknown_type(tmp_path):
    with pytest.raises(InputError, match="does not exist"):
        read_table(tmp_path / "nope.csv")
    with pytest.raises(InputError, match="is a directory"):
        read_table(tmp_path)
    (tmp_path / "data.xlsx").write_bytes(b"")
    with pytest.raises(InputError, match=r"unknown file type '\.xlsx'"):
        read_table(tmp_path / "data.xlsx")


def test_encoder_kinds_of_columns():
    n = 60
    rng = np.random.RandomState(0)
    frame = pd.DataFrame(
        {
            "num": np.where(rng.rand(n) < 0.2, np.nan, rng.randn(n)),
            "flag": rng.rand(n) < 0.5,
            "city": rng.choice(["a", "b", None], n),
            "mixed": [1, "two", 3.0] * 20,
            "many": [f"v{i % 30}" for i in range(n)],
            "id": [f"id{i}" for i in range(n)],
            "empty": [np.nan] * n,
        }
    )
    features, encoder, account = make_encoder(frame)
    X = encoder.fit_transform(features)
    assert not X.isna().any().any()
    names = list(X.columns)
    assert "numeric__missingindicator_num" in names
    assert "categorical__city_(missing)" in names  # missing is a category
    assert sum(n.startswith("categorical__many_") for n in names) == 20  # capped
    assert not any("__id_" in n or "empty" in n for n in names)
    np.testing.assert_allclose(X["numeric__num"].mean(), 0, atol=1e-9)
    text = "\n".join(account)
    assert "numeric (2): num, flag" in text
    assert "categorical (3): city, mixed, many" in text
    assert "dropped (1): id" in text and "dropped (1): empty" in text


def test_date_columns_are_read_as_days_and_said():
    n = 400
    days = pd.Timestamp("2020-01-01") + pd.to_timedelta(np.arange(n) * 3.5, unit="D")
    frame = pd.DataFrame(
        {
            "iso": days.strftime("%Y-%m-%d %H:%M"),  # unique: a time, not an id
            "european": days.strftime("%d.%m.%Y"),
            "stamp": days,
            "year": days.strftime("%Y"),  # numbers, not dates
            "month": days.strftime("%b"),  # no year: a category
        }
    )
    frame.loc[3, "european"] = "n.k."
    features, _, account = make_encoder(frame)
    assert features.attrs["dates"] == {
        "iso": "%Y-%m-%d %H:%M",
        "european": "%d.%m.%Y",
        "stamp": None,
    }
    text = "\n".join(account)
    assert "numeric (4): iso, european, stamp, year" in text
    assert (
        "of which dates (3): iso (%Y-%m-%d %H:%M), european (%d.%m.%Y), stamp" in text
    )
    assert "warning: european is dates but for 1 cell ('n.k.'), read as missing" in text
    assert "categorical (1): month" in text
    expected = (days - pd.Timestamp("1970-01-01")) / pd.Timedelta(days=1)
    np.testing.assert_allclose(features["iso"], expected)
    np.testing.assert_allclose(features["stamp"], expected)
    assert features["european"].isna().tolist() == [i == 3 for i in range(n)]
    # a datetime's time zone counts: midnight in Oslo is 23:00 UTC the day before
    oslo = pd.Series(pd.to_datetime(["1970-01-02"]).tz_localize("Europe/Oslo"))
    assert date_numbers(oslo)[0] == pytest.approx(1 - 1 / 24)
    assert date_numbers(pd.Series(["02/01/1970"]), "%d/%m/%Y")[0] == 1.0


def test_a_value_that_squeezes_a_column_is_named():
    rng = np.random.RandomState(0)
    n = 1500
    frame = pd.DataFrame(
        {
            "spend": rng.randn(n),
            "income": rng.lognormal(10, 2, n),  # heavy-tailed, but no sentinel
            "rare": (rng.rand(n) < 0.005).astype(float),  # far ones, zeros alike
        }
    )
    assert not any("warning" in line for line in make_encoder(frame)[2])
    frame.loc[7, "spend"] = 1e30  # a sentinel for "unknown"
    _, encoder, account = make_encoder(frame)
    warned = [line for line in account if line.startswith("warning")]
    assert warned == [
        "warning: spend has 1 value (1e+30; row 7) so far from the others that "
        "standardizing squeezes every other row to about one value; if they mark "
        "missing values, leave those cells empty"
    ]
    # what it warns of: the other rows all but one value once standardized
    X = encoder.fit_transform(make_encoder(frame)[0])
    assert X["numeric__spend"].drop(index=7).std() < 1e-6


def test_encoder_with_nothing_to_use():
    frame = pd.DataFrame({"id": [f"r{i}" for i in range(5)], "gap": [np.nan] * 5})
    with pytest.raises(InputError, match="No column can be used as a feature"):
        make_encoder(frame)
