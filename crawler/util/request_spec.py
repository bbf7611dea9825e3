"""A request that is more than a GET of its URL: a POST with a body, or a request with headers of
its own (`Follow(url, method="POST", data=..., headers=...)` from a page's function).

Such a request is named by its URL with a marker fragment, `URL#post-<key>` (or `#get-<key>`),
where the key hashes the method, URL and body: the frontier deduplicates it by those three, a
record names it apart from a GET of the same URL, and it is fetched at its URL (a fragment is
never sent). Canonical URLs have no fragment, so no link can spell a marker. Its headers are not
part of its identity (as in Scrapy's request fingerprint): their values may be secrets, so they
are never in a URL, a record or a message; the frontier keeps them (see Request.spec) so that a
resumed job sends them again.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import orjson

from crawler.util.headers import BadHeader, check_header

METHODS = ("GET", "POST")
MAX_BODY = 1 << 20  # a request's body, at most: the frontier keeps it until it is fetched
MAX_HEADERS = 64
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"


class BadRequestSpec(ValueError):
    """A Follow that cannot be sent; the message names what is wrong, never a header's value."""


@dataclass(frozen=True, slots=True)
class RequestSpec:
    method: str = "GET"
    body: bytes = b""
    content_type: str | None = None  # set for a body the crawler encoded (form, JSON)
    headers: tuple[tuple[str, str], ...] = ()  # the user's: their values are secrets

    @property
    def plain(self) -> bool:
        """A GET with nothing of its own: the URL says it all."""
        return self.method == "GET" and not self.body and not self.headers

    def key(self, url: str) -> str:
        """`post-<16 hex>`: the method, the URL and the body, hashed."""
        digest = hashlib.blake2b(digest_size=8)
        for part in (self.method.encode(), url.encode(), self.body):
            digest.update(len(part).to_bytes(8, "big"))
            digest.update(part)
        return f"{self.method.lower()}-{digest.hexdigest()}"

    def named(self, url: str) -> str:
        """The name of this request to `url` (canonical): the URL with its marker."""
        return url if self.plain else f"{url}#{self.key(url)}"

    def body_headers(self) -> dict[str, str]:
        """The crawler's headers for the body it encoded (the user's own go after them)."""
        return {} if self.content_type is None else {"Content-Type": self.content_type}

    def redirected(self, status: int, same_origin: bool) -> RequestSpec:
        """The request a redirect with `status` asks for: 307 and 308 keep the method and body,
        the others make it a GET (RFC 9110 15.4, as browsers do); its own headers go along
        to the same origin only (they may be credentials for it)."""
        method, body, content_type = (self.method, self.body, self.content_type) if status in (
            307, 308) else ("GET", b"", None)
        return RequestSpec(method, body, content_type, self.headers if same_origin else ())

    def encode(self) -> str:
        """As the frontier keeps it (JSON)."""
        return orjson.dumps({"method": self.method, "body": base64.b64encode(self.body).decode(),
                             "content_type": self.content_type,
                             "headers": [list(pair) for pair in self.headers]}).decode()

    @classmethod
    def decode(cls, text: str) -> RequestSpec:
        value = orjson.loads(text)
        return cls(value["method"], base64.b64decode(value["body"]), value["content_type"],
                   tuple((name, header) for name, header in value["headers"]))


def target_of(name: str) -> str:
    """The URL a request name is fetched at: without its marker (canonical URLs have no
    fragment of their own)."""
    return name.partition("#")[0]


def build_spec(method: str = "GET", data: Any = None, json: Any = None,
               headers: Mapping[str, str] | None = None) -> RequestSpec:
    """The request a Follow describes; BadRequestSpec saying what is wrong. `data`: a dict
    (or pairs) sent as a form, or str/bytes sent as they are; `json`: a value sent as JSON."""
    method = str(method).upper()
    if method not in METHODS:
        raise BadRequestSpec(f"method {method[:20]!r}: a crawl sends GET or POST")
    if data is not None and json is not None:
        raise BadRequestSpec("give data or json, not both")
    body, content_type = _body(data, json)
    if body and method == "GET":
        raise BadRequestSpec("a GET takes no data: put it in the URL's query, or use POST")
    if len(body) > MAX_BODY:
        raise BadRequestSpec(f"the request body is {len(body)} bytes, over {MAX_BODY}")
    pairs = list((headers or {}).items())
    if len(pairs) > MAX_HEADERS:
        raise BadRequestSpec(f"{len(pairs)} headers: a request takes at most {MAX_HEADERS}")
    for name, value in pairs:
        try:
            check_header(str(name), str(value))
        except BadHeader as exc:
            raise BadRequestSpec(str(exc)) from None
    return RequestSpec(method, body, content_type,
                       tuple((str(name), str(value)) for name, value in pairs))


def _body(data: Any, json: Any) -> tuple[bytes, str | None]:
    if json is not None:
        try:
            return orjson.dumps(json), JSON
        except TypeError as exc:
            raise BadRequestSpec(f"json: {exc}") from None
    if data is None:
        return b"", None
    if isinstance(data, bytes):
        return data, None
    if isinstance(data, str):
        return data.encode(), None
    if isinstance(data, Mapping):
        data = list(data.items())
    try:
        return urlencode(list(data), doseq=True).encode(), FORM
    except TypeError:
        raise BadRequestSpec(f"data: a {type(data).__name__} is no form (give a dict, pairs, "
                             "str or bytes)") from None
