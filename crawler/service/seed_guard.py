"""A job's seeds judged by the service's address guard before the job is accepted: a seed the
job could never fetch (127.0.0.1, a name that resolves to a private address) is a 400 at once,
naming the seed, its address and the operator's flag that would allow it, instead of a job that
"completes" with one address-guard error.

Only public addresses and the networks of `serve --allow-network` are crawled by the service's
jobs (a seed's own network is not allowed as the command line allows it: the seeds are
untrusted). Names are resolved concurrently, each within RESOLVE_SECONDS; a name that does not
resolve in time is let through, and the job's own guard judges it on every fetch.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket

from crawler.fetch.guard import AddressGuard, category
from crawler.urls import host_of

RESOLVE_SECONDS = 2.0
MAX_RESOLVING = 32  # names resolved at once


async def refused_seed(seeds: list[str], allow_networks: list[str]) -> str | None:
    """Why the first seed the service would never fetch is refused, or None."""
    guard = AddressGuard.build((), allow_networks)
    hosts = list(dict.fromkeys(host_of(seed) for seed in seeds))
    slots = asyncio.Semaphore(MAX_RESOLVING)
    verdicts = await asyncio.gather(*(_verdict(host, guard, slots) for host in hosts))
    refused = dict(zip(hosts, verdicts, strict=True))
    for number, seed in enumerate(seeds, 1):
        reason = refused[host_of(seed)]
        if reason is not None:
            return f"seed {number} {seed!r}: {reason}"
    return None


async def refused_webhook(url: str, allow_networks: list[str]) -> str | None:
    """Why the service would never deliver to a job's webhook, or None."""
    reason = await _verdict(host_of(url), AddressGuard.build((), allow_networks),
                            asyncio.Semaphore(1))
    return None if reason is None else f"setting webhook {url!r}: {reason}"


async def _verdict(host: str, guard: AddressGuard, slots: asyncio.Semaphore) -> str | None:
    name = host.strip("[]")
    try:
        addresses = [ipaddress.ip_address(name)]
    except ValueError:
        async with slots:
            try:
                found = await asyncio.wait_for(asyncio.get_running_loop().getaddrinfo(
                    name, None, type=socket.SOCK_STREAM), RESOLVE_SECONDS)
            except (OSError, TimeoutError, UnicodeError):
                return None  # the job's guard judges it when it resolves
        addresses = [ipaddress.ip_address(str(info[4][0]).split("%", 1)[0]) for info in found]
    for address in addresses:
        if guard.check(address) is not None:
            where = f"{address} is" if str(address) == name else f"{host} is at {address},"
            return (f"{where} a {category(address)} address, which this service's jobs do "
                    "not crawl (its operator allows a network with serve --allow-network "
                    "CIDR)")
    return None
