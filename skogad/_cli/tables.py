"""Tables for the command line: read, encode for the net, write back unchanged.

A CSV or TSV file (plain or compressed) is read as text, record by record
with the csv module, and each record's exact source text is kept: the kept
rows are written back byte for byte, with their quoting, line ends and short
rows as they were. pandas' type inference on the same text gives what the
encoder sees. A Parquet file is read with pyarrow, and the kept rows are
taken from the Arrow table, so columns, types, metadata and a stored index
stay as they were and nothing is added.
"""

import bz2
import contextlib
import csv
import functools
import gzip
import io
import itertools
import lzma
import os
import re
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from skogad._optional import require

FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".tsv": "tsv",
    ".parquet": "parquet",
    ".pq": "parquet",
}
COMPRESSIONS = {".gz": "gzip", ".bz2": "bz2", ".xz": "xz", ".zip": "zip"}
SEPARATORS = {"csv": ",", "tsv": "\t"}
# What a .csv file may be separated by, in the order preferred on a tie.
CANDIDATE_SEPARATORS = (",", "\t", ";", "|")
SEPARATOR_NAMES = {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}
SNIFF_RECORDS = 50
SNIFF_CHARACTERS = 1 << 16
MAX_CATEGORIES = 20
MISSING = "(missing)"

# C0 and C1 controls (an ESC starts a terminal escape sequence, a BEL rings)
# and the characters that reorder or break the text a terminal shows.
_CONTROLS = (
    "\x00-\x09\x0b-\x1f\x7f-\x9f"
    "\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069"
)
_CONTROL = re.compile(f"[{_CONTROLS}]")
_CONTROL_OR_NEWLINE = re.compile(f"[{_CONTROLS}\n]")


# A compressed table may expand to this many times its size on disk, or to
# FLOOR_BYTES, whichever is more, before it is refused: text tables compress
# 3 to 20 times, and a file that expands a thousandfold (8 GB of CSV in a
# 17 MB .csv.gz) would take the machine's memory before any message.
MAX_EXPANSION = 50
FLOOR_BYTES = 64 * 2**20
CHUNK_BYTES = 2**20


class InputError(Exception):
    """A problem with the user's data or files, worded as what to fix."""


def printable(text, *, newlines=True):
    """``text`` with control characters escaped (``\\x1b``), safe to print.

    Column names, labels and file names come from the user's data, and reach
    the terminal through the command's messages. Newlines are kept unless
    ``newlines`` is false (a message that must stay one line).
    """
    pattern = _CONTROL if newlines else _CONTROL_OR_NEWLINE

    def escape(match):
        code = ord(match.group())
        return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"

    return pattern.sub(escape, str(text))


def _name_parts(path):
    """(stem, table suffix, compression suffix or "") of a file name."""
    stem, suffix = os.path.splitext(Path(path).name)
    compression = ""
    if suffix.lower() in COMPRESSIONS:
        compression = suffix
        stem, suffix = os.path.splitext(stem)
    return stem, suffix, compression


def table_format(path):
    """``"csv"``, ``"tsv"`` or ``"parquet"``, from the file name's suffixes.

    A CSV or TSV file may be compressed: ``churn.csv.gz``, ``.bz2``, ``.xz``,
    ``.zip``.
    """
    _, suffix, compression = _name_parts(path)
    fmt = FORMATS.get(suffix.lower())
    if fmt is None or (compression and fmt not in SEPARATORS):
        raise InputError(
            f"{path}: unknown file type {suffix + compression!r}; use one of "
            f"{', '.join(sorted(FORMATS))} (a CSV or TSV file may be "
            f"compressed: {', '.join(COMPRESSIONS)})."
        )
    return fmt


def compression(path):
    """``"gzip"``, ``"bz2"``, ``"xz"``, ``"zip"`` or None, from the name."""
    return COMPRESSIONS.get(_name_parts(path)[2].lower())


def derived_name(path, tag, suffix=None):
    """``churn.csv.gz`` tagged ``clean``: ``churn.clean.csv.gz``.

    With ``suffix``, that replaces both suffixes: ``churn.report.csv``.
    """
    stem, own, compressed = _name_parts(path)
    return Path(path).with_name(f"{stem}.{tag}{suffix or own + compressed}")


