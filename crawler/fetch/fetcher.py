"""Fetch one URL over the crawl's one aiohttp session: a total deadline, a byte cap, no redirects.

Redirects are not followed here: the engine turns a Location into a new frontier entry, so every
hop goes through scope, dedup and politeness again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Self

import aiohttp
from multidict import CIMultiDictProxy
from yarl import URL

from crawler.fetch.decoding import Undecodable, decode_layers, left_by_aiohttp
from crawler.fetch.guard import AddressDenied, AddressGuard, GuardedResolver
from crawler.records import now_iso
from crawler.settings import Settings
from crawler.urls import host_of, origin
from crawler.util.counters import FetchCounts
from crawler.util.exchange import Exchange
from crawler.util.headers import HeaderRules, redact
from crawler.util.textsafe import exact_or_none, safe_optional, safe_text, url_from_header

READ_CHUNK = 64 * 1024
NO_NAMES: frozenset[str] = frozenset()  # redact(): Set-Cookie's values only


@dataclass(slots=True)
class FetchResult:
    """One HTTP exchange, or why there was none (`error` set, `status` None)."""

    url: str
    status: int | None = None
    content_type: str | None = None
    location: str | None = None
    retry_after: str | None = None
    robots_tag: str | None = None
    etag: str | None = None
    last_modified: str | None = None
    headers: dict[str, str] | None = None  # every header, when the fetcher keeps them
    ip: str | None = None  # the address of the server that answered
    body: bytes = b""
    truncated: bool = False
    elapsed: float = 0.0
    error: str | None = None
    exchange: Exchange | None = None  # the exchange as on the wire, when an archive wants it


async def read_capped(stream: aiohttp.StreamReader, cap: int) -> tuple[bytes, bool]:
    """Up to `cap` bytes of the (already decompressed) body, and whether more was dropped."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in stream.iter_chunked(READ_CHUNK):
        if size + len(chunk) > cap:
            chunks.append(chunk[: cap - size])
            return b"".join(chunks), True
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks), False


def take_headers(result: FetchResult, headers: CIMultiDictProxy[str]) -> None:
    """Copy the headers the crawl uses into `result`, made safe: header bytes that are not
    UTF-8 must never reach a record (see crawler.util.textsafe)."""
    result.content_type = safe_optional(headers.get("Content-Type"))
    location = headers.get("Location")
    result.location = url_from_header(location) if location is not None else None
    result.retry_after = safe_optional(headers.get("Retry-After"))
    result.robots_tag = safe_text(", ".join(headers.getall("X-Robots-Tag", ()))) or None
    result.etag = exact_or_none(headers.get("ETag"))
    result.last_modified = exact_or_none(headers.get("Last-Modified"))


def all_headers(headers: CIMultiDictProxy[str]) -> dict[str, str]:
    """Every header, made safe; a repeated one's values joined with ", " (RFC 9110 5.3)."""
    joined: dict[str, str] = {}
    for name, value in redact(list(headers.items()), NO_NAMES):  # no cookie in a record
        key, value = safe_text(name), safe_text(value)
        joined[key] = f"{joined[key]}, {value}" if key in joined else value
    return joined


def peer_address(resp: aiohttp.ClientResponse) -> str | None:
    """The IP address of the server at the other end of the response's connection (a small
    response may have handed its connection back already; its protocol still knows)."""
    protocol = getattr(resp, "_protocol", None)
    transport = getattr(protocol, "transport", None)
    if transport is None and resp.connection is not None:
        transport = resp.connection.transport
    peer = transport.get_extra_info("peername") if transport is not None else None
    return str(peer[0]) if peer else None


def exchange_of(resp: aiohttp.ClientResponse, body: bytes, sent_at: str,
                secret: frozenset[str] = frozenset()) -> Exchange:
    """The exchange as sent and received (header bytes decoded as latin-1, byte for byte),
    but for the values of the `secret` request headers (--header's) and of Set-Cookie."""
    request = resp.request_info
    version = resp.version
    return Exchange(
        target=request.url.raw_path_qs or "/",
        request_headers=redact(list(request.headers.items()), secret),
        version=f"HTTP/{version.major}.{version.minor}" if version else "HTTP/1.1",
        status=resp.status, reason=resp.reason or "",
        headers=redact([(name.decode("latin-1"), value.decode("latin-1"))
                        for name, value in resp.raw_headers], NO_NAMES),
        body=body, started_at=sent_at, method=request.method)


