"""Properties over awkward inputs: a clear refusal, or a result of the right shape.

Every input comes from ``tests/_strategies.py`` (tables of every dtype, with
NaN, infinities, constant columns and contradicting duplicates; 1-1,000
classes of strings, ints, floats, booleans or a mix) or
``tests/_csv_strategies.py`` (CSV text with quotes, line breaks, a BOM,
control characters and short rows), together with the problems put into
it. Each property then holds for every input:

- the estimator or command refuses it with an error whose message names one
  of those problems (a column, ``y``, ``NaN``, a class, the row count, ...);
- or it returns a result of the right shape: finite scores, flags in
  {-1, +1}, kept rows that are the input's rows in order, and from
  ``skogad clean`` every input row once, kept rows byte for byte.

And ``skogad clean`` reads each column as what it holds: numbers with a
few stray text cells (``?``, ``-``) as numbers, those cells missing and
named in a warning; decimal commas as the numbers that decimal points
give; Parquet decimals as their numbers; and the text of the data (column
names, labels with line breaks and terminal escapes) printed escaped, so
that it adds no line to the output.

Two tiers. ``pytest`` runs each property on a handful of small cases,
derandomized so that CI sees the same ones every run; ``pytest -m slow``
runs the same properties on about 1,200 cases of every size (up to 5,000
rows, 500 columns, 1,000 classes). The networks train for two epochs: these
tests are about shapes and refusals, not detection quality.
"""

import contextlib
import io
import re
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import Phase, event, given, note, settings
from hypothesis import strategies as st
from sklearn.base import clone
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor

from skogad import CleanTrainingSet, GradientOutlierDetector, _nets
from skogad._nets import LinearModel

pd = pytest.importorskip("pandas")

from skogad._cli.clean import clean_table  # noqa: E402  (these need pandas)
from skogad._cli.main import main  # noqa: E402
from skogad._cli.tables import (  # noqa: E402
    InputError,
    load_table,
    make_encoder,
    read_table,
    table_format,
    write_rows,
    write_table,
)
from tests import _csv_strategies as c  # noqa: E402
from tests import _strategies as s  # noqa: E402
from tests._helpers import confident_class  # noqa: E402


def tier(examples, *, shrink=True):
    return settings(
        max_examples=examples,
        deadline=None,  # a case trains a network: seconds, not milliseconds
        derandomize=True,  # the same cases on every run, in CI too
        database=None,
        phases=list(Phase) if shrink else [Phase.explicit, Phase.generate],
        print_blob=False,
    )


# The fast tier reports a failing case as found: shrinking it would take
# longer than the whole tier (the slow tier shrinks).
FAST = tier(6, shrink=False)
pytestmark = [
    # Inputs with infinities and huge values make NumPy warn as it casts them;
    # LogisticRegression(max_iter=20) stops before it converges, by design.
    pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning"),
    pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning"),
    # skogad's advice to users (how it read y, a noisy-looking fit) is no failure
    pytest.mark.filterwarnings("ignore::UserWarning:skogad"),
]


@pytest.fixture(scope="module", autouse=True)
def tiny_nets():
    """Every network built here (the default MLP, LinearModel) trains 2 epochs."""
    build_net = _nets.build_net

    def tiny(*args, **kwargs):
        return build_net(*args, **kwargs).set_params(max_epochs=2)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(_nets, "build_net", tiny)
        yield


def kinds(table):
    """Parameters for the kinds of input in ``table``: name -> (strategy, marks)."""
    return [
        pytest.param(name, marks=marks, id=name) for name, (_, marks) in table.items()
    ]


