"""Hypothesis strategies for awkward estimator inputs: tables and labels.

Hypothesis draws the *shape* of each case (sizes, dtypes, which oddities to
put in, a seed) and NumPy fills in the values from the seed. A 5,000 x 500
table then costs a few dozen draws rather than 2.5 million, and shrinking
still works: towards fewer rows, fewer columns, fewer classes and no
oddities.

Each case carries ``reasons``: for every problem put into it, a regular
expression that an error refusing the case must match. No reasons, no
excuse: the case must be handled. CSV text is in ``tests/_csv_strategies.py``.
"""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from hypothesis import strategies as st


@dataclass(frozen=True)
class Scale:
    """The largest sizes a tier draws; the typical draw stays small."""

    rows: int
    columns: int
    classes: int


FULL = Scale(rows=5000, columns=500, classes=1000)
SMALL = Scale(rows=60, columns=8, classes=10)  # the fast tier


def sizes(low, high, typical):
    """Mostly ``low + 1..typical``; one draw in 16 exactly ``low``, one in 8
    log-uniform up to ``high``, one in 16 exactly ``high``. Shrinks towards
    ``low + 1``, then ``low``."""
    typical = max(low + 1, min(typical, high))

    def tier(name):
        if name == "typical":
            return st.integers(low + 1, typical)
        if name in ("smallest", "largest"):
            return st.just(low if name == "smallest" else high)
        ratio = np.log(high / typical)
        return st.integers(0, 1000).map(
            lambda u: int(np.clip(round(typical * np.exp(ratio * u / 1000)), low, high))
        )

    tiers = ["typical"] * 12 + ["smallest", "large", "large", "largest"]
    return st.sampled_from(tiers).flatmap(tier)


seeds = st.integers(0, 2**32 - 1)


def classes(scale):
    """How many classes: 2 to 6 mostly, sometimes 1 (to be refused) or 1,000."""
    return sizes(1, scale.classes, 6)


# ------------------------------------------------------------------ cases
@dataclass
class Case:
    """Inputs for an estimator, and the problems in them (name -> regex)."""

    X: object
    y: object
    reasons: dict = field(default_factory=dict)
    description: str = ""
    regression: bool = False

    def __repr__(self):
        return f"Case({self.description}; reasons={sorted(self.reasons)})"


NAN = r"\bNaN\b|\bNA\b|\bNone\b|(?i:missing)"
REASONS = {
    "NaN in X": NAN,
    "infinity in X": r"(?i:infinity|too large)|\binf\b",
    # a net of your own sees X unscaled: dtype-sized values overflow it
    "huge values in X": r"scale the features",
    "text in X": r"(?i:could not convert|string|categor|dtype|numeric)",
    "mixed column names": r"(?i:feature names?|column names?)",
    "repeated column names": r"(?i:unique column names|duplicate)",
    "missing labels": NAN + r"|\by\b",
    "mixed label types": r"\by\b|(?i:labels?\b|mix)",
    "one class": r"(?i:class)",
}

NUMPY_DTYPES = (
    "float64",
    "float32",
    "float16",
    "int64",
    "int32",
    "int16",
    "int8",
    "uint8",
    "uint64",
    "bool",
)
FRAME_DTYPES = (
    *NUMPY_DTYPES,
    "Int64",
    "Float64",
    "boolean",
    "category",
    "category-str",
)
ODDITIES = ("nan", "inf", "extreme", "constant column", "duplicated rows")


def _numbers(rng, dtype, n):
    if dtype.kind == "b":
        return rng.random(n) < 0.5
    if dtype.kind in "iu":
        info = np.iinfo(dtype)
        low, high = max(int(info.min), -1000), min(int(info.max), 1000)
        return rng.integers(low, high, n, endpoint=True).astype(dtype)
    return (rng.standard_normal(n) * 10 ** rng.uniform(-3, 3)).astype(dtype)


def some_rows(rng, n, at_least=1):
    """A few distinct positions out of n (at least ``at_least``)."""
    count = min(n, max(at_least, rng.binomial(n, 0.05)))
    return rng.choice(n, count, replace=False)


