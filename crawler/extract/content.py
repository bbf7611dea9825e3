"""The page's main content (`--content text|markdown|html`), navigation, footers and other
boilerplate removed, by trafilatura (the best-measured main-text extractor on PyPI), shown the
page's main region (crawler.extract.main_region) so that headings, code blocks, lists, tables
and links survive. It costs tens of milliseconds of CPU a page, ten times everything else the
crawler does with a page, so it runs in the parse worker processes, on every core."""

from __future__ import annotations

import html as html_text
import logging
import re

import trafilatura

from crawler.extract.main_region import prepared

_FORMATS = {"text": "txt", "markdown": "markdown", "html": "html"}
_MARKDOWN_HEADING = re.compile(r"^#{1,6} ", re.M)
logging.getLogger("trafilatura").setLevel(logging.ERROR)  # it warns about every odd page


def main_content(html: str, url: str, mode: str) -> str | None:
    """The main content of the page in the form `mode` names; None when it finds none. A
    markdown or HTML content starts with the region's leading heading when trafilatura
    dropped it."""
    page = prepared(html)
    structured = mode != "text"
    found = trafilatura.extract(page.html, url=url, output_format=_FORMATS[mode],
                                include_comments=False, include_tables=True,
                                include_formatting=structured, include_links=structured)
    if found is None or not structured or page.heading is None:
        return found
    level, heading = page.heading
    if mode == "markdown":
        return found if _MARKDOWN_HEADING.search(found) else f"{'#' * level} {heading}\n\n{found}"
    if re.search(r"<h[1-6][ >]", found):
        return found
    tag = f"<h{level}>{html_text.escape(heading)}</h{level}>"
    body = found.find("<body>")
    return found[:body + 6] + tag + found[body + 6:] if body >= 0 else tag + found
