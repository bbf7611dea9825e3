"""Structured data a page carries, into the record's `structured` field: JSON-LD blocks,
microdata items (WHATWG HTML's microdata model) and OpenGraph / Twitter card meta tags.

It reads the tree the parse already built (selectolax), so it costs a fraction of a
millisecond on most pages (bench/content.py measures it). JSON-LD is parsed block by block: a
malformed block is skipped and counted (`json_ld_errors`), the others are kept (a whole page's
JSON-LD lost to one bad block is a known fault of extruct). Bounded: at most MAX_BLOCKS blocks,
MAX_ITEMS microdata items, MAX_DEPTH levels of nested items, and BLOCK_BYTES a block.
"""

from __future__ import annotations

import re
from typing import Any

import orjson
from selectolax.lexbor import LexborHTMLParser, LexborNode

MAX_BLOCKS = 100
BLOCK_BYTES = 1 << 20
MAX_ITEMS = 200
MAX_PROPERTIES = 5000
MAX_DEPTH = 8
MAX_META = 200
ANY_KIND = 'script[type="application/ld+json" i], [itemscope], meta[property], meta[name]'
_COMMENTS = re.compile(r"^\s*(?:<!--|//\s*<!\[CDATA\[|<!\[CDATA\[)|(?:-->|//\s*\]\]>|\]\]>)\s*$")
_URL_PROPERTY = {"a": "href", "area": "href", "link": "href", "audio": "src", "embed": "src",
                 "iframe": "src", "img": "src", "source": "src", "track": "src", "video": "src",
                 "object": "data"}
_VALUE_PROPERTY = {"meta": "content", "data": "value", "meter": "value", "time": "datetime"}


def structured_data(tree: LexborHTMLParser) -> dict[str, Any] | None:
    """{"json_ld": [...], "microdata": [...], "opengraph": {...}, "twitter": {...}}, with
    only the kinds the page has; None when it has none."""
    found: dict[str, Any] = {}
    nodes = tree.css(ANY_KIND)  # one walk finds which kinds the page has (most have one)
    scripts = [node for node in nodes if node.tag == "script"]
    blocks, errors = json_ld(scripts) if scripts else ([], 0)
    if blocks:
        found["json_ld"] = blocks
    if errors:
        found["json_ld_errors"] = errors
    items = microdata(tree) if any(
        "itemscope" in node.attributes for node in nodes if node.tag != "script") else []
    if items:
        found["microdata"] = items
    for name, values in meta_cards([node for node in nodes if node.tag == "meta"]).items():
        found[name] = values
    return found or None


def json_ld(scripts: list[LexborNode]) -> tuple[list[Any], int]:
    """Every JSON-LD block of these <script> elements that parses (a top-level array is
    spread), and how many did not."""
    blocks: list[Any] = []
    errors = 0
    for node in scripts[:MAX_BLOCKS]:
        text = (node.text(deep=True) or "").strip()
        if not text:
            continue
        if len(text) > BLOCK_BYTES:
            errors += 1
            continue
        value = _loads(text)
        if value is None:
            errors += 1
        elif isinstance(value, list):
            blocks.extend(value)
        else:
            blocks.append(value)
    return blocks, errors


def _loads(text: str) -> Any:
    """A JSON-LD block's value, or None. Tolerates what pages wrap it in (HTML comments,
    CDATA) and raw line breaks inside strings, as browsers' JSON-LD consumers do."""
    for attempt in (text, _COMMENTS.sub("", text).strip()):
        try:
            return orjson.loads(attempt)
        except orjson.JSONDecodeError:
            pass
    try:  # control characters inside strings are the most common fault
        return orjson.loads(re.sub(r"[\x00-\x1f]", " ", _COMMENTS.sub("", text)))
    except orjson.JSONDecodeError:
        return None


