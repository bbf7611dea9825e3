"""Link resolution against a page's canonical base: what `canonical(raw, base)` gives, without
the full WHATWG parser for the links real pages are made of.

Documentation and most sites link with relative paths, dot segments and fragments
("../../java/lang/String.html#format()", "library/os.html#os.path"). For such a link, written
only in characters the URL standard leaves as they are, resolution is string work: the base's
directory plus the path, dot segments removed, the fragment dropped, the query cleaned as
`canonical` cleans it. Anything else (a scheme, "//host", a percent-escape, a backslash,
whitespace, ";", non-ASCII) goes to the full parser. tests/test_properties.py checks that both
give the same answer.
"""

from __future__ import annotations

import re
from collections import OrderedDict

from crawler.urls import DEFAULT_RULES, UrlRules, canonical, finish_query

# Path characters the URL standard keeps as written (no "%", ";" or "\\"), and the same for the
# query of an http(s) URL (there "'" is escaped, ";" and "?" are kept); any fragment.
_SIMPLE_LINK = re.compile(r"([A-Za-z0-9\-._~!$&'()*+,=:@/]*)"
                          r"(?:\?([A-Za-z0-9\-._~!$&()*+,;=:@/?]*))?(?:#.*)?", re.DOTALL)


def _joined(directory: str, path: str) -> str:
    """A relative `path` resolved against a `directory` ending in "/": leading "../" and "./"
    steps (the common case) by string slicing, the rest by _without_dot_segments."""
    while path.startswith("."):
        if path.startswith("../"):
            directory = directory[: directory.rfind("/", 0, len(directory) - 1) + 1] or "/"
            path = path[3:]
        elif path.startswith("./"):
            path = path[2:]
        else:
            break
    return _without_dot_segments(directory + path)


def _without_dot_segments(path: str) -> str:
    """An absolute path with its "." and ".." segments applied, as the URL standard does."""
    if "/." not in path:
        return path
    kept: list[str] = []
    segments = path[1:].split("/")
    last = len(segments) - 1
    for index, segment in enumerate(segments):
        if segment == "..":
            if kept:
                kept.pop()
            if index == last:
                kept.append("")
        elif segment == ".":
            if index == last:
                kept.append("")
        else:
            kept.append(segment)
    return "/" + "/".join(kept)


class BaseResolver:
    """Resolves links against one canonical base URL; build one per page."""

    __slots__ = ("_clean", "base", "directory", "origin", "path", "rules")

    def __init__(self, base: str, rules: UrlRules = DEFAULT_RULES) -> None:
        self.base = base
        self.rules = rules
        path_start = base.find("/", base.find("//") + 2)
        self.origin = base[:path_start] if path_start >= 0 else base
        self.path = base[path_start:].split("?", 1)[0] if path_start >= 0 else "/"
        self.directory = self.path[: self.path.rfind("/") + 1]
        self._clean = bool(rules.strip_params or rules.sort_query)

    def resolve(self, raw: str) -> str:
        """The canonical URL `raw` names on this page; BadURL when it names none."""
        match = _SIMPLE_LINK.fullmatch(raw)
        if match is None:
            return canonical(raw, self.base, self.rules)
        path, query = match.groups()
        if path.startswith("//") or (not path.startswith("/") and ":" in path.split("/", 1)[0]):
            return canonical(raw, self.base, self.rules)  # another host, or a scheme
        if not path:
            if query is None:
                return self.base
            path = self.path
        elif path[0] != "/":
            path = _joined(self.directory, path)
        else:
            path = _without_dot_segments(path)
        if query is None:
            return self.origin + path
        return finish_query(self.origin + path, query, self.rules) if self._clean else (
            f"{self.origin}{path}?{query}")


def resolve_link(raw: str, base: str, rules: UrlRules = DEFAULT_RULES) -> str:
    """canonical(raw, base, rules) for a base that is already canonical."""
    return BaseResolver(base, rules).resolve(raw)


def without_fragment(raw: str) -> str:
    """`raw` with its fragment cut off, when that names the same URL: "#" always starts the
    fragment and canonical URLs drop it, so "a.html#x" and "a.html#y" are one link, resolved
    once. Not when the cut would leave a trailing space or control character, which the URL
    standard would then trim (in "a.html #x" it is part of the path). "" stands for the page
    itself, as "#x" does."""
    cut = raw.partition("#")[0]
    return raw if cut and cut[-1] <= " " else cut


class LinkMemo:
    """What a parse worker learned about links, kept across pages: the same relative link
    from the same directory resolves to the same URL, and most pages of a site share their
    navigation (on the JDK docs, in crawl order, 76% of a page's distinct links were met on an
    earlier page of the same directory). An entry is [canonical URL or None, fingerprint,
    trap verdict], the last two filled when first needed. Least recently used entries go
    first; the memo starts over when the URL rules or trap limits change."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._entries: OrderedDict[tuple[str, str], list] = OrderedDict()
        self._owner: object = None

    def for_rules(self, owner: object) -> LinkMemo:
        """This memo, emptied when `owner` (the rules it was filled under) differs."""
        if owner != self._owner:
            self._entries.clear()
            self._owner = owner
        return self

    def get(self, key: tuple[str, str]) -> list | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    def put(self, key: tuple[str, str], entry: list) -> None:
        self._entries[key] = entry
        if len(self._entries) > self.size:
            self._entries.popitem(last=False)
