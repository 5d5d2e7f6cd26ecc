"""What ``skogad clean`` promises about the user's data and files.

The input is never modified; every row is accounted for exactly once (in the
report, and byte for byte in the kept rows unless flagged); the outputs are
all new or none is changed; nothing in a report runs. Each case runs the
command in this process on a small table of its own, with real files; the
two that need a process of their own to interrupt or kill are the slow tier
(``pytest -m slow``).
"""

import contextlib
import csv
import gzip
import io
import os
import re
import resource
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
import warnings

import numpy as np
import pytest

from skogad._cli import main
from skogad._cli.clean import clean_table
from skogad._cli.reports import report_text
from skogad._cli.tables import InputError, load_table, printable, write_rows
from tests._helpers import forged_lines, forging_table

pd = pytest.importorskip("pandas")

FORMULAS = ['=HYPERLINK("http://evil.example","open")', "@SUM(A1)\x07"]
MARKUP = ["<script>alert(1)</script>", "a|b\nc<img src=x onerror=alert(1)>"]
ROWS = 40
SKOGAD = [sys.executable, "-m", "skogad"]
TINY = ["--target", "y", "--model", "linear", "-q"]


def run(*args):
    """``main(args)`` in this process: its status, stdout and stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in args])
        except SystemExit as exit:
            status = exit.code
    return status, out.getvalue(), err.getvalue()


def records(labels, *, sep=",", newline="\r\n", seed=0):
    """A header and ROWS records of CSV text, the target first.

    Every seventh row is short (its last two cells left out), one cell holds
    a quoted line break and quotes, and the last record has no line end.
    """
    rng = np.random.RandomState(seed)
    signal_ = rng.randn(ROWS)
    rows = []
    for i in range(ROWS):
        label = labels[int(signal_[i] > 0)]
        cells = [label, f"C{i:05d}", f"{signal_[i]:.3f}", f"{rng.randn():.2f}"]
        cells += ['say "hi",\nthen go' if i == 5 else "", "x"]
        if i % 7 == 3:
            cells = cells[:4]  # a short row, as in 'no,C00006,41,48055.80'
        text = io.StringIO()
        csv.writer(text, delimiter=sep, lineterminator=newline).writerow(cells)
        rows.append(text.getvalue())
    rows[-1] = rows[-1].rstrip("\r\n")
    return rows


def write(path, header, rows):
    path.write_bytes((header + "".join(rows)).encode("utf-8"))
    return path


def flagged_rows(report_path):
    """The report's rows (positions) and whether each was flagged."""
    with open(report_path, newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    return [int(r["row"]) for r in table], {
        int(r["row"]) for r in table if r["flagged"] == "True"
    }


def leftovers(folder):
    return sorted(p.name for p in folder.rglob("*") if "skogad-partial" in p.name)


# ------------------------------------------------ a CSV with awkward rows
@pytest.fixture(scope="module")
def awkward(tmp_path_factory):
    """One run on a CSV with short rows, CRLF, quoted line breaks, formula
    labels and control characters, with symlinks planted where the
    temporary files used to go."""
    folder = tmp_path_factory.mktemp("awkward")
    header = "y,id,a,b\x1b[31m,note,extra\r\n"
    rows = records(FORMULAS)
    data = write(folder / "awkward.csv", header, rows)
    victim = folder / "victim.txt"
    victim.write_text("precious\n")
    for name in ("awkward.clean.csv", "awkward.report.csv"):
        (folder / f".{name}.skogad-partial").symlink_to(victim)
    before = data.read_bytes()
    status, out, err = run(
        "clean", data, "--target", "y", "--model", "linear", "--contamination", "0.1"
    )
    assert status == 0, err
    assert data.read_bytes() == before
    return folder, header, rows, out


def test_every_row_is_reported_once_and_kept_rows_are_byte_identical(awkward):
    folder, header, rows, _ = awkward
    reported, flagged = flagged_rows(folder / "awkward.report.csv")
    assert sorted(reported) == list(range(ROWS))
    assert len(flagged) == round(0.1 * ROWS)
    kept = "".join(row for i, row in enumerate(rows) if i not in flagged)
    # short rows unpadded, CRLF, quoting and the quoted line break as they were
    assert (folder / "awkward.clean.csv").read_bytes() == (header + kept).encode()


def test_a_symlink_at_the_old_temporary_name_is_not_followed(awkward):
    folder = awkward[0]
    assert (folder / "victim.txt").read_text() == "precious\n"
    planted = [
        ".awkward.clean.csv.skogad-partial",
        ".awkward.report.csv.skogad-partial",
    ]
    assert all((folder / name).is_symlink() for name in planted)
    assert leftovers(folder) == sorted(planted)  # and no temporary file of ours


def test_csv_report_cells_that_would_run_as_formulas_start_with_a_quote(awkward):
    folder = awkward[0]
    with open(folder / "awkward.report.csv", newline="", encoding="utf-8") as handle:
        table = list(csv.DictReader(handle))
    neutralised = {"'" + label for label in FORMULAS}
    assert {row["given_label"] for row in table} == neutralised
    assert {row["predicted_label"] for row in table} <= neutralised


@pytest.mark.parametrize(
    ("cell", "written"),
    [
        ("=1+1", "'=1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("+cmd|' /C calc'!A0", "'+cmd|' /C calc'!A0"),
        ("-2+3", "'-2+3"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("|x", "'|x"),
        ("\uff1d1+1", "'\uff1d1+1"),
        ("-1.5", "-1.5"),  # a number, not a formula
        ("plain", "plain"),
    ],
)
def test_a_csv_report_neutralises_formula_text_but_not_numbers(cell, written):
    frame = pd.DataFrame({"given_label": [cell], "score": [-1.25]})
    frame.index.name = "row"
    back = next(csv.DictReader(io.StringIO(report_text(frame, "csv"), newline="")))
    assert back["given_label"] == written and back["score"] == "-1.25"


def test_printed_column_names_and_labels_have_control_characters_escaped(awkward):
    out = awkward[3]
    assert "\x1b" not in out and "\x07" not in out
    assert "b\\x1b[31m" in out  # the column name, in the account of columns
    assert "@SUM(A1)\\x07" in out  # a label, in the most suspicious rows


def test_an_error_message_stays_one_line_with_control_characters_escaped(tmp_path):
    status, out, err = run(
        "clean", tmp_path / "no\x1b]0;pwned\x07\n.csv", "--target", "y"
    )
    assert status == 1 and out == ""
    assert err.count("\n") == 1 and "\x1b" not in err and "\x07" not in err
    assert "no\\x1b]0;pwned\\x07\\x0a.csv does not exist" in err
    assert printable("a\x9bb\u202ec\n", newlines=False) == "a\\x9bb\\u202ec\\x0a"


# ------------------------------- a private file, replaced, with plots and Markdown
@pytest.fixture(scope="module")
def private(tmp_path_factory):
    """A 0600 input replaced by its kept rows, with a Markdown report and plots."""
    folder = tmp_path_factory.mktemp("private")
    header = 'y,id,a,b,"note|<i>",extra\n'
    data = write(folder / "private.csv", header, records(MARKUP, newline="\n"))
    data.chmod(0o600)
    status, _, err = run(
        "clean",
        data,
        "--target",
        "y",
        "--model",
        "linear",
        "--out",
        data,
        "--overwrite-input",
        "--report",
        folder / "report.md",
        "--plots",
        folder / "plots",
        "-q",
    )
    assert status == 0, err
    return folder


def test_outputs_are_no_more_readable_than_a_0600_input(private):
    def mode(path):
        return stat.S_IMODE(path.stat().st_mode)

    assert mode(private / "private.csv") == 0o600  # replaced, mode kept
    assert mode(private / "report.md") == 0o600
    assert mode(private / "plots") == 0o700
    for name in ("scores.png", "gradients_pca.png"):
        assert mode(private / "plots" / name) == 0o600
    assert leftovers(private) == []


def test_markdown_report_escapes_html_and_keeps_one_line_a_row(private):
    markdown = (private / "report.md").read_text()
    # outside code (the detector and encoder), every < is escaped: no tag,
    # not even from a column name
    text = re.sub(r"```.*?```|`[^`]*`", "", markdown, flags=re.S)
    assert re.search(r"(?<!\\)<(?!br>)", text) is None
    assert "note\\|\\<i\\>" in markdown  # the column name, in the account
    assert "\\<script\\>alert(1)\\</script\\>" in markdown
    assert "a\\|b<br>c\\<img src=x onerror=alert(1)\\>" in markdown
    lines = markdown.splitlines()
    table = [line for line in lines if line.startswith("| ")]
    assert len(table) == ROWS + 1  # the column names, then one line a row
    assert all(line.count(" | ") == table[0].count(" | ") for line in table)


# ------------------------------------------------------------------ Parquet
def test_parquet_kept_rows_gain_no_index_and_regression_task_is_used(tmp_path):
    pq = pytest.importorskip("pyarrow.parquet")
    rng = np.random.RandomState(0)
    a = rng.randn(60)
    frame = pd.DataFrame({"a": a, "b": rng.randn(60)})
    frame["count"] = np.clip(np.round(2 * a + 3), 0, 6).astype(int)  # few values
    frame.to_parquet(tmp_path / "t.parquet")
    status, _, err = run(
        "clean",
        tmp_path / "t.parquet",
        "--target",
        "count",
        "--task",
        "regression",
        "--model",
        "linear",
        "-q",
    )
    assert status == 0, err
    kept = pq.read_table(tmp_path / "t.clean.parquet")
    assert kept.schema.names == ["a", "b", "count"]  # no __index_level_0__
    report = pd.read_csv(tmp_path / "t.report.csv", index_col="row")
    assert sorted(report.index) == list(range(60))  # positions
    assert "given_target" in report.columns  # --task regression reached the net
    assert len(kept) == 60 - report["flagged"].sum()


def test_a_stored_parquet_index_is_kept_and_report_rows_are_positions(tmp_path):
    pytest.importorskip("pyarrow")
    rng = np.random.RandomState(1)
    a = rng.randn(40)
    frame = pd.DataFrame(
        {"a": a, "b": rng.randn(40), "y": np.where(a > 0, "p", "n")},
        index=pd.Index([f"r{i:03d}" for i in range(40)][::-1], name="id"),
    )
    frame.to_parquet(tmp_path / "t.parquet")
    status, _, err = run(
        "clean", tmp_path / "t.parquet", "--target", "y", "--model", "linear", "-q"
    )
    assert status == 0, err
    report = pd.read_csv(tmp_path / "t.report.csv", index_col="row")
    assert sorted(report.index) == list(range(40))
    assert (report["id"] == frame.index[report.index]).all()  # the label, beside
    kept = pd.read_parquet(tmp_path / "t.clean.parquet")
    expected = frame[~frame.index.isin(report.loc[report["flagged"], "id"])]
    pd.testing.assert_frame_equal(kept, expected)


# --------------------------------------------- compressed files, separators
@pytest.mark.parametrize(
    "suffix", [".csv.gz", ".csv.bz2", ".csv.xz", ".csv.zip", ".tsv.gz"]
)
def test_compressed_tables_are_read_and_written_compressed_the_same_way(
    tmp_path, suffix
):
    sep = "\t" if ".tsv" in suffix else ","
    header = sep.join(["y", "id", "a", "b", "note", "extra"]) + "\n"
    rows = records(["p", "n"], sep=sep, newline="\n")
    plain = write(tmp_path / f"plain{suffix.split('.')[1]}", header, rows)
    path = tmp_path / f"t{suffix}"
    frame = pd.read_csv(plain, sep=sep, dtype=str, keep_default_na=False)
    method = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}
    method = method["." + suffix.rsplit(".", 1)[1]]
    # compressed by pandas: its own archive layout, read here by ours
    frame.to_csv(path, sep=sep, index=False, compression=method)
    table = load_table(path)
    assert table.sep == sep and len(table.typed) == ROWS
    out = tmp_path / f"t.clean{suffix}"
    with open(out, "wb") as handle:
        write_rows(table, [0, 3, 39], handle, method, "t.clean" + suffix[:4])
    back = pd.read_csv(out, sep=sep, dtype=str, keep_default_na=False)
    pd.testing.assert_frame_equal(back, frame.iloc[[0, 3, 39]].reset_index(drop=True))
    assert load_table(out).records == [table.records[i] for i in (0, 3, 39)]


@pytest.mark.parametrize("sep", [",", ";", "\t", "|"])
def test_the_separator_of_a_csv_file_is_found(tmp_path, sep):
    header = sep.join(["y", "id", "a", "b", "note", "extra"]) + "\n"
    # decimal commas: a comma is in every row of a semicolon file, too
    rows = [
        row.replace(".", ",") if sep == ";" else row
        for row in records(["p", "n"], sep=sep, newline="\n")
    ]
    table = load_table(write(tmp_path / "t.csv", header, rows))
    assert table.sep == sep
    assert list(table.raw.columns) == ["y", "id", "a", "b", "note", "extra"]


def test_sep_overrides_the_guess(tmp_path):
    path = write(tmp_path / "t.txt", "y#a,b\n", ["p#1,5\n", "n#2,5\n"])
    assert load_table(path).sep == ","
    assert list(load_table(path, sep="#").raw.columns) == ["y", "a,b"]
    status, _, err = run("clean", path, "--target", "y", "--sep", "ab")
    assert status == 2 and "must be one character" in err


def test_a_compressed_semicolon_file_says_its_separator_and_keeps_its_suffix(
    tmp_path,
):
    header = "y;id;a;b;note;extra\n"
    rows = records(["p", "n"], sep=";", newline="\n")
    data = tmp_path / "t.csv.gz"
    data.write_bytes(gzip.compress((header + "".join(rows)).encode()))
    (tmp_path / "plots").mkdir()
    (tmp_path / "plots" / "scores.png").write_bytes(b"previous plot")
    (tmp_path / "plots" / "mine.txt").write_text("not ours\n")
    plots = ["--plots", tmp_path / "plots"]
    status, out, err = run("clean", data, "--target", "y", "--model", "linear", *plots)
    assert status == 0, err
    # an existing plots folder: our plots replaced, the rest left alone
    assert (tmp_path / "plots" / "scores.png").read_bytes().startswith(b"\x89PNG")
    assert (tmp_path / "plots" / "mine.txt").read_text() == "not ours\n"
    assert leftovers(tmp_path) == []
    assert f"Read {ROWS} rows and 6 columns from {data} (semicolon-separated)." in out
    assert not (tmp_path / "t.clean.csv").exists()
    _, flagged = flagged_rows(tmp_path / "t.report.csv")
    kept = "".join(row for i, row in enumerate(rows) if i not in flagged)
    clean = gzip.decompress((tmp_path / "t.clean.csv.gz").read_bytes())
    assert clean == (header + kept).encode()


def test_an_empty_file_is_refused_before_torch_is_imported(tmp_path):
    (tmp_path / "empty.csv").write_bytes(b"")
    code = textwrap.dedent(
        """
        import sys
        from skogad._cli import main
        status = main(["clean", "empty.csv", "--target", "y"])
        print(status, "torch" in sys.modules)
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        timeout=120,
    )
    assert result.stdout.split() == ["1", "False"], result.stderr
    assert "empty.csv is empty" in result.stderr


# ---------------------------------------- checks before work, data problems
def _planted(folder):
    rng = np.random.RandomState(0)
    a = rng.randn(ROWS)
    pd.DataFrame({"a": a, "b": rng.randn(ROWS), "y": np.where(a > 0, "p", "n")}).to_csv(
        folder / "ok.csv", index=False
    )
    (folder / "ok.clean.csv").write_text("previous kept rows\n")
    (folder / "ok.report.csv").write_text("previous report\n")
    (folder / "notes.txt").write_text("not a folder\n")
    (folder / "r.csv").mkdir()
    (folder / "plots" / "scores.png").mkdir(parents=True)


BAD_OUTPUTS = {
    "report names a folder": (["--report", "r.csv"], "--report r.csv is a folder"),
    "out names a folder": (["--out", "r.csv"], "--out r.csv is a folder"),
    "out through a missing folder": (
        ["--out", "sub/../x.csv"],
        "--out sub/../x.csv: sub does not exist",
    ),
    "plots names a file": (["--plots", "notes.txt"], "is a file; name a folder"),
    "plots clash with a folder": (
        ["--plots", "plots"],
        "plots/scores.png is a folder",
    ),
    "plots in a missing folder": (
        ["--plots", "gone/plots"],
        "--plots gone/plots: gone does not exist",
    ),
}


@pytest.mark.parametrize("case", BAD_OUTPUTS, ids=list(BAD_OUTPUTS))
def test_a_bad_output_path_fails_before_reading_and_changes_nothing(
    tmp_path, monkeypatch, case
):
    args, message = BAD_OUTPUTS[case]
    _planted(tmp_path)
    monkeypatch.chdir(tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    status, out, err = run("clean", "ok.csv", "--target", "y", *args)
    assert status == 1 and message in err, err
    assert out == ""  # not even the 'Read N rows' line: nothing was read
    assert {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()} == before


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes anywhere")
def test_an_unwritable_plots_folder_fails_before_reading(tmp_path, monkeypatch):
    _planted(tmp_path)
    (tmp_path / "locked").mkdir(mode=0o500)
    monkeypatch.chdir(tmp_path)
    status, out, err = run("clean", "ok.csv", "--target", "y", "--plots", "locked")
    assert status == 1 and "locked is not writable" in err and out == ""


def test_a_failure_while_writing_the_second_output_leaves_the_first_unchanged(
    tmp_path,
):
    import skogad._detector  # noqa: F401  (loaded before the file size limit)

    _planted(tmp_path)
    frame = pd.read_csv(tmp_path / "ok.csv")
    # a wide text column (an identifier, not a feature) makes the kept rows
    # far longer than the report, which is staged first and fits the limit
    frame["blob"] = [f"{i:04d}" + "x" * 20_000 for i in range(ROWS)]
    frame.to_csv(tmp_path / "ok.csv", index=False)
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    limits = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (200_000, limits[1]))
    try:
        with pytest.raises(InputError, match=r"ok\.clean\.csv.*no output was changed"):
            clean_table(tmp_path / "ok.csv", "y", model="linear", echo=lambda *a: None)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, limits)
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir() if p.is_file()}
    assert after == before and leftovers(tmp_path) == []


def test_an_infinite_value_is_named_with_its_column_and_rows(tmp_path):
    _planted(tmp_path)
    frame = pd.read_csv(tmp_path / "ok.csv", dtype=str)
    frame.loc[[3, 7], "b"] = ["inf", "-inf"]
    frame.to_csv(tmp_path / "ok.csv", index=False)
    status, out, err = run("clean", tmp_path / "ok.csv", "--target", "y")
    assert status == 1 and out == ""
    assert "Column 'b' holds an infinite value (inf) in rows 3, 7" in err


def test_truth_naming_the_target_is_a_command_line_mistake(tmp_path):
    _planted(tmp_path)
    status, _, err = run("clean", tmp_path / "ok.csv", "--target", "y", "--truth", "y")
    assert status == 2 and "name the same column 'y'" in err
    with pytest.raises(InputError, match="name the same column"):
        clean_table(tmp_path / "ok.csv", "y", truth="y")


# -------------------------------------------------- interrupted, killed (slow)
def _churn(folder, rows):
    from skogad.datasets import make_churn_table

    make_churn_table(rows, random_state=0).to_csv(folder / "churn.csv", index=False)
    return folder / "churn.csv"


@pytest.mark.slow
def test_ctrl_c_during_training_exits_130_and_writes_nothing(tmp_path):
    data = _churn(tmp_path, 30_000)
    (tmp_path / "churn.report.csv").write_text("previous report\n")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    child = subprocess.Popen(
        [*SKOGAD, "clean", data.name, "--target", "churned", "--verbose"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        # a job started in the background of a non-interactive shell inherits
        # SIGINT ignored, and Python then never raises KeyboardInterrupt
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    err = bytearray()

    def read_stderr():
        for chunk in iter(lambda: child.stderr.read1(4096), b""):
            err.extend(chunk)

    reader = threading.Thread(target=read_stderr)
    reader.start()
    deadline = time.monotonic() + 240
    while b"training" not in err and child.poll() is None:
        assert time.monotonic() < deadline, "training did not start"
        time.sleep(0.02)
    # the default net trains 30,000 rows for at least 6 epochs (patience 5),
    # about 0.3 s on a quiet 2-core machine: interrupt well inside them
    time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    child.wait(timeout=120)
    reader.join()
    out = child.stdout.read()
    assert child.returncode == 130, (out, err.decode()[-2000:])
    assert err.decode().endswith("skogad clean: interrupted; nothing was written\n")
    assert b"Traceback" not in err
    after = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    assert after == before


def _clean_with_hook(script, folder):
    """``skogad clean ok.csv`` on the tiny table, in a child running ``script``."""
    return subprocess.run(
        [sys.executable, "-c", script, "clean", "ok.csv", *TINY],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=300,
        # SIGINT as a terminal leaves it: a job started in the background of a
        # non-interactive shell (CI) inherits it ignored
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )


TERMINATE_WHILE_WRITING = """
import os, signal, sys
from skogad._cli import main

def hook(event, args):
    # SIGTERM as the first temporary output file is made, as `timeout` or
    # `docker stop` would send it while the outputs are being written
    path = args[0] if event == "open" else None
    if isinstance(path, (str, bytes)) and "skogad-partial" in os.fsdecode(path):
        if not getattr(hook, "sent", False):
            hook.sent = True
            os.kill(os.getpid(), signal.SIGTERM)

sys.addaudithook(hook)
sys.exit(main(sys.argv[1:]))
"""


def test_sigterm_while_writing_exits_143_and_leaves_nothing(tmp_path):
    _planted(tmp_path)
    (tmp_path / "ok.report.csv").write_text("previous report\n")
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = _clean_with_hook(TERMINATE_WHILE_WRITING, tmp_path)
    assert result.returncode == 143, result.stderr
    assert result.stderr.endswith("skogad clean: terminated; nothing was written\n")
    assert "Traceback" not in result.stderr
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before  # no debris, nothing replaced


INTERRUPT_AT_IMPORT = """
import os, signal, sys
from skogad._cli import main

imports = 0

def hook(event, args):
    # Ctrl-C at the N-th module import after the command starts: early, while
    # the arguments are parsed and the libraries load
    global imports
    if event == "import":
        imports += 1
        if imports == int(os.environ["INTERRUPT_AT"]):
            os.kill(os.getpid(), signal.SIGINT)

sys.addaudithook(hook)
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.parametrize("at", [1, 4, 30])
def test_ctrl_c_in_the_first_second_exits_130_without_a_traceback(
    tmp_path, monkeypatch, at
):
    _planted(tmp_path)
    monkeypatch.setenv("INTERRUPT_AT", str(at))
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    result = _clean_with_hook(INTERRUPT_AT_IMPORT, tmp_path)
    assert result.returncode == 130, result.stderr
    # before the arguments are parsed, the message cannot name the command
    assert re.fullmatch(
        r"skogad( clean)?: interrupted; nothing was written\n", result.stderr
    )
    after = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()}
    assert after == before


def test_parsing_the_arguments_loads_no_heavy_library():
    # a mistake on the command line exits 2 at once, before any of these load
    script = (
        "import sys; from skogad._cli.main import _parser; "
        "_parser().parse_args(['clean', 'x.csv', '--target', 'y']); "
        "print(sorted(m for m in ('numpy', 'pandas', 'sklearn', 'torch') "
        "if m in sys.modules))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60
    )
    assert result.stdout.strip() == "[]", result.stderr


KILL_AT_SECOND_RENAME = """
import os, signal, sys
from skogad._cli import main

renames = []

def hook(event, args):
    if event == "os.rename" and "skogad-partial" in os.fspath(args[0]):
        renames.append(os.fspath(args[1]))
        if len(renames) == 2:  # after one output is in place, before the next
            os.kill(os.getpid(), signal.SIGKILL)

sys.addaudithook(hook)
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_a_kill_between_two_renames_leaves_no_new_kept_rows_beside_an_old_report(
    tmp_path,
):
    _planted(tmp_path)
    result = _clean_with_hook(KILL_AT_SECOND_RENAME, tmp_path)
    assert result.returncode == -signal.SIGKILL, result.stderr
    # one output is in place: the report, never the kept rows alone
    assert (tmp_path / "ok.clean.csv").read_text() == "previous kept rows\n"
    assert (tmp_path / "ok.report.csv").read_text().startswith("row,score,rank")


# ------------------------------------------------ text that would forge lines
@pytest.mark.parametrize("fmt", ["csv", "parquet"])
def test_text_from_the_data_cannot_add_lines_to_the_output(tmp_path, fmt):
    frame = forging_table()
    data = tmp_path / f"t.{fmt}"
    if fmt == "csv":
        frame.to_csv(data, index=False)
    else:
        frame.to_parquet(data)  # the index stored, and printed with the rows
    status, out, err = run(
        "clean", data, "--target", "y", "--model", "linear", "--contamination", "0.1"
    )
    assert status == 0, err
    assert forged_lines(out) == [] and forged_lines(err) == []
    assert "age\\x0aFlagged 0 of 1500" in out  # the column, in the account
    assert "yes\\x0aFlagged 0 of 1500" in out  # a label, in the suspicious rows


# ------------------------------------------------ numbers pandas reads as text
def _numbers_table(n=400):
    from sklearn.datasets import make_classification

    X, y = make_classification(n, 4, n_informative=3, n_redundant=1, random_state=3)
    flip = np.random.RandomState(3).rand(n) < 0.1
    frame = pd.DataFrame(X.round(2), columns=["a", "b", "c", "d"])
    frame["y"] = np.where(flip, 1 - y, y)
    return frame


def _flags(path, lines=None):
    echo = (lambda *a: None) if lines is None else lines.append
    result = clean_table(path, "y", model="linear", echo=echo)
    return set(np.flatnonzero(result["flagged"]))


def test_a_few_stray_cells_in_a_numeric_column_are_read_as_missing(tmp_path):
    frame = _numbers_table()
    frame.to_csv(tmp_path / "clean.csv", index=False)
    stray = frame.astype({"a": object, "c": object})
    stray.loc[[3, 50], "a"] = "?"
    stray.loc[7, "c"] = "n/a "
    stray.to_csv(tmp_path / "stray.csv", index=False)
    lines = []
    expected, got = (
        _flags(tmp_path / "clean.csv"),
        _flags(tmp_path / "stray.csv", lines),
    )
    assert len(expected & got) / len(expected | got) > 0.8  # was near chance
    printed = "\n".join(lines)
    assert "numeric (4): a, b, c, d" in printed
    assert (
        "warning: a is numeric but for 2 cells ('?', '?'), read as missing" in printed
    )
    assert "warning: c is numeric but for 1 cell ('n/a '), read as missing" in printed
    # past MAX_STRAY (5% of the cells), a column is text
    many = frame.astype({"a": object})
    many.loc[::10, "a"] = "?"
    many.to_csv(tmp_path / "many.csv", index=False)
    lines = []
    _flags(tmp_path / "many.csv", lines)
    assert "categorical (1): a" in "\n".join(lines)


def test_decimal_parquet_columns_are_numbers(tmp_path):
    import decimal

    pa = pytest.importorskip("pyarrow")
    import pyarrow.parquet as pq

    frame = _numbers_table()
    frame.to_parquet(tmp_path / "float.parquet")
    arrow = pa.Table.from_pandas(frame, preserve_index=False)
    for name in ["a", "b", "c", "d"]:
        cells = [decimal.Decimal(f"{v:.2f}") for v in frame[name]]
        column = pa.array(cells, pa.decimal128(12, 2))
        arrow = arrow.set_column(arrow.schema.get_field_index(name), name, column)
    pq.write_table(arrow, tmp_path / "decimal.parquet")
    lines = []
    assert _flags(tmp_path / "decimal.parquet", lines) == _flags(
        tmp_path / "float.parquet"
    )
    assert "numeric (4): a, b, c, d" in "\n".join(lines)


def test_decimal_commas_are_read_as_numbers(tmp_path):
    frame = _numbers_table()
    frame.to_csv(tmp_path / "point.csv", index=False)
    # as European spreadsheets export it
    frame.to_csv(tmp_path / "comma.csv", sep=";", decimal=",", index=False)
    lines = []
    assert _flags(tmp_path / "comma.csv", lines) == _flags(tmp_path / "point.csv")
    printed = "\n".join(lines)
    assert "(semicolon-separated, decimal commas)" in printed
    assert "numeric (4): a, b, c, d" in printed
    # told otherwise, the command reads what it is told
    told = clean_table(
        tmp_path / "comma.csv", "y", model="linear", decimal=".", echo=lines.append
    )
    assert told["flagged"].any() and "categorical (4): a, b, c, d" in "\n".join(lines)
    status, _, err = run(
        "clean", tmp_path / "comma.csv", "--target", "y", "--decimal", "x"
    )
    assert status == 2 and "must be a point or a comma" in err


def test_the_dask_engine_reads_decimal_commas_when_told(tmp_path):
    from skogad._cli.partitioned import read_frame, text_partitions

    frame = _numbers_table(30)
    frame.to_csv(tmp_path / "comma.csv", sep=";", decimal=",", index=False)
    (part,) = text_partitions([tmp_path / "comma.csv"], "csv", ";", ",")
    pd.testing.assert_frame_equal(read_frame(part), frame)
    with pytest.raises(InputError, match="also the separator"):
        text_partitions([tmp_path / "comma.csv"], "csv", ",", ",")


def test_a_decompression_bomb_is_refused_before_it_takes_the_memory(
    tmp_path, monkeypatch
):
    from skogad._cli import tables

    monkeypatch.setattr(tables, "FLOOR_BYTES", 2**20)  # 1 MB, to keep the test small
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb") as handle:
        handle.write(b"y,a\n")
        for _ in range(16):  # 16 MB of text in about 16 kB
            handle.write(b"1,0\n" * 2**18)
    assert bomb.stat().st_size < 2**16
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    status, out, err = run("clean", bomb, "--target", "y")
    assert status == 1 and "expands to more than 1 MB" in err
    assert "--max-expansion" in err and out == ""
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - peak < 2**16  # KB
    # an ordinary table passes; the factor is the user's to set
    monkeypatch.setattr(tables, "FLOOR_BYTES", 1024)
    table = tmp_path / "table.csv.gz"
    with gzip.open(table, "wt") as handle:
        _numbers_table().to_csv(handle, index=False)
    args = ("clean", table, "--target", "y", "--model", "linear", "-q")
    assert run(*args)[0] == 0
    status, _, err = run(*args, "--max-expansion", "1")
    assert status == 1 and "over 1 times its size on disk" in err
    status, _, err = run("clean", bomb, "--target", "y", "--max-expansion", "0")
    assert status == 2 and "must be a whole number of 1 or more" in err


def test_an_output_that_the_sticky_bit_protects_fails_before_any_work(
    tmp_path, monkeypatch
):
    from skogad._cli import outputs

    shared = tmp_path / "shared"
    shared.mkdir()
    shared.chmod(0o1777)  # as /tmp
    _numbers_table().to_csv(shared / "t.csv", index=False)
    kept, report = shared / "kept.csv", shared / "report.csv"
    report.write_bytes(b"old report\n")  # another user's, as far as the run knows
    # the run as a user who owns neither the folder nor the old report
    monkeypatch.setattr(outputs, "_user", lambda: os.stat(shared).st_uid + 4242)
    args = ("clean", shared / "t.csv", "--target", "y", "--model", "linear")
    status, out, err = run(*args, "--out", kept, "--report", report)
    assert status == 1 and f"--report {report} belongs to another user" in err
    assert out == ""  # nothing read
    assert report.read_bytes() == b"old report\n" and not kept.exists()
    # the folder's owner (or root) may replace it
    monkeypatch.setattr(outputs, "_user", lambda: os.stat(shared).st_uid)
    assert run(*args, "--out", kept, "--report", report, "-q")[0] == 0


def test_excel_separator_line_long_fields_and_a_bad_seed(tmp_path):
    frame = _numbers_table(200)
    frame["note"] = "x"
    frame.loc[3, "note"] = "y" * 200_000  # past the csv module's default limit
    text = frame.to_csv(sep=";", index=False, lineterminator="\r\n")
    data = tmp_path / "excel.csv"
    data.write_text("sep=;\r\n" + text, newline="")
    lines = []
    result = clean_table(data, "y", model="linear", echo=lines.append)
    assert "(semicolon-separated)" in lines[0] and "numeric (4): a, b, c, d" in lines[1]
    assert len(result["flagged"]) == 200
    kept = (tmp_path / "excel.clean.csv").read_bytes()
    assert kept.startswith(b"sep=;\r\na;b;c;d;y;note\r\n")  # written back as it was
    status, _, err = run("clean", data, "--target", "y", "--seed", "-1")
    assert status == 2 and "--seed: must be a whole number from 0 to" in err


# ------------------------------------------- mistakes told in the command's words
def test_too_many_folds_and_task_mistakes_are_told_in_the_commands_words(tmp_path):
    data = tmp_path / "t.csv"
    frame = _numbers_table(300)
    frame["code"] = np.arange(300) % 190  # whole numbers that look like a quantity
    frame["word"] = np.where(frame["y"] == 1, "yes", "no")
    frame.to_csv(data, index=False)
    status, _, err = run("clean", data, "--target", "y", "--cv", "400")
    assert status == 1 and "--cv 400" in err and "at most 300" in err
    assert "n_splits" not in err
    status, _, err = run("clean", data, "--target", "word", "--task", "regression")
    assert status == 1 and "--task regression needs numeric targets" in err
    assert "task=" not in err and "the target 'word'" in err
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no library warning escapes the command
        status, out, err = run("clean", data, "--target", "code", "--model", "linear")
    assert status == 0, err
    assert "warning: --task auto reads the target 'code' as a quantity" in out
    assert "--task classification" in out and "task=" not in out + err


def test_parquet_list_and_struct_columns_are_dropped_and_said(tmp_path):
    frame = _numbers_table(200)
    frame["tags"] = [[i, i + 1] for i in range(200)]
    frame["info"] = [{"k": i % 3, "v": "x"} for i in range(200)]
    data = tmp_path / "t.parquet"
    frame.to_parquet(data)
    lines = []
    result = clean_table(data, "y", model="linear", echo=lines.append)
    assert "  dropped (2): tags, info -> lists or records" in "\n".join(lines)
    assert len(result["flagged"]) == 200
    status, _, err = run("clean", data, "--target", "tags")
    assert status == 1 and "The target 'tags' holds lists or records" in err


def test_a_rerun_says_which_outputs_it_replaced(tmp_path):
    data = tmp_path / "t.csv"
    _numbers_table(200).to_csv(data, index=False)
    args = ("clean", data, "--target", "y", "--model", "linear")
    status, first, _ = run(*args)
    assert status == 0 and "replaced" not in first
    assert f"Wrote {tmp_path / 't.clean.csv'}\n" in first
    status, second, _ = run(*args, "--plots", tmp_path / "plots")
    assert status == 0
    assert f"Wrote {tmp_path / 't.clean.csv'} (replaced the previous file)" in second
    assert f"Wrote {tmp_path / 't.report.csv'} (replaced the previous file)" in second
    assert f"Wrote {tmp_path / 'plots' / 'scores.png'}\n" in second  # new


def test_two_runs_never_write_the_same_outputs_at_once(tmp_path):
    from skogad._cli.outputs import output_locks

    data = tmp_path / "t.csv"
    _numbers_table(200).to_csv(data, index=False)
    kept = tmp_path / "t.clean.csv"
    kept.write_text("the other run's kept rows\n")
    args = ("clean", data, "--target", "y", "--model", "linear", "-q")
    with output_locks([("--out", kept)]):  # as a run writing there now holds it
        status, out, err = run(*args)
    assert status == 1, err
    assert f"--out {kept} is being written by another run of skogad clean" in err
    assert out == "" and kept.read_text() == "the other run's kept rows\n"
    assert not (tmp_path / "t.report.csv").exists()
    # a lock file a killed run left is free: taken over, and removed
    (tmp_path / ".t.clean.csv.skogad-lock").touch()
    assert run(*args)[0] == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "t.clean.csv",
        "t.csv",
        "t.report.csv",
    ]
