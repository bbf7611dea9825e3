"""The page's main content (`--content text|markdown|html`), navigation, footers and other
boilerplate removed, by trafilatura (the best-measured main-text extractor on PyPI), shown the
page's main region (crawler.extract.main_region) so that headings, code blocks, lists, tables
and links survive, and widened to the element that holds its text when that element holds
much more of it (crawler.extract.widening: listings, category and service pages, whose cards
trafilatura drops as links). On a page that is not an article, the fast method's region is
kept instead when a third extractor agrees more with it (crawler.extract.arbiter). It costs
tens of milliseconds of CPU a page, ten times everything else the crawler does with a page, so
it runs in the parse worker processes, on every core."""

from __future__ import annotations

import html as html_text
import logging
import re

import trafilatura
from selectolax.lexbor import LexborNode

from crawler.extract.arbiter import cheap_to_judge, region_agrees_better
from crawler.extract.fast_content import fast_region
from crawler.extract.main_region import Prepared, prepared
from crawler.extract.widening import block_text, is_article, widened

_FORMATS = {"text": "txt", "markdown": "markdown", "html": "html"}
_MARKDOWN_HEADING = re.compile(r"^#{1,6} ", re.M)
_MARKDOWN_LINK_TARGET = re.compile(r"\]\([^)]*\)")
_BLANK_LINES = re.compile(r"\n{3,}")
logging.getLogger("trafilatura").setLevel(logging.ERROR)  # it warns about every odd page


def main_content(html: str, url: str, mode: str, method: str = "careful") -> str | None:
    """The main content of the page in the form `mode` names; None when it finds none.
    `method` "fast" takes the main region's own text (crawler.extract.fast_content) where it
    can. "careful" takes trafilatura's, or on a page that is not an article the region's when
    a third extractor agrees more with it (crawler.extract.arbiter). A markdown or HTML
    content starts with the region's leading heading when trafilatura dropped it."""
    region = fast_region(html) if method == "fast" else None
    if region is not None:
        return _in_form(region, mode)
    page = prepared(html)
    if method == "fast":
        return _formed(_careful(page, url, mode)[0], mode)
    article = is_article(page.tree)  # asked before widening edits the tree
    careful, careful_words = _careful(page, url, mode)
    if article or not cheap_to_judge(html):
        return _formed(careful, mode)
    region = fast_region(html)
    if region is None:
        return _formed(careful, mode)
    region_words = block_text(region)
    if not region_agrees_better(html, careful_words, region_words):
        return _formed(careful, mode)
    return region_words if mode == "text" else _in_form(region, mode)


def _careful(page: Prepared, url: str, mode: str) -> tuple[str | LexborNode | None, str]:
    """trafilatura's content of the page in the form `mode` names, or the container it widens
    to when that holds much more (crawler.extract.widening; converted by _formed only if it is
    kept), and its words."""
    structured = mode != "text"
    found = trafilatura.extract(page.html, url=url, output_format=_FORMATS[mode],
                                include_comments=False, include_tables=True,
                                include_formatting=structured, include_links=structured)
    if found is None:
        return None, ""
    words = _words_of(found, mode)
    wider = widened(page.tree, words)
    if wider is not None:
        return (wider.text if mode == "text" else wider.node), wider.text
    if not structured or page.heading is None:
        return found, words
    level, heading = page.heading
    if mode == "markdown":
        if _MARKDOWN_HEADING.search(found):
            return found, words
        return f"{'#' * level} {heading}\n\n{found}", f"{heading}\n{words}"
    if re.search(r"<h[1-6][ >]", found):
        return found, words
    tag = f"<h{level}>{html_text.escape(heading)}</h{level}>"
    body = found.find("<body>")
    return (found[:body + 6] + tag + found[body + 6:] if body >= 0 else tag + found,
            f"{heading}\n{words}")


def _words_of(found: str, mode: str) -> str:
    """trafilatura's output without its markup: what it kept of the page's text."""
    if mode == "markdown":
        return _MARKDOWN_LINK_TARGET.sub("]", found)
    if mode == "html":
        return re.sub(r"<[^>]*>", " ", found)
    return found


def _formed(content: str | LexborNode | None, mode: str) -> str | None:
    """_careful's content in the form `mode` names."""
    return _in_form(content, mode) if isinstance(content, LexborNode) else content


def _in_form(region: LexborNode, mode: str) -> str:
    """An element's content as text, markdown or HTML."""
    if mode == "text":
        return block_text(region)
    if mode == "html":
        return f"<html><body>{region.html or ''}</body></html>"
    from markdownify import markdownify  # BeautifulSoup: imported when a page needs it

    converted = markdownify(region.html or "", heading_style="ATX", bullets="-", strip=["img"])
    return _BLANK_LINES.sub("\n\n", converted).strip()
