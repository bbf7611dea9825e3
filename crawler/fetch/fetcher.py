"""Fetch one URL over the crawl's one aiohttp session: a total deadline, a byte cap, no redirects.

Redirects are not followed here: the engine turns a Location into a new frontier entry, so every
hop goes through scope, dedup and politeness again.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from typing import Any, Self

import aiohttp
import aiohttp_socks
from multidict import CIMultiDictProxy
from yarl import URL

from crawler.fetch.decoding import Undecodable, decode_layers, left_by_aiohttp
from crawler.fetch.guard import AddressDenied, AddressGuard, GuardedResolver
from crawler.fetch.proxies import ProxyPool, TargetJudge
from crawler.records import now_iso
from crawler.settings import Settings
from crawler.urls import host_of, origin
from crawler.util.counters import FetchCounts
from crawler.util.exchange import Exchange
from crawler.util.headers import HeaderRules, redact
from crawler.util.proxy_url import ProxyUrl
from crawler.util.textsafe import exact_or_none, safe_optional, safe_text, url_from_header

READ_CHUNK = 64 * 1024
# what a request through a proxy may fail with before an answer: the proxy's trouble (it rests
# and the request tries another), unless blames_proxy says the proxy reported the target's
PROXY_TROUBLE = (aiohttp.ClientProxyConnectionError, aiohttp.ClientHttpProxyError,
                 aiohttp.ServerDisconnectedError, aiohttp.ClientConnectionResetError,
                 aiohttp.ClientOSError,
                 aiohttp_socks.ProxyError, aiohttp_socks.ProxyConnectionError,
                 aiohttp_socks.ProxyTimeoutError)
SOCKS5_TARGET_CODES = frozenset({3, 4, 5, 6})  # network/host unreachable, refused, TTL expired
TARGET_GATEWAY_STATUSES = frozenset({502, 503, 504})  # a CONNECT the target did not take
NO_NAMES: frozenset[str] = frozenset()  # redact(): Set-Cookie's values only
# a request that met a closed connection before it was written, and the methods aiohttp itself
# sends again after that
UNWRITTEN = (aiohttp.ClientConnectionResetError, aiohttp.ClientOSError)
IDEMPOTENT = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})


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
                secret: frozenset[str] = frozenset(), sent: bytes | None = None) -> Exchange:
    """The exchange as sent and received (header bytes decoded as latin-1, byte for byte),
    but for the values of the `secret` request headers (--header's, a Follow's) and of
    Set-Cookie; `sent`: the request's body."""
    request = resp.request_info
    version = resp.version
    return Exchange(
        target=request.url.raw_path_qs or "/",
        request_headers=redact(list(request.headers.items()), secret),
        version=f"HTTP/{version.major}.{version.minor}" if version else "HTTP/1.1",
        status=resp.status, reason=resp.reason or "",
        headers=redact([(name.decode("latin-1"), value.decode("latin-1"))
                        for name, value in resp.raw_headers], NO_NAMES),
        body=body, started_at=sent_at, method=request.method, request_body=sent or b"")


def describe_proxy_error(exc: BaseException, proxy: ProxyUrl) -> str:
    """Why `proxy` failed a request, naming it without its credentials."""
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        reason = f"answered {exc.status} {exc.message}".rstrip()
    elif isinstance(exc, aiohttp.ClientConnectorError):
        reason = f"connection failed: {exc.os_error.strerror or exc.os_error}"
    elif isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientConnectionResetError)):
        reason = "closed the connection without an answer"
    else:
        reason = str(exc) or type(exc).__name__
    return f"proxy {proxy.label}: {reason}"


def blames_proxy(exc: BaseException) -> bool:
    """Whether a failure through a proxy is the proxy's (it rests) rather than the target's
    (which the proxy reports: a SOCKS5 reply code or a CONNECT's gateway status; TLS with the
    target through the tunnel)."""
    if isinstance(exc, aiohttp.ClientSSLError):
        return False
    if isinstance(exc, aiohttp_socks.ProxyError):
        return exc.error_code not in SOCKS5_TARGET_CODES
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        return exc.status not in TARGET_GATEWAY_STATUSES
    return True


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


class ProxyRejected(Exception):
    """An HTTP proxy answered a plain-HTTP request itself with 407: its credentials are wrong."""


