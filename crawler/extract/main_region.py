"""The page's main region, shown to trafilatura as an <article>, so that it keeps the region's
structure.

trafilatura looks for the main text container by known tags and class names; when it finds
none (DocBook and other generated documentation, many CMS pages) it falls back to collecting
paragraphs, and every heading is lost (adbar/trafilatura#354): 0 of 58 PostgreSQL manual pages
kept a heading in markdown. Here the region is found by where the text is: the deepest element
(outside nav, header, footer, aside and forms) that holds at least REGION_SHARE of the page's
block text, widened to its section when it is only a list or table of it, or has no heading of
its own. A page with an <article>, <main> or role=main is left to trafilatura as it is.

A <pre> with markup inside (a command synopsis with <em> and <code>) is flattened to its text,
so that it comes out as a code block, not as escaped prose.
"""

from __future__ import annotations

from dataclasses import dataclass

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.extract.consent import drop_consent

REGION_SHARE = 0.7
BLOCKS = "p, pre, li, dd, dt, td, th, blockquote, h1, h2, h3, h4, h5, h6"
OUTSIDE = frozenset({"nav", "header", "footer", "aside", "form"})
# a region that is only part of its section: the section is the region
PARTS = frozenset({"dl", "ul", "ol", "table", "tbody", "thead", "tr", "li", "dd", "dt", "td",
                   "pre", "blockquote", "p"})
INLINE = ["em", "code", "span", "a", "strong", "b", "i", "var", "kbd", "samp", "u", "tt",
          "font", "mark", "small", "big", "sub", "sup"]
HEADINGS = "h1, h2, h3"
PERMALINKS = "h1 a, h2 a, h3 a, h4 a, h5 a, h6 a"
MAX_WIDENING = 6


@dataclass(frozen=True, slots=True)
class Prepared:
    html: str  # the page as trafilatura should see it
    heading: tuple[int, str] | None  # the main region's leading heading: (level, text)
    tree: LexborHTMLParser  # the whole page, parsed (crawler.extract.widening reads it)


def prepared(html: str) -> Prepared:
    """`html` as trafilatura should see it: the main region as the body's one <article> (and
    the head's title), or the page as it is when it marks its region or none stands out."""
    tree = LexborHTMLParser(html)
    pres = [pre for pre in tree.css("pre") if pre.css_first("*") is not None]
    for pre in pres:
        pre.unwrap_tags(INLINE)
    marks = [link for link in tree.css(PERMALINKS) if _is_mark(link)]
    for link in marks:  # a heading's permalink mark (Sphinx's ¶, GitHub's #) is not text
        link.decompose()
    dialogs = drop_consent(tree)  # a consent manager's prose is never the content
    changed = bool(pres or marks or dialogs)
    region = main_region(tree)
    marked = tree.css_first("article, main, [role=main]") if region is None else region
    heading = lead_heading(marked if marked is not None else tree.body)
    if region is None:
        return Prepared(tree.html or html if changed else html, heading, tree)
    title = tree.css_first("head title")
    head = title.html if title is not None else ""
    return Prepared(f"<html><head>{head}</head><body><article>{region.html}</article></body>"
                    "</html>", heading, tree)


def _is_mark(link: LexborNode) -> bool:
    """A link whose text is a symbol or two (¶, #, §), not words."""
    text = link.text(deep=True, strip=True)
    return len(text) <= 2 and not any(c.isalnum() for c in text)


def lead_heading(region: LexborNode | None) -> tuple[int, str] | None:
    """The region's first h1 (else h2, else h3) as (level, text): what the content is
    about, which a markdown output must not lose (trafilatura drops headings above lists
    of links, as on index and table-of-contents pages)."""
    if region is None:
        return None
    for level in (1, 2, 3):
        node = region.css_first(f"h{level}")
        if node is not None:
            text = " ".join(node.text(deep=True).split()).rstrip("¶#").strip()
            if text:
                return level, text
    return None


def main_region(tree: LexborHTMLParser) -> LexborNode | None:
    """The element that holds the page's main text, or None (see the module's docstring)."""
    if tree.css_first("article, main, [role=main]") is not None:
        return None
    held: dict[int, int] = {}  # an element's mem_id -> block text it holds
    nodes: dict[int, LexborNode] = {}
    depths: dict[int, int] = {}
    total = 0
    for block in tree.css(BLOCKS):
        size = len(block.text(deep=True, strip=True))
        if not size or _links_text(block) * 2 >= size:  # navigation, a table of contents
            continue
        chain = _ancestors(block)
        if chain is None:
            continue
        total += size
        for depth, node in enumerate(reversed(chain)):
            key = node.mem_id
            held[key] = held.get(key, 0) + size
            nodes[key], depths[key] = node, depth
    holding = [key for key, size in held.items() if size >= REGION_SHARE * total]
    if not total or not holding:
        return None
    return _widened(nodes[max(holding, key=depths.__getitem__)])


def _links_text(block: LexborNode) -> int:
    """Characters of the block's text inside links."""
    return sum(len(link.text(deep=True, strip=True)) for link in block.css("a"))


def _ancestors(block: LexborNode) -> list[LexborNode] | None:
    """The block's ancestors below <body>, nearest first; None when one of them is outside
    the main text (nav, header, footer, aside, form)."""
    chain = []
    node = block.parent
    while node is not None and node.tag not in ("body", "html"):
        if node.tag in OUTSIDE:
            return None
        chain.append(node)
        node = node.parent
    return chain


def _widened(region: LexborNode) -> LexborNode:
    """The region's section when the region is only a part of it: a list or table, or an
    element without a heading while its parent has one."""
    for _ in range(MAX_WIDENING):
        parent = region.parent
        if parent is None or parent.tag in ("body", "html"):
            break
        if region.tag in PARTS or region.css_first(HEADINGS) is None or _heading_beside(
                parent, region):
            region = parent
        else:
            break
    return region


def _heading_beside(parent: LexborNode, region: LexborNode) -> bool:
    """Whether `parent` has an h1-h3 outside `region`."""
    inside = {heading.mem_id for heading in region.css(HEADINGS)}
    return any(heading.mem_id not in inside for heading in parent.css(HEADINGS))
