"""Declarative extraction rules (`--extract RULES.toml`): loaded, checked and compiled once at
start, so a bad rules file stops the crawl before it begins, with one line naming the file, the
rule and the field.

```toml
[[rule]]
match = '/products/'                  # regex searched in the canonical URL; omitted = any page
[rule.fields]
title = "h1"                          # text of the first match, or null
headings = { css = "h2", all = true } # a list of every match
image = { css = "img.main", attr = "src" }
price = { css = ".price", regex = '[0-9.]+', type = "float" }
body = { css = "article", html = true }
sku = { structured = "json_ld[?\"@type\"=='Product'] | [0].sku" }  # JMESPath on `structured`
[rule.fields.products]
css = "div.product"
all = true
fields = { name = "h3", sku = { css = "[data-sku]", attr = "data-sku" } }
```
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cssselect
import jmespath
import regex
from selectolax.lexbor import LexborHTMLParser

from crawler.errors import UsageError
from crawler.util.tomlfile import read_toml

TYPES = ("str", "int", "float", "bool")
FIELD_KEYS = frozenset({"css", "all", "attr", "regex", "type", "html", "fields", "structured"})
RULE_KEYS = frozenset({"match", "fields"})
_PROBE = LexborHTMLParser("<p>")


@dataclass(frozen=True, slots=True)
class Field:
    """One field of a rule, compiled; picklable, so it travels to the parse workers."""

    name: str
    css: str
    all: bool = False
    attr: str | None = None
    regex: Any = None  # a compiled `regex` pattern
    type: str = "str"
    html: bool = False
    fields: tuple[Field, ...] = ()  # nested: an object per match
    structured: Any = None  # a compiled JMESPath query of the page's structured data (no css)


@dataclass(frozen=True, slots=True)
class Rule:
    match: Any  # a compiled `regex` pattern, or None
    fields: tuple[Field, ...]


@dataclass(frozen=True, slots=True)
class Rules:
    """The compiled rules file: the first rule whose `match` finds the URL applies."""

    rules: tuple[Rule, ...]
    source: str = ""

    def for_url(self, url: str) -> Rule | None:
        for rule in self.rules:
            if rule.match is None or bounded_search(rule.match, url) is not None:
                return rule
        return None

    @property
    def read_structured(self) -> bool:
        """Whether a field queries the page's structured data."""
        return any(field.structured is not None for rule in self.rules for field in rule.fields)

    def columns(self) -> list[str]:
        """Every top-level field name, in the order the rules first name them (CSV columns)."""
        names: dict[str, None] = {}
        for rule in self.rules:
            names.update(dict.fromkeys(field.name for field in rule.fields))
        return list(names)


REGEX_SECONDS = 0.5  # one search of a rule's pattern, at most


def bounded_search(pattern: Any, text: str) -> Any:
    """pattern.search(text), or None when it takes over REGEX_SECONDS."""
    try:
        return pattern.search(text, timeout=REGEX_SECONDS)
    except TimeoutError:
        return None


class RulesError(UsageError):
    """A rules file that cannot be used; the message names the file, rule and field."""


MAX_SELECTOR_CHARS = 2000  # real selectors are tens of characters; nesting costs recursion
MAX_SELECTOR_NESTING = 32


def check_selector(selector: str) -> str | None:
    """None when lexbor compiles `selector` and it is well formed CSS, else why not. lexbor
    alone accepts some malformed ones (an unclosed '[' or quote), so cssselect's parser checks
    the syntax too."""
    if not selector.strip():
        return "empty CSS selector"
    if len(selector) > MAX_SELECTOR_CHARS or selector.count("(") > MAX_SELECTOR_NESTING:
        return (f"CSS selector {selector[:60]!r}... is too long or too deeply nested (at most "
                f"{MAX_SELECTOR_CHARS} characters and {MAX_SELECTOR_NESTING} parentheses)")
    try:
        _PROBE.css(selector)
    except Exception:
        return f"invalid CSS selector {selector!r}"
    try:
        cssselect.parse(selector)
    except cssselect.SelectorSyntaxError as exc:
        return f"invalid CSS selector {selector!r} ({exc})"
    except RecursionError:
        return f"CSS selector {selector[:60]!r}... is too deeply nested"
    return None


