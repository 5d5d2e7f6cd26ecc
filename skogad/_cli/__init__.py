"""The ``skogad`` command line, a thin layer over the estimators.

- `skogad._cli.main`: arguments and exit codes;
- `skogad._cli.clean`: the ``clean`` job (table in, kept rows and report out);
- `skogad._cli.tables`: reading, encoding and writing tables;
- `skogad._cli.outputs`: output paths checked up front, written to temporary
  files and renamed into place together;
- `skogad._cli.reports`: the report in CSV, Markdown or HTML, with nothing in
  it that a spreadsheet or browser would run;
- `skogad._cli.demo`: the ``demo`` command.
"""

from skogad._cli.main import main

__all__ = ["main"]