def refused_clearly(call, reasons, errors=(ValueError, TypeError)):
    """``call()``; or None where it raised ``errors`` naming one of ``reasons``.

    ``reasons`` maps each problem the input has to a regular expression that
    a message naming it matches. Any other outcome fails the property.
    """
    try:
        result = call()
    except errors as exc:
        message = str(exc)
        named = [k for k, pattern in reasons.items() if re.search(pattern, message)]
        if not named:
            raise AssertionError(
                f"refused with {type(exc).__name__}: {message!r}; that names none "
                f"of the input's problems ({sorted(reasons) or 'it has none'})"
            ) from exc
        note(f"refused, rightly: {message}")
        event(f"refused: {named[0]}")  # --hypothesis-show-statistics counts them
        return None
    event("handled")
    return result


def take(values, rows):
    """The ``rows`` of an array, list, Series or DataFrame."""
    if hasattr(values, "iloc"):
        return values.iloc[rows]
    if isinstance(values, list):
        return [values[i] for i in rows]
    return values[rows]


def same_rows(picked, whole, rows):
    """Assert that ``picked`` is ``whole``'s ``rows``: values, types, order."""
    if isinstance(whole, pd.DataFrame):
        pd.testing.assert_frame_equal(picked, whole.iloc[rows])
    elif isinstance(whole, pd.Series):
        pd.testing.assert_series_equal(picked, whole.iloc[rows])
    elif isinstance(whole, list):
        assert isinstance(picked, list)
        expected = [whole[i] for i in rows]
        assert len(picked) == len(expected)
        assert all(a is b or a == b for a, b in zip(picked, expected))
    else:
        assert picked.dtype == whole.dtype
        np.testing.assert_array_equal(picked, whole[rows])


# ------------------------------------------------- GradientOutlierDetector
DETECTOR_KINDS = {
    "numeric arrays": (lambda scale: s.cases(scale), ()),
    "data frames": (lambda scale: s.cases(scale, frame=True), ()),
    "missing numeric labels": (
        lambda scale: s.cases(scale, labels=("int", "float", "bool"), missing=True),
        (),
    ),
    "missing string labels": (
        lambda scale: s.cases(scale, labels=("str",), missing=True),
        (),
    ),
    "mixed labels": (lambda scale: s.cases(scale, labels=("mixed",)), ()),
    "extreme labels": (  # few rows per integer: taken as a quantity, to 9.2e18
        lambda scale: s.cases(scale, labels=("int", "float"), styles=("extreme",)),
        (),
    ),
    "regression targets": (
        lambda scale: s.regression_targets(scale),
        (),
    ),
}
SCORING = [  # (scorer, params, projection): what fits in memory at 1,000 classes
    ("l2", "output", None),
    ("l1", "last", None),
    ("iforest", "output", None),
    ("iforest", "last", 16),
]
detector_settings = st.fixed_dictionaries(
    {
        "net": st.sampled_from([None, LinearModel]),
        "scoring": st.sampled_from(SCORING),
        "contamination": st.sampled_from(["auto", 0.01, 0.5]),
    }
)


def check_detector(kind, data, scale):
    case = data.draw(DETECTOR_KINDS[kind][0](scale), label="case")
    chosen = data.draw(detector_settings, label="settings")
    scorer, params, projection = chosen["scoring"]
    detector = GradientOutlierDetector(
        chosen["net"],
        scorer=scorer,
        params=params,
        projection=projection,
        contamination=chosen["contamination"],
        timing="final",
        device="cpu",
        random_state=0,
    )
    X, y = case.X, case.y
    # a net of your own is trained on X as given, and huge values in it make
    # the loss overflow: skogad stops with a FloatingPointError saying so
    errors = (ValueError, TypeError, FloatingPointError)
    if refused_clearly(lambda: detector.fit(X, y), case.reasons, errors) is None:
        return
    n = len(y)
    scores = detector.score_samples(X, y)
    assert scores.shape == (n,) and np.isfinite(scores).all()
    # one net that saw every row: scored afresh, the rows score as in fit
    np.testing.assert_allclose(scores, detector.train_scores_, rtol=1e-4, atol=1e-5)
    decision = detector.decision_function(X, y)
    np.testing.assert_array_equal(decision, scores - detector.offset_)
    flags = detector.predict(X, y)
    assert flags.shape == (n,) and set(np.unique(flags)) <= {-1, 1}
    np.testing.assert_array_equal(flags, np.where(decision < 0, -1, 1))

    X_kept, y_kept = detector.fit_resample(X, y)
    kept = detector.sample_indices_
    assert np.all(np.diff(kept) > 0) and (len(kept) == 0 or 0 <= kept[0] < n)
    unflagged = detector.train_scores_ >= detector.offset_
    expected = unflagged
    if hasattr(detector, "classes_"):
        # and the flagged rows whose given label is the network's confident one
        codes = np.searchsorted(detector.classes_, np.asarray(y))
        expected = unflagged | (confident_class(detector, X, y) == codes)
    np.testing.assert_array_equal(kept, np.flatnonzero(expected))
    same_rows(X_kept, X, kept)
    same_rows(y_kept, y, kept)


