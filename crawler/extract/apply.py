"""Apply compiled rules to a parsed page: the record's `data`. Runs in the parse worker, on the
tree the page was parsed into for its links (one parse)."""

from __future__ import annotations

from typing import Any

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.extract.rules import Field, Rules
from crawler.resolve import resolve_link
from crawler.urls import DEFAULT_RULES, BadURL, UrlRules

URL_ATTRIBUTES = frozenset({"href", "src", "action"})
_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off", ""}

Scope = LexborHTMLParser | LexborNode


def folded_text(node: LexborNode) -> str:
    """The element's text content, whitespace runs folded to one space, stripped."""
    return " ".join(node.text(deep=True).split())


def extract_data(tree: LexborHTMLParser, rules: Rules, url: str, base: str,
                 url_rules: UrlRules = DEFAULT_RULES) -> dict[str, Any] | None:
    """The fields of the first rule that matches `url`, or None when none does. Attribute
    URLs resolve against `base` (the page's <base href> or its URL)."""
    rule = rules.for_url(url)
    if rule is None:
        return None
    return _object(tree, rule.fields, base, url_rules)


def _object(scope: Scope, fields: tuple[Field, ...], base: str,
            url_rules: UrlRules) -> dict[str, Any]:
    return {field.name: _value(scope, field, base, url_rules) for field in fields}


def _value(scope: Scope, field: Field, base: str, url_rules: UrlRules) -> Any:
    if field.all:
        return [_one(node, field, base, url_rules) for node in scope.css(field.css)]
    node = scope.css_first(field.css)
    return None if node is None else _one(node, field, base, url_rules)


def _one(node: LexborNode, field: Field, base: str, url_rules: UrlRules) -> Any:
    if field.fields:
        return _object(node, field.fields, base, url_rules)
    if field.html:
        return node.html
    if field.attr is not None:
        value = node.attributes.get(field.attr)
        if value is None:
            return None
        if field.attr.lower() in URL_ATTRIBUTES:
            value = _absolute(value.strip(), base, url_rules)
    else:
        value = folded_text(node)
    if field.regex is not None:
        found = field.regex.search(value)
        if found is None:
            return None
        value = found.group(1) if found.re.groups else found.group(0)
    return convert(value, field.type)


def _absolute(value: str, base: str, url_rules: UrlRules) -> str:
    """An http(s) URL resolved to its canonical form; anything else (mailto:, data:,
    javascript:) as written."""
    try:
        return resolve_link(value, base, url_rules)
    except BadURL:
        return value


def convert(value: str | None, kind: str) -> Any:
    """`value` as the field's type; None when it does not convert."""
    if value is None or kind == "str":
        return value
    text = value.strip()
    try:
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError:
        return None
    lowered = text.lower()
    if lowered in _TRUE:
        return True
    return False if lowered in _FALSE else None