class Fetcher:
    """Owns the crawl's one ClientSession (and one per SOCKS proxy, whose connector speaks to
    it); `fetch(url)` never raises for network trouble."""

    def __init__(self, settings: Settings, guard: AddressGuard | None = None,
                 credentials: dict[str, tuple[str, str]] | None = None,
                 jar: aiohttp.abc.AbstractCookieJar | None = None,
                 host_auth: dict[str, str] | None = None,
                 proxies: ProxyPool | None = None) -> None:
        self.settings = settings
        self.guard = guard or AddressGuard()
        self.jar = jar if jar is not None else aiohttp.DummyCookieJar()
        self.user_headers = HeaderRules(settings.headers)  # --header
        # the seeds' credentials, by origin: sent to that origin only (crawler.frontier.seeds)
        self.auth = {key: aiohttp.encode_basic_auth(user, password)
                     for key, (user, password) in (credentials or {}).items()}
        self.host_auth = host_auth or {}  # --netrc's, by host (crawler.fetch.netrc_auth)
        self.proxies = proxies  # --proxy, --proxy-env (crawler.fetch.proxies)
        self.targets = TargetJudge(self.guard)
        self.keep_headers = False  # a user's extraction function reads them
        self.counts = FetchCounts()  # every exchange, for the live status and metrics
        self.keep_exchanges = False  # a WARC output archives them
        self._session: aiohttp.ClientSession | None = None
        self._socks: dict[ProxyUrl, aiohttp.ClientSession] = {}

    def _new_session(self, connector: aiohttp.BaseConnector) -> aiohttp.ClientSession:
        settings = self.settings
        return aiohttp.ClientSession(
            max_line_size=settings.max_header_bytes, max_field_size=settings.max_header_bytes,
            max_headers=settings.max_headers,
            connector=connector,
            timeout=aiohttp.ClientTimeout(total=None, connect=settings.connect_timeout),
            headers={"User-Agent": settings.user_agent},
            cookie_jar=self.jar,  # the job's (crawler.fetch.cookies), or none
            auto_decompress=True,
        )

    async def __aenter__(self) -> Self:
        self._session = self._new_session(aiohttp.TCPConnector(
            limit=self.settings.concurrency, limit_per_host=0, ttl_dns_cache=300,
            resolver=GuardedResolver(self.guard)))
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        for session in [self._session, *self._socks.values()]:
            if session is not None:
                await session.close()

    def _route(self, proxy: ProxyUrl | None) -> tuple[aiohttp.ClientSession, dict[str, Any]]:
        """The session a request through `proxy` takes, and the request's proxy arguments."""
        assert self._session is not None, "use Fetcher as an async context manager"
        if proxy is None:
            return self._session, {}
        if not proxy.is_socks:
            auth = aiohttp.BasicAuth(proxy.username, proxy.password) if proxy.username else None
            return self._session, {"proxy": proxy.label, "proxy_auth": auth}
        session = self._socks.get(proxy)
        if session is None:
            kind = {"socks4": aiohttp_socks.ProxyType.SOCKS4}.get(
                proxy.scheme, aiohttp_socks.ProxyType.SOCKS5)
            session = self._socks[proxy] = self._new_session(aiohttp_socks.ProxyConnector(
                host=proxy.host, port=proxy.port, proxy_type=kind,
                username=proxy.username or None, password=proxy.password or None,
                rdns=proxy.scheme == "socks5h", limit=self.settings.concurrency,
                limit_per_host=0))
        return session, {}

    def _headers_for(self, url: str, headers: dict[str, str] | None) -> dict[str, str] | None:
        """The request's headers: --header's, then the caller's, then its credentials."""
        if self.user_headers:
            headers = {**self.user_headers.for_url(url), **(headers or {})}
        auth = self.auth.get(origin(url)) if self.auth else None
        if auth is None and self.host_auth and not any(
                name.lower() == "authorization" for name in headers or ()):
            auth = self.host_auth.get(host_of(url))
        if auth is not None:
            headers = {**(headers or {}), "Authorization": auth}
        return headers

    async def fetch(self, url: str, max_bytes: int | None = None,
                    headers: dict[str, str] | None = None, method: str = "GET",
                    data: bytes | None = None, keep_headers: bool = False,
                    private: dict[str, str] | None = None) -> FetchResult:
        """GET `url` (canonical, already percent-encoded) within the total deadline, with
        `headers` added (a recrawl's If-None-Match / If-Modified-Since). A rendered page's own
        requests, and a Follow's POST, come with their `method` and `data`; `keep_headers` for
        the browser; `private`: a Follow's own headers, whose values are redacted in archives.
        Through a proxy that fails, the request tries one other proxy."""
        settings = self.settings
        result = FetchResult(url)
        result.error = self.guard.check_url(url)  # IP literals never reach the resolver
        if result.error is not None:
            return result
        started = time.monotonic()
        proxy = self.proxies.choose(url) if self.proxies is not None else None
        try:
            async with asyncio.timeout(settings.timeout):
                if private:
                    headers = {**(headers or {}), **private}
                headers = self._headers_for(url, headers)
                result.error = await self._exchange_through(
                    result, method, headers, data, proxy, max_bytes or settings.max_body_bytes,
                    keep_headers or self.keep_headers,
                    self.user_headers.names | {name.lower() for name in private or ()})
        except Undecodable as exc:
            result.error, result.body = str(exc), b""
        except (aiohttp.ClientError, TimeoutError, OSError, ValueError) as exc:
            result.error = safe_text(describe_error(exc, settings.timeout))
        result.elapsed = time.monotonic() - started
        self.counts.count(result.status, len(result.body), result.elapsed)
        return result

    async def _exchange_through(self, result: FetchResult, method: str,
                                headers: dict[str, str] | None, data: bytes | None,
                                proxy: ProxyUrl | None, cap: int,
                                keep_headers: bool, secret: frozenset[str]) -> str | None:
        """The exchange, through `proxy` (the guard judging the target first) or one other
        proxy when that one fails; the error when there is no exchange, else None."""
        error = None
        for _ in range(2):
            if proxy is not None:
                error = await self.targets.judge(result.url, proxy)
                if error is not None:
                    return error
            try:
                await self._exchange(result, method, headers, data, proxy, cap, keep_headers,
                                     secret)
                return None
            except (*PROXY_TROUBLE, ProxyRejected) as exc:
                if self.proxies is None or proxy is None:
                    raise
                error = safe_text(describe_proxy_error(exc, proxy))
                if isinstance(exc, aiohttp.ClientSSLError):
                    raise  # the target's TLS, described as without a proxy
                if not blames_proxy(exc):  # the target's failure, as the proxy reports it
                    return f"connection failed: {error}"
                self.proxies.failed(proxy, error)
                other = self.proxies.choose(result.url, avoid=proxy)
                if other is None or other == proxy:
                    break
                proxy = other
        return error

    async def _exchange(self, result: FetchResult, method: str, headers: dict[str, str] | None,
                        data: bytes | None, proxy: ProxyUrl | None, cap: int,
                        keep_headers: bool, secret: frozenset[str]) -> None:
        """One request and its response, into `result`; PROXY_TROUBLE when the proxy failed.
        A POST whose kept-alive connection turns out closed before it was written is sent
        once more, on a new connection (aiohttp does so for GET; browsers for both)."""
        args = (result, method, headers, data, proxy, cap, keep_headers, secret)
        try:
            await self._exchange_once(*args)
        except UNWRITTEN as exc:
            if method in IDEMPOTENT or isinstance(exc, aiohttp.ClientConnectorError):
                raise
            await self._exchange_once(*args)

    async def _exchange_once(self, result: FetchResult, method: str,
                             headers: dict[str, str] | None, data: bytes | None,
                             proxy: ProxyUrl | None, cap: int, keep_headers: bool,
                             secret: frozenset[str]) -> None:
        session, through = self._route(proxy)
        sent_at = now_iso() if self.keep_exchanges else ""
        async with session.request(method, URL(result.url, encoded=True), allow_redirects=False,
                                   headers=headers, data=data, **through) as resp:
            if proxy is not None and resp.status == 407 and not proxy.is_socks:
                raise ProxyRejected(f"answered 407 {resp.reason or ''}".rstrip())
            result.status = resp.status
            result.ip = peer_address(resp)
            take_headers(result, resp.headers)
            if keep_headers:
                result.headers = all_headers(resp.headers)
            result.body, result.truncated = await read_capped(resp.content, cap)
            layers = left_by_aiohttp(resp.headers)
            if layers:  # stacked codings: aiohttp decodes one at most
                result.body, cut = decode_layers(result.body, layers, cap)
                result.truncated = result.truncated or cut
            if self.keep_exchanges:
                result.exchange = exchange_of(resp, result.body, sent_at, secret, data)
