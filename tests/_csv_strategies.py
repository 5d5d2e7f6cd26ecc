"""Hypothesis strategies for CSV text: for `skogad clean`'s reader and writer.

Tables of any cells (quotes, line breaks, control characters, a BOM, short
and long rows, other dialects and encodings), and tables for ``skogad clean``
with features of every kind and a target column. Each `Text` knows its
cells, the exact text of each line, and what it may be refused for.

And tables whose columns a naive reader gets wrong: numbers with stray
text cells, decimal commas, Parquet decimals, and column names and labels
with line breaks and terminal escapes.
"""

import csv
import io
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd
from hypothesis import strategies as st

from tests._strategies import (
    AWKWARD_STRINGS,
    classes,
    duplicate_rows,
    seeds,
    sizes,
    some_rows,
)

# -------------------------------------------------------------------- CSV
# Characters that break naive CSV handling. Kept apart, each for a property
# case of its own: "\r" (see `cell_texts`) and the other separators a CSV
# file may be sniffed for (SEPARATOR_CHARS).
AWKWARD_CHARS = (
    *"ab ,\"'\n#=-.0é",
    *(chr(c) for c in range(32) if chr(c) not in "\r\n\t"),
    "\x7f",
    "\x85",
    "\xa0",
    "\u2028",
    "\ufeff",
    "😀",
)
SEPARATOR_CHARS = (";", "\t", "|")
NUMBER_TEXTS = ("0", "007", "-0", "1.50", "1e5", "1e400", "-1E-3", " 2 ", "0x1F")
NA_TEXTS = ("", "NA", "nan", "null", "N/A", "None", "<NA>", "#N/A")
INF_TEXTS = ("inf", "-inf", "Infinity", "-Infinity", "INF")


def cell_texts(*, carriage_returns=False, separators=False):
    """One cell's text: anything a spreadsheet might hold."""
    chars = AWKWARD_CHARS + ("\r",) * carriage_returns
    words = (*NUMBER_TEXTS, *NA_TEXTS, *AWKWARD_STRINGS)
    excluded = "\r" + "".join(SEPARATOR_CHARS)
    if separators:
        chars += SEPARATOR_CHARS * 3
        words += ("a;b", "1|2", "x\ty", "2;5", "3,5")
        excluded = "\r"
    return st.one_of(
        st.text(st.sampled_from(chars), max_size=8),
        st.sampled_from(words),
        st.text(st.characters(codec="utf-8", exclude_characters=excluded), max_size=6),
    )


@dataclass(frozen=True)
class Dialect:
    """How a table is written: the CSV module's knobs, a BOM, the suffix."""

    suffix: str = ".csv"
    lineterminator: str = "\n"
    quoting: int = csv.QUOTE_MINIMAL
    bom: bool = False
    final_newline: bool = True
    sep: str | None = None  # another separator than the suffix's

    @property
    def delimiter(self):
        if self.sep is not None:
            return self.sep
        return "\t" if self.suffix == ".tsv" else ","

    def line(self, record):
        """One record as text, terminator included.

        Minimal quoting is RFC 4180's: a cell is quoted where it holds the
        delimiter, a quote or a line break, "\\r" included (which Python's
        csv module leaves bare unless the line terminator has one).
        """
        if self.quoting != csv.QUOTE_MINIMAL:
            out = io.StringIO()
            writer = csv.writer(
                out,
                delimiter=self.delimiter,
                lineterminator=self.lineterminator,
                quoting=self.quoting,
            )
            writer.writerow(record)
            return out.getvalue()
        special = (self.delimiter, '"', "\n", "\r")

        def cell(text):
            if any(c in text for c in special):
                return '"' + text.replace('"', '""') + '"'
            return text

        line = '""' if record == [""] else self.delimiter.join(map(cell, record))
        return line + self.lineterminator