def microdata(tree: LexborHTMLParser) -> list[dict[str, Any]]:
    """The page's top-level microdata items: {"type": [...], "id": ..., "properties": {...}},
    a property's values always a list. Each itemprop is given to its nearest itemscope
    ancestor (or to the item whose itemref names an element it is in)."""
    scopes = tree.css("[itemscope]")
    if not scopes:
        return []
    scope_ids = {node.mem_id for node in scopes}
    owned: dict[int, list[LexborNode]] = {}
    for node in tree.css("[itemprop]")[:MAX_PROPERTIES]:
        owner = _owner(node, scope_ids)
        if owner is not None:
            owned.setdefault(owner, []).append(node)
    for scope in scopes:
        refs = (scope.attributes.get("itemref") or "").split()
        if refs:
            owned.setdefault(scope.mem_id, []).extend(_referenced(refs, tree, scope_ids))
    top = [node for node in scopes if "itemprop" not in node.attributes]
    return [_item(node, owned, 0) for node in top[:MAX_ITEMS]]


def _owner(node: LexborNode, scope_ids: set[int], stop: int | None = None) -> int | None:
    """The mem_id of the nearest itemscope ancestor of `node` (None past `stop`'s)."""
    parent = node.parent
    while parent is not None:
        key = parent.mem_id
        if key in scope_ids:
            return key
        if key == stop:
            return None
        parent = parent.parent
    return None


def _referenced(refs: list[str], tree: LexborHTMLParser, scope_ids: set[int]
                ) -> list[LexborNode]:
    """The properties in the elements an itemref names: the element itself, and the
    itemprops inside it that no item inside it owns."""
    found: list[LexborNode] = []
    for ref in refs[:MAX_ITEMS]:
        target = tree.css_first(f'[id="{_css_string(ref)}"]')
        if target is None:
            continue
        if "itemprop" in target.attributes:
            found.append(target)
        if target.mem_id in scope_ids:
            continue
        found.extend(node for node in target.css("[itemprop]")[:MAX_PROPERTIES]
                     if node.mem_id != target.mem_id  # css() matches the element itself
                     and _owner(node, scope_ids, stop=target.mem_id) is None)
    return found


def _item(scope: LexborNode, owned: dict[int, list[LexborNode]], depth: int
          ) -> dict[str, Any]:
    attrs = scope.attributes
    item: dict[str, Any] = {}
    if attrs.get("itemtype"):
        item["type"] = (attrs.get("itemtype") or "").split()
    if attrs.get("itemid"):
        item["id"] = attrs.get("itemid")
    properties: dict[str, list[Any]] = {}
    for node in owned.get(scope.mem_id, ()):
        value: Any
        if "itemscope" in node.attributes:
            value = _item(node, owned, depth + 1) if depth < MAX_DEPTH else None
        else:
            value = _value(node)
        if value is None:
            continue
        for name in (node.attributes.get("itemprop") or "").split():
            properties.setdefault(name, []).append(value)
    item["properties"] = properties
    return item


def _value(node: LexborNode) -> str | None:
    attrs, tag = node.attributes, node.tag or ""
    if "content" in attrs and tag != "meta":
        return attrs.get("content")
    if tag in _URL_PROPERTY:
        return attrs.get(_URL_PROPERTY[tag])
    if tag in _VALUE_PROPERTY:
        value = attrs.get(_VALUE_PROPERTY[tag])
        if value is not None or tag != "time":
            return value
    return " ".join((node.text(deep=True) or "").split())


def _css_string(text: str) -> str:
    return text.replace("\\", "\\\\").replace('"', '\\"')


def meta_cards(metas: list[LexborNode]) -> dict[str, dict[str, Any]]:
    """OpenGraph (`og:`, and its `article:`, `product:`... namespaces) and Twitter card meta
    tags among these <meta> elements: {"opengraph": {"og:title": ...}, "twitter": {...}}; a
    repeated property (several og:image) becomes a list."""
    cards: dict[str, dict[str, Any]] = {}
    for node in metas[: MAX_META * 5]:
        attrs = node.attributes
        key = (attrs.get("property") or attrs.get("name") or "").strip().lower()
        value = attrs.get("content")
        if value is None or ":" not in key:
            continue
        kind = "twitter" if key.startswith("twitter:") else "opengraph" if key.split(":", 1)[
            0] in _OG_NAMESPACES else None
        if kind is None:
            continue
        card = cards.setdefault(kind, {})
        if len(card) >= MAX_META:
            continue
        if key in card:
            card[key] = [*card[key], value] if isinstance(card[key], list) else [card[key], value]
        else:
            card[key] = value
    return cards


_OG_NAMESPACES = frozenset({"og", "article", "product", "book", "profile", "music", "video",
                            "fb", "al"})
