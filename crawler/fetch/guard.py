"""The address guard: every address the crawler would connect to is checked before connecting.

Addresses fall in categories: public, loopback, private, link-local and special (unspecified,
multicast, reserved, shared...). Public addresses are always allowed. A non-public category is
allowed only when a seed is on such an address (crawling your own intranet or localhost), or when
the user allows the network explicitly (--allow-network). --deny-network always wins. So links
and redirects from public pages into the operator's own network are refused.

Host names are checked through `GuardedResolver`, after resolution, so the address checked is the
address connected to; IP literals (aiohttp does not resolve them) are checked by `check_url`.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp.abc import AbstractResolver, ResolveResult
from aiohttp.resolver import DefaultResolver

from crawler.urls import host_of

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
PREFIX = "address guard: "


class AddressDenied(OSError):
    """Every address of a host is refused by the guard; the message says why."""


NAT64 = ipaddress.ip_network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def embedded_ipv4(ip: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address carries, which is where its packets end up: mapped
    (::ffff:a.b.c.d), 6to4 (2002::/16), NAT64 (64:ff9b::/96), Teredo (2001::/32, the
    client) and IPv4-compatible (::a.b.c.d, not :: or ::1)."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip.sixtofour is not None:
        return ip.sixtofour
    if ip.teredo is not None:
        return ip.teredo[1]
    if ip in NAT64 or (ip in IPV4_COMPATIBLE and int(ip) > 1):
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return None


def parse_ip(text: str) -> IPAddress | None:
    """The address in `text` (brackets and IPv6 zone ids allowed), or None for a host name. An
    IPv6 address carrying an IPv4 one is judged by that (embedded_ipv4)."""
    try:
        ip = ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address):
        return embedded_ipv4(ip) or ip
    return ip


def category(ip: IPAddress) -> str:
    """public, loopback, private, link-local or special."""
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
    if ip.is_multicast or ip.is_unspecified or ip.is_reserved:
        return "special"
    if ip.is_global:
        return "public"
    return "private" if ip.is_private else "special"


HOST_VERDICTS = 10_000  # check_url's cache, cleared when full


@dataclass(frozen=True, slots=True)
class AddressGuard:
    """Which addresses a crawl may connect to."""

    categories: frozenset[str] = frozenset({"public"})
    allow: tuple[IPNetwork, ...] = ()
    deny: tuple[IPNetwork, ...] = ()
    # check_url's verdicts by host: parsing an address costs more than the rest of a fetch's
    # bookkeeping, and a crawl meets few hosts
    _by_host: dict[str, str | None] = field(default_factory=dict, compare=False, hash=False,
                                            repr=False)

    @classmethod
    def build(cls, seed_addresses: Iterable[IPAddress], allow: Iterable[str] = (),
              deny: Iterable[str] = ()) -> AddressGuard:
        """Public addresses, the categories the seeds are in, and the user's networks."""
        categories = {"public"} | {category(ip) for ip in seed_addresses}
        return cls(frozenset(categories),
                   tuple(ipaddress.ip_network(n, strict=False) for n in allow),
                   tuple(ipaddress.ip_network(n, strict=False) for n in deny))

    def check(self, ip: IPAddress) -> str | None:
        """None when the crawl may connect to `ip`, else why not."""
        for network in self.deny:
            if ip.version == network.version and ip in network:
                return f"{PREFIX}{ip} is in the denied network {network}"
        for network in self.allow:
            if ip.version == network.version and ip in network:
                return None
        kind = category(ip)
        if kind in self.categories:
            return None
        return (f"{PREFIX}{ip} is a {kind} address and no seed is on one "
                "(allow it with --allow-network)")

    def check_url(self, canonical_url: str) -> str | None:
        """For a URL whose host is an IP literal, the check of that address; else None."""
        host = host_of(canonical_url)
        try:
            return self._by_host[host]
        except KeyError:
            pass
        ip = parse_ip(host)
        verdict = self.check(ip) if ip is not None else None
        if len(self._by_host) >= HOST_VERDICTS:
            self._by_host.clear()
        self._by_host[host] = verdict
        return verdict


class GuardedResolver(AbstractResolver):
    """Resolves with aiohttp's default resolver, then keeps only the addresses the guard allows."""

    def __init__(self, guard: AddressGuard, inner: AbstractResolver | None = None) -> None:
        self.guard = guard
        self.inner = inner or DefaultResolver()

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        results = await self.inner.resolve(host, port, family)
        allowed: list[ResolveResult] = []
        reasons: list[str] = []
        for result in results:
            ip = parse_ip(result["host"])
            reason = self.guard.check(ip) if ip is not None else f"{PREFIX}bad address"
            if reason is None:
                allowed.append(result)
            else:
                reasons.append(reason)
        if not allowed:
            raise AddressDenied(reasons[0] if reasons else f"{PREFIX}{host} has no address")
        return allowed

    async def close(self) -> None:
        await self.inner.close()


async def addresses_of(hosts: Iterable[str]) -> list[IPAddress]:
    """The addresses the given hosts are on (IP literals as they are, names resolved); names
    that do not resolve are left out (their fetches will fail with a clear error)."""
    loop = asyncio.get_running_loop()
    found: list[IPAddress] = []
    for host in set(hosts):
        literal = parse_ip(host)
        if literal is not None:
            found.append(literal)
            continue
        try:
            infos: list[Any] = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
        except (OSError, UnicodeError):
            continue
        found += [ip for info in infos if (ip := parse_ip(info[4][0])) is not None]
    return found