CANONICAL = st.builds(Dialect, suffix=st.sampled_from([".csv", ".tsv", ".txt"]))
WITH_BOM = st.builds(
    Dialect, suffix=st.sampled_from([".csv", ".tsv"]), bom=st.just(True)
)
OTHER_DIALECTS = st.builds(
    Dialect,
    suffix=st.sampled_from([".csv", ".tsv"]),
    lineterminator=st.sampled_from(["\r\n", "\n"]),
    quoting=st.sampled_from([csv.QUOTE_ALL, csv.QUOTE_NONNUMERIC, csv.QUOTE_MINIMAL]),
    final_newline=st.booleans(),
).filter(lambda d: d != Dialect(d.suffix))


def _blank(line, delimiter):
    """A line of nothing but spaces (and tabs, where they do not separate
    cells) is no record: pandas' rule, which `skogad clean` follows."""
    return not line.rstrip("\r\n").strip(" \t".replace(delimiter, ""))


@dataclass
class Text:
    """A table as CSV text: its cells, its lines, what it may be refused for.

    ``lines`` are the header's and each row's text, line end included; the
    file is their concatenation (after a BOM, less the last line end where
    the dialect says so).
    """

    header: list
    rows: list
    dialect: Dialect
    encoding: str = "utf-8"
    reasons: dict = field(default_factory=dict)

    def __post_init__(self):
        self.lines = [self.dialect.line(r) for r in [self.header, *self.rows]]
        if not self.dialect.final_newline:
            last = self.lines[-1]
            self.lines[-1] = last[: -len(self.dialect.lineterminator)]
        self.text = "\ufeff" * self.dialect.bom + "".join(self.lines)

    @property
    def data(self):
        return self.text.encode(self.encoding, errors="replace")

    @cached_property
    def records(self):
        """``(cells, line)`` of each data row; blank lines are none."""
        sep = self.dialect.delimiter
        return [(r, x) for r, x in zip(self.rows, self.lines[1:]) if not _blank(x, sep)]

    def __repr__(self):
        return (
            f"Text({self.dialect}, {self.encoding}, reasons={sorted(self.reasons)}, "
            f"text={self.text[:2000]!r})"
        )


@st.composite
def csv_texts(
    draw,
    scale,
    *,
    dialects=CANONICAL,
    ragged=None,
    encodings=st.just("utf-8"),
    **cell_options,
):
    """Any table as CSV text; ``ragged``: ``"short"`` or ``"long"`` rows too."""
    n = draw(sizes(0, scale.rows, 30))
    m = draw(sizes(1, scale.columns, 5))
    vocabulary = draw(st.lists(cell_texts(**cell_options), min_size=1, max_size=12))
    rng = np.random.default_rng(draw(seeds))
    dialect = draw(dialects)
    words = np.array(vocabulary + [f"{v:.6g}" for v in rng.standard_normal(4)])
    header = words[rng.integers(0, len(words), m)].tolist()
    if m == 1 and _blank(dialect.line(header), dialect.delimiter):
        header = ["h"]  # a blank first line is no header
    rows = words[rng.integers(0, len(words), (n, m))].tolist()
    reasons = {}
    if ragged and n:
        cut = some_rows(rng, n)
        for i in cut:
            if ragged == "short" and m > 1:
                rows[i] = rows[i][: rng.integers(1, m)]
            elif ragged == "long":
                rows[i] = rows[i] + ["extra"] * int(rng.integers(1, 3))
                reasons["more cells"] = (
                    r"more cells than its header|Expected \d+ fields in line \d+"
                )
    encoding = draw(encodings)
    if encoding != "utf-8":
        # text the encoding holds, starting "é," (not UTF-8 in any 8-bit one)
        def held(cells):
            kept = [c.encode(encoding, "replace").decode(encoding) for c in cells]
            return ["é", *kept]

        header, rows = held(header), [held(r) for r in rows]
        reasons["not UTF-8"] = r"UTF-8"
    return Text(header, rows, dialect, encoding, reasons)


def parse(text, delimiter):
    """The records of CSV text, by Python's csv module: the reference reader.

    A leading BOM marks the encoding, and is no cell's text.
    """
    lines = io.StringIO(text.removeprefix("\ufeff"), newline="")
    return [r for r in csv.reader(lines, delimiter=delimiter) if r]


