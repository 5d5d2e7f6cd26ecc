"""The documentation's configuration: copy buttons and gallery thumbnails.

Fast: docs/conf.py is read, not run (running it writes the generated pages),
and nothing is built; tests/test_docs.py builds the site.
"""

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
THUMBNAIL = re.compile(r"^# sphinx_gallery_thumbnail_(number|path) = (.+)$", re.M)


def _conf():
    """The names docs/conf.py assigns a literal to (lists, strings, bools)."""
    values = {}
    for node in ast.parse((DOCS / "conf.py").read_text(encoding="utf-8")).body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target = node.targets[0]
            if isinstance(target, ast.Name):
                try:
                    values[target.id] = ast.literal_eval(node.value)
                except ValueError:
                    pass  # not a literal (a path, an f-string)
    return values


def _copied(text, conf):
    """What a block's copy button copies: sphinx-copybutton 0.5's formatCopyText.

    A port of the JavaScript (sphinx_copybutton/_static/copybutton_funcs.js),
    with this site's settings; Python's ``re`` reads these patterns as the
    browser's RegExp does.
    """
    prompt = conf["copybutton_prompt_text"]
    if not conf.get("copybutton_prompt_is_regexp", False):
        prompt = re.escape(prompt)
    regexp = re.compile(f"^({prompt})(.*)")
    only_prompt_lines = conf.get("copybutton_only_copy_prompt_lines", True)
    continuation = conf.get("copybutton_line_continuation_character", "")
    lines, found, carried_on = [], False, False
    for line in text.split("\n"):
        match = regexp.match(line)
        if match or carried_on:
            found = found or bool(match)
            lines.append(match.group(2) if match else line)
            carried_on = bool(continuation) and line.endswith(continuation)
        elif not only_prompt_lines or not line.strip():
            lines.append(line)
    copied = "\n".join(lines) if found else text
    return copied.removesuffix("\n")


def test_code_blocks_get_a_copy_button():
    assert "sphinx_copybutton" in _conf()["extensions"]
    # the docs extra (tomllib is Python 3.11+; the project supports 3.10)
    pyproject = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    docs_extra = re.search(r"^docs = \[\n(.*?)^\]", pyproject, re.M | re.S)
    assert '"sphinx-copybutton>=' in docs_extra.group(1)


@pytest.mark.parametrize(
    "block, copied",
    [
        (  # a doctest: the code without its prompts, not the output
            ">>> def f(x):\n...     return 2 * x\n>>> f(\n...     2\n... )\n4\n",
            "def f(x):\n    return 2 * x\nf(\n    2\n)",
        ),
        (  # output over several lines, between two statements
            ">>> list(report.columns)\n['score', 'rank',\n 'flagged']\n>>> x = 1\n",
            "list(report.columns)\nx = 1",
        ),
        (  # a shell session: the commands, not what they print
            "$ skogad make-example churn.csv\nWrote churn.csv\n$ skogad clean \\\n"
            "    churn.csv --target churned\nFlagged 106 of 1500 rows\n",
            "skogad make-example churn.csv\nskogad clean \\\n"
            "    churn.csv --target churned",
        ),
        (  # printed output with a row elided by "...": no prompt, copied whole
            "The most suspicious rows:\n672  -1.406  True\n...\nWrote churn.csv\n",
            "The most suspicious rows:\n672  -1.406  True\n...\nWrote churn.csv",
        ),
        (  # a script (the gallery's code) or a bare command: copied whole
            "import numpy as np\nx = np.arange(3)  # $ and >>> inside\n",
            "import numpy as np\nx = np.arange(3)  # $ and >>> inside",
        ),
    ],
)
def test_the_copy_button_copies_the_code_only(block, copied):
    assert _copied(block, _conf()) == copied


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_each_example_picks_its_gallery_thumbnail(example):
    text = example.read_text(encoding="utf-8")
    settings = THUMBNAIL.findall(text)
    assert len(settings) == 1, "one sphinx_gallery_thumbnail_* comment"
    kind, value = settings[0]
    value = ast.literal_eval(value)
    if kind == "number":
        # the gallery's images of an example are the PNGs it saves (--out)
        assert value >= 1 and text.count('"--out"') == 1 and "savefig(" in text
    else:
        # relative to docs/, as sphinx-gallery reads it; a picture of the
        # example's own result (docs/_sphinxext/make_thumbnails.py), not
        # sphinx-gallery's stand-in
        picture = DOCS / value
        assert picture.read_bytes().startswith(b"\x89PNG")
        assert picture.stem == example.stem
        try:
            import sphinx_gallery
        except ImportError:
            return
        stand_in = Path(sphinx_gallery.__file__).parent / "_static" / "no_image.png"
        assert picture.read_bytes() != stand_in.read_bytes()
