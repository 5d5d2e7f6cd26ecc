"""Sphinx configuration of skogad's documentation site.

``make -C docs html`` builds it into ``docs/_build/html`` with warnings as
errors. What is generated at build time (and ignored by git): the API pages
(``api/generated/``), the gallery (``auto_examples/``, from ``examples/``),
one page per benchmark result (``benchmarks/results/``, each including
``benchmarks/results/NAME.md`` of the repository) and the command line's
``--help`` texts (``user_guide/cli_help/``).
"""

import os
import subprocess
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
sys.path.insert(0, str(ROOT))  # skogad from this checkout, installed or not
sys.path.insert(0, str(DOCS / "_sphinxext"))  # the gallery's hooks, MathML

import skogad  # noqa: E402

project = "skogad"
author = "the skogad developers"
copyright = "the skogad developers"
version = release = skogad.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "numpydoc",
    "myst_parser",
    "sphinx_gallery.gen_gallery",
    "sphinx_copybutton",
    "skogad_mathml",  # docs/_sphinxext: formulas as MathML, no MathJax
]
html_math_renderer = "mathml"

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
exclude_patterns = [
    "_build",
    "Thumbs.db",
    ".DS_Store",
    "**/README.txt",
]
templates_path = ["_templates"]

# `name` in reST and in docstrings is a cross-reference (numpydoc's
# convention); one that resolves to nothing fails the build.
default_role = "py:obj"
rst_prolog = ".. currentmodule:: skogad\n"  # `GradientOutlierDetector` in any page
nitpicky = True
nitpick_ignore = [
    # Third-party objects that numpydoc's "See Also" sections turn into
    # references; without intersphinx (the build needs no network) they cannot
    # resolve.
    ("py:obj", "sklearn.ensemble.IsolationForest"),
    # The base class the API pages of TabularMLP and LinearModel show.
    ("py:class", "torch.nn.modules.module.Module"),
]

# --- autodoc / autosummary / numpydoc ---------------------------------------
# The files whose autosummary tables get generated pages: api.rst and the
# section it includes (an excluded file, which True would not scan).
autosummary_generate = ["api.rst"]
autodoc_default_options = {"member-order": "groupwise"}
autodoc_typehints = "none"  # numpydoc's Parameters sections give the types
numpydoc_show_class_members = False  # the class template lists the methods
numpydoc_class_members_toctree = False
# The checks tests/test_docstrings.py runs, so that an undocumented parameter
# (PR01) or a section out of order fails the build as it fails the tests. Left
# out, as there: ES01 (an extended summary on every method), SA01 (See Also
# everywhere), EX01 (an example on every method), RT02 (numpydoc wants return
# types without a name; these docstrings name them).
numpydoc_validation_checks = {"all", "ES01", "SA01", "EX01", "RT02"}

# --- MyST (Markdown: CHANGELOG.md, benchmarks/results/*.md) ------------------
myst_heading_anchors = 3  # `[x](#a-heading)` links in the included Markdown

# --- sphinx-gallery ----------------------------------------------------------
# Every script in examples/ is run, in its quick form (``--quick``, the form
# tests/test_examples.py runs), unless the build is given
# ``-D plot_gallery=0`` (``make -C docs html-noplot``). SKOGAD_GALLERY_FULL=1
# runs the full forms instead (slower; after ``make -C docs clean``, as an
# example whose file has not changed is not run again). Each example picks its
# thumbnail in a ``# sphinx_gallery_thumbnail_*`` comment: one of its figures,
# or, for one that saves none, a picture of its result in
# docs/_static/thumbnails/ (made by docs/_sphinxext/make_thumbnails.py).
sphinx_gallery_conf = {
    "examples_dirs": "../examples",
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"\.py$",  # run them all, not only plot_*.py
    "ignore_pattern": r"__init__\.py",
    "reset_argv": "skogad_gallery.reset_argv",
    # The plots are drawn without pyplot and saved to files (see
    # skogad.plots), so the matplotlib scraper sees none: the PNGs an example
    # writes to its --out folder are picked up instead.
    "image_scrapers": ("matplotlib", "skogad_gallery.saved_pngs"),
    "download_all_examples": False,
    "show_memory": False,
    "min_reported_time": 1,
    "remove_config_comments": True,
}