# ------------------------------------------------- tables for skogad clean
ROLES = (
    "numeric",
    "categorical",
    "integer",
    "boolean",
    "identifier",
    "constant",
    "empty",
)
TARGET_NAMES = ("label", "y", "class,label", 'the "y"', " é ", "two\nlines")
# Class names that pandas reads back as distinct text: no numbers, no
# booleans, none of its missing-value words.
CLASS_NAMES = ("a", "a ", "A", "é", "a,b", 'say "hi"', "two\nlines", "=1+1", "😀")


def _target(rng, kind, k):
    if kind == "int":
        return rng.choice(np.arange(-1000, 1000), k, replace=False).astype(str)
    if kind == "float":  # not integers: a regression target
        return np.array([f"{v:.4g}" for v in np.arange(k) * 1.37 + 0.5])
    if kind == "bool":
        return np.array(["True", "False"][:k])
    return np.array([*CLASS_NAMES, *(f"class {i}" for i in range(k))][:k])


def _feature(rng, role, n, words, inf_text):
    if role == "numeric":
        values = rng.standard_normal(n) * 10 ** rng.uniform(-3, 6)
        form = rng.choice(["{:.3f}", "{:g}", "{:.2e}", "{!r}"])
        cells = np.array([form.format(float(v)) for v in values], dtype=object)
        specials = NA_TEXTS + (INF_TEXTS if inf_text else ())
        cells[some_rows(rng, n, 0)] = rng.choice(specials)
        return cells
    if role == "integer":
        return np.array([f"{v:03d}" for v in rng.integers(-50, 500, n)], dtype=object)
    if role == "boolean":
        return rng.choice(["True", "False", ""], n).astype(object)
    if role == "categorical":
        return rng.choice(words, n).astype(object)
    if role == "identifier":
        return np.array([f"{rng.choice(words)}#{i}" for i in range(n)], dtype=object)
    if role == "constant":
        return np.full(n, rng.choice(words), dtype=object)
    return np.full(n, "", dtype=object)  # empty


@st.composite
def tables_to_clean(
    draw, scale, *, dialects=CANONICAL, ragged=None, inf_text=False, **cell_options
):
    """A table for ``skogad clean``: features of every kind, a target column.

    Returns ``(text, target)``; `clean_refusals` says what may be refused.
    """
    n = draw(sizes(1, scale.rows, 60))
    m = draw(sizes(1, scale.columns, 5))
    roles = draw(st.lists(st.sampled_from(ROLES), min_size=m, max_size=m))
    kind = draw(st.sampled_from(["str", "int", "float", "bool"]))
    k = draw(classes(scale))
    target = draw(st.sampled_from(TARGET_NAMES))
    names = draw(st.sampled_from(["plain", "awkward", "repeated", "blank"]))
    words = draw(st.lists(cell_texts(**cell_options), min_size=1, max_size=12))
    words = [w for w in words if inf_text or w.strip() not in (*INF_TEXTS, "1e400")]
    words = np.array(words or ["a"], dtype=object)
    missing_labels = draw(st.sampled_from([False] * 7 + [True]))
    duplicated = draw(st.booleans())
    rng = np.random.default_rng(draw(seeds))
    dialect = draw(dialects)

    pool = _target(rng, kind, k)
    k = len(pool)
    codes = rng.permutation(
        np.r_[np.arange(min(k, n)), rng.integers(0, k, max(0, n - k))]
    )
    columns = [_feature(rng, role, n, words, inf_text) for role in roles]
    if duplicated and n > 1:  # the same features, another label
        for source, copy in duplicate_rows(columns, rng, n):
            codes[copy] = (codes[source] + 1) % k
    labels = pool[codes].astype(object)
    if missing_labels:
        labels[some_rows(rng, n)] = rng.choice(["", "NA"])
    header = {
        "plain": [f"x{j}" for j in range(m)],
        "awkward": [f"{w}{j}" for j, w in enumerate(rng.choice(words, m))],
        "repeated": ["x"] * m,
        "blank": [""] * m,
    }[names]
    # short rows lose their last cells: the target goes first, to stay
    at = 0 if ragged else int(rng.integers(0, m + 1))
    header.insert(at, target)
    columns.insert(at, labels)
    rows = np.stack(columns, axis=1).tolist() if n else []
    reasons = {}
    if ragged and n:
        for i in some_rows(rng, n):
            rows[i] = rows[i][: rng.integers(1, m + 1)]
    return Text(header, rows, dialect, reasons=reasons), target


