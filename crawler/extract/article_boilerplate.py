"""An article's region without its boilerplate, by trafilatura's own rules: for the fast method.

The fast method's region of an article (crawler.extract.fast_content) holds what sits beside
the story in the same container: comment threads, author bios, share and newsletter blocks,
related-article teasers, image captions. trafilatura names these by their ids and classes and
removes them before it extracts. Here the same rule sets are applied to a copy of the region:
its comment sections (REMOVE_COMMENTS_AND_LISTS_XPATH), its boilerplate blocks
(OVERALL_DISCARD_XPATH, with trafilatura's own guard against removing nearly everything) and
its captions (DISCARD_IMAGE_ELEMENTS). None of trafilatura's extraction runs. That extraction is
what costs careful its tens of milliseconds.

When the rules would leave under KEEP_SHARE of the region's words, they have matched the
story's own container (a theme that calls its article body a "widget"). The region is then
kept whole.

Measured on the WCXB dev pages and Zyte's articles (bench/content.py, 2026-12-05): fast 0.839
-> 0.843 on WCXB (articles 0.921 -> 0.928) and 0.893 -> 0.932 on Zyte, for about 2.5 ms more
on pages that say they are articles. Any KEEP_SHARE from 1/7 (trafilatura's own guard) to 0.3
gives WCXB 0.841-0.843 and Zyte 0.927-0.932.

A region of many tags that also nests deep is not pruned. Checking each match's ancestors
costs matches times depth.
"""

from __future__ import annotations

import lxml.html
from selectolax.lexbor import LexborHTMLParser, LexborNode
from trafilatura.htmlprocessing import prune_unwanted_nodes
from trafilatura.xpaths import (
    DISCARD_IMAGE_ELEMENTS,
    OVERALL_DISCARD_XPATH,
    REMOVE_COMMENTS_AND_LISTS_XPATH,
)

from crawler.parse.nesting import depth_bound

KEEP_SHARE = 0.2  # of the region's words: fewer left means the rules took the story
MANY_TAGS = 16_000
PRUNED_DEPTH = 128


def without_boilerplate(region: LexborNode) -> LexborNode | None:
    """A copy of `region` without its comment sections, boilerplate blocks and captions; None
    when nothing was removed, when the rules would leave under KEEP_SHARE of its words, or when
    the region is too large and deep to prune cheaply."""
    html = region.html or ""
    if html.count("<") > MANY_TAGS and \
            depth_bound(html.encode("utf-8", "replace"), PRUNED_DEPTH) > PRUNED_DEPTH:
        return None
    try:
        tree = lxml.html.fromstring(html)
    except (ValueError, lxml.etree.ParserError):  # nothing lxml can parse
        return None
    before = len(tree.text_content().split())
    prune_unwanted_nodes(tree, REMOVE_COMMENTS_AND_LISTS_XPATH)
    prune_unwanted_nodes(tree, OVERALL_DISCARD_XPATH, with_backup=True)
    prune_unwanted_nodes(tree, DISCARD_IMAGE_ELEMENTS)
    after = len(tree.text_content().split())
    if after == before or after < KEEP_SHARE * before:
        return None
    body = LexborHTMLParser(lxml.html.tostring(tree, encoding="unicode")).body
    if body is None:
        return None
    children = list(body.iter())
    return children[0] if len(children) == 1 else body
