"""Headless Chromium driven over the DevTools protocol (a websocket, with aiohttp): enough to
open a page, run JavaScript in it, wait for the DOM and take a screenshot."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import itertools
import shutil
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp

from tests.real_servers import require


def chromium_binary() -> str | None:
    return next((found for name in ("chromium", "chromium-browser", "google-chrome")
                 if (found := shutil.which(name))), None)


class Page:
    """One browser tab."""

    def __init__(self, socket: aiohttp.ClientWebSocketResponse) -> None:
        self.socket = socket
        self._ids = itertools.count(1)

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        message_id = next(self._ids)
        await self.socket.send_json({"id": message_id, "method": method, "params": params})
        async for message in self.socket:
            data = message.json()
            if data.get("id") == message_id:
                if "error" in data:
                    raise RuntimeError(f"{method}: {data['error']}")
                return data["result"]
        raise RuntimeError("the browser closed the connection")

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression,
                                 awaitPromise=True, returnByValue=True)
        if "exceptionDetails" in result:
            raise RuntimeError(f"{expression}: {result['exceptionDetails']}")
        return result["result"].get("value")

    async def wait_for(self, expression: str, seconds: float = 20) -> Any:
        """The value of `expression` once it is truthy."""
        deadline = time.monotonic() + seconds
        value = None
        for _ in range(int(seconds * 10)):
            value = await self.evaluate(expression)
            if value or time.monotonic() > deadline:
                break
            await asyncio.sleep(0.1)
        assert value, f"never true in the page: {expression}"
        return value

    async def screenshot(self) -> bytes:
        """The tab as a PNG."""
        result = await self.send("Page.captureScreenshot", format="png")
        return base64.b64decode(result["data"])


def _start(binary: str, profile: Path, width: int, height: int) -> subprocess.Popen[bytes]:
    return subprocess.Popen(
        [binary, "--headless=new", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-dev-shm-usage", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0", f"--user-data-dir={profile}",
         f"--window-size={width},{height}", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@contextlib.asynccontextmanager
async def chromium(profile: Path, width: int = 1280, height: int = 900
                   ) -> AsyncIterator[Page]:
    """A headless Chromium with one tab, `width` x `height`; the test fails in CI (skips
    elsewhere) when Chromium is not installed."""
    binary = chromium_binary()
    require(binary is not None, "Chromium (chromium)")
    assert binary is not None
    process = _start(binary, profile, width, height)
    try:
        port_file = profile / "DevToolsActivePort"
        for _ in range(300):
            if port_file.exists() and port_file.read_text().strip():
                break
            await asyncio.sleep(0.1)
        port = int(port_file.read_text().split()[0])
        async with aiohttp.ClientSession() as session:
            async with session.get(f"http://127.0.0.1:{port}/json/list") as resp:
                targets = await resp.json()
            url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
            async with session.ws_connect(url, max_msg_size=64 << 20) as socket:
                page = Page(socket)
                await page.send("Page.enable")
                await page.send("Emulation.setDeviceMetricsOverride", width=width,
                                height=height, deviceScaleFactor=1, mobile=False)
                yield page
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