# ------------------------------------------- the columns' text, read right
# pandas' missing-value words (read_csv's default na_values): a cell of one
# of them is missing, never a stray cell
PANDAS_NA = frozenset(
    (
        *("", "#N/A", "#N/A N/A", "#NA", "-1.#IND", "-1.#QNAN", "-NaN", "-nan"),
        *("1.#IND", "1.#QNAN", "<NA>", "N/A", "NA", "NULL", "NaN", "None"),
        *("n/a", "nan", "null"),
    )
)
# Text typed into a column of numbers: no number, no missing-value word
JUNK_TEXTS = (
    *("?", "-", "--", ".", "x", "O", "n.a.", "unknown", "TBD", "see notes"),
    *("#VALUE!", "#DIV/0!", "12 kg", "1.2.3", "~3", "<0.5", "1 000"),
)
# The share of a column's non-missing cells that may be stray text for the
# column to be numeric: "at most 5%" (docs/user_guide/cli.rst)
STRAY_SHARE = 0.05


def is_junk(cell):
    """Not a number (to Python or pandas), not blank, not a missing word."""
    if cell in PANDAS_NA or not cell.strip():
        return False
    try:
        float(cell)
        return False
    except ValueError:
        pass
    number = pd.to_numeric(pd.Series([cell], dtype=object), errors="coerce")
    return bool(number.isna().all())


def _number_cells(rng, n, decimal=".", form=None):
    """A column of numbers as text, all in one format, with ``decimal``."""
    values = rng.standard_normal(n) * 10 ** rng.uniform(-3, 6)
    form = form or rng.choice(["{:.3f}", "{:g}", "{:.2e}", "{!r}"])
    texts = (form.format(float(v)).replace(".", decimal) for v in values)
    return np.array(list(texts), dtype=object)


def _labels(rng, n, pool):
    """``n`` labels from ``pool``, each class at least once where ``n`` allows."""
    k = len(pool)
    codes = np.r_[np.arange(min(k, n)), rng.integers(0, k, max(0, n - k))]
    return np.asarray(pool, dtype=object)[rng.permutation(codes)]


def _table(header, columns, dialect):
    rows = np.stack(columns, axis=1).tolist() if len(columns[0]) else []
    return Text(list(header), rows, dialect)


@dataclass
class Strays:
    """A table of numbers, some with stray text, and the same left blank.

    ``stray`` and ``over`` map a column to the rows of its stray cells: at
    most `STRAY_SHARE` of its non-missing cells, and more than that. In
    ``blank`` every stray cell is empty.
    """

    text: Text
    blank: Text
    target: str
    stray: dict
    over: dict

    def __repr__(self):
        return f"Strays(stray={self.stray}, over={self.over}, text={self.text!r})"


@st.composite
def stray_tables(draw, scale):
    """Numeric columns with text cells typed into them (``?``, ``-``, ...).

    Every column has at least 20 non-missing cells, so one stray cell in
    each column with some is within the share; one column in four has
    more than the share (``over``), and one has none.
    """
    n = draw(sizes(20, scale.rows, 60))
    m = draw(sizes(1, scale.columns, 4))
    roles = draw(
        st.lists(
            st.sampled_from(["stray", "stray", "over", "clean"]),
            min_size=m,
            max_size=m,
        )
    )
    roles[draw(st.integers(0, m - 1))] = "stray"
    junk = st.one_of(st.sampled_from(JUNK_TEXTS), cell_texts().filter(is_junk))
    words = draw(st.lists(junk, min_size=1, max_size=6))
    target = draw(st.sampled_from(TARGET_NAMES))
    k = draw(st.integers(2, 4))
    rng = np.random.default_rng(draw(seeds))
    dialect = draw(CANONICAL)

    header, columns, blanks, stray, over = [], [], [], {}, {}
    for j, role in enumerate(roles):
        cells = _number_cells(rng, n)
        missing = some_rows(rng, n, 0)[: n - 20]
        cells[missing] = str(rng.choice(NA_TEXTS))
        present = np.setdiff1d(np.arange(n), missing)
        most = int(STRAY_SHARE * len(present))  # as a float product, as read
        count = {
            "stray": lambda: rng.integers(1, most + 1),
            "over": lambda: rng.integers(most + 1, len(present)),
            "clean": lambda: 0,
        }[role]()
        rows = np.sort(rng.choice(present, count, replace=False))
        blank = cells.copy()
        blank[rows] = ""
        cells[rows] = rng.choice(np.array(words, dtype=object), count)
        name = f"x{j}"
        if role == "stray":
            stray[name] = rows.tolist()
        elif role == "over":
            over[name] = rows.tolist()
        header.append(name)
        columns.append(cells)
        blanks.append(blank)
    at = int(rng.integers(0, m + 1))
    labels = _labels(rng, n, CLASS_NAMES[:k])
    header.insert(at, target)
    columns.insert(at, labels)
    blanks.insert(at, labels)
    return Strays(
        _table(header, columns, dialect),
        _table(header, blanks, dialect),
        target,
        stray,
        over,
    )


