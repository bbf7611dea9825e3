"""Which proxy each request goes through (--proxy, --proxy-env), and the address guard's verdict
on the target that proxy will connect to.

With several proxies, a host keeps the proxy it was first given (--proxy-rotation host: one
session, one exit address per site) or each request takes the next (request). A proxy that fails
(refused the connection, failed its handshake or rejected the credentials) rests for
--proxy-cooldown seconds; when every proxy rests, the one back soonest is used, so a crawl never
stalls on its proxies.

A proxy resolves the target itself, past the connector's guarded resolver; so the crawler
resolves every target first and the guard judges those addresses. A name that does not resolve
here is refused, except through socks5h, whose point is that the proxy resolves names (Tor's
.onion). The proxies' own addresses are judged before the crawl starts (`check_proxies`).
"""

from __future__ import annotations

import logging
import socket
import time
import urllib.request
from collections.abc import Callable

from aiohttp.resolver import DefaultResolver

from crawler.errors import UsageError
from crawler.fetch.guard import AddressDenied, AddressGuard, GuardedResolver, parse_ip
from crawler.settings import Settings
from crawler.urls import host_of
from crawler.util.proxy_url import BadProxy, ProxyUrl, parse_proxy

log = logging.getLogger(__name__)
VERDICT_SECONDS = 300.0  # as long as the connector caches a name's addresses
MAX_REMEMBERED = 100_000  # hosts' proxies and verdicts kept; cleared when full
ENV_NAMES = {"http": "HTTP_PROXY", "https": "HTTPS_PROXY", "all": "ALL_PROXY"}


def env_proxies() -> dict[str, str]:
    """The proxy variables, as urllib reads them (lower case first): scheme -> URL, and `no`."""
    return urllib.request.getproxies_environment()


