"""Partitioned tables for ``skogad clean --engine dask``: find, read, write.

A partition is a Parquet file's run of row groups, or a whole CSV/TSV file.
Parquet partitions are found from the files' footers alone, which also
gives every partition's row count, so a row's global position (the files
in sorted order) is known before any data is read. Reading and writing
happen on the workers, a partition at a time.
"""

import glob
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from skogad._cli.outputs import check_folder
from skogad._cli.tables import InputError, check_decimal, input_format
from skogad._optional import require

# Row groups are gathered into partitions of about this many rows: enough to
# amortise a task's overhead, few enough that a worker holds one easily.
PARTITION_ROWS = 1_000_000
GLOB_CHARACTERS = set("*?[")


@dataclass(frozen=True)
class Partition:
    """Where one partition's rows are: a file and, for Parquet, row groups."""

    path: str
    fmt: str
    row_groups: tuple | None = None
    sep: str | None = None
    # the table's column order, for a Parquet file that stores another one
    columns: tuple | None = None
    decimal: str | None = None  # a CSV's decimal mark, where not a point

    def name(self):
        groups = self.row_groups
        if groups is None or len(groups) == 0:
            return self.path
        return f"{self.path} (row groups {groups[0]} to {groups[-1]})"


def input_files(data):
    """The files a glob, a folder or a file names, sorted, all of one format."""
    text = str(data)
    if Path(text).is_dir():
        files = sorted(
            p
            for p in Path(text).iterdir()
            if p.is_file() and not p.name.startswith((".", "_"))
        )
        where = f"the folder {text}"
    elif Path(text).is_file():
        files, where = [Path(text)], text
    elif GLOB_CHARACTERS & set(text):
        files = sorted(Path(p) for p in glob.glob(text) if Path(p).is_file())
        where = f"the pattern {text!r}"
    else:
        raise InputError(f"{text} does not exist.")
    if not files:
        raise InputError(f"No file matches {where}.")
    formats = {}
    for path in files:
        try:
            formats.setdefault(input_format(path), path)
        except InputError as exc:
            raise InputError(f"{where} holds {path.name}, not a table: {exc}") from exc
    if len(formats) > 1:
        shown = ", ".join(f"{p.name} ({fmt})" for fmt, p in formats.items())
        raise InputError(f"{where} holds tables of several formats: {shown}.")
    return files, next(iter(formats))


def parquet_partitions(files):
    """Partitions of Parquet files and their row counts, from the footers.

    Raises `InputError` naming a file whose footer cannot be read, or whose
    columns differ from the first file's. Files with the same columns in
    another order are read by name, in the first file's order.
    """
    require("pyarrow", "Reading Parquet")
    import pyarrow.parquet as pq

    partitions, lengths, schema = [], [], None
    for path in files:
        try:
            meta = pq.ParquetFile(path).metadata
            names = pq.read_schema(path).names
        except (OSError, ValueError) as exc:
            raise InputError(f"{path} could not be read as PARQUET: {exc}") from exc
        if schema is None:
            schema = (path, names)
        elif sorted(names) != sorted(schema[1]):
            raise InputError(
                f"{path} has the columns {names}, and {schema[0]} has "
                f"{schema[1]}: the files of one table must have the same columns."
            )
        order = None if names == schema[1] else tuple(schema[1])
        group, rows = [], 0
        for i in range(meta.num_row_groups):
            group.append(i)
            rows += meta.row_group(i).num_rows
            if rows >= PARTITION_ROWS or i == meta.num_row_groups - 1:
                partitions.append(
                    Partition(str(path), "parquet", tuple(group), columns=order)
                )
                lengths.append(rows)
                group, rows = [], 0
        if meta.num_row_groups == 0:
            partitions.append(Partition(str(path), "parquet", (), columns=order))
            lengths.append(0)
    return partitions, lengths


def text_partitions(files, fmt, sep, decimal=None):
    """One partition per CSV or TSV file; their row counts are read later.

    Neither the separator nor the decimal mark is detected here: a comma and
    a point unless given (a tab for TSV).
    """
    if sep is None and fmt == "tsv":
        sep = "\t"
    sep = sep or ","
    check_decimal(decimal, sep, "these files")
    return [Partition(str(path), fmt, None, sep, decimal=decimal) for path in files]


def read_arrow(partition):
    """A Parquet partition as the pyarrow Table stored (types, index metadata)."""
    import pyarrow.parquet as pq

    columns = None if partition.columns is None else list(partition.columns)
    try:
        return pq.ParquetFile(partition.path).read_row_groups(
            list(partition.row_groups), columns=columns, use_pandas_metadata=True
        )
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{partition.name()} could not be read as PARQUET: {exc}"
        ) from exc


