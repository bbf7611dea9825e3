"""The element that holds trafilatura's main text, when it holds much more of the same kind.

trafilatura keeps prose and drops link-dense blocks, which is right on an article and wrong on
a listing, a category page or a service page: there the cards, teasers and feature lists are
the content, and trafilatura keeps a few of them (WCXB dev: listings' recall 0.56). Here the
text trafilatura kept is found again in the page, and the deepest element holding
HELD_SHARE of it is its container. When the container's text has at least WIDER times the
words trafilatura kept, the page is one whose content trafilatura cut, and the container is
the content. A page that says what it is is not widened when it is a product (JSON-LD
Product, og:type product: its container is the shop around it, recommendations and recently
viewed) or an article (og:type article, JSON-LD Article and kin: trafilatura's pruning inside
the article body, of ads, captions and related links, is right).

Measured on the 1,497 WCXB dev pages in three folds (bench/content.py; the threshold was
chosen on the folds together, and holds in each): listings 0.58 -> 0.68, services
0.77 -> 0.83. Widening article-marked pages too gained WCXB 0.004 more but cost the Zyte
article benchmark 0.006 (16 of its 181 articles widened, 12 of them for the worse).
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

HELD_SHARE = 0.9
WIDER = 1.2
MIN_WORDS = 3
# punctuation is not compared: trafilatura rewrites quotes, dashes and spacing around marks
PUNCTUATION = re.compile(r"[^\w\s]+")
OUTSIDE = frozenset({"script", "style", "noscript", "template", "nav", "header", "footer",
                     "aside", "form", "select", "button", "dialog"})
NOT_TEXT = ("script, style, noscript, svg, template, iframe, select, button, dialog, nav, header,"
            " footer, aside, form")
BLOCK_TAGS = frozenset({
    "p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "table",
    "tr", "td", "th", "thead", "tbody", "tfoot", "caption", "h1", "h2", "h3", "h4", "h5", "h6",
    "pre", "blockquote", "figure", "figcaption", "br", "hr", "address", "details", "summary"})
PRODUCT_TYPE = re.compile(r'"@type"\s*:\s*(?:\[[^\]]*)?"(?:Product|ProductGroup)"')
ARTICLE_TYPE = re.compile(r'"@type"\s*:\s*(?:\[[^\]]*)?"(?:Article|NewsArticle|BlogPosting|Report|'
                          r'TechArticle|ScholarlyArticle|OpinionNewsArticle|AnalysisNewsArticle|'
                          r'ReportageNewsArticle|LiveBlogPosting)"')


@dataclass(frozen=True, slots=True)
class Widened:
    text: str  # the container's text, a line per block
    node: LexborNode  # the container, scripts and navigation removed


def widened(tree: LexborHTMLParser, kept: str) -> Widened | None:
    """The container of `kept` (trafilatura's text of the page `tree`) when it holds at least
    WIDER times its words and the page is not a product's; else None. Removes scripts and
    navigation from the container in `tree`."""
    kept_words = PUNCTUATION.sub(" ", kept.lower()).split()
    if len(kept_words) < MIN_WORDS:
        return None
    body = tree.body
    if body is None or is_product(tree) or is_article(tree):
        return None
    container = _container(body, kept_words)
    if container is None:
        return None
    for node in container.css(NOT_TEXT):
        node.decompose()
    text = block_text(container)
    if len(text.split()) < WIDER * len(kept_words):
        return None
    return Widened(text, container)


def is_product(tree: LexborHTMLParser) -> bool:
    """Whether the page says it is a product's page (JSON-LD or OpenGraph)."""
    return _says(tree, lambda og: "product" in og, PRODUCT_TYPE)


def is_article(tree: LexborHTMLParser) -> bool:
    """Whether the page says it is an article (og:type article, JSON-LD Article and kin)."""
    return _says(tree, lambda og: og.startswith("article"), ARTICLE_TYPE)


def _says(tree: LexborHTMLParser, og_type: Callable[[str], bool], ld_type: re.Pattern[str]) -> bool:
    og = tree.css_first('meta[property="og:type"]')
    if og is not None and og_type((og.attributes.get("content") or "").strip().lower()):
        return True
    return any(ld_type.search(script.text() or "")
               for script in tree.css('script[type="application/ld+json"]'))


def _container(body: LexborNode, kept_words: list[str]) -> LexborNode | None:
    """The deepest element holding HELD_SHARE of the characters of the text nodes whose
    words trafilatura kept (every pair of neighbouring words in its text), outside scripts,
    navigation, headers and footers. Linear in the page: each text node is looked at once,
    and each distinct parent's ancestors once."""
    pairs = set(itertools.pairwise(kept_words))
    direct: dict[int, int] = {}  # a text node's parent -> characters matched below it
    parents: dict[int, LexborNode] = {}
    for node in body.traverse(include_text=True):
        if node.tag != "-text":
            continue
        text = node.text_content
        if not text or len(text) < 3 * MIN_WORDS or text.isspace():
            continue
        parent = node.parent
        if parent is None or parent.tag in OUTSIDE:
            continue
        words = PUNCTUATION.sub(" ", text.lower()).split()
        if len(words) < MIN_WORDS or not all(pair in pairs for pair in itertools.pairwise(words)):
            continue
        key = parent.mem_id
        direct[key] = direct.get(key, 0) + len(text)
        parents[key] = parent
    held: dict[int, int] = {}
    nodes: dict[int, LexborNode] = {}
    depths: dict[int, int] = {}
    total = 0
    for key, size in direct.items():
        chain = []
        element: LexborNode | None = parents[key]
        while element is not None and element.tag != "html":
            if element.tag in OUTSIDE:
                break
            chain.append(element)
            element = element.parent
        else:
            total += size
            for depth, ancestor in enumerate(reversed(chain)):
                held[ancestor.mem_id] = held.get(ancestor.mem_id, 0) + size
                nodes[ancestor.mem_id], depths[ancestor.mem_id] = ancestor, depth
    if not total:
        return None
    holding = [key for key, size in held.items() if size >= HELD_SHARE * total]
    return nodes[max(holding, key=depths.__getitem__)]


def block_text(element: LexborNode) -> str:
    """The element's text with a line per block (paragraph, item, cell, heading), its
    whitespace collapsed."""
    parts: list[str] = []
    stack: list[LexborNode | str] = [element]
    while stack:  # depth first, without recursion: a page may nest thousands deep
        item = stack.pop()
        if isinstance(item, str):
            parts.append(item)
        elif item.tag == "-text":
            parts.append(item.text_content or "")
        else:
            block = item.tag in BLOCK_TAGS
            if block:
                parts.append("\n")
                stack.append("\n")
            stack.extend(reversed(list(item.iter(include_text=True))))
    lines = (" ".join(line.split()) for line in "".join(parts).split("\n"))
    return "\n".join(line for line in lines if line)