def describe_error(exc: BaseException, timeout: float) -> str:
    """A short, stable description of a transport failure for the record's `error` field."""
    if isinstance(exc, TimeoutError):
        return f"timeout: no complete response within {timeout:g}s"
    if isinstance(exc, aiohttp.ClientConnectorError):
        if isinstance(exc.os_error, AddressDenied):
            return str(exc.os_error)
        return f"connection failed: {exc.os_error.strerror or exc.os_error}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return "server disconnected"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"incomplete body: {exc}"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"bad response: {exc.message}"
    return f"{type(exc).__name__}: {exc}"


class Fetcher:
    """Owns the crawl's one ClientSession; `fetch(url)` never raises for network trouble."""

    def __init__(self, settings: Settings, guard: AddressGuard | None = None,
                 credentials: dict[str, tuple[str, str]] | None = None,
                 jar: aiohttp.abc.AbstractCookieJar | None = None,
                 host_auth: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.guard = guard or AddressGuard()
        self.jar = jar if jar is not None else aiohttp.DummyCookieJar()
        self.user_headers = HeaderRules(settings.headers)  # --header
        # the seeds' credentials, by origin: sent to that origin only (crawler.frontier.seeds)
        self.auth = {key: aiohttp.encode_basic_auth(user, password)
                     for key, (user, password) in (credentials or {}).items()}
        self.host_auth = host_auth or {}  # --netrc's, by host (crawler.fetch.netrc_auth)
        self.keep_headers = False  # a user's extraction function reads them
        self.counts = FetchCounts()  # every exchange, for the live status and metrics
        self.keep_exchanges = False  # a WARC output archives them
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> Self:
        settings = self.settings
        connector = aiohttp.TCPConnector(
            limit=settings.concurrency, limit_per_host=0, ttl_dns_cache=300,
            resolver=GuardedResolver(self.guard),
        )
        self._session = aiohttp.ClientSession(
            max_line_size=settings.max_header_bytes, max_field_size=settings.max_header_bytes,
            max_headers=settings.max_headers,
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, connect=self.settings.connect_timeout),
            headers={"User-Agent": self.settings.user_agent},
            cookie_jar=self.jar,  # the job's (crawler.fetch.cookies), or none
            auto_decompress=True,
        )
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def fetch(self, url: str, max_bytes: int | None = None,
                    headers: dict[str, str] | None = None, method: str = "GET",
                    data: bytes | None = None, keep_headers: bool = False) -> FetchResult:
        """GET `url` (canonical, already percent-encoded) within the total deadline, with
        `headers` added (a recrawl's If-None-Match / If-Modified-Since). A rendered page's own
        requests come with their `method` and `data`, and `keep_headers` for the browser."""
        assert self._session is not None, "use Fetcher as an async context manager"
        settings = self.settings
        result = FetchResult(url)
        result.error = self.guard.check_url(url)  # IP literals never reach the resolver
        if result.error is not None:
            return result
        started = time.monotonic()
        sent_at = now_iso() if self.keep_exchanges else ""
        try:
            async with asyncio.timeout(settings.timeout):
                if self.user_headers:
                    headers = {**self.user_headers.for_url(url), **(headers or {})}
                auth = self.auth.get(origin(url)) if self.auth else None
                if auth is None and self.host_auth and not any(
                        name.lower() == "authorization" for name in headers or ()):
                    auth = self.host_auth.get(host_of(url))
                if auth is not None:
                    headers = {**(headers or {}), "Authorization": auth}
                async with self._session.request(method, URL(url, encoded=True),
                                                 allow_redirects=False, headers=headers,
                                                 data=data) as resp:
                    result.status = resp.status
                    result.ip = peer_address(resp)
                    take_headers(result, resp.headers)
                    if self.keep_headers or keep_headers:
                        result.headers = all_headers(resp.headers)
                    cap = max_bytes or settings.max_body_bytes
                    result.body, result.truncated = await read_capped(resp.content, cap)
                    layers = left_by_aiohttp(resp.headers)
                    if layers:  # stacked codings: aiohttp decodes one at most
                        result.body, cut = decode_layers(result.body, layers, cap)
                        result.truncated = result.truncated or cut
                    if self.keep_exchanges:
                        result.exchange = exchange_of(resp, result.body, sent_at,
                                                      self.user_headers.names)
        except Undecodable as exc:
            result.error, result.body = str(exc), b""
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            result.error = safe_text(describe_error(exc, settings.timeout))
        result.elapsed = time.monotonic() - started
        self.counts.count(result.status, len(result.body), result.elapsed)
        return result
