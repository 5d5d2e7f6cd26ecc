"""Check the internal links of a built HTML site: ``python docs/check_links.py DIR``.

Every ``href``, ``src`` and ``srcset`` URL in every ``.html`` file under DIR
that is relative or a bare fragment must name a file that exists under DIR,
and a ``#fragment`` must be an ``id`` (or an ``<a name>``) in the page it
points to. Pages under ``_static/`` (theme assets) are not checked. Links with
a scheme (``http:``, ``https:``, ``mailto:``, ``data:``...) or a host
(``//...``) are skipped: no network is used. Prints each broken link (page,
line, attribute, target, why) and exits with status 1 if there is one, else
prints a summary and exits with 0.
"""

import argparse
import sys
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

LINK_ATTRIBUTES = {"href", "src"}
# Theme assets, not pages: pydata-sphinx-theme ships a Jinja macro file there.
SKIPPED_FOLDERS = {"_static"}


class _Page(HTMLParser):
    """The ids a page defines and the links it makes."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids = set()
        self.links = []  # (attribute, value, line)

    def handle_starttag(self, tag, attrs):
        for name, value in attrs:
            if value is None:
                continue
            if name == "id" or (tag == "a" and name == "name"):
                self.ids.add(value)
            elif name in LINK_ATTRIBUTES:
                self.links.append((name, value, self.getpos()[0]))
            elif name == "srcset":
                for candidate in value.split(","):
                    url = candidate.strip().split(" ")[0]
                    if url:
                        self.links.append((name, url, self.getpos()[0]))

    handle_startendtag = handle_starttag


def _parse(path, cache):
    if path not in cache:
        page = _Page()
        page.feed(path.read_text(encoding="utf-8", errors="replace"))
        page.close()
        cache[path] = page
    return cache[path]


def _pages(root):
    return [
        path
        for path in sorted(root.rglob("*.html"))
        if not SKIPPED_FOLDERS & set(path.relative_to(root).parts[:-1])
    ]


def broken_links(root):
    """Yield ``(page, attribute, line, target, why)`` for each broken link."""
    root = Path(root).resolve()
    cache = {}
    for page_path in _pages(root):
        page = _parse(page_path, cache)
        for attribute, value, line in page.links:
            parts = urlsplit(value)
            if parts.scheme or parts.netloc:
                continue  # external (or data:, mailto:, javascript:): not checked
            if not parts.path:
                target = page_path  # a bare fragment: this page
            else:
                target = (page_path.parent / unquote(parts.path)).resolve()
                if not target.is_relative_to(root):
                    yield page_path, attribute, line, value, "outside the site"
                    continue
                if target.is_dir():
                    target = target / "index.html"
                if not target.is_file():
                    yield page_path, attribute, line, value, "no such file"
                    continue
            fragment = unquote(parts.fragment)
            if fragment and target.suffix == ".html":
                if fragment not in _parse(target, cache).ids:
                    yield page_path, attribute, line, value, "no such id"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("site", type=Path, help="the built site, e.g. docs/_build/html")
    args = parser.parse_args(argv)
    if not (args.site / "index.html").is_file():
        parser.error(f"{args.site} holds no index.html: build the site first")
    root = args.site.resolve()
    broken = list(broken_links(root))
    checked = sum(
        1
        for page in _pages(root)
        for _, value, _ in _parse(page, {}).links
        if not (urlsplit(value).scheme or urlsplit(value).netloc)
    )
    for page, attribute, line, target, why in broken:
        print(f"{page.relative_to(root)}:{line}: {attribute}={target!r}: {why}")
    pages = len(_pages(root))
    if broken:
        print(f"{len(broken)} of {checked} internal links broken, in {pages} pages.")
        return 1
    print(f"{checked} internal links in {pages} pages, none broken.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
