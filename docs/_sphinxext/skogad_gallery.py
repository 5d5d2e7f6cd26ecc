"""sphinx-gallery hooks for examples/: their arguments, and the PNGs they save.

docs/conf.py names these by their import path (sphinx-gallery imports a
dotted string), so that the configuration stays picklable.
"""

import os
import shutil
from pathlib import Path

from sphinx_gallery.scrapers import figure_rst

# sphinx-gallery runs an example from its own folder, examples/: an example
# that saves files (``--out DIR``) is told to write them to this subfolder
# (ignored by git, as ./example_output is), which prints as a reader's own
# run would.
OUT = "example_output"


def reset_argv(gallery_conf, script_vars):
    """``sys.argv[1:]`` for an example: its quick form, and ``--out`` if it has one.

    The quick form is what tests/test_examples.py runs; set
    ``SKOGAD_GALLERY_FULL=1`` for the full one. An example that saves files
    starts with an empty ``examples/example_output/``, from which
    `saved_pngs` moves its pictures into the page.
    """
    src_file = Path(script_vars["src_file"])
    argv = [] if os.environ.get("SKOGAD_GALLERY_FULL") == "1" else ["--quick"]
    if '"--out"' in src_file.read_text(encoding="utf-8"):
        shutil.rmtree(src_file.parent / OUT, ignore_errors=True)
        argv += ["--out", OUT]
    return argv


def saved_pngs(block, block_vars, gallery_conf):
    """Image scraper: the PNGs the code block just saved to ``--out``.

    skogad.plots draws without pyplot, so the matplotlib scraper misses its
    figures; an example saves them instead, and each new PNG is moved into
    the gallery's images here, after the block that wrote it, in the order
    written. The emptied folder is removed.
    """
    out = Path(block_vars["src_file"]).parent / OUT
    if not out.is_dir():
        return ""
    images = []
    for png in sorted(out.glob("*.png"), key=lambda p: p.stat().st_mtime_ns):
        target = block_vars["image_path_iterator"].next()
        shutil.move(png, target)
        images.append(target)
    if not any(out.iterdir()):
        out.rmdir()
    return figure_rst(images, gallery_conf["src_dir"])