@pytest.mark.parametrize("kind", kinds(DETECTOR_KINDS))
@FAST
@given(data=st.data())
def test_detector_refuses_clearly_or_scores_every_row(kind, data):
    check_detector(kind, data, s.SMALL)


@pytest.mark.slow
@pytest.mark.parametrize("kind", kinds(DETECTOR_KINDS))
@tier(70)
@given(data=st.data())
def test_detector_refuses_clearly_or_scores_every_row_at_scale(kind, data):
    check_detector(kind, data, s.FULL)


# -------------------------------------------------------- CleanTrainingSet
CLEAN_KINDS = {
    "numeric arrays": (lambda scale: s.cases(scale), ()),
    "data frames": (lambda scale: s.cases(scale, frame=True), ()),
}
CLASSIFIERS = [
    DecisionTreeClassifier(random_state=0),
    LogisticRegression(max_iter=20),  # converged or not: a real estimator
]
REGRESSORS = [DecisionTreeRegressor(random_state=0)]


def check_clean_training_set(kind, data, scale):
    case = data.draw(CLEAN_KINDS[kind][0](scale), label="case")
    X, y = case.X, case.y
    n = len(y)
    estimator = data.draw(
        st.sampled_from(REGRESSORS if case.regression else CLASSIFIERS),
        label="estimator",
    )
    contamination = data.draw(st.sampled_from(["auto", 0.05, 0.2]), label="fraction")
    weights = data.draw(st.booleans(), label="sample_weight")
    fit_params = {"sample_weight": np.linspace(0.5, 1.5, n)} if weights else {}
    detector = GradientOutlierDetector(
        contamination=contamination, timing="final", device="cpu", random_state=0
    )
    model = CleanTrainingSet(estimator, detector=detector)
    # the documented refusal: a class (or everything) flagged away
    reasons = {"rows flagged away": r"flagged", **case.reasons}
    # huge features can overflow the loss: the detector stops with a
    # FloatingPointError saying so, as in the detector's own property
    errors = (ValueError, TypeError, FloatingPointError)
    if refused_clearly(lambda: model.fit(X, y, **fit_params), reasons, errors) is None:
        return
    mask = model.inlier_mask_
    assert mask.dtype == bool and mask.shape == (n,) and mask.any()
    # the unflagged rows, and the flagged ones whose label the network confirms
    spared = model.spared_
    assert not mask[spared].any()
    np.testing.assert_array_equal(
        model.sample_indices_, np.union1d(np.flatnonzero(mask), spared)
    )
    found = model.detector_
    np.testing.assert_array_equal(mask, found.train_scores_ >= found.offset_)

    kept = model.sample_indices_
    weighted = {k: v[kept] for k, v in fit_params.items()}
    reference = clone(estimator).fit(take(X, kept), take(y, kept), **weighted)
    predicted = model.predict(X)
    assert len(predicted) == n
    np.testing.assert_array_equal(predicted, reference.predict(X))
    if hasattr(found, "classes_"):  # integer labels may be taken as a quantity
        assert np.isin(predicted, model.classes_).all()
        assert set(model.classes_.tolist()) == set(found.classes_.tolist())


