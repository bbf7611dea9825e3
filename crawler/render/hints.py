"""Whether a page fetched without a browser looks like one its scripts build (--render auto):
pure checks of the parsed static tree, run in the parse workers.

The signs, each common on single-page apps and rare on pages a server renders:
- almost no text in <body> while the page has scripts;
- an empty application root (`<div id="root">`, `#app`, `#__next`, `<app-root>`, `[ng-app]`...);
- a <noscript> that says the page needs JavaScript.
"""

from __future__ import annotations

import re

from selectolax.lexbor import LexborHTMLParser

MIN_TEXT = 200  # characters of body text below which a page with scripts looks unbuilt
ROOTS = ("#root", "#app", "#__next", "#__nuxt", "#___gatsby", "#svelte", "#main-app",
         "[data-reactroot]", "[ng-app]", "[data-ng-app]", "app-root", "[data-server-rendered]")
NEEDS_JS = re.compile(r"(enable|turn on|requires?|need|activate)\W+(\w+\W+){0,3}javascript|"
                      r"javascript\W+(\w+\W+){0,3}(required|disabled|enabled|needed|must)", re.I)


def text_chars(tree: LexborHTMLParser) -> int:
    """Characters of the page's body text, spaces and scripts left out."""
    body = tree.body
    if body is None:
        return 0
    text = len((body.text(separator=" ", strip=True) or "").replace(" ", ""))
    scripts = sum(len((node.text() or "").replace(" ", "")) for node in body.css("script, style"))
    return max(0, text - scripts)


def render_hint(tree: LexborHTMLParser, text: int) -> str | None:
    """Why the page looks built by its scripts, or None when its HTML looks complete; `text`
    is its text_chars."""
    if tree.body is None:
        return None
    for node in tree.css("noscript"):
        if NEEDS_JS.search(node.text() or ""):
            return "a <noscript> says it needs JavaScript"
    if tree.css_first("script") is None:
        return None
    for selector in ROOTS:
        root = tree.css_first(selector)
        if root is not None and not (root.text(strip=True) or "") and len(root.css("*")) <= 1:
            return f"an empty application root ({selector})"
    if text < MIN_TEXT:
        return f"almost no text ({text} characters) beside scripts"
    return None
