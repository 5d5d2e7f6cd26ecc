"""Render ``:math:`` and ``.. math::`` as MathML when the site is built.

Sphinx's default, MathJax, typesets formulas in the reader's browser from a
CDN: a site read offline (or behind a firewall) shows raw LaTeX. docutils
converts LaTeX to MathML itself, which every current browser displays with
no script and no network. A formula it cannot convert fails the build.
"""

from docutils import nodes
from docutils.utils.math.latex2mathml import tex2mathml
from sphinx.util import logging

logger = logging.getLogger(__name__)


def _mathml(translator, node, latex, block):
    try:
        return tex2mathml(latex, as_block=block)
    except Exception as exc:  # docutils raises SyntaxError and others
        logger.warning("cannot convert %r to MathML: %s", latex, exc, location=node)
        return f"<code>{translator.encode(latex)}</code>"


def visit_math(self, node):
    self.body.append(_mathml(self, node, node.astext(), block=False))
    raise nodes.SkipNode


def visit_math_block(self, node):
    self.body.append(self.starttag(node, "div", CLASS="math notranslate"))
    # `.. math::` holds one equation per paragraph
    for latex in node.astext().split("\n\n"):
        if latex.strip():
            self.body.append(_mathml(self, node, latex.strip(), block=True))
    self.body.append("</div>\n")
    raise nodes.SkipNode


def setup(app):
    app.add_html_math_renderer("mathml", (visit_math, None), (visit_math_block, None))
    return {"parallel_read_safe": True, "parallel_write_safe": True}