@pytest.mark.parametrize("kind", kinds(CLEAN_KINDS))
@FAST
@given(data=st.data())
def test_clean_training_set_refuses_clearly_or_fits_on_the_kept_rows(kind, data):
    check_clean_training_set(kind, data, s.SMALL)


@pytest.mark.slow
@pytest.mark.parametrize("kind", kinds(CLEAN_KINDS))
@tier(100)
@given(data=st.data())
def test_clean_training_set_refuses_clearly_or_fits_on_the_kept_rows_at_scale(
    kind, data
):
    check_clean_training_set(kind, data, s.FULL)


# --------------------------------------------- skogad clean: read and write
ENCODINGS = st.sampled_from(["latin-1", "cp1252", "utf-16"])
TABLE_KINDS = {
    "canonical": (lambda scale: c.csv_texts(scale), ()),
    "other dialects": (lambda scale: c.csv_texts(scale, dialects=c.OTHER_DIALECTS), ()),
    "byte order mark": (lambda scale: c.csv_texts(scale, dialects=c.WITH_BOM), ()),
    "carriage returns in cells": (
        lambda scale: c.csv_texts(scale, carriage_returns=True),
        (),
    ),
    "separators in cells": (lambda scale: c.csv_texts(scale, separators=True), ()),
    "short rows": (lambda scale: c.csv_texts(scale, ragged="short"), ()),
    "long rows": (lambda scale: c.csv_texts(scale, ragged="long"), ()),
    "other encodings": (lambda scale: c.csv_texts(scale, encodings=ENCODINGS), ()),
}
INPUT_ERRORS = (InputError, ValueError)  # what `skogad clean` prints as one line


def check_read_write(kind, data, scale):
    text = data.draw(TABLE_KINDS[kind][0](scale), label="table")
    chosen = np.random.default_rng(data.draw(s.seeds, label="rows to write"))
    width = len(text.header)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, f"table{text.dialect.suffix}")
        path.write_bytes(text.data)
        read = refused_clearly(lambda: read_table(path), text.reasons, INPUT_ERRORS)
        if read is None:
            return
        raw, typed = read
        # every cell's text as written; a short row's missing cells empty
        rows = [cells + [""] * (width - len(cells)) for cells, _ in text.records]
        assert raw.shape == (len(rows), width) and len(typed) == len(rows)
        assert raw.to_numpy().tolist() == rows

        # the writer of `skogad clean`'s kept rows: their text, byte for byte
        positions = np.flatnonzero(chosen.random(len(rows)) < 0.7)
        written = io.BytesIO()
        write_rows(load_table(path), positions, written)
        lines = [text.records[i][1] for i in positions]
        expected = "\ufeff" * text.dialect.bom + text.lines[0] + "".join(lines)
        assert written.getvalue() == expected.encode("utf-8")

        # the writer of whole tables: every cell back
        out = Path(folder, f"out{text.dialect.suffix}")
        write_table(raw, out, table_format(out))
        # bytes, not read_text: its newline translation turns a quoted CR into LF
        again = c.parse(out.read_bytes().decode("utf-8"), text.dialect.delimiter)
    assert again == [c.parse(text.lines[0], text.dialect.delimiter)[0], *rows]


@pytest.mark.parametrize("kind", kinds(TABLE_KINDS))
@FAST
@given(data=st.data())
def test_a_table_read_and_written_back_keeps_every_cell(kind, data):
    check_read_write(kind, data, s.SMALL)


@pytest.mark.slow
@pytest.mark.parametrize("kind", kinds(TABLE_KINDS))
@tier(50)
@given(data=st.data())
def test_a_table_read_and_written_back_keeps_every_cell_at_scale(kind, data):
    check_read_write(kind, data, s.FULL)


