"""The ``skogad`` command: in this process, and end to end in subprocesses.

The subprocess runs are the slow tier (``pytest -m slow``); every other case
calls ``skogad._cli.main`` in this process on a small table of its own.
"""

import contextlib
import csv
import errno
import hashlib
import io
import re
import subprocess
import sys

import numpy as np
import pytest

from skogad._cli import main

pd = pytest.importorskip("pandas")
pytest.importorskip("matplotlib")

PNG = b"\x89PNG\r\n\x1a\n"


def skogad(*args, cwd, timeout=300):
    """Run the command in a fresh interpreter, as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "skogad", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=timeout,
    )


def cli(capsys, *args):
    """Run the command in this process: its exit status, stdout and stderr.

    Data problems return 1; argparse ends --help (0) and mistakes on the
    command line (2) with SystemExit.
    """
    try:
        status = main([str(a) for a in args])
    except SystemExit as exit:
        status = exit.code
    out, err = capsys.readouterr()
    return status, out, err


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


# ------------------------------------------------------- end to end (slow)
@pytest.fixture(scope="module")
def churn(tmp_path_factory):
    """A churn table with 8% planted label errors, written by make-example."""
    folder = tmp_path_factory.mktemp("churn")
    result = skogad("make-example", "churn.csv", "--rows", 800, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert "64 planted label errors" in result.stdout
    return folder / "churn.csv"


@pytest.fixture(scope="module")
def cleaned(churn):
    """`skogad clean` run once on the churn table, as the README shows it."""
    before = digest(churn)
    result = skogad(
        "clean",
        churn.name,
        "--target",
        "churned",
        "--truth",
        "planted_error",
        "--plots",
        "plots",
        cwd=churn.parent,
    )
    assert result.returncode == 0, result.stderr
    assert digest(churn) == before  # the input is untouched
    return churn.parent, result


@pytest.mark.slow
def test_clean_writes_the_kept_rows_unchanged(churn, cleaned):
    folder, _ = cleaned
    with open(churn, newline="") as handle:
        original = list(csv.reader(handle))
    with open(folder / "churn.clean.csv", newline="") as handle:
        kept = list(csv.reader(handle))
    assert kept[0] == original[0]  # same columns
    report = pd.read_csv(folder / "churn.report.csv", index_col="row")
    flagged = set(report.index[report["flagged"]])
    dropped = set(report.index[~report["kept"]])
    assert dropped <= flagged and 0 < len(dropped) < len(original) - 1
    expected = [row for i, row in enumerate(original[1:]) if i not in dropped]
    assert kept[1:] == expected  # same values, same order


@pytest.mark.slow
def test_clean_report_puts_planted_errors_first(churn, cleaned):
    folder, result = cleaned
    data = pd.read_csv(churn)
    report = pd.read_csv(folder / "churn.report.csv", index_col="row")
    assert len(report) == len(data) and report["rank"].tolist() == list(
        range(1, len(data) + 1)
    )
    top = report.head(20)
    # 8% of rows are planted errors; at random about 2 of the top 20 would be
    assert data.loc[top.index, "planted_error"].mean() >= 0.8
    assert (top["known_bad"] == data.loc[top.index, "planted_error"]).all()
    planted = top[top["known_bad"]]
    # the suggested label undoes the flip
    assert (planted["predicted_label"] != planted["given_label"]).mean() >= 0.9
    assert (report["given_label"] == data.loc[report.index, "churned"]).all()
    assert "precision" in result.stdout and "recall" in result.stdout


@pytest.mark.slow
def test_clean_prints_the_encoding(cleaned):
    _, result = cleaned
    assert "dropped (1): customer_id" in result.stdout
    assert "categorical (2): region, plan" in result.stdout
    assert "numeric (5)" in result.stdout


@pytest.mark.slow
def test_clean_draws_the_plots(cleaned):
    folder, result = cleaned
    for name in ("scores.png", "gradients_pca.png", "trim_curve.png"):
        picture = (folder / "plots" / name).read_bytes()
        assert picture.startswith(PNG) and len(picture) > 10_000, name
        assert f"plots/{name}" in result.stdout


@pytest.mark.slow
def test_the_process_exits_with_the_status_and_message_of_main(
    bad_folder, capsys, monkeypatch
):
    args = ["clean", "ok.csv", "--target", "label"]
    result = skogad(*args, cwd=bad_folder)
    assert result.returncode == 1 and result.stderr.count("\n") == 1
    monkeypatch.chdir(bad_folder)
    assert cli(capsys, *args) == (1, result.stdout, result.stderr)


# ------------------------------------------------------------- in process
@pytest.fixture(scope="module")
def small_churn(tmp_path_factory):
    """A 200-row churn table with 16 planted errors, from make-example."""
    path = tmp_path_factory.mktemp("small") / "churn.csv"
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["make-example", str(path), "--rows", "200"]) == 0
    assert "200 rows, 16 planted label errors" in out.getvalue()
    return path


def test_clean_parquet_linear_html_quiet(small_churn, tmp_path, capsys, monkeypatch):
    pytest.importorskip("pyarrow")
    monkeypatch.chdir(tmp_path)
    table = pd.read_csv(small_churn).set_index("customer_id")
    table.to_parquet("churn.parquet")
    status, out, err = cli(
        capsys,
        "clean",
        "churn.parquet",
        "--target",
        "churned",
        "--ignore",
        "planted_error",
        "--model",
        "linear",
        "--contamination",
        "0.08",
        "--report",
        "report.html",
        "--quiet",
    )
    assert status == 0, err
    assert out == "" and err == ""
    kept = pd.read_parquet("churn.clean.parquet")
    # 8% flagged; those of them whose label the network is sure of are kept
    flagged = round(0.08 * len(table))
    assert len(table) - flagged <= len(kept) < len(table)
    pd.testing.assert_frame_equal(kept, table.loc[kept.index])
    page = (tmp_path / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>") and "customer_id" in page
    assert "LinearModel" in page


def test_clean_keeps_the_flagged_rows_whose_label_the_network_is_sure_of(tmp_path):
    from sklearn.datasets import make_classification

    from skogad._cli.clean import clean_table

    # a fourth class of copies of other classes' rows cannot be learned: all
    # its rows are flagged, yet the network is sure of some of their labels
    X, y = make_classification(
        300, 6, n_informative=4, n_classes=3, n_clusters_per_class=1, random_state=0
    )
    frame = pd.DataFrame(np.vstack([X, X[:8]]), columns=list("abcdef"))
    frame["label"] = np.concatenate([y, np.full(8, 3)])
    frame.to_csv(tmp_path / "rare.csv", index=False)
    lines = []
    result = clean_table(
        tmp_path / "rare.csv", "label", contamination=0.1, echo=lines.append
    )
    flagged, kept = result["flagged"], result["kept"]
    assert flagged[300:].all() and 0 < kept[300:].sum() < 8
    assert (kept | flagged).all()  # every row not flagged is kept
    report = result["report"].sort_index()
    np.testing.assert_array_equal(report["kept"], kept)
    original = pd.read_csv(tmp_path / "rare.csv", dtype=str)
    written = pd.read_csv(tmp_path / "rare.clean.csv", dtype=str)
    pd.testing.assert_frame_equal(written, original[kept].reset_index(drop=True))
    spared = int((flagged & kept).sum())
    said = f"kept: {kept.sum()} rows, {spared} of them flagged but kept"
    assert any(said in line for line in lines)


def test_clean_overwrites_the_input_only_when_asked(
    small_churn, tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    data = tmp_path / "data.csv"
    data.write_bytes(small_churn.read_bytes())
    args = ["clean", "data.csv", "--target", "churned", "--out", "data.csv"]
    status, _, err = cli(capsys, *args, "--ignore", "planted_error")
    assert status == 1 and "--overwrite-input" in err
    assert data.read_bytes() == small_churn.read_bytes()
    status, out, err = cli(
        capsys,
        *args,
        "--overwrite-input",
        "--report",
        "report.md",
        "--cv",
        "3",
        "--verbose",
    )
    assert status == 0, err
    assert "training" in err and "gradients" in err  # progress bars
    found = re.search(r"Flagged (\d+) of (\d+) rows \(.*\); kept: (\d+) rows", out)
    flagged, total, kept = map(int, found.groups())
    assert total == 200 and 0 < flagged < total and total - flagged <= kept < total
    assert len(pd.read_csv(data)) == kept
    markdown = (tmp_path / "report.md").read_text()
    # the header: what was done to each column, and the encoder itself
    assert "dropped (1): customer_id" in markdown and "ColumnTransformer(" in markdown
    assert "timing='out_of_fold'" in markdown
    assert "| row | score | rank | flagged | kept | given_label |" in markdown
    assert markdown.count("\n| ") == total + 1  # the column names, then each row


def test_help_reads_well(capsys):
    status, out, _ = cli(capsys, "clean", "--help")
    assert status == 0
    for text in ("--target COLUMN", "--contamination F", "--plots DIR", "exit status"):
        assert text in out
    status, out, _ = cli(capsys, "--help")
    assert status == 0
    assert all(c in out for c in ("demo", "clean", "make-example"))


def _bad_inputs(folder):
    rng = np.random.RandomState(0)
    a = rng.randn(40)
    frame = pd.DataFrame({"a": a, "b": rng.randn(40), "y": np.where(a > 0, "p", "n")})
    frame.to_csv(folder / "ok.csv", index=False)
    frame.head(10).to_csv(folder / "few.csv", index=False)
    frame.assign(y="same").to_csv(folder / "one.csv", index=False)
    frame.assign(y=frame["y"].where(frame.index != 7)).to_csv(
        folder / "gap.csv", index=False
    )
    (folder / "binary.csv").write_bytes(bytes(range(256)) * 4)
    (folder / "ragged.csv").write_text("a,y\n1,p,3,4\n")


BAD = {
    "missing target column": (
        ["ok.csv", "--target", "label"],
        1,
        "--target 'label' is not a column of the file",
    ),
    "close column name": (["ok.csv", "--target", "Y"], 1, "Did you mean 'y'?"),
    "no such file": (["nope.csv", "--target", "y"], 1, "nope.csv does not exist"),
    "unreadable file": (["binary.csv", "--target", "y"], 1, "is not UTF-8 text"),
    "ragged file": (["ragged.csv", "--target", "y"], 1, "more cells than its header"),
    "one class": (["one.csv", "--target", "y"], 1, "a single value ('same')"),
    "too few rows": (["few.csv", "--target", "y"], 1, "has 10 rows; at least 20"),
    "missing labels": (["gap.csv", "--target", "y"], 1, "missing in row 7"),
    "report is the input": (
        ["ok.csv", "--target", "y", "--report", "ok.csv"],
        1,
        "--report ok.csv is the input file",
    ),
    "unknown report type": (
        ["ok.csv", "--target", "y", "--report", "r.pdf"],
        1,
        "unknown report type '.pdf'",
    ),
    "out in another format": (
        ["ok.csv", "--target", "y", "--out", "ok.parquet"],
        1,
        "must be a CSV file like the input",
    ),
    "missing folder": (
        ["ok.csv", "--target", "y", "--out", "nowhere/ok.csv"],
        1,
        "does not exist",
    ),
    "bad truth column": (
        ["ok.csv", "--target", "y", "--truth", "a"],
        1,
        "must hold true/false",
    ),
    "no target option": (["ok.csv"], 2, "the following arguments are required"),
    "contamination out of range": (
        ["ok.csv", "--target", "y", "--contamination", "0.9"],
        2,
        "a fraction in (0, 0.5]",
    ),
    "one fold": (["ok.csv", "--target", "y", "--cv", "1"], 2, "2 or more"),
}


@pytest.fixture(scope="module")
def bad_folder(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bad")
    _bad_inputs(folder)
    return folder


@pytest.mark.parametrize("case", BAD, ids=list(BAD))
def test_bad_input_exits_with_a_message_and_writes_nothing(
    bad_folder, case, capsys, monkeypatch
):
    args, code, message = BAD[case]
    monkeypatch.chdir(bad_folder)
    before = {p.name: digest(p) for p in bad_folder.iterdir()}
    status, out, err = cli(capsys, "clean", *args)
    assert status == code, err
    assert message in err
    assert "Traceback" not in err and out == ""
    if code == 1:  # one line, no usage text: the data is wrong, not the command
        assert err.count("\n") == 1
        assert err.startswith("skogad clean: error: ")
    else:  # a mistake on the command line: argparse shows the usage
        assert err.startswith("usage: skogad clean ")
    after = {p.name: digest(p) for p in bad_folder.iterdir()}
    assert after == before  # inputs untouched, no output written


def test_make_example_refuses_to_replace_a_file(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "t.csv").write_text("keep me\n")
    status, _, err = cli(capsys, "make-example", "t.csv")
    assert status == 1 and "--force" in err
    assert (tmp_path / "t.csv").read_text() == "keep me\n"


class Terminal(io.StringIO):
    def isatty(self):
        return True


@pytest.mark.parametrize(
    ("terminal", "flags", "bars"),
    [
        (True, [], True),
        (False, [], False),
        (True, ["-q"], False),
        (False, ["-v"], True),
    ],
)
def test_progress_bars_show_in_a_terminal_only(
    tmp_path, monkeypatch, terminal, flags, bars
):
    _bad_inputs(tmp_path)
    stream = Terminal() if terminal else io.StringIO()
    monkeypatch.setattr(sys, "stderr", stream)
    args = ["clean", str(tmp_path / "ok.csv"), "--target", "y", "--ignore", "b"]
    assert main([*args, *flags]) == 0
    assert ("training" in stream.getvalue()) is bars
    assert ("gradients" in stream.getvalue()) is bars


def test_clean_table_same_seed_same_result(tmp_path):
    from skogad._cli.clean import clean_table

    _bad_inputs(tmp_path)
    runs = [
        clean_table(
            tmp_path / "ok.csv",
            "y",
            out=tmp_path / f"clean{seed}.csv",
            report=tmp_path / f"report{seed}.csv",
            seed=seed,
            echo=lambda *a: None,
        )["report"]
        for seed in (3, 3, 4)
    ]
    pd.testing.assert_frame_equal(runs[0], runs[1])
    assert not runs[0]["score"].sort_index().equals(runs[2]["score"].sort_index())


def test_clean_table_regression_target(tmp_path):
    from skogad._cli.clean import clean_table

    rng = np.random.RandomState(0)
    frame = pd.DataFrame({"a": rng.randn(200), "kind": rng.choice(["u", "v"], 200)})
    frame["price"] = 3 * frame["a"] + (frame["kind"] == "u") + 0.1 * rng.randn(200)
    frame.loc[:4, "price"] += 15  # corrupted targets
    frame.to_csv(tmp_path / "prices.csv", index=False)
    result = clean_table(
        tmp_path / "prices.csv", "price", contamination=0.05, echo=lambda *a: None
    )
    report = result["report"]
    assert {"given_target", "predicted_target", "residual"} <= set(report.columns)
    assert set(range(5)) <= set(report.index[report["flagged"]])
    assert (report["kept"] == ~report["flagged"]).all()  # a regression spares none
    kept = pd.read_csv(tmp_path / "prices.clean.csv", dtype=str)
    original = pd.read_csv(tmp_path / "prices.csv", dtype=str)
    assert len(kept) == 190 and not kept["a"].isin(original["a"][:5]).any()


def test_a_failed_write_leaves_the_file_as_it_was(tmp_path):
    from skogad._cli.outputs import Staged

    target = tmp_path / "data.csv"
    target.write_text("original\n")

    def fails_half_way(handle):
        handle.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")

    staged = Staged()
    with pytest.raises(OSError, match=r"No space left on device: .*data\.csv"):
        staged.file(target, fails_half_way, 0o644)
    staged.discard()
    assert target.read_text() == "original\n"
    assert [p.name for p in tmp_path.iterdir()] == ["data.csv"]
    staged = Staged()
    staged.file(target, lambda handle: handle.write(b"new\n"), 0o644)
    staged.commit()
    assert target.read_text() == "new\n"