class ProxyPool:
    """The crawl's proxies: `choose(url)` says which one a request takes (None: direct)."""

    def __init__(self, proxies: list[ProxyUrl], rotation: str = "host", cooldown: float = 60.0,
                 env: dict[str, str] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.proxies = proxies
        self.rotation = rotation
        self.cooldown = cooldown
        self.env = env  # --proxy-env: the environment's proxies and NO_PROXY
        self.by_scheme = {scheme: parse_proxy(value) for scheme, value in (env or {}).items()
                          if scheme in ENV_NAMES and not proxies}
        self.clock = clock
        self.resting: dict[ProxyUrl, float] = {}  # proxy -> when it may be used again
        self.sticky: dict[str, ProxyUrl] = {}  # host -> its proxy (rotation=host)
        self.turn = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> ProxyPool | None:
        """The pool the settings ask for (None when requests go direct); UsageError in one
        line for a proxy variable that is not a proxy URL."""
        proxies = [parse_proxy(value) for value in settings.proxies]
        env = env_proxies() if settings.proxy_env else None
        if not proxies and not env:
            return None
        try:
            return cls(proxies, settings.proxy_rotation, settings.proxy_cooldown, env)
        except BadProxy as exc:
            raise UsageError(f"--proxy-env: a proxy variable's value {exc}") from None

    @property
    def every_proxy(self) -> list[ProxyUrl]:
        return self.proxies or list(dict.fromkeys(self.by_scheme.values()))

    def choose(self, url: str, avoid: ProxyUrl | None = None) -> ProxyUrl | None:
        """The proxy a request for `url` goes through, or None (direct); not `avoid`, the one
        that just failed, when there is another."""
        host = host_of(url)
        if self.env is not None and self._bypassed(host):
            return None
        if not self.proxies:
            scheme = url.partition(":")[0]
            return self.by_scheme.get(scheme) or self.by_scheme.get("all")
        now = self.clock()
        ready = [p for p in self.proxies if self.resting.get(p, 0.0) <= now and p != avoid]
        if not ready:  # all resting: the one back soonest
            return min(self.proxies, key=lambda p: (p == avoid, self.resting.get(p, 0.0)))
        if self.rotation == "host":
            kept = self.sticky.get(host)
            if kept in ready:
                return kept
        proxy = ready[self.turn % len(ready)]
        self.turn += 1
        if self.rotation == "host":
            if len(self.sticky) >= MAX_REMEMBERED:
                self.sticky.clear()
            self.sticky[host] = proxy
        return proxy

    def failed(self, proxy: ProxyUrl, why: str) -> None:
        """`proxy` failed a request: it rests for the cooldown."""
        now = self.clock()
        if self.resting.get(proxy, 0.0) <= now:
            log.warning("%s; it rests for %gs (--proxy-cooldown)", why, self.cooldown)
        self.resting[proxy] = now + self.cooldown

    def describe(self) -> str:
        """The pool as the log shows it: the proxies' labels, never their credentials."""
        if not self.proxies:
            shown = ", ".join(f"{scheme}: {proxy.label}" for scheme, proxy in
                              self.by_scheme.items()) or "none"
            return f"the environment's ({shown}), NO_PROXY={(self.env or {}).get('no', '')!r}"
        return (f"{', '.join(proxy.label for proxy in self.proxies)} (rotation: "
                f"{self.rotation}, cooldown {self.cooldown:g}s)")

    def _bypassed(self, host: str) -> bool:
        """NO_PROXY names this host (urllib's reading: suffixes, `*`, ports)."""
        no = (self.env or {}).get("no")
        bypass = urllib.request.proxy_bypass_environment  # type: ignore[attr-defined]  # untyped
        return bool(no) and bool(bypass(host, {"no": no}))


class TargetJudge:
    """The guard's verdict on a target a proxy will connect to: resolved here, cached."""

    def __init__(self, guard: AddressGuard) -> None:
        self.guard = guard
        self.resolver = DefaultResolver()
        self.verdicts: dict[tuple[str, bool], tuple[float, str | None]] = {}

    async def judge(self, url: str, proxy: ProxyUrl) -> str | None:
        """None when the guard allows every address of the target; else why not (the proxy
        picks the address, so one refused address refuses the target)."""
        host = host_of(url)
        if parse_ip(host) is not None:
            return self.guard.check_url(url)
        now = time.monotonic()
        key = (host, proxy.scheme == "socks5h")
        cached = self.verdicts.get(key)
        if cached is not None and cached[0] > now:
            return cached[1]
        verdict: str | None = None
        try:
            found = await self.resolver.resolve(host, 0, socket.AF_UNSPEC)
            verdict = next(filter(None, (self._check(result["host"]) for result in found)), None)
        except OSError:
            if proxy.scheme != "socks5h":
                verdict = (f"connection failed: {host} does not resolve here, and the address "
                           "guard judges a proxy's target by its addresses (a socks5h proxy "
                           "may resolve names itself)")
        if len(self.verdicts) >= MAX_REMEMBERED:
            self.verdicts.clear()
        self.verdicts[key] = (now + VERDICT_SECONDS, verdict)
        return verdict

    def _check(self, address: str) -> str | None:
        ip = parse_ip(address)
        return self.guard.check(ip) if ip is not None else f"address guard: bad address {address}"


async def check_proxies(pool: ProxyPool, guard: AddressGuard) -> None:
    """Before the crawl: every proxy resolves and the guard allows its address (a proxy on a
    network the crawl may not reach needs --allow-network); UsageError in one line if not."""
    resolver = GuardedResolver(guard, DefaultResolver())
    for proxy in pool.every_proxy:
        literal = parse_ip(proxy.host)
        try:
            if literal is not None:
                problem = guard.check(literal)
                if problem:
                    raise AddressDenied(problem)
            else:
                await resolver.resolve(proxy.host, proxy.port, socket.AF_UNSPEC)
        except AddressDenied as exc:
            raise UsageError(f"--proxy {proxy.label}: {exc}") from None
        except OSError as exc:
            raise UsageError(f"--proxy {proxy.label}: cannot resolve {proxy.host} "
                             f"({exc.strerror or exc})") from None
    log.info("proxies: %s", pool.describe())