# ------------------------------------------------ skogad clean: end to end
CLEAN_TABLE_KINDS = {
    "canonical": (lambda scale: c.tables_to_clean(scale), ()),
    "other dialects": (
        lambda scale: c.tables_to_clean(scale, dialects=c.OTHER_DIALECTS),
        (),
    ),
    "byte order mark": (
        lambda scale: c.tables_to_clean(scale, dialects=c.WITH_BOM),
        (),
    ),
    "carriage returns in cells": (
        lambda scale: c.tables_to_clean(scale, carriage_returns=True),
        (),
    ),
    "separators in cells": (
        lambda scale: c.tables_to_clean(scale, separators=True),
        (),
    ),
    "short rows": (
        lambda scale: c.tables_to_clean(scale, ragged="short"),
        (),
    ),
    "inf text": (
        lambda scale: c.tables_to_clean(scale, inf_text=True),
        (),
    ),
}
clean_options = st.fixed_dictionaries(
    {
        "model": st.sampled_from(["mlp", "linear"]),
        "contamination": st.sampled_from(["auto", 0.05, 0.5]),
        "cv": st.sampled_from([None, None, None, 2]),
    }
)


def clean_refusals(text, target, path):
    """What `clean_table` may refuse this table for, by the README's rules.

    Read by pandas as `read_table` reads it: fewer than 20 rows, missing or
    single-valued targets, no column usable as a feature (every one empty,
    or text with a different value in every row), and infinite numbers
    ("inf" or "1e400" in a numeric column).
    """
    reasons = dict(text.reasons)
    try:
        typed = pd.read_csv(path, sep=text.dialect.delimiter, encoding="utf-8")
    except (ValueError, UnicodeDecodeError, pd.errors.ParserError):
        return reasons
    if target not in typed.columns:
        reasons["target column"] = r"is not a column"
        return reasons
    y = typed[target]
    if len(typed) < 20:
        reasons["few rows"] = r"at least 20"
    if y.isna().any():
        reasons["missing target"] = r"missing"
    if y.nunique() < 2:
        reasons["one class"] = r"single value"
    features = typed.drop(columns=[target])
    if np.isinf(features.select_dtypes("number").to_numpy(dtype=float)).any():
        reasons["infinite numbers"] = r"(?i:infinite|infinity)"

    def usable(column):
        if column.isna().all():
            return False
        numeric = pd.api.types.is_numeric_dtype(column)
        return numeric or not column.nunique() == len(column) > 1

    if not any(usable(features[c]) for c in features.columns):
        reasons["no features"] = r"No column can be used"
    return reasons


def check_clean_table(kind, data, scale):
    text, target = data.draw(CLEAN_TABLE_KINDS[kind][0](scale), label="table")
    options = data.draw(clean_options, label="options")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, f"table{text.dialect.suffix}")
        path.write_bytes(text.data)
        out = Path(folder, f"kept{text.dialect.suffix}")
        report = Path(folder, "report.csv")
        printed = []
        result = refused_clearly(
            lambda: clean_table(
                path, target, out=out, report=report, echo=printed.append, **options
            ),
            clean_refusals(text, target, path),
            INPUT_ERRORS,
        )
        assert path.read_bytes() == text.data  # the input is never modified
        if result is None:
            assert sorted(p.name for p in Path(folder).iterdir()) == [path.name]
            return
        kept = out.read_bytes()
        on_disk = pd.read_csv(report, index_col="row")

    n = len(text.records)
    flagged, keep = result["flagged"], result["kept"]
    assert flagged.dtype == keep.dtype == bool and flagged.shape == keep.shape == (n,)
    assert (keep | flagged).all()  # only flagged rows may be left out
    for table in (result["report"], on_disk):  # every row once, flags as returned
        assert sorted(table.index) == list(range(n))
        np.testing.assert_array_equal(table["flagged"].sort_index(), flagged)
        np.testing.assert_array_equal(table["kept"].sort_index(), keep)
    lines = [line for (_, line), kept_row in zip(text.records, keep) if kept_row]
    expected = "\ufeff" * text.dialect.bom + text.lines[0] + "".join(lines)
    assert kept == expected.encode("utf-8")  # the kept rows, byte for byte