def load_rules(path: str | Path) -> Rules:
    """Read, check and compile a rules file; RulesError naming what is wrong."""
    path = Path(path)
    if path.suffix.lower() == ".json":  # the crawl service writes an API job's rules so
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise RulesError(f"rules file not found: {path}") from None
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise RulesError(f"rules file {path} is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise RulesError(f"rules file {path}: must be a JSON object")
    else:
        data = read_toml(path, "rules file", RulesError)
    return compile_rules(data, str(path))


def compile_rules(data: dict[str, Any], source: str = "rules") -> Rules:
    """Compile rules given as data (a parsed TOML file, or the same shape from Python)."""
    unknown = sorted(set(data) - {"rule"})
    if unknown:
        raise RulesError(f"rules file {source}: unknown key {unknown[0]!r} (rules go in "
                         "[[rule]] tables)")
    rules = data.get("rule")
    if not isinstance(rules, list) or not rules:
        raise RulesError(f"rules file {source}: no [[rule]] table")
    return Rules(tuple(_rule(raw, f"rules file {source}: rule {n}")
                       for n, raw in enumerate(rules, 1)), source)


def _rule(raw: Any, where: str) -> Rule:
    if not isinstance(raw, dict):
        raise RulesError(f"{where}: must be a table")
    unknown = sorted(set(raw) - RULE_KEYS)
    if unknown:
        raise RulesError(f"{where}: unknown key {unknown[0]!r} (known: match, fields)")
    match = raw.get("match")
    pattern = _regex(match, where, "match") if match is not None else None
    fields = raw.get("fields")
    if not isinstance(fields, dict) or not fields:
        raise RulesError(f"{where}: needs a [rule.fields] table with at least one field")
    return Rule(pattern, tuple(_field(name, spec, where, name) for name, spec in fields.items()))


def _regex(value: Any, where: str, what: str) -> Any:
    """The compiled pattern (the `regex` module's: searched with a time bound, REGEX_SECONDS,
    so a pattern that backtracks on a hostile page costs that, not the page's deadline)."""
    if not isinstance(value, str):
        raise RulesError(f"{where}: {what} must be a string (a regular expression)")
    try:
        return regex.compile(value)
    except regex.error as exc:
        raise RulesError(f"{where}: invalid regex {value!r} in {what} ({exc})") from None


def _field(name: str, spec: Any, rule_where: str, path: str) -> Field:
    where = f'{rule_where}, field "{path}"'
    if isinstance(spec, str):
        spec = {"css": spec}
    if not isinstance(spec, dict):
        raise RulesError(f"{where}: must be a CSS selector or a table with css = ...")
    unknown = sorted(set(spec) - FIELD_KEYS)
    if unknown:
        raise RulesError(f"{where}: unknown key {unknown[0]!r} (known: "
                         f"{', '.join(sorted(FIELD_KEYS))})")
    if "structured" in spec:
        return _structured_field(name, spec, where)
    css = spec.get("css")
    if not isinstance(css, str):
        raise RulesError(f"{where}: needs css = \"SELECTOR\" (or structured = \"QUERY\")")
    problem = check_selector(css)
    if problem:
        raise RulesError(f"{where}: {problem}")
    kind = spec.get("type", "str")
    if kind not in TYPES:
        raise RulesError(f"{where}: unknown type {kind!r} (known: {', '.join(TYPES)})")
    for flag in ("all", "html"):
        if not isinstance(spec.get(flag, False), bool):
            raise RulesError(f"{where}: {flag} must be true or false")
    attr = spec.get("attr")
    if attr is not None and (not isinstance(attr, str) or not attr):
        raise RulesError(f"{where}: attr must be an attribute name")
    regex = _regex(spec["regex"], where, "regex") if "regex" in spec else None
    nested = spec.get("fields")
    inner: tuple[Field, ...] = ()
    if nested is not None:
        if not isinstance(nested, dict) or not nested:
            raise RulesError(f"{where}: fields must be a table of fields")
        clash = sorted({"attr", "regex", "type", "html"} & set(spec))
        if clash:
            raise RulesError(f"{where}: {clash[0]} cannot go with fields (a nested object)")
        inner = tuple(_field(n, s, rule_where, f"{path}.{n}") for n, s in nested.items())
    if spec.get("html") and (attr is not None or regex is not None):
        raise RulesError(f"{where}: html = true cannot go with attr or regex")
    return Field(name, css, bool(spec.get("all", False)), attr, regex, kind,
                 bool(spec.get("html", False)), inner)


def _structured_field(name: str, spec: dict[str, Any], where: str) -> Field:
    """A field that queries the page's structured data (crawler.extract.structured) with
    JMESPath: `{structured = "opengraph.\"og:title\""}`; regex and type apply to its value."""
    clash = sorted({"css", "attr", "html", "fields"} & set(spec))
    if clash:
        raise RulesError(f"{where}: {clash[0]} cannot go with structured (a JMESPath query)")
    query = spec["structured"]
    if not isinstance(query, str) or not query.strip():
        raise RulesError(f"{where}: structured must be a JMESPath query (a string)")
    try:
        compiled = jmespath.compile(query)
    except jmespath.exceptions.JMESPathError as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise RulesError(f"{where}: invalid JMESPath query {query!r} ({first})") from None
    kind = spec.get("type", "str")
    if kind not in TYPES:
        raise RulesError(f"{where}: unknown type {kind!r} (known: {', '.join(TYPES)})")
    if not isinstance(spec.get("all", False), bool):
        raise RulesError(f"{where}: all must be true or false")
    regex = _regex(spec["regex"], where, "regex") if "regex" in spec else None
    return Field(name, "", bool(spec.get("all", False)), None, regex, kind,
                 structured=compiled)