def input_format(path):
    """`table_format` of an input file, which must exist."""
    path = Path(path)
    if not path.is_file():
        what = "is a directory" if path.is_dir() else "does not exist"
        raise InputError(
            f"{path} {what}: give the path of a CSV or Parquet file (a folder "
            "or a pattern of them needs --engine dask)."
        )
    return table_format(path)


def separator_name(sep):
    """``"comma-separated"``, or ``"separated by '#'"`` for an unusual one."""
    if sep in SEPARATOR_NAMES:
        return f"{SEPARATOR_NAMES[sep]}-separated"
    return f"separated by {sep!r}"


@dataclass
class Table:
    """A table as read: what the encoder sees, and what writes rows back.

    Attributes
    ----------
    path : Path
    fmt : str
        ``"csv"``, ``"tsv"`` or ``"parquet"``.
    typed : pandas.DataFrame
        Inferred types, unique column names, the index 0 to n-1 (positions).
    raw : pandas.DataFrame
        CSV: every cell as its text, the header cells exactly as written.
        Parquet: the frame as pandas reads it, stored index included.
    sep : str or None
        The separator of a CSV or TSV file.
    decimal : str or None
        The decimal mark ``typed`` was read with (CSV and TSV): ``"."``, or
        ``","`` where given or detected (`sniff_decimal`).
    header, records : str, list of str
        CSV: the source text of the header and of each row, line end
        included.
    arrow : pyarrow.Table or None
        Parquet: the table as stored.
    index : pandas.Index or None
        Parquet: an index stored in the file's columns (by pandas), which the
        kept rows keep; None if there is none.
    """

    path: Path
    fmt: str
    typed: object
    raw: object
    sep: str | None = None
    header: str | None = None
    records: list | None = None
    arrow: object = None
    index: object = None
    decimal: str | None = None


def read_table(path, sep=None):
    """Read a table; return ``(raw, typed)`` DataFrames with the same rows.

    See `Table` for what they hold, and `load_table` for everything read.
    """
    table = load_table(path, sep=sep)
    return table.raw, table.typed


def refuse_text_options(sep, decimal, where):
    """Raise `InputError` where ``--sep`` or ``--decimal`` is given for Parquet."""
    for flag, value in (("--sep", sep), ("--decimal", decimal)):
        if value is not None:
            raise InputError(f"{flag} applies to CSV and TSV files, not to {where}.")


def check_decimal(decimal, sep, where):
    """Raise `InputError` where the decimal mark is also the separator."""
    if decimal is not None and decimal == sep:
        raise InputError(f"--decimal {decimal!r} is also the separator of {where}.")