@pytest.mark.parametrize("kind", kinds(CLEAN_TABLE_KINDS))
@FAST
@given(data=st.data())
def test_clean_table_reports_every_row_once_and_keeps_rows_unchanged(kind, data):
    check_clean_table(kind, data, s.SMALL)


@pytest.mark.slow
@pytest.mark.parametrize("kind", kinds(CLEAN_TABLE_KINDS))
@tier(35)
@given(data=st.data())
def test_clean_table_reports_every_row_once_and_keeps_rows_unchanged_at_scale(
    kind, data
):
    check_clean_table(kind, data, s.FULL)


# ---------------------------------- skogad clean: the columns, read right
# Issue 26: each of these properties broke before its fix.


def numeric_columns(encoder):
    """The columns that `make_encoder`'s encoder takes as numbers."""
    steps = {step: names for step, _, names in encoder.transformers}
    return list(steps.get("numeric", []))


def encoded(path, target, *, leave_out=()):
    """``path`` read as `skogad clean` reads it, the target left out:
    ``(features, numeric column names, account, X)``."""
    typed = load_table(path).typed
    features, encoder, account = make_encoder(typed.drop(columns=[target, *leave_out]))
    X = encoder.fit_transform(features)
    return features, numeric_columns(encoder), account, X


def check_stray_cells(data, scale):
    strays = data.draw(c.stray_tables(scale), label="table")
    suffix = strays.text.dialect.suffix
    with tempfile.TemporaryDirectory() as folder:
        path, blank = Path(folder, f"table{suffix}"), Path(folder, f"blank{suffix}")
        path.write_bytes(strays.text.data)
        blank.write_bytes(strays.blank.data)
        features, numeric, account, _ = encoded(path, strays.target)
        # the over-share columns left out, the table encodes as the blank one
        leave_out = list(strays.over)
        _, _, _, X = encoded(path, strays.target, leave_out=leave_out)
        blank_features, _, _, blank_X = encoded(
            blank, strays.target, leave_out=leave_out
        )
    for name, rows in strays.stray.items():
        assert name in numeric, (
            f"{name!r}, numbers but for {len(rows)} cells, is read as text: {account}"
        )
        # the stray cells missing, every other cell the number it was
        np.testing.assert_array_equal(features[name], blank_features[name])
        warned = rf"^warning\b.*(?<![\w.]){re.escape(name)}(?![\w.])"
        assert any(re.search(warned, line) for line in account), (
            f"no warning names {name!r}, with {len(rows)} stray cells: {account}"
        )
    for name in strays.over:  # past the share: numbers no longer
        assert name not in numeric, f"{name!r}: {len(strays.over[name])} stray cells"
    pd.testing.assert_frame_equal(X, blank_X)


@FAST
@given(data=st.data())
def test_stray_text_in_a_column_of_numbers_reads_as_missing_with_a_warning(data):
    check_stray_cells(data, s.SMALL)


@pytest.mark.slow
@tier(40)
@given(data=st.data())
def test_stray_text_in_a_column_of_numbers_reads_as_missing_with_a_warning_at_scale(
    data,
):
    check_stray_cells(data, s.FULL)


def check_decimal_commas(data, scale):
    comma, point = data.draw(c.decimal_comma_tables(scale), label="tables")
    with tempfile.TemporaryDirectory() as folder:
        typed = {}
        for name, text in (("comma", comma), ("point", point)):
            path = Path(folder, f"{name}{text.dialect.suffix}")
            path.write_bytes(text.data)
            typed[name] = load_table(path).typed
    pd.testing.assert_frame_equal(typed["comma"], typed["point"])


