"""Apply compiled rules to a parsed page: the record's `data`. Runs in the parse worker, on the
tree the page was parsed into for its links (one parse)."""

from __future__ import annotations

from typing import Any, TypeAlias

import orjson
from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.extract.rules import Field, Rules, bounded_search
from crawler.parse.resolve import resolve_link
from crawler.urls import DEFAULT_RULES, BadURL, UrlRules

URL_ATTRIBUTES = frozenset({"href", "src", "action"})
DATA_BYTES = 1 << 20  # text one page's rules may extract, at most (as links are bounded)
_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off", ""}

Scope: TypeAlias = LexborHTMLParser | LexborNode


def folded_text(node: LexborNode) -> str:
    """The element's text content, whitespace runs folded to one space, stripped."""
    return " ".join(node.text(deep=True).split())


class DataCut(Exception):
    """The page's data reached DATA_BYTES: what was found so far is kept, the rest is cut."""

    def __init__(self, data: dict[str, Any]) -> None:
        super().__init__(f"data cut at {DATA_BYTES} bytes (--extract found more on this page)")
        self.data = data


class _Budget:
    """Bytes of text left for one page's data: `{css = "div", all = true}` on nested divs
    would otherwise copy the page's text once per div (quadratic)."""

    def __init__(self, limit: int) -> None:
        self.left = limit
        self.structured: dict[str, Any] = {}  # the page's, for `structured` fields

    def take(self, value: Any) -> Any:
        if self.left <= 0:
            raise _Spent
        if isinstance(value, str):
            self.left -= len(value)
        return value


class _Spent(Exception):
    """The budget is spent: stop copying text out of the tree."""


class _Partial(_Spent):
    """Spent inside a list: the values before the cut."""

    def __init__(self, values: list[Any]) -> None:
        super().__init__()
        self.values = values


def extract_data(tree: LexborHTMLParser, rules: Rules, url: str, base: str,
                 url_rules: UrlRules = DEFAULT_RULES,
                 structured: dict[str, Any] | None = None) -> dict[str, Any] | None:
    """The fields of the first rule that matches `url`, or None when none does. Attribute
    URLs resolve against `base` (the page's <base href> or its URL); `structured` fields
    query the page's structured data. Raises DataCut, with the fields found so far, when
    they reach DATA_BYTES."""
    rule = rules.for_url(url)
    if rule is None:
        return None
    data: dict[str, Any] = {}
    budget = _Budget(DATA_BYTES)
    budget.structured = structured or {}
    try:
        _object(tree, rule.fields, base, url_rules, budget, data)
    except _Spent:
        raise DataCut(data) from None
    return data


def _object(scope: Scope, fields: tuple[Field, ...], base: str, url_rules: UrlRules,
            budget: _Budget, out: dict[str, Any] | None = None) -> dict[str, Any]:
    """The fields' values, filled into `out` as they are found (so a cut keeps them)."""
    out = {} if out is None else out
    for field in fields:
        out[field.name] = None
        try:
            out[field.name] = _value(scope, field, base, url_rules, budget)
        except _Partial as partial:  # a list cut short: keep what it has
            out[field.name] = partial.values
            raise _Spent from None
    return out


def _value(scope: Scope, field: Field, base: str, url_rules: UrlRules,
           budget: _Budget) -> Any:
    if field.structured is not None:
        return _queried(field, budget)
    if field.all:
        values: list[Any] = []
        try:
            for node in scope.css(field.css):
                values.append(_one(node, field, base, url_rules, budget))
        except _Spent:
            raise _Partial(values) from None
        return values
    first = scope.css_first(field.css)
    return None if first is None else _one(first, field, base, url_rules, budget)


def _one(node: LexborNode, field: Field, base: str, url_rules: UrlRules,
         budget: _Budget) -> Any:
    if field.fields:
        return _object(node, field.fields, base, url_rules, budget)
    budget.take("")  # spent: no more text is copied out of the tree
    if field.html:
        return budget.take(node.html)
    if field.attr is not None:
        value = node.attributes.get(field.attr)
        if value is None:
            return None
        if field.attr.lower() in URL_ATTRIBUTES:
            value = _absolute(value.strip(), base, url_rules)
    else:
        value = budget.take(folded_text(node))
    return _finished(value, field)


def _finished(value: str, field: Field) -> Any:
    """A field's text through its regex (the first group, else the match) and its type."""
    if field.regex is not None:
        found = bounded_search(field.regex, value)
        if found is None:
            return None
        value = found.group(1) if found.re.groups else found.group(0)
    return convert(value, field.type)


def _queried(field: Field, budget: _Budget) -> Any:
    """A `structured` field: its JMESPath query's answer; a list with all = true (else its
    first value when regex or type need one); regex and type apply to text and numbers, an
    object or list is kept as it is."""
    found = field.structured.search(budget.structured)
    if field.all:
        values = found if isinstance(found, list) else [] if found is None else [found]
        out: list[Any] = []
        try:
            for value in values:
                out.append(_queried_one(value, field, budget))
        except _Spent:
            raise _Partial(out) from None
        return out
    if isinstance(found, list) and (field.regex is not None or field.type != "str"):
        found = found[0] if found else None
    return _queried_one(found, field, budget)


def _queried_one(value: Any, field: Field, budget: _Budget) -> Any:
    budget.take("")
    if value is None:
        return None
    if isinstance(value, dict | list):
        budget.take(orjson.dumps(value).decode())
        return value
    if field.regex is None and field.type == "str":
        return budget.take(value)
    return _finished(budget.take(value if isinstance(value, str) else orjson.dumps(
        value).decode()), field)


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