# --- sphinx-copybutton --------------------------------------------------------
# A code block's copy button copies the code only. In a block with prompts
# (``>>> `` and ``... `` of a doctest, ``$ `` of a shell session) the prompts
# are removed and the lines without one (the output) are left out; a block
# with no prompt at all (the gallery's scripts, printed output, a bare
# ``pip install``) is copied whole. ``... `` needs its space: an output line
# that is just "..." (an elided row) is not a prompt. A shell line ending in
# a backslash carries the command on to the next line, which is copied too.
copybutton_prompt_text = r">>> |\.\.\. |\$ "
copybutton_prompt_is_regexp = True
copybutton_only_copy_prompt_lines = True
copybutton_remove_prompts = True
copybutton_line_continuation_character = "\\"

# --- HTML ---------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = f"skogad {release}"
html_static_path = ["_static"]
html_css_files = ["skogad.css"]
html_theme_options = {
    "navbar_align": "left",
    "show_toc_level": 2,
    "navigation_with_keys": False,
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version", "theme-version"],
    "secondary_sidebar_items": ["page-toc"],
    "header_links_before_dropdown": 7,
}
# "fit()" rather than "GradientOutlierDetector.fit()" in the page's contents
toc_object_entries_show_parents = "hide"
html_sidebars = {"index": [], "getting_started": [], "citing": [], "changelog": []}
html_show_sourcelink = False
html_copy_source = False


# --- pages made at build time -------------------------------------------------
def _write_if_changed(path, text):
    """Write ``text`` unless ``path`` holds it already (keeps rebuilds quick)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text(encoding="utf-8") != text:
        path.write_text(text, encoding="utf-8")


BENCHMARK_ORDER = [
    "label_noise",
    "label_noise_instance",
    "timing",
    "scaling",
    "gradients",
    "paper_synthetic",
    "vision",
    "text",
    "llm_influence",
    "llm_influence_answer",
    "label_noise_previous",
]

# Two results share a first line; their pages get these titles instead.
BENCHMARK_TITLES = {
    "llm_influence": "Data attribution on a language model (DataInf's benchmark): "
    "loss on the whole text",
    "llm_influence_answer": "Data attribution on a language model (DataInf's "
    "benchmark): loss on the answer only",
}


def _benchmark_pages():
    """One page per ``benchmarks/results/*.md``, including that file.

    The Markdown is included, not copied, so the pages cannot drift from the
    results. A result's ``NAME.png`` that its Markdown does not show is added
    below it. The pages sit in ``docs/benchmarks/results/``, mirroring the
    repository, so that the results' links to each other resolve.
    """
    results = ROOT / "benchmarks" / "results"
    out = DOCS / "benchmarks" / "results"
    wanted = set()
    for md in sorted(results.glob("*.md")):
        text = (
            "% Generated by docs/conf.py: edit benchmarks/results/"
            f"{md.name} instead.\n\n"
        )
        title = BENCHMARK_TITLES.get(md.stem)
        if title:  # in place of the file's own first line, its title
            text += f"# {title}\n\n"
        text += (
            f"```{{include}} ../../../benchmarks/results/{md.name}\n"
            ":relative-images:\n" + (":start-line: 1\n" if title else "") + "```\n"
        )
        png = md.with_suffix(".png")
        if png.exists() and png.name not in md.read_text(encoding="utf-8"):
            text += (
                f"\n```{{image}} ../../../benchmarks/results/{png.name}\n"
                f":alt: {png.stem.replace('_', ' ')}\n```\n"
            )
        # a marker for skogad.css: these pages' wide tables get the full width
        text += '\n```{raw} html\n<span class="skogad-wide-page"></span>\n```\n'
        _write_if_changed(out / md.name, text)
        wanted.add(md.name)
    for stale in out.glob("*.md"):
        if stale.name not in wanted:
            stale.unlink()
    # The toctree of docs/benchmarks/index.rst: these first, then any other.
    names = [n for n in BENCHMARK_ORDER if f"{n}.md" in wanted]
    names += sorted(n[:-3] for n in wanted if n[:-3] not in names)
    _write_if_changed(
        out / "toctree.txt",
        ".. toctree::\n   :maxdepth: 1\n   :hidden:\n\n"
        + "".join(f"   results/{n}\n" for n in names),
    )


def _cli_help():
    """The ``--help`` text of ``skogad`` and of each command, as it is now."""
    out = DOCS / "user_guide" / "cli_help"
    env = {**os.environ, "COLUMNS": "88", "PYTHONPATH": str(ROOT)}
    for name, args in {
        "skogad": [],
        "demo": ["demo"],
        "clean": ["clean"],
        "make-example": ["make-example"],
    }.items():
        text = subprocess.run(
            [sys.executable, "-m", "skogad", *args, "--help"],
            capture_output=True,
            text=True,
            check=True,
            env=env,
            cwd=ROOT,
        ).stdout
        _write_if_changed(out / f"{name}.txt", text)


_benchmark_pages()
_cli_help()