# Separators a table written with decimal commas may have, by file suffix
DECIMAL_COMMA_DIALECTS = st.one_of(
    st.builds(Dialect, sep=st.sampled_from([";", "|", "\t"])),
    st.builds(Dialect, suffix=st.just(".tsv")),
    st.builds(Dialect, suffix=st.just(".txt"), sep=st.just(";")),
)


@st.composite
def decimal_comma_tables(draw, scale):
    """The same table twice: with decimal commas (and ``;``, ``|`` or a tab
    between cells), and with decimal points and commas between cells.

    Returns ``(comma, point)``, two `Text`. The first numeric column has a
    decimal mark in every cell; the others are of any format, with some
    cells missing; there are integers and words too.
    """
    n = draw(sizes(1, scale.rows, 40))
    m = draw(sizes(1, scale.columns, 4))
    roles = draw(
        st.lists(
            st.sampled_from(["numeric", "numeric", "integer", "words"]),
            min_size=m - 1,
            max_size=m - 1,
        )
    )
    roles.insert(0, "marked")
    k = draw(st.integers(2, 4))
    rng = np.random.default_rng(draw(seeds))
    dialect = draw(DECIMAL_COMMA_DIALECTS)

    header, commas, points = ["label"], [], []
    commas.append(_labels(rng, n, CLASS_NAMES[:k]))
    points.append(commas[0])
    for j, role in enumerate(roles):
        header.append(f"x{j}")
        if role in ("marked", "numeric"):
            form = "{:.3f}" if role == "marked" else None
            state = rng.bit_generator.state
            point = _number_cells(rng, n, ".", form)
            rng.bit_generator.state = state  # the same numbers, with commas
            comma = _number_cells(rng, n, ",", form)
            missing = some_rows(rng, n, 0)
            point[missing] = comma[missing] = str(rng.choice(NA_TEXTS))
        elif role == "integer":
            point = comma = np.array(
                [f"{v:d}" for v in rng.integers(-500, 500, n)], dtype=object
            )
        else:
            point = comma = rng.choice(np.array(CLASS_NAMES, dtype=object), n)
        commas.append(comma)
        points.append(point)
    return (
        _table(header, commas, dialect),
        _table(header, points, Dialect(dialect.suffix if dialect.sep else ".csv")),
    )


@dataclass
class Decimals:
    """A table of floats, and the same with some columns as decimals.

    ``floats`` and ``decimals`` are pyarrow Tables; ``scales`` maps each
    decimal column to its scale (digits after the point).
    """

    floats: object
    decimals: object
    target: str
    scales: dict

    def __repr__(self):
        types = {f.name: str(f.type) for f in self.decimals.schema}
        return f"Decimals({types}, floats={self.floats.to_pydict()})"


