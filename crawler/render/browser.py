"""The Chromium process: Debian's `chromium`, headless, driven over a pipe (crawler.render.cdp),
in its own process group, killed by the kernel when the crawl dies (crawler.render.launch), its
profile in a temporary directory removed when it closes."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from crawler.errors import UsageError
from crawler.render.cdp import BrowserGone, CdpConnection

log = logging.getLogger(__name__)
LAUNCHER = str(Path(__file__).with_name("launch.py"))  # run as a script: stdlib only
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome")
FLAGS = (
    "--headless=new", "--disable-gpu", "--no-first-run", "--no-default-browser-check",
    "--disable-dev-shm-usage", "--disable-extensions", "--disable-background-networking",
    "--disable-sync", "--disable-component-update", "--disable-default-apps",
    "--disable-breakpad", "--mute-audio", "--hide-scrollbars", "--metrics-recording-only",
    "--password-store=basic", "--use-mock-keychain",
    "--remote-debugging-pipe",
    # the browser reaches no network itself: every request the crawler does not answer through
    # the DevTools interception (a WebSocket, WebRTC, DNS prefetch) fails here
    "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
    "--host-resolver-rules=MAP * ~NOTFOUND", "--dns-prefetch-disable",
    "--force-webrtc-ip-handling-policy=disable_non_proxied_udp",
    "--disable-features=Translate,MediaRouter,OptimizationHints,DialMediaRouteProvider",
    "about:blank",
)


def chromium_binary(configured: str = "") -> str:
    """The browser to run: --render-browser, else the first Chromium on PATH; UsageError when
    there is none."""
    found = shutil.which(configured) if configured else next(
        (path for name in CHROMIUM_NAMES if (path := shutil.which(name))), None)
    if found is None:
        raise UsageError(f"--render needs Chromium: {configured or 'chromium'} is not on PATH "
                         "(Debian: apt-get install chromium)")
    return found


class Browser:
    """One running Chromium. `await Browser.launch(...)`; `close()` ends it and its processes."""

    def __init__(self, process: asyncio.subprocess.Process, connection: CdpConnection,
                 profile: Path) -> None:
        self.process = process
        self.connection = connection
        self.profile = profile
        self.context = ""  # the browser context every tab opens in (Browser.launch makes it)

    @classmethod
    async def launch(cls, binary: str, heap_mb: int = 512) -> Browser:
        """Start Chromium; each page's JavaScript heap is capped at `heap_mb` (a page that
        allocates past it kills its own tab, not the machine)."""
        profile = Path(tempfile.mkdtemp(prefix="crawler-chromium-"))
        to_browser_read, to_browser_write = os.pipe()
        from_browser_read, from_browser_write = os.pipe()
        args = [binary, *FLAGS, f"--user-data-dir={profile}",
                f"--js-flags=--max-old-space-size={heap_mb}"]
        if os.geteuid() == 0:
            args.insert(1, "--no-sandbox")  # Chromium refuses to run as root with its sandbox
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable, LAUNCHER, str(to_browser_read),
                str(from_browser_write), str(os.getpid()), *args,
                pass_fds=(to_browser_read, from_browser_write), start_new_session=True,
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        finally:
            os.close(to_browser_read)
            os.close(from_browser_write)
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=256 << 20)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader),
                                     os.fdopen(from_browser_read, "rb", buffering=0))
        writer, _ = await loop.connect_write_pipe(asyncio.Protocol,
                                                  os.fdopen(to_browser_write, "wb", buffering=0))
        browser = cls(process, CdpConnection(reader, writer), profile)
        try:
            async with asyncio.timeout(30):
                await browser.connection.send("Browser.getVersion")
                browser.context = await browser.new_context()
        except (TimeoutError, BrowserGone) as exc:
            await browser.close()
            raise UsageError(f"--render: Chromium ({binary}) did not start: {exc or 'timeout'}"
                             ) from None
        return browser

    async def new_context(self) -> str:
        """A browser context (cookies, storage, cache of its own) that downloads nothing."""
        send = self.connection.send
        created = await send("Target.createBrowserContext", {"disposeOnDetach": True})
        context: str = created["browserContextId"]
        await send("Browser.setDownloadBehavior", {"behavior": "deny",
                                                   "browserContextId": context})
        return context

    @property
    def alive(self) -> bool:
        return self.process.returncode is None and not self.connection.closed

    def memory_bytes(self) -> int:
        """The proportional memory (PSS: shared pages split between their users) of every
        process in the browser's group, from Linux /proc; 0 elsewhere."""
        total = 0
        group = self.process.pid
        for entry in os.scandir("/proc"):
            if not entry.name.isdigit():
                continue
            try:
                if os.getpgid(int(entry.name)) != group:
                    continue
                with open(f"/proc/{entry.name}/smaps_rollup") as rollup:
                    for line in rollup:
                        if line.startswith("Pss:"):
                            total += int(line.split()[1]) * 1024
                            break
            except (OSError, ValueError, IndexError):
                continue
        return total

    async def close(self) -> None:
        """Ask the browser to close, then kill its whole process group; remove its profile."""
        if self.alive:
            with contextlib.suppress(BrowserGone, TimeoutError, Exception):
                async with asyncio.timeout(2):
                    await self.connection.send("Browser.close")
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            await self.process.wait()
        await self.connection.close()
        shutil.rmtree(self.profile, ignore_errors=True)
