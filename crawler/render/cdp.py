"""The Chrome DevTools protocol over Chromium's --remote-debugging-pipe: JSON messages ended by
a NUL byte, commands answered by id, events handed to the session that listens for them.

A pipe, not a port: no other process on the machine can drive the browser, and nothing is
left listening when the crawler dies.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from collections.abc import Callable
from typing import Any

import orjson

log = logging.getLogger(__name__)
Handler = Callable[[dict[str, Any]], None]
MAX_MESSAGE = 256 << 20  # a message larger than this ends the connection (a DOM is far smaller)


class BrowserGone(Exception):
    """The browser closed its pipe (it crashed, was killed, or was closed)."""


class CommandFailed(Exception):
    """The browser answered a command with an error."""


class CdpConnection:
    """One pipe to one browser. `send` a command (to a session or the browser) and await its
    answer; `listen` for a session's events."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.WriteTransport) -> None:
        self._reader = reader
        self._writer = writer
        self._ids = itertools.count(1)
        self._waiting: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._listeners: dict[str, Handler] = {}  # session id ("" the browser) -> handler
        self.closed = False
        self._task = asyncio.get_running_loop().create_task(self._read())

    async def send(self, method: str, params: dict[str, Any] | None = None,
                   session: str = "") -> dict[str, Any]:
        """Run `method`; its result, CommandFailed with the browser's error, or BrowserGone."""
        if self.closed:
            raise BrowserGone("the browser is gone")
        message_id = next(self._ids)
        message: dict[str, Any] = {"id": message_id, "method": method, "params": params or {}}
        if session:
            message["sessionId"] = session
        answer = asyncio.get_running_loop().create_future()
        self._waiting[message_id] = answer
        try:
            self._writer.write(orjson.dumps(message) + b"\0")
            return await answer
        finally:
            self._waiting.pop(message_id, None)

    def listen(self, session: str, handler: Handler | None) -> None:
        """Hand the session's events to `handler` (None stops)."""
        if handler is None:
            self._listeners.pop(session, None)
        else:
            self._listeners[session] = handler

    async def _read(self) -> None:
        try:
            while True:
                try:
                    raw = await self._reader.readuntil(b"\0")
                except asyncio.LimitOverrunError:
                    log.warning("browser: a DevTools message over %d bytes; closing", MAX_MESSAGE)
                    break
                self._dispatch(orjson.loads(raw[:-1]))
        except (asyncio.IncompleteReadError, ConnectionError, orjson.JSONDecodeError):
            pass
        finally:
            self._close_all()

    def _dispatch(self, message: dict[str, Any]) -> None:
        message_id = message.get("id")
        if message_id is not None:
            answer = self._waiting.get(message_id)
            if answer is not None and not answer.done():
                if "error" in message:
                    answer.set_exception(CommandFailed(message["error"].get("message", "")))
                else:
                    answer.set_result(message.get("result", {}))
            return
        handler = self._listeners.get(message.get("sessionId", ""))
        if handler is not None:
            try:
                handler(message)
            except Exception:  # a handler's bug must not end the connection
                log.exception("browser: event handler failed on %s", message.get("method"))

    def _close_all(self) -> None:
        self.closed = True
        for answer in self._waiting.values():
            if not answer.done():
                answer.set_exception(BrowserGone("the browser closed its pipe"))
        self._waiting.clear()
        for handler in list(self._listeners.values()):
            try:
                handler({"method": "Browser.gone"})
            except Exception:
                log.exception("browser: handler failed on Browser.gone")

    async def close(self) -> None:
        self._writer.close()
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)
        self._close_all()
