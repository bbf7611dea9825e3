"""A loopback HTTP server that answers with exact bytes, for what aiohttp's server refuses to
send: header bytes that are not UTF-8, stacked encodings, servers that accept and never answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import Counter
from dataclasses import dataclass, field

HANG = b""  # a response that is never sent: the connection stays open, silent


def response(status: str, headers: list[tuple[bytes, bytes]], body: bytes = b"") -> bytes:
    """A whole HTTP/1.1 response; Content-Length and Connection: close are added."""
    lines = [b"HTTP/1.1 " + status.encode()]
    lines += [name + b": " + value for name, value in headers]
    lines += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


@dataclass
class RawSite:
    """Routes by exact path; unknown paths get 404. `responses[path] = HANG` never answers."""

    host: str = "127.0.0.1"
    responses: dict[str, bytes] = field(default_factory=dict)
    hits: Counter[str] = field(default_factory=Counter)
    base: str = ""
    _server: asyncio.Server | None = None
    _hung: set[asyncio.StreamWriter] = field(default_factory=set)

    def url(self, path: str = "/") -> str:
        return self.base + path

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, 0)
        port = self._server.sockets[0].getsockname()[1]
        self.base = f"http://{self.host}:{port}"

    async def stop(self) -> None:
        for writer in list(self._hung):
            writer.close()
        if self._server is not None:
            self._server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), 5)

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 10)
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError,
                ConnectionError):
            writer.close()
            return
        path = head.split(b" ", 2)[1].decode("latin-1")
        self.hits[path] += 1
        answer = self.responses.get(path, response("404 Not Found", []))
        if answer == HANG:
            self._hung.add(writer)
            with contextlib.suppress(Exception):
                await asyncio.wait_for(reader.read(), 120)  # until the client gives up
            self._hung.discard(writer)
            writer.close()
            return
        with contextlib.suppress(ConnectionError):
            writer.write(answer)
            await writer.drain()
        writer.close()