def read_frame(partition, arrow=None):
    """A partition as a pandas DataFrame, indexed by position in the partition.

    ``arrow``: the partition's pyarrow Table, when already read.
    """
    pd = require("pandas", "Reading tables")
    if partition.fmt == "parquet":
        frame = (read_arrow(partition) if arrow is None else arrow).to_pandas()
    else:
        try:
            frame = pd.read_csv(
                partition.path, sep=partition.sep, decimal=partition.decimal or "."
            )
        except (OSError, ValueError, pd.errors.ParserError) as exc:
            raise InputError(
                f"{partition.path} could not be read as {partition.fmt.upper()}: {exc}"
            ) from exc
    return frame.reset_index(drop=True)


def read_text(partition):
    """A CSV or TSV partition with every value as the file's text.

    All columns strings, an empty cell an empty string, no value parsed: what
    the kept rows keep of a text file (leading zeros, "NA"), with one schema
    in every partition.
    """
    pd = require("pandas", "Reading tables")
    try:
        frame = pd.read_csv(
            partition.path, sep=partition.sep, dtype=str, keep_default_na=False
        )
    except (OSError, ValueError, pd.errors.ParserError) as exc:
        raise InputError(
            f"{partition.path} could not be read as {partition.fmt.upper()}: {exc}"
        ) from exc
    return frame.reset_index(drop=True)


def write_kept(partition, keep, folder, number):
    """Write a partition's kept rows to ``folder`` as Parquet, unchanged.

    Parquet rows are filtered as stored (pyarrow), so their columns, types
    and stored pandas index stay as they were. CSV rows are written as text
    (`read_text`): every column a string column, each value as the file has
    it, so that every part file has the same schema.

    Parameters
    ----------
    partition : Partition
        The partition, read here (a CSV twice: parsed for ``keep``, and as
        text for the rows written).
    keep : callable
        Given the whole partition as `read_frame` gives it, returns the bool
        mask of the rows to write.
    folder : str or Path
        Where the part file goes.
    number : int
        The part's number, in its name.
    """
    import pyarrow as pa
    import pyarrow.parquet as pq

    if partition.fmt == "parquet":
        arrow = read_arrow(partition)
        table = arrow.filter(pa.array(keep(read_frame(partition, arrow))))
    else:
        mask = keep(read_frame(partition))
        table = pa.Table.from_pandas(read_text(partition)[mask], preserve_index=False)
    pq.write_table(table, Path(folder) / f"part.{number:05d}.parquet")


# A file in each folder `clean --engine dask` writes: a rerun may replace a
# folder that holds it, and never one that does not (a folder of the user's).
# Parquet readers, and `input_files`, skip names that start with "_".
MARKER = "_skogad_clean"


def check_output_folder(flag, path):
    """Raise `InputError` unless ``path`` can be made a folder of outputs.

    ``path`` must be new, or a folder this command wrote (it holds `MARKER`),
    which the run replaces. Returns whether it replaces one.
    """
    path = Path(path)
    previous = path.exists() or path.is_symlink()
    if previous and (
        path.is_symlink() or not path.is_dir() or not (path / MARKER).is_file()
    ):
        raise InputError(
            f"{flag} {path} exists, and is not a folder this command wrote; name "
            "a new folder (a rerun replaces only the command's own earlier output)."
        )
    check_folder(flag, path, path.parent)
    return previous


def staging_folder(flag, path):
    """An empty hidden folder beside ``path`` (but for `MARKER`), renamed to
    it once complete.

    Made before any work, so that a folder that cannot be written (a
    read-only file system, which permissions alone do not show to root)
    stops the job before it starts.
    """
    path = Path(path)
    try:
        folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
        (folder / MARKER).write_text("written by skogad clean --engine dask\n")
    except OSError as exc:
        raise InputError(f"{flag} {path}: cannot write in {path.parent} ({exc}).")
    return folder


def put_in_place(moves):
    """Rename each staged folder to its destination, in order, replacing an
    earlier output there; the earlier ones are removed once all are in place."""
    earlier = []
    for staged, path in moves:
        if path.exists():
            aside = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
            os.rename(path, aside)
            earlier.append(aside)
        os.rename(staged, path)
    discard(*earlier)


def discard(*folders):
    for folder in folders:
        if folder is not None:
            shutil.rmtree(folder, ignore_errors=True)