@st.composite
def decimal_parquet_tables(draw, scale):
    """Parquet columns of ``decimal128(precision, scale)``, any precision.

    Each decimal column holds its float column's values rounded to its
    scale (halves to even), some of them missing in both.
    """
    import decimal

    import pyarrow as pa

    n = draw(sizes(1, scale.rows, 40))
    m = draw(sizes(1, scale.columns, 4))
    kinds = draw(
        st.lists(
            st.one_of(
                st.just(None),
                st.integers(1, 38).flatmap(
                    lambda p: st.tuples(st.just(p), st.integers(0, p))
                ),
            ),
            min_size=m,
            max_size=m,
        )
    )
    kinds[draw(st.integers(0, m - 1))] = draw(
        st.integers(1, 38).flatmap(lambda p: st.tuples(st.just(p), st.integers(0, p)))
    )
    k = draw(st.integers(2, 4))
    rng = np.random.default_rng(draw(seeds))

    context = decimal.Context(prec=80, rounding=decimal.ROUND_HALF_EVEN)
    floats = {"label": _labels(rng, n, CLASS_NAMES[:k]).tolist()}
    decimals = dict(floats)
    scales = {}
    for j, kind in enumerate(kinds):
        name = f"x{j}"
        digits = 15 if kind is None else kind[0] - kind[1]  # before the point
        # |v| <= 0.9 * 10**digits: rounded to the scale, it has `precision` digits
        values = rng.uniform(-0.9, 0.9, n) * 10.0 ** (digits - rng.uniform(0, 20, n))
        missing = set(some_rows(rng, n, 0)[: n - 1].tolist())  # not all
        floats[name] = [
            None if i in missing else float(v) for i, v in enumerate(values)
        ]
        if kind is None:
            decimals[name] = floats[name]
            continue
        precision, places = kind
        unit = decimal.Decimal(1).scaleb(-places)
        rounded = [
            None if v is None else decimal.Decimal(v).quantize(unit, context=context)
            for v in floats[name]
        ]
        decimals[name] = pa.array(rounded, type=pa.decimal128(precision, places))
        scales[name] = places
    return Decimals(pa.table(floats), pa.table(decimals), "label", scales)


# Line breaks, terminal escapes and other controls: text that, printed raw,
# adds lines to the output, moves the cursor or recolours the terminal
CONTROL_TEXTS = (
    *("\n", "\r", "\r\n", "\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85"),
    *("\u2028", "\u2029", "\x1b[2K", "\x1b[31m", "\x1b]0;title\x07", "\x1bM"),
    *("\x08", "\x7f", "\x9b", "\u202e", "\u2066", "\u200f"),
)


def control_texts():
    """Text holding line breaks and other controls (no NUL, no tab)."""
    return st.lists(
        st.one_of(
            st.sampled_from(CONTROL_TEXTS),
            st.sampled_from(tuple("ab é,\"'=")),
            st.characters(categories=["Cc", "Zl", "Zp"], exclude_characters="\x00\t"),
        ),
        min_size=1,
        max_size=6,
    ).map("".join)


@dataclass
class Named:
    """A table whose column names and labels hold control characters, and
    the same table with plain ones (``x0``, ``label``, ``c0``, ...)."""

    text: Text
    target: str
    plain: Text
    plain_target: str


@st.composite
def tables_with_control_names(draw, scale):
    """A table to clean whose column names and labels hold line breaks,
    terminal escapes and other controls."""
    n = draw(sizes(20, scale.rows, 40))
    m = draw(sizes(1, scale.columns, 3))
    names = draw(st.lists(control_texts(), min_size=m + 1, max_size=m + 1))
    k = draw(st.integers(2, 3))
    kinds = draw(st.lists(control_texts(), min_size=k, max_size=k))
    rng = np.random.default_rng(draw(seeds))
    dialect = draw(CANONICAL)
    # numbered: distinct, and none blank (which pandas would rename)
    header = [f"{name}{j}" for j, name in enumerate(names)]
    plain = [f"x{j}" for j in range(m)] + ["label"]
    codes = _labels(rng, n, np.arange(k))
    columns = [_number_cells(rng, n) for _ in range(m)]
    labels = np.array([f"c{i}{kinds[i]}" for i in codes], dtype=object)
    plain_labels = np.array([f"c{i}" for i in codes], dtype=object)
    return Named(
        _table(header, [*columns, labels], dialect),
        header[-1],
        _table(plain, [*columns, plain_labels], dialect),
        plain[-1],
    )