@FAST
@given(data=st.data())
def test_decimal_commas_read_as_the_same_numbers_as_decimal_points(data):
    check_decimal_commas(data, s.SMALL)


@pytest.mark.slow
@tier(60)
@given(data=st.data())
def test_decimal_commas_read_as_the_same_numbers_as_decimal_points_at_scale(data):
    check_decimal_commas(data, s.FULL)


def check_decimal_parquet(data, scale):
    pq = pytest.importorskip("pyarrow.parquet")
    case = data.draw(c.decimal_parquet_tables(scale), label="tables")
    with tempfile.TemporaryDirectory() as folder:
        read = {}
        for name in ("floats", "decimals"):
            path = Path(folder, f"{name}.parquet")
            pq.write_table(getattr(case, name), path)
            read[name] = encoded(path, case.target)
    floats, _, _, _ = read["floats"]
    decimals, numeric, account, _ = read["decimals"]
    for name, places in case.scales.items():
        assert name in numeric, f"{name!r} is not read as numbers: {account}"
        # within half the decimal's last place of the float it was rounded from
        np.testing.assert_allclose(
            decimals[name].to_numpy(dtype=float),
            floats[name].to_numpy(dtype=float),
            rtol=1e-15,
            atol=0.5 * 10.0**-places,
        )


@FAST
@given(data=st.data())
def test_parquet_decimal_columns_read_as_their_numbers(data):
    check_decimal_parquet(data, s.SMALL)


@pytest.mark.slow
@tier(60)
@given(data=st.data())
def test_parquet_decimal_columns_read_as_their_numbers_at_scale(data):
    check_decimal_parquet(data, s.FULL)


# What a terminal takes for a line break, an escape or a reordering: none
# may reach the output from the data (printable's characters, and the CR,
# VT, FF, FS-RS, NEL and separators that str.splitlines also breaks at)
RAW_CONTROLS = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f"
    "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]"
)


def run_clean(text, target, folder):
    """``skogad clean`` on ``text``, in this process: (status, printed text).

    The printed text is stdout, stderr, and each warning as Python prints it
    (pytest records the warnings instead).
    """
    folder.mkdir()
    path = folder / f"table{text.dialect.suffix}"
    path.write_bytes(text.data)
    args = ["clean", str(path), "--target", target, "--report", str(folder / "r.csv")]
    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        warnings.catch_warnings(record=True) as caught,
    ):
        warnings.simplefilter("default")  # as Python shows them: once a place
        for category in (FutureWarning, DeprecationWarning):  # as pyproject's
            warnings.simplefilter("error", category)
        try:
            status = main(args)
        except SystemExit as exit:
            status = exit.code
    shown = "".join(
        warnings.formatwarning(w.message, w.category, w.filename, w.lineno)
        for w in caught
    )
    return status, out.getvalue() + err.getvalue() + shown


def check_control_names(data, scale):
    named = data.draw(c.tables_with_control_names(scale), label="table")
    with tempfile.TemporaryDirectory() as folder:
        status, printed = run_clean(named.text, named.target, Path(folder, "named"))
        note(printed)
        plain_status, plain = run_clean(
            named.plain, named.plain_target, Path(folder, "plain")
        )
    assert status == plain_status == 0, printed
    # as many lines as with plain names: none added from the data
    assert len(printed.splitlines()) == len(plain.splitlines()), printed
    assert not RAW_CONTROLS.search(printed), printed


@FAST
@given(data=st.data())
def test_control_characters_in_column_names_add_no_printed_lines(data):
    check_control_names(data, s.SMALL)


@pytest.mark.slow
@tier(50)
@given(data=st.data())
def test_control_characters_in_column_names_add_no_printed_lines_at_scale(data):
    check_control_names(data, s.FULL)