def _column(rng, kind, n, oddities, reasons):
    """One feature column as a NumPy array or pandas array, with oddities."""
    base = {"Int64": "int64", "Float64": "float64", "boolean": "bool"}.get(kind, kind)
    if kind.startswith("category"):
        base = "float64"
    values = _numbers(rng, np.dtype(base), n)
    floating = values.dtype.kind == "f"
    if "extreme" in oddities:
        if floating:
            info = np.finfo(values.dtype)
            big = 1e300 if values.dtype == np.float64 else float(info.max)
            specials = [big, -big, float(info.tiny), float(info.smallest_subnormal)]
            if big > float(np.finfo(np.float32).max):
                reasons["infinity in X"] = REASONS["infinity in X"]
        elif values.dtype.kind in "iu":
            info = np.iinfo(values.dtype)
            specials = [int(info.min), int(info.max)]
        else:
            specials = [True]
        rows = some_rows(rng, n)
        values[rows] = rng.choice(np.array(specials, dtype=values.dtype), len(rows))
        reasons["huge values in X"] = REASONS["huge values in X"]
    if "inf" in oddities and floating:
        values[some_rows(rng, n)] = np.inf * rng.choice([-1, 1])
        reasons["infinity in X"] = REASONS["infinity in X"]
    missing = None
    if "nan" in oddities and (floating or kind in ("Int64", "boolean")):
        missing = some_rows(rng, n)
    if kind == "category-str":
        values = pd.Categorical(np.char.add("v", (values * 3).round().astype(str)))
        reasons["text in X"] = REASONS["text in X"]
    elif kind == "category":
        values = pd.Categorical(np.round(values, 1))
    elif kind in ("Int64", "Float64", "boolean"):
        values = pd.array(values, dtype=kind)
    if missing is not None:
        values[missing] = np.nan if isinstance(values, np.ndarray) else None
        reasons["NaN in X"] = REASONS["NaN in X"]
    return values


def duplicate_rows(columns, rng, n):
    """Copy some rows over others; return the (source, copy) pairs."""
    if n < 2:
        return []
    copies = some_rows(rng, n)
    sources = rng.integers(0, n, len(copies))
    pairs = [(s, c) for s, c in zip(sources, copies) if s != c]
    for s, c in pairs:
        for values in columns:
            values[c] = values[s]
    return pairs


COLUMN_NAMES = ("strings", "integers", "mixed", "repeated")
INDEXES = ("range", "shuffled", "strings", "repeated")


