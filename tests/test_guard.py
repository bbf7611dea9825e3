"""Unit: the address guard's policy and its resolver."""

from __future__ import annotations

import ipaddress
import socket

import pytest
from aiohttp.abc import AbstractResolver, ResolveResult

from crawler.fetch.guard import AddressDenied, AddressGuard, GuardedResolver, category, parse_ip
from tests.site import Site


def ip(text: str):
    return ipaddress.ip_address(text)


def test_categories() -> None:
    """Loopback, private, link-local, public and special addresses are told apart, and
    IPv4-mapped IPv6 addresses count as their IPv4 address."""
    assert category(ip("127.0.0.5")) == "loopback" and category(ip("::1")) == "loopback"
    assert category(ip("10.1.2.3")) == "private" and category(ip("fd00::1")) == "private"
    assert category(ip("169.254.169.254")) == "link-local"
    assert category(ip("8.8.8.8")) == "public"
    assert category(ip("0.0.0.0")) == "special" and category(ip("224.0.0.1")) == "special"
    mapped = parse_ip("[::ffff:127.0.0.1]")
    assert mapped is not None and category(mapped) == "loopback"


def test_public_seeds_allow_no_private_space() -> None:
    """With public seeds, loopback, private, link-local and special addresses are refused:
    a public page cannot lead the crawler into the operator's network."""
    guard = AddressGuard.build([ip("93.184.216.34")])
    assert guard.check(ip("93.184.216.35")) is None
    for target in ("127.0.0.1", "10.0.0.1", "192.168.1.1", "169.254.169.254", "::1", "0.0.0.0"):
        reason = guard.check(ip(target))
        assert reason is not None and "no seed is on one" in reason, target


def test_seed_category_is_allowed_and_only_that_one() -> None:
    """A loopback seed allows loopback addresses, not private or link-local ones."""
    guard = AddressGuard.build([ip("127.0.0.1")])
    assert guard.check(ip("127.0.0.9")) is None
    assert guard.check(ip("10.0.0.1")) is not None
    assert guard.check(ip("169.254.169.254")) is not None


def test_explicit_networks_allow_and_deny_wins() -> None:
    """--allow-network opens a network; --deny-network closes one, even a seed's."""
    guard = AddressGuard.build([ip("127.0.0.1")], allow=["10.0.0.0/8"],
                               deny=["127.0.0.2/32", "10.9.0.0/16"])
    assert guard.check(ip("10.1.1.1")) is None
    assert guard.check(ip("10.9.1.1")) == "address guard: 10.9.1.1 is in the denied network " \
                                          "10.9.0.0/16"
    assert guard.check(ip("127.0.0.2")) is not None and guard.check(ip("127.0.0.1")) is None


def test_ip_literal_urls_in_every_spelling_are_checked() -> None:
    """check_url catches IP-literal hosts (after canonicalisation), IPv6 included."""
    guard = AddressGuard.build([ip("8.8.8.8")])
    assert guard.check_url("http://127.0.0.1:8080/x") is not None
    assert guard.check_url("http://[::1]/") is not None
    assert guard.check_url("http://example.com/") is None


class FixedResolver(AbstractResolver):
    """Answers every name with the given addresses."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses

    async def resolve(self, host: str, port: int = 0,
                      family: socket.AddressFamily = socket.AF_INET) -> list[ResolveResult]:
        return [ResolveResult(hostname=host, host=a, port=port, family=family, proto=0, flags=0)
                for a in self.addresses]

    async def close(self) -> None:
        pass


async def test_resolver_keeps_only_allowed_addresses() -> None:
    """A name resolving to public and private addresses connects only to the public one; a
    name resolving only to refused addresses raises AddressDenied with the reason."""
    guard = AddressGuard.build([ip("8.8.8.8")])
    mixed = GuardedResolver(guard, FixedResolver("10.0.0.1", "8.8.4.4"))
    assert [r["host"] for r in await mixed.resolve("example.com", 80)] == ["8.8.4.4"]
    private = GuardedResolver(guard, FixedResolver("127.0.0.1"))
    with pytest.raises(AddressDenied, match=r"127\.0\.0\.1 is a loopback address"):
        await private.resolve("rebind.example", 80)


async def test_a_host_name_that_resolves_to_a_denied_address_is_never_connected_to(
        site: Site, crawl) -> None:
    """End to end through the fetcher's resolver: `localhost` resolves to 127.0.0.1, which
    --deny-network refuses, so the server hears nothing, robots.txt included (without the
    guarded resolver aiohttp connects)."""
    site.page("/", "/next")
    port = site.base.rsplit(":", 1)[1]
    records = await crawl([f"http://localhost:{port}/"],
                          deny_networks=["127.0.0.1/32", "::1/128"])
    assert sum(site.hits.values()) == 0
    assert len(records) == 1 and "address guard" in records[0]["error"], records


@pytest.mark.parametrize("literal", [
    "[2002:7f00:1::]",  # 6to4 of 127.0.0.1
    "[64:ff9b::7f00:1]",  # NAT64 of 127.0.0.1
    "[::127.0.0.1]",  # IPv4-compatible
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo, client 127.0.0.1 (bits inverted)
    "[2002:a9fe:a9fe::1]",  # 6to4 of 169.254.169.254
])
def test_ipv6_that_carries_ipv4_is_judged_by_the_ipv4(literal: str) -> None:
    """6to4, NAT64, Teredo and IPv4-compatible addresses lead to their IPv4 address: a public
    seed allows none of these, and --deny-network in IPv4 terms denies them."""
    guard = AddressGuard.build([ip("8.8.8.8")])
    reason = guard.check_url(f"http://{literal}/")
    assert reason is not None and ("loopback" in reason or "link-local" in reason), reason
    assert AddressGuard.build([ip("8.8.8.8")]).check_url("http://[2002:0808:0808::1]/") is None
    denied = AddressGuard.build([ip("127.0.0.1")], deny=["127.0.0.0/8", "169.254.0.0/16"])
    assert "denied network" in (denied.check_url(f"http://{literal}/") or "")
