"""An optional budget per IP address (--per-ip), over all the hosts on it: shared hosting puts
hundreds of sites on one server, and per-host politeness alone would let each of them take its
slots there at once (Scrapy's CONCURRENT_REQUESTS_PER_IP). A fetch waits for a slot of its
host's address; the address is the host's first IPv4 one (else IPv6), resolved once."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator

from crawler.fetch.guard import parse_ip
from crawler.urls import host_of

_FREE: contextlib.nullcontext[None] = contextlib.nullcontext()


class IpSlots:
    """`async with slots.taken(url):` holds one of the `limit` slots of the URL's address."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._addresses: dict[str, str | None] = {}  # host -> its address (None: unresolved)
        self._slots: dict[str, asyncio.Semaphore] = {}

    def __repr__(self) -> str:
        return f"<IpSlots limit={self.limit} addresses={len(self._slots)}>"

    def taken(self, url: str) -> contextlib.AbstractAsyncContextManager[None]:
        """A slot of the URL's address; with no limit, nothing to wait for (and no cost)."""
        return self._taken(url) if self.limit else _FREE

    @contextlib.asynccontextmanager
    async def _taken(self, url: str) -> AsyncIterator[None]:
        address = await self._address(host_of(url))
        if address is None:  # no limit, or no address: the fetch will say why
            yield
            return
        slot = self._slots.get(address)
        if slot is None:
            slot = self._slots[address] = asyncio.Semaphore(self.limit)
        async with slot:
            yield

    async def _address(self, host: str) -> str | None:
        if host in self._addresses:
            return self._addresses[host]
        literal = parse_ip(host)
        address: str | None = str(literal) if literal is not None else None
        if address is None:
            try:
                infos = await asyncio.get_running_loop().getaddrinfo(
                    host, None, type=socket.SOCK_STREAM)
            except (OSError, UnicodeError):
                infos = []
            ranked = sorted(infos, key=lambda info: info[0] != socket.AF_INET)
            address = str(ranked[0][4][0]) if ranked else None
        self._addresses[host] = address
        return address