@st.composite
def features(draw, scale, *, frame):
    """X: a NumPy array of one dtype, or a DataFrame of many; with oddities.

    Returns ``(X, n, reasons, description, pairs)``: ``pairs`` are rows
    copied over others (the caller gives the copies other labels).
    """
    n = draw(sizes(1, scale.rows, 40))
    m = draw(sizes(1, scale.columns, 5))
    # each oddity in one case of four: most tables are left for the
    # estimator to handle, rather than to refuse
    oddities = [o for o in ODDITIES if draw(st.sampled_from([False] * 3 + [True]))]
    rng = np.random.default_rng(draw(seeds))
    reasons = {}
    if frame:
        kinds = draw(st.lists(st.sampled_from(FRAME_DTYPES), min_size=1, max_size=4))
        kinds = [kinds[i % len(kinds)] for i in range(m)]
    else:
        kinds = [draw(st.sampled_from(NUMPY_DTYPES))] * m
    odd_columns = set(some_rows(rng, m).tolist())
    columns = [
        _column(rng, kind, n, oddities if j in odd_columns else (), reasons)
        for j, kind in enumerate(kinds)
    ]
    if "constant column" in oddities:
        for j in some_rows(rng, m):
            columns[j][:] = columns[j][rng.integers(n)]
    pairs = duplicate_rows(columns, rng, n) if "duplicated rows" in oddities else []
    description = f"{n} x {m} {'/'.join(sorted(set(kinds)))}, {list(oddities)}"
    if not frame:
        return np.stack(columns, axis=1), n, reasons, description, pairs
    names = draw(st.sampled_from(["strings"] * 3 + list(COLUMN_NAMES)))
    index = draw(st.sampled_from(INDEXES))
    labels = [f"f{j}" + ' é,"' * (j % 3 == 0) for j in range(m)]
    if names == "integers":
        labels = list(range(m))
    elif names == "mixed" and m > 1:
        labels[1] = 1
        reasons["mixed column names"] = REASONS["mixed column names"]
    elif names == "repeated" and m > 1:
        labels[-1] = labels[0]
        reasons["repeated column names"] = REASONS["repeated column names"]
    rows = {
        "range": pd.RangeIndex(n),
        "shuffled": pd.Index(rng.permutation(n) * 7),
        "strings": pd.Index([f"r{i}" for i in range(n)]),
        "repeated": pd.Index(rng.integers(0, max(1, n // 2), n)),
    }[index]
    X = pd.concat(
        [pd.Series(c, name=j) for j, c in enumerate(columns)], axis=1
    ).set_axis(rows)
    X.columns = labels
    return X, n, reasons, f"{description}, {names} names, {index} index", pairs


# ----------------------------------------------------------------- labels
LABEL_KINDS = ("int", "str", "float", "bool")
AWKWARD_STRINGS = (
    "",
    " ",
    "a",
    "a ",
    "A",
    "1",
    "01",
    "1.0",
    "True",
    "nan",
    "None",
    "é",
    "a,b",
    'say "hi"',
    "two\nlines",
    "\x00",
    "\x1b[31m",
    "=1+1",
    "😀",
)
CONTAINERS = {
    "int": ("array", "list", "Series", "Int64", "category"),
    "str": ("array", "object array", "list", "Series", "string", "category"),
    "float": ("array", "float32 array", "list", "Series", "Float64"),
    "bool": ("array", "list", "Series", "boolean"),
    "mixed": ("object array", "list", "Series"),
}


def _pool(kind, k, rng, style):
    """k distinct class values of a kind (floats: ``style`` picks which)."""
    if kind == "int":
        if style == "spread":
            return rng.choice(np.arange(-(10**6), 10**6), k, replace=False)
        if style == "extreme":
            info = np.iinfo(np.int64)
            return np.unique(
                np.r_[info.min, info.max, rng.integers(info.min, info.max, k)]
            )[:k]
        return np.arange(k)
    if kind == "str":
        named = [s for s in AWKWARD_STRINGS if s] if style == "spread" else []
        return np.array((named + [f"class {i}" for i in range(k)])[:k], dtype=object)
    if kind == "float":
        if style == "spread":  # not integers: a continuous target
            return np.arange(k) + 0.5
        if style == "extreme":
            return rng.standard_normal(k) * 10 ** rng.uniform(-3, 6)
        return np.arange(k, dtype=np.float64) - k // 2
    if kind == "bool":
        return np.array([False, True][:k])
    # mixed: ints, strings and floats in one object array
    return np.array([[i, f"c{i}", i + 0.5][i % 3] for i in range(k)], dtype=object)


def _contain(values, kind, container, index):
    if container == "array":
        return values if kind != "str" else values.astype(str)
    if container == "object array":
        return values.astype(object)
    if container == "float32 array":
        return values.astype(np.float32)
    if container == "list":
        return values.tolist()
    if container == "Series":
        return pd.Series(values, index=index)
    dtype = "category" if container == "category" else container
    return pd.Series(values, index=index, dtype=dtype)


MISSING_MARKERS = {
    "array": np.nan,
    "object array": None,
    "float32 array": np.nan,
    "list": None,
    "Series": None,
    "Int64": pd.NA,
    "Float64": pd.NA,
    "boolean": pd.NA,
    "string": pd.NA,
    "category": np.nan,
}


def _with_missing(y, container, rows, marker):
    if isinstance(y, list):
        rows = set(rows.tolist())
        return [marker if i in rows else v for i, v in enumerate(y)]
    if isinstance(y, pd.Series):
        y = y.copy() if container != "Series" else y.astype(object)
        y.iloc[rows] = marker
        return y
    y = y.astype(np.float64 if marker is np.nan and y.dtype.kind in "iub" else object)
    if y.dtype.kind == "U":
        y = y.astype(object)
    y[rows] = marker
    return y


@st.composite
def cases(
    draw,
    scale,
    *,
    frame=False,
    labels=LABEL_KINDS,
    styles=("plain", "spread"),
    missing=False,
):
    """(X, y) with the problems in them.

    ``labels``: which kinds of class values (``"mixed"``: of several types in
    one array); ``styles``: ``"plain"`` (0, 1, ...), ``"spread"`` (far
    apart; floats with a fraction) or ``"extreme"`` (up to the int64 limits;
    floats on any scale); ``missing``: put None, NaN or pd.NA among them.
    """
    X, n, reasons, description, pairs = draw(features(scale, frame=frame))
    kind = draw(st.sampled_from(labels))
    k = draw(classes(scale))
    if kind == "bool":
        k = min(k, 2)
    style = draw(st.sampled_from(styles))
    container = draw(st.sampled_from(CONTAINERS[kind]))
    rng = np.random.default_rng(draw(seeds))
    pool = _pool(kind, k, rng, style)
    k = len(pool)
    # every class appears where there are rows enough; then at random
    codes = np.r_[np.arange(min(k, n)), rng.integers(0, k, max(0, n - k))]
    codes = rng.permutation(codes)
    for source, copy in pairs:  # the same row, another label
        codes[copy] = (codes[source] + 1) % k
    values = pool[codes]
    index = X.index if frame else None
    y = _contain(values, kind, container, index)
    regression = kind == "float" and style != "plain"
    if len(np.unique(codes)) == 1:
        reasons["one class"] = REASONS["one class"]
    if kind == "mixed":  # object arrays: scikit-learn may not know their type
        reasons["mixed label types"] = REASONS["mixed label types"]
    description += f"; {k} {style} {kind} classes in a {container}"
    if missing:
        marker = draw(st.sampled_from([MISSING_MARKERS[container], None, np.nan]))
        if container in ("Int64", "Float64", "boolean", "string"):
            marker = pd.NA
        y = _with_missing(y, container, some_rows(rng, n), marker)
        reasons["missing labels"] = REASONS["missing labels"]
        description += f", {marker!r} among them"
    return Case(X, y, reasons, description, regression)


@st.composite
def regression_targets(draw, scale):
    """A continuous target on any scale, up to 1e30."""
    X, n, reasons, description, _ = draw(features(scale, frame=False))
    rng = np.random.default_rng(draw(seeds))
    magnitude = draw(st.integers(0, 30))
    offset = draw(st.sampled_from([0.0, 1.0, -(10.0**magnitude)]))
    y = offset + rng.standard_normal(n) * 10.0**magnitude
    description += f"; targets of scale 1e{magnitude}, offset {offset:g}"
    return Case(X, y, reasons, description, regression=True)