def load_table(path, sep=None, decimal=None, max_expansion=MAX_EXPANSION):
    """Read a CSV, TSV (plain or compressed) or Parquet file into a `Table`.

    ``sep`` (CSV and TSV only) is the separator; by default a TSV file's is a
    tab, and a CSV file's is whichever of comma, tab, semicolon and pipe
    splits its first records most consistently (see `sniff_separator`).
    ``decimal`` (CSV and TSV only) is the decimal mark; by default a point,
    or a comma where the separator is not one and a column reads as numbers
    with it (`sniff_decimal`). A compressed file may expand to
    ``max_expansion`` times its size on disk (or 64 MB) before it is refused.
    """
    pd = require("pandas", "Reading tables")
    path = Path(path)
    fmt = input_format(path)
    if fmt == "parquet":
        refuse_text_options(sep, decimal, path)
        return _load_parquet(path, pd)
    label = fmt.upper()
    try:
        text = _read_text(path, compression(path), max_expansion)
    except UnicodeDecodeError as exc:
        raise InputError(f"{path} is not UTF-8 text ({exc.reason}).") from exc
    except (OSError, EOFError, lzma.LZMAError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path} could not be read as {label}: {exc}") from exc
    # A byte order mark is not part of the first header cell (pandas drops it
    # too); it is kept on the header's text, which is written back as it was.
    bom = "\ufeff" if text.startswith("\ufeff") else ""
    text = text[len(bom) :]
    # Excel's first line naming the separator ("sep=;"): not the header; it
    # is kept, with the header, in the kept rows' file
    excel = _EXCEL_SEPARATOR.match(text)
    if excel:
        text = text[excel.end() :]
        bom += excel.group(0)
        if sep is None:
            sep = excel.group(1)
    if sep is None:
        sep = SEPARATORS[fmt] if fmt == "tsv" else sniff_separator(text)
    check_decimal(decimal, sep, path)
    try:
        records = list(_records(text, sep))
        # low_memory=False: each column's type inferred from all its cells,
        # not chunk by chunk (a stray cell in a later chunk mixed the types)
        read = functools.partial(pd.read_csv, sep=sep, low_memory=False)
        typed = read(io.StringIO(text)) if records else None
        if records and decimal is None and sep != ",":
            decimal = sniff_decimal(typed)
        if records and decimal == ",":
            typed = read(io.StringIO(text), decimal=",")
    except (csv.Error, ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{path} could not be read as {label}: {exc}") from exc
    if not records:
        raise InputError(f"{path} is empty: it has no header row.")
    (header_cells, header), *rows = records
    header = bom + header
    width = len(header_cells)
    if any(len(cells) > width for cells, _ in rows):
        raise InputError(
            f"{path} could not be read as {label}: some rows have more cells "
            f"than its header ({width})."
        )
    if len(typed) != len(rows):
        raise InputError(
            f"{path} could not be read as {label}: pandas and the csv module "
            f"find {len(typed)} and {len(rows)} rows in it."
        )
    # Short rows read as empty cells; they are written back as they were.
    cells = [cells + [""] * (width - len(cells)) for cells, _ in rows]
    raw = pd.DataFrame(cells, columns=range(width), dtype=object)
    raw.columns = header_cells  # exactly as written (pandas renames blanks, repeats)
    return Table(
        path,
        fmt,
        typed,
        raw,
        sep=sep,
        header=header,
        records=[source for _, source in rows],
        decimal=decimal or ".",
    )


def _load_parquet(path, pd):
    require("pyarrow", "Reading Parquet")
    import pyarrow.parquet as pq

    try:
        arrow = pq.read_table(path)
        frame = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise InputError(f"{path} could not be read as PARQUET: {exc}") from exc
    stored = (arrow.schema.pandas_metadata or {}).get("index_columns", [])
    # A RangeIndex is stored as metadata (a dict), not as a column: it numbers
    # the rows and means nothing more.
    index = frame.index if any(isinstance(c, str) for c in stored) else None
    typed = frame.reset_index(drop=True)
    return Table(path, "parquet", typed, frame, arrow=arrow, index=index)


def _read_text(path, method, max_expansion=MAX_EXPANSION):
    limit = None
    if method is not None:
        limit = max(FLOOR_BYTES, max_expansion * Path(path).stat().st_size)
    if method == "zip":
        with zipfile.ZipFile(path) as archive:
            members = [
                m
                for m in archive.infolist()
                if not m.is_dir() and not m.filename.startswith("__MACOSX/")
            ]
            if len(members) != 1:
                raise InputError(
                    f"{path} holds {len(members)} files; a zipped table must hold "
                    "exactly one."
                )
            with archive.open(members[0]) as handle:
                data = _bounded(handle, limit, path, max_expansion)
    else:
        opener = {None: open, "gzip": gzip.open, "bz2": bz2.open, "xz": lzma.open}
        with opener[method](path, "rb") as handle:
            data = _bounded(handle, limit, path, max_expansion)
    return data.decode("utf-8")


def _bounded(handle, limit, path, max_expansion):
    """Read ``handle`` whole, refusing more than ``limit`` bytes (None: any)."""
    if limit is None:
        return handle.read()
    chunks, total = [], 0
    while chunk := handle.read(CHUNK_BYTES):
        total += len(chunk)
        if total > limit:
            raise InputError(
                f"{path} expands to more than {limit / 2**20:,.0f} MB, over "
                f"{max_expansion} times its size on disk: a compressed table "
                "rarely does, a decompression bomb does. If the table is real, "
                "pass --max-expansion with a larger factor (or decompress it "
                "first)."
            )
        chunks.append(chunk)
    return b"".join(chunks)


class _Tap:
    """The lines of a text, with those handed out since the last `take`."""

    def __init__(self, text):
        self._lines = io.StringIO(text, newline="")  # line ends as written
        self._taken = []

    def __iter__(self):
        return self

    def __next__(self):
        line = next(self._lines)
        self._taken.append(line)
        return line

    def take(self):
        text = "".join(self._taken)
        self._taken.clear()
        return text


def _records(text, sep):
    """Each record's cells and exact source text; blank lines are skipped.

    The csv reader asks for a line at a time and returns as soon as a record
    ends, so the lines taken between two records are the record's text,
    embedded line breaks in quoted cells included.
    """
    # pandas reads fields of any length; the csv module's default stops at
    # 131,072 characters (a long text cell, a serialised list)
    csv.field_size_limit(max(csv.field_size_limit(), MAX_FIELD))
    lines = _Tap(text)
    for cells in csv.reader(lines, delimiter=sep):
        source = lines.take()
        # as pandas does: skip lines of nothing but spaces, with no separator
        if len(cells) > 1 or (cells and source.strip(" \t\r\n")):
            yield cells, source


def sniff_separator(text):
    """The separator that splits the start of ``text`` most consistently.

    Each of comma, tab, semicolon and pipe parses the first records; one
    that makes every row as wide as the header wins, then one with no row
    wider than the header, then the widest header, then the order above.
    Comma when none splits the header.
    """
    sample = text[:SNIFF_CHARACTERS]
    best, best_key = ",", None
    for rank, sep in enumerate(CANDIDATE_SEPARATORS):
        try:
            rows = [
                cells
                for cells in itertools.islice(
                    csv.reader(io.StringIO(sample, newline=""), delimiter=sep),
                    SNIFF_RECORDS,
                )
                if cells
            ]
        except csv.Error:
            continue
        if len(sample) < len(text):
            rows = rows[:-1]  # perhaps cut short
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        key = (
            all(len(cells) == width for cells in rows[1:]),
            all(len(cells) <= width for cells in rows[1:]),
            width,
            -rank,
        )
        if best_key is None or key > best_key:
            best, best_key = sep, key
    return best


# A number written with a decimal comma: 3,14 or -2 or 1e5 (no thousands marks)
_DECIMAL_COMMA = re.compile(r"\s*[+-]?(\d+(,\d*)?|,\d+)([eE][+-]?\d+)?\s*")


def sniff_decimal(typed):
    """``","`` if a text column of ``typed`` reads as numbers with a decimal
    comma, else ``"."``.

    As European spreadsheets export a table: semicolons between cells, commas
    in the numbers. A column counts when every one of its cells is such a
    number and at least one holds a comma, which a point-decimal reading
    leaves as text.
    """
    for _, column in typed.items():
        if column.dtype != object and not str(column.dtype).startswith("str"):
            continue
        cells = column.dropna().astype(str)
        if (
            len(cells)
            and cells.str.contains(",", regex=False).any()
            and cells.map(lambda c: _DECIMAL_COMMA.fullmatch(c) is not None).all()
        ):
            return ","
    return "."


@contextlib.contextmanager
def compressed(handle, method, member):
    """A binary stream into ``handle``, compressed by ``method`` (or not).

    ``member`` names the file inside a zip archive and in a gzip header.
    """
    if method is None:
        yield handle
    elif method == "zip":
        with (
            zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive,
            archive.open(member, "w") as stream,
        ):
            yield stream
    elif method == "gzip":
        with gzip.GzipFile(filename=member, mode="wb", fileobj=handle) as stream:
            yield stream
    elif method == "bz2":
        with bz2.BZ2File(handle, "wb") as stream:
            yield stream
    else:
        with lzma.LZMAFile(handle, "wb") as stream:
            yield stream


def write_rows(table, positions, handle, method=None, member=None):
    """Write the rows of ``table`` at ``positions`` to the binary ``handle``.

    CSV and TSV: the header and each row as their source text, so the kept
    rows are byte for byte those of the input, compressed by ``method``.
    Parquet: those rows of the Arrow table, schema and metadata as stored.
    """
    if table.fmt == "parquet":
        import pyarrow.parquet as pq

        pq.write_table(table.arrow.take(np.asarray(positions, dtype=np.int64)), handle)
        return
    with compressed(handle, method, member) as stream:
        stream.write(table.header.encode("utf-8"))
        for start in range(0, len(positions), 10_000):
            chunk = positions[start : start + 10_000]
            stream.write("".join(table.records[i] for i in chunk).encode("utf-8"))


def write_table(frame, target, fmt, method="infer", member="table"):
    """Write ``frame`` as ``fmt`` to a path or a binary handle.

    Text formats: no index, compressed by ``method`` ("infer": from the
    path's name; ``member`` names the file in a zip archive). Parquet:
    pandas' own (a RangeIndex as metadata, another index as columns).
    """
    if fmt == "parquet":
        require("pyarrow", "Writing Parquet")
        frame.to_parquet(target)
        return
    if isinstance(target, str | os.PathLike):
        if method == "infer":
            method = compression(target)
        stem, suffix, _ = _name_parts(target)
        with open(target, "wb") as handle:
            write_table(frame, handle, fmt, method, stem + suffix)
        return
    with compressed(target, None if method == "infer" else method, member) as stream:
        text = io.TextIOWrapper(stream, encoding="utf-8", newline="")
        # CRLF, as RFC 4180 has it: Python's csv writer quotes a cell with a
        # lone CR only when CR is part of the line terminator.
        frame.to_csv(text, sep=SEPARATORS[fmt], index=False, lineterminator="\r\n")
        text.flush()
        text.detach()


_EXCEL_SEPARATOR = re.compile(r"sep=([^\r\n\"])\r?\n")

# The longest CSV field read: the text is in memory already, whole
MAX_FIELD = 2**31 - 1

# The most cells of a text column, as a share of its non-missing ones, that
# may fail to read as numbers for the column to be numeric, those cells read
# as missing: a "?" or "n/a" typed into a column of numbers, not a column of
# codes that happen to be digits in most rows.
MAX_STRAY = 0.05


def as_numbers(column):
    """``column`` as floats, a cell that is not a number missing."""
    pd = require("pandas", "Encoding tables")
    return pd.to_numeric(column.astype(object), errors="coerce").astype(float)


def mostly_numbers(column):
    """A text column as numbers, if at most `MAX_STRAY` of its cells are not.

    Returns ``(values, stray)``: the float values (the stray cells missing)
    and the stray cells' own values, in row order; or None where the column
    is not numeric. Decimal objects (a Parquet ``decimal128`` column) read
    as numbers.
    """
    present = column.notna().to_numpy()
    values = as_numbers(column)
    not_numbers = present & values.isna().to_numpy()
    if (
        not_numbers.sum() > MAX_STRAY * present.sum()
        or not (present & ~not_numbers).any()
    ):
        return None
    return values, list(column[not_numbers])


# How many of a text column's first values are tried as dates, and how many
# of its cells must read as dates in a format guessed from them for the
# format to be checked on the whole column.
DATE_GUESSES = 20
DATE_PROBE = 1000


def _date_guesses(text):
    """Formats with a year and a month that some of ``text``'s first cells
    are written in, month first and day first."""
    try:
        from pandas.tseries.api import guess_datetime_format
    except ImportError:  # pandas before 2.2
        from pandas._libs.tslibs.parsing import guess_datetime_format

    formats = []
    for value in text.iloc[:DATE_GUESSES]:
        for dayfirst in (False, True):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # pandas' dayfirst advice
                fmt = guess_datetime_format(value, dayfirst=dayfirst)
            dated = fmt and ("%Y" in fmt or "%y" in fmt)
            monthly = dated and any(m in fmt for m in ("%m", "%b", "%B"))
            if monthly and fmt not in formats:
                formats.append(fmt)
    return formats


def mostly_dates(column):
    """A text column as dates, if its cells are dates in one format.

    A format is guessed from the column's first cells (`DATE_GUESSES`), and
    taken where at most `MAX_STRAY` of the column's cells fail to read as
    dates in it: the best of the guesses, as "05/01/2023" reads month first
    or day first. Returns ``(format, days, stray)``: the format, the days
    (`date_numbers`, the stray cells missing) and the stray cells' own
    values, in row order; or None where the column is not dates.
    """
    present = column.notna()
    text = column[present].astype(str)
    best, share = None, 1 - MAX_STRAY
    for fmt in _date_guesses(text):
        probe = date_numbers(text.iloc[:DATE_PROBE], fmt)
        if probe.notna().mean() < share:
            continue
        days = date_numbers(column, fmt)
        read = days.notna().sum() / present.sum()
        if read >= share:
            best, share = (fmt, days), read
    if best is None:
        return None
    fmt, days = best
    return fmt, days, list(column[present & days.isna()])


def date_numbers(column, fmt=None):
    """Dates as days since 1970-01-01 UTC, floats; a cell that is not a date
    in ``fmt`` missing. ``fmt`` is None for a column of datetimes."""
    pd = require("pandas", "Encoding tables")
    if fmt is None:
        parsed = pd.to_datetime(column, utc=True)
    else:
        text = column.astype(object).where(column.notna(), None)
        parsed = pd.to_datetime(text, format=fmt, errors="coerce", utc=True)
    days = (parsed - pd.Timestamp(0, tz="UTC")) / pd.Timedelta(days=1)
    return pd.Series(days.to_numpy(dtype=float, na_value=np.nan), index=column.index)


def is_datetime(column):
    """Whether ``column`` holds datetimes (a Parquet timestamp or date column)."""
    pd = require("pandas", "Encoding tables")
    return pd.api.types.is_datetime64_any_dtype(column)


# A numeric column is "dominated" when at most this share of its cells lie
# more than FAR standard deviations out and the others keep less than SQUEEZE
# of its standard deviation: standardizing then squeezes every ordinary row
# to about one value (a 1e30 or 999999 that marks a missing cell, typically).
DOMINANT_SHARE = 0.01
FAR = 5
SQUEEZE = 0.1


def dominating_cells(values):
    """The positions of the few cells that dominate a numeric column's scale,
    or an empty array (see `DOMINANT_SHARE`).

    The other cells must vary among themselves: a rare indicator's ones are
    far out too, but its zeros are one value whatever the scale.
    """
    values = np.asarray(values, dtype=float)
    present = np.flatnonzero(np.isfinite(values))
    none = np.zeros(0, dtype=int)
    if present.size < 2:
        return none
    values = values[present]
    with np.errstate(over="ignore", invalid="ignore"):
        centred = values - values.mean()
        spread = np.sqrt(np.mean(centred**2))
        if np.isfinite(spread):
            far = np.abs(centred) > FAR * spread
        else:  # squares past float range: the scaler's variance overflows
            far = np.abs(values) > np.sqrt(np.finfo(float).max / values.size)
    if not far.any() or far.sum() > max(1, DOMINANT_SHARE * values.size):
        return none
    rest = np.std(values[~far])
    if rest == 0 or (np.isfinite(spread) and rest >= SQUEEZE * spread):
        return none
    return present[far]


def _is_numeric(column):
    pd = require("pandas", "Encoding tables")
    return pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column)


