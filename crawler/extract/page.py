"""What a user's extraction function gets and gives: a `Page` (URL, status, headers, text and
CSS queries on the parsed tree), and back a dict (the record's `data`) or items (yielded dicts)
and follows (`page.follow(url)`); crawler.api shows one. The function runs where the page is
parsed (a parse worker process), so it must be an importable top-level function.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

from selectolax.lexbor import LexborHTMLParser, LexborNode

from crawler.urls import DEFAULT_RULES, BadURL, UrlRules, canonical
from crawler.util.functions import load_function
from crawler.util.request_spec import RequestSpec, build_spec


@dataclass(frozen=True, slots=True)
class Follow:
    """A request the page's function asks the crawl to make (see Page.follow): a GET of `url`,
    or with `method="POST"` and `data` (a dict sent as a form, or str/bytes) or `json`, and
    `headers` of its own. Yielded, it is queued as page.follow queues it."""

    url: str
    method: str = "GET"
    data: Any = None
    json: Any = None
    headers: Mapping[str, str] | None = None
    queued: bool = field(default=False, compare=False, repr=False)  # page.follow took it


@dataclass
class Page:
    """One fetched HTML page, parsed once: links, rules and the user's function share the tree."""

    url: str
    status: int
    headers: Mapping[str, str]
    text: str
    tree: LexborHTMLParser
    base: str  # what relative URLs resolve against: <base href>, else the page's URL
    url_rules: UrlRules = DEFAULT_RULES
    follows: list[str] = field(default_factory=list)
    requests: list[tuple[str, RequestSpec]] = field(default_factory=list)  # POSTs, headers
    max_follows: int = 10_000  # --max-links-per-page: follows one page may ask for

    def css(self, selector: str) -> list[LexborNode]:
        return list(self.tree.css(selector))

    def css_first(self, selector: str) -> LexborNode | None:
        return self.tree.css_first(selector)

    def urljoin(self, url: str) -> str:
        """`url` resolved against the page, canonical; BadURL for what is no http(s) URL."""
        return canonical(url.strip(), self.base, self.url_rules)

    def follow(self, url: str, method: str = "GET", data: Any = None, json: Any = None,
               headers: Mapping[str, str] | None = None) -> Follow:
        """Queue `url` (relative or absolute) under the crawl's rules: scope, robots.txt,
        dedup, traps and politeness, as any link. Yield it or not: calling is enough. A URL
        that is no http(s) URL is ignored. A POST (`data` or `json`) or a request with
        `headers` is deduplicated by method, URL and body (crawler.util.request_spec);
        BadRequestSpec (the page's extract error) when it cannot be sent."""
        spec = build_spec(method, data, json, headers)
        try:
            absolute = self.urljoin(url)
        except BadURL:
            return Follow(url, method, data, json, headers)
        if len(self.follows) + len(self.requests) < self.max_follows:  # --max-links-per-page
            if spec.plain:
                self.follows.append(absolute)
            else:
                self.requests.append((absolute, spec))
        return Follow(absolute, method, data, json, headers, queued=True)


Extractor = Callable[[Page], Any]
DATA_BYTES = 1 << 20  # a function's dict, at most (as the rules' data)
ITEMS_BYTES = 16 << 20  # the items of one page, at most
MAX_ITEMS = 100_000


def run_extractor(function: Extractor, page: Page) -> tuple[dict[str, Any] | None,
                                                           list[dict[str, Any]]]:
    """(data, items) from the user's function: a returned dict is the data; yielded (or
    returned) dicts are items; Follow objects are taken by page.follow already. Raises
    TypeError for anything else it gives."""
    result = function(page)
    if isinstance(result, Follow):
        _queue(page, result)
    if result is None or isinstance(result, Follow):
        return None, []
    if isinstance(result, Mapping):
        data = dict(result)
        if _size(data) > DATA_BYTES:
            raise OutputCut({}, [], f"data cut: the function's dict is over {DATA_BYTES} "
                                    "bytes")
        return data, []
    if isinstance(result, str | bytes) or not isinstance(result, Iterable):
        raise TypeError(f"the function returned a {type(result).__name__}: return a dict, "
                        "or yield dicts and page.follow(...)")
    items: list[dict[str, Any]] = []
    size = 0
    for value in result:
        if isinstance(value, Follow):
            _queue(page, value)
            continue
        if not isinstance(value, Mapping):
            raise TypeError(f"the function yielded a {type(value).__name__}: yield dicts "
                            "(items) and page.follow(...)")
        item = dict(value)
        size += _size(item)
        if len(items) >= MAX_ITEMS or size > ITEMS_BYTES:
            raise OutputCut(None, items, f"data cut: items past {MAX_ITEMS} or "
                                         f"{ITEMS_BYTES} bytes on one page were dropped")
        items.append(item)
    return None, items


def _queue(page: Page, follow: Follow) -> None:
    """A Follow the function made itself (not by page.follow) is queued when given."""
    if not follow.queued:
        page.follow(follow.url, follow.method, follow.data, follow.json, follow.headers)


class OutputCut(Exception):
    """A page's function gave more than one record may hold: what fits is kept (`data`,
    `items`), and the message says what was cut."""

    def __init__(self, data: dict[str, Any] | None, items: list[dict[str, Any]],
                 message: str) -> None:
        super().__init__(message)
        self.data, self.items = data, items


def _size(value: Any) -> int:
    """About how many bytes `value` takes as JSON (repr: no encoder can fail on it)."""
    return len(repr(value))


def load_extractor(spec: str) -> Extractor:
    """The function `module:function` names; UsageError when it cannot be imported."""
    return cast(Extractor, load_function(spec, "--extractor"))
