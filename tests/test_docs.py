"""The documentation site (docs/): its code runs, its links hold, it builds.

The fast tier checks the link checker itself and that the API reference lists
every public name. The slow tier runs every code block of the hand-written
pages (``>>>`` examples as doctests, ``.. code-block:: python`` blocks as
scripts, the command lines of the CLI page in a subprocess) and builds the
site with warnings as errors, without running the gallery (the examples run
in tests/test_examples.py), then checks its internal links.
"""

import doctest
import importlib
import importlib.util
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
# Made by the build (docs/conf.py, autosummary, sphinx-gallery), not by hand.
GENERATED = ("_build", "api/generated", "auto_examples", "benchmarks/results")
_spec = importlib.util.spec_from_file_location("check_links", DOCS / "check_links.py")
check_links = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_links)


def _pages():
    return sorted(
        path.relative_to(DOCS).as_posix()
        for path in DOCS.rglob("*.rst")
        if not path.relative_to(DOCS).as_posix().startswith(GENERATED)
        and path.name != "sg_execution_times.rst"
    )


def _python_blocks(text):
    """The bodies of the ``.. code-block:: python`` directives of a page."""
    blocks = []
    for match in re.finditer(
        r"^\.\. code-block:: python\n((?:\n|   .*\n)+)", text, re.M
    ):
        lines = match.group(1).splitlines()
        blocks.append("\n".join(line[3:] for line in lines) + "\n")
    return blocks


PAGES = _pages()
CODE_PAGES = [
    page
    for page in PAGES
    if ">>> " in (text := (DOCS / page).read_text()) or _python_blocks(text)
]


# --------------------------------------------------------------- fast tier
def _site(tmp_path, pages):
    for name, html in pages.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(html)
    return tmp_path


def test_check_links_accepts_a_sound_site(tmp_path, capsys):
    site = _site(
        tmp_path,
        {
            "index.html": '<a href="a/page.html#here">x</a><a href="#top">top</a>'
            '<h1 id="top">t</h1><img src="_images/p.png" srcset="_images/p.png 2x">'
            '<a href="https://example.org/missing">external</a>'
            '<a href="mailto:x@example.org">mail</a><a href="a/">folder</a>',
            "a/page.html": '<p id="here"></p><a href="../index.html">up</a>',
            "a/index.html": "<p></p>",
            "_images/p.png": "",
            # a theme's template in _static is not a page
            "_static/macros.html": '<a href="{{ pathto(x) }}">x</a>',
        },
    )
    assert check_links.main([str(site)]) == 0
    assert "none broken" in capsys.readouterr().out


def test_check_links_reports_each_broken_link(tmp_path, capsys):
    site = _site(
        tmp_path,
        {
            "index.html": '<a href="missing.html">a</a>\n<a href="b.html#nowhere">b</a>'
            '\n<img src="img/gone.png"><a href="#absent">c</a>'
            '<a href="../../outside.html">d</a>',
            "b.html": '<p id="somewhere"></p>',
        },
    )
    assert check_links.main([str(site)]) == 1
    out = capsys.readouterr().out
    assert "index.html:1: href='missing.html': no such file" in out
    assert "index.html:2: href='b.html#nowhere': no such id" in out
    assert "src='img/gone.png': no such file" in out
    assert "href='#absent': no such id" in out
    assert "href='../../outside.html': outside the site" in out
    assert "5 of 5 internal links broken" in out


def test_the_api_reference_lists_every_public_name():
    api = (DOCS / "api.rst").read_text()
    listed = {
        module: set(re.findall(r"^   (\w+)$", section, re.M))
        for module, section in zip(
            re.findall(r"^\.\. currentmodule:: ([\w.]+)$", api, re.M),
            re.split(r"^\.\. currentmodule:: [\w.]+$", api, flags=re.M)[1:],
            strict=True,
        )
    }
    for name in (
        "skogad",
        "skogad.plots",
        "skogad.noise",
        "skogad.datasets",
        "skogad.dask",
    ):
        module = importlib.import_module(name)
        assert set(module.__all__) <= listed.get(name, set()), name


def test_the_set_up_commands_are_the_readme_s():
    readme = re.findall(
        r"```bash\n(python3 -m venv .*)\n```", (ROOT / "README.md").read_text()
    )
    page = (DOCS / "getting_started.rst").read_text()
    assert len(readme) == 2
    for command in readme:
        assert f"\n   {command}\n" in page


# --------------------------------------------------------------- slow tier
@pytest.mark.slow  # each page trains a few small networks
@pytest.mark.parametrize("page", CODE_PAGES)
def test_page_code_runs(page, tmp_path, monkeypatch):
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    monkeypatch.chdir(tmp_path)  # what a page writes lands here
    text = (DOCS / page).read_text()
    namespace = {"__name__": "__main__"}
    for block in _python_blocks(text):
        exec(compile(block, str(DOCS / page), "exec"), namespace)
    test = doctest.DocTestParser().get_doctest(text, {}, page, str(DOCS / page), 0)
    report = []
    runner = doctest.DocTestRunner(
        optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    result = runner.run(test, out=report.append)
    assert result.failed == 0, "".join(report)


@pytest.mark.slow  # runs `skogad make-example` and `skogad clean`
def test_the_cli_page_commands_run(tmp_path):
    pytest.importorskip("pandas")
    pytest.importorskip("matplotlib")
    text = (DOCS / "user_guide" / "cli.rst").read_text()
    commands = re.findall(r"^   \$ skogad (.*)$", text, re.M)
    assert len(commands) >= 2
    for command in commands:
        result = subprocess.run(
            [sys.executable, "-m", "skogad", *shlex.split(command)],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert result.returncode == 0, result.stderr
    assert (tmp_path / "churn.clean.csv").is_file()
    assert (tmp_path / "plots" / "trim_curve.png").is_file()


@pytest.mark.slow  # a full Sphinx build (about 20 s), gallery not executed
def test_the_site_builds_without_warnings_and_its_links_hold(tmp_path):
    for name in (
        "sphinx",
        "numpydoc",
        "sphinx_gallery",
        "myst_parser",
        "sphinx_copybutton",
    ):
        pytest.importorskip(name)
    pytest.importorskip("pydata_sphinx_theme")
    out = tmp_path / "html"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "sphinx",
            "-b",
            "html",
            "-W",
            "--keep-going",
            "-q",
            "-D",
            "plot_gallery=0",
            "-d",
            str(tmp_path / "doctrees"),
            str(DOCS),
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-5000:]
    assert check_links.main([str(out)]) == 0