def infinite_values(features):
    """``{column: mask}`` of the numeric columns holding +-inf, for a message."""
    found = {}
    for name, column in features.items():
        if _is_numeric(column):
            mask = np.isinf(column.to_numpy(dtype=float, na_value=np.nan))
            if mask.any():
                found[name] = mask
    return found


def nested(column):
    """Whether ``column`` holds lists, arrays or records (Parquet's list, map and
    struct columns), which are not features."""
    if column.dtype != object:
        return False
    return bool(
        column.map(lambda v: isinstance(v, list | tuple | dict | np.ndarray)).any()
    )


def category_text(column):
    """A categorical column as the encoder takes it: text, missing kept NaN."""
    text = column.astype(object).map(str, na_action="ignore")
    return text.where(column.notna(), np.nan)


def make_encoder(features):
    """A ColumnTransformer for ``features`` and a plain-words account of it.

    Numeric (and boolean) columns: missing values imputed by the median with
    an indicator column, then standardized. Date columns (datetimes, or text
    in one format, `mostly_dates`) are read as days since 1970-01-01 and
    encoded as numbers; their formats are in the returned features'
    ``attrs["dates"]`` (None for datetimes). Other columns: categories, with
    missing values as a category of their own, one-hot encoded (the
    ``MAX_CATEGORIES - 1`` most frequent, the rest pooled). Dropped: columns
    with no values, text columns with a different value in every row
    (identifiers carry no information about other rows), and columns of
    lists or records (`nested`).

    Returns
    -------
    features : pandas.DataFrame
        The columns to encode, booleans as 0/1 and categories as text.
    encoder : ColumnTransformer
        Unfitted; outputs a DataFrame.
    account : list of str
        One line per kind of column.
    """
    # Imported here: the command reads and checks the table before it loads
    # scikit-learn's estimators (and torch, later).
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    pd = require("pandas", "Encoding tables")
    numeric, categorical, empty, identifiers, stray = [], [], [], [], {}
    nests, dates, columns = [], {}, {}
    for name, column in features.items():
        if nested(column):
            nests.append(name)
        elif column.isna().all():
            empty.append(name)
        elif _is_numeric(column):
            numeric.append(name)
            columns[name] = column.astype(float)
        elif is_datetime(column):
            numeric.append(name)
            dates[name] = None
            columns[name] = date_numbers(column)
        elif (numbers := mostly_numbers(column)) is not None:
            numeric.append(name)
            columns[name], stray[name] = numbers
        elif (dated := mostly_dates(column)) is not None:
            numeric.append(name)
            dates[name], columns[name], stray[name] = dated
        elif column.nunique() == len(column) > 1:
            identifiers.append(name)
        else:
            categorical.append(name)
            columns[name] = category_text(column)
    if not numeric and not categorical:
        raise InputError(
            "No column can be used as a feature: every one besides the target is "
            "empty, an identifier, or lists or records."
        )
    steps = []
    if numeric:
        steps.append(
            (
                "numeric",
                make_pipeline(
                    SimpleImputer(strategy="median", add_indicator=True),
                    StandardScaler(),
                ),
                numeric,
            )
        )
    if categorical:
        steps.append(
            (
                "categorical",
                make_pipeline(
                    SimpleImputer(strategy="constant", fill_value=MISSING),
                    OneHotEncoder(
                        handle_unknown="infrequent_if_exist",
                        max_categories=MAX_CATEGORIES,
                        sparse_output=False,
                    ),
                ),
                categorical,
            )
        )
    encoder = ColumnTransformer(steps, verbose_feature_names_out=True)
    encoder.set_output(transform="pandas")

    def listing(names):
        # column names come from the file: each kept on its line of the account
        return ", ".join(printable(name, newlines=False) for name in names)

    account = []
    if numeric:
        account.append(
            f"numeric ({len(numeric)}): {listing(numeric)} -> missing values "
            "imputed by the median (with an indicator column), standardized"
        )
    if dates:
        written = [
            f"{listing([name])}{'' if fmt is None else f' ({fmt})'}"
            for name, fmt in dates.items()
        ]
        account.append(
            f"of which dates ({len(dates)}): {', '.join(written)} -> read as days "
            "since 1970-01-01 UTC"
        )
    for name in numeric:
        far = dominating_cells(columns[name])
        if len(far):
            rows = ", ".join(str(i) for i in features.index[far][:3])
            shown = ", ".join(f"{v:.6g}" for v in columns[name].iloc[far][:3])
            account.append(
                f"warning: {listing([name])} has {len(far)} value"
                f"{'s' * (len(far) != 1)} ({shown}; row{'s' * (len(far) != 1)} "
                f"{rows}{', ...' if len(far) > 3 else ''}) so far from the others "
                "that standardizing squeezes every other row to about one value; "
                "if they mark missing values, leave those cells empty"
            )
    for name, cells in stray.items():
        if len(cells):
            what = "dates" if name in dates else "numeric"
            shown = ", ".join(repr(printable(v, newlines=False)) for v in cells[:3])
            account.append(
                f"warning: {listing([name])} is {what} but for {len(cells)} "
                f"cell{'s' * (len(cells) != 1)} ({shown}"
                f"{', ...' if len(cells) > 3 else ''}), read as missing"
            )
    if categorical:
        account.append(
            f"categorical ({len(categorical)}): {listing(categorical)} -> "
            f"missing values as the category {MISSING!r}, one-hot (at most "
            f"{MAX_CATEGORIES} categories a column, the rarest pooled)"
        )
    if identifiers:
        account.append(
            f"dropped ({len(identifiers)}): {listing(identifiers)} -> a different "
            "value in every row (an identifier)"
        )
    if empty:
        account.append(f"dropped ({len(empty)}): {listing(empty)} -> no values")
    if nests:
        account.append(
            f"dropped ({len(nests)}): {listing(nests)} -> lists or records (Parquet "
            "list, map or struct values), which are not features; flatten them "
            "into columns of their own to use them"
        )
    encoded = pd.DataFrame(columns, index=features.index)
    # how each date column is read, for the partitions the encoder meets later
    encoded.attrs["dates"] = dates
    return encoded, encoder, account
