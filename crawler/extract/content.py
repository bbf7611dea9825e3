"""The page's main content (`--content text|markdown|html`), navigation, footers and other
boilerplate removed, by trafilatura (the best-measured main-text extractor on PyPI). It costs
tens of milliseconds of CPU a page, ten times everything else the crawler does with a page, so
it runs in the parse worker processes, on every core."""

from __future__ import annotations

import logging

import trafilatura

_FORMATS = {"text": "txt", "markdown": "markdown", "html": "html"}
logging.getLogger("trafilatura").setLevel(logging.ERROR)  # it warns about every odd page


def main_content(html: str, url: str, mode: str) -> str | None:
    """The main content of the page in the form `mode` names; None when it finds none."""
    return trafilatura.extract(html, url=url, output_format=_FORMATS[mode],
                               include_comments=False, include_tables=True)
