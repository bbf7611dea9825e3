"""The rendering pool: one Chromium, at most `tabs` pages at once, its tabs in one browser
context (what a page stores is seen by the next pages until the browser restarts, as in one
browser window; one context per tab cost 1.3 s more to open 16 tabs). The browser is
started on the first page, restarted after `restart_pages` pages or when its memory passes
`memory_mb`, and relaunched when it dies; a page the browser died under is tried once more.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Self

from crawler.render.browser import Browser
from crawler.render.cdp import BrowserGone, CommandFailed
from crawler.render.tab import Answer, Policy, Rendered, RenderOptions, SubFetch, Tab

log = logging.getLogger(__name__)


RECYCLE_PAGES = 100  # a tab (and its browser context) renders this many pages, then a new one
MEMORY_CHECK = 2.0  # seconds between two readings of the browser's memory


class Renderer:
    """`async with Renderer(...) as renderer: await renderer.render(url, answer)`."""

    def __init__(self, binary: str, fetch: SubFetch, policy: Policy, tabs: int = 4,
                 options: RenderOptions | None = None, restart_pages: int = 500,
                 memory_mb: int = 2048) -> None:
        self.binary = binary
        self.fetch = fetch
        self.policy = policy
        self.tabs = tabs
        self.options = options or RenderOptions()
        self.restart_pages = restart_pages
        self.memory_mb = memory_mb
        self.browser: Browser | None = None
        self.pages_since_start = 0
        self.rendered = 0  # pages rendered in all
        self.restarts = 0  # browsers started after the first
        self.crashes = 0  # pages the tab or the browser died under
        self.memory = 0  # the browser's memory (PSS, bytes) when last read
        self._memory_checked = 0.0
        self._slots = asyncio.Semaphore(tabs)
        self._idle_tabs: list[Tab] = []
        self._busy = 0
        self._restart = False
        self._starting = asyncio.Lock()
        self._idle = asyncio.Event()
        self._idle.set()
        self._warming: asyncio.Future[None] | None = None

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def render(self, url: str, answer: Answer) -> Rendered:
        """Render `url`, whose document the crawler fetched as `answer`; a page the tab or the
        browser died under is tried once more, in a new tab."""
        result = await self._render_once(url, answer)
        if result.crashed:
            self.crashes += 1
            log.warning("render %s: %s; trying once more", url, result.error)
            retried = await self._render_once(url, answer)
            if retried.crashed:
                self.crashes += 1
                retried.error = f"{retried.error} (twice)"
            return retried
        return result

    def warm(self) -> None:
        """Start the browser and open every tab now, while the crawl fetches its first pages
        (the first pages wait for it rather than open tabs of their own)."""
        if self._warming is None:
            self._warming = asyncio.ensure_future(self._warm())

    async def _warm(self) -> None:
        try:
            browser = await self._browser()
            opened = await asyncio.gather(*(self._new_tab(browser) for _ in range(self.tabs)),
                                          return_exceptions=True)
        except Exception as exc:  # the first page meets it again, and says so
            log.debug("render: warming the browser failed: %s", exc)
            return
        self._idle_tabs.extend(tab for tab in opened if isinstance(tab, Tab))

    async def _render_once(self, url: str, answer: Answer) -> Rendered:
        if self._warming is not None:
            await asyncio.shield(self._warming)
        async with self._slots:
            browser = await self._browser()
            self._busy += 1
            self._idle.clear()
            tab: Tab | None = None
            try:
                tab = self._idle_tabs.pop() if self._idle_tabs else await self._new_tab(browser)
                result = await tab.render(url, answer)
            except (BrowserGone, CommandFailed) as exc:
                result = Rendered(error=f"render: the browser failed ({exc})", crashed=True)
            finally:
                if tab is not None:
                    if tab.healthy and tab.pages < RECYCLE_PAGES and browser.alive:
                        self._idle_tabs.append(tab)
                    else:
                        await tab.close()
                self._busy -= 1
                if self._busy == 0:
                    self._idle.set()
            self.rendered += 1
            self.pages_since_start += 1
            if not browser.alive:
                result.crashed = True
            elif self.pages_since_start >= self.restart_pages or await self._over_memory(browser):
                self._restart = True
            return result

    async def _over_memory(self, browser: Browser) -> bool:
        """Whether the browser's memory passed the cap; read at most every MEMORY_CHECK
        seconds, in a thread (PSS walks every page table of every Chromium process)."""
        now = time.monotonic()
        if now - self._memory_checked < MEMORY_CHECK:
            return False
        self._memory_checked = now
        self.memory = await asyncio.to_thread(browser.memory_bytes)
        return self.memory > self.memory_mb << 20

    async def _new_tab(self, browser: Browser) -> Tab:
        tab = Tab(browser.connection, self.fetch, self.policy, self.options)
        try:
            await tab.open(browser.context)
        except BaseException:
            await tab.close()
            raise
        return tab

    async def _browser(self) -> Browser:
        """The running browser, started (or restarted, once the pages in it are done)."""
        async with self._starting:
            browser = self.browser
            if browser is not None and browser.alive and not self._restart:
                return browser
            if browser is not None:
                if browser.alive:
                    await self._idle.wait()  # the pages still in it finish first
                    log.info("render: restarting the browser after %d pages (%d MiB)",
                             self.pages_since_start, browser.memory_bytes() >> 20)
                else:
                    log.warning("render: the browser died; starting it again")
                for tab in self._idle_tabs:
                    await tab.stop()
                self._idle_tabs.clear()
                await browser.close()
                self.restarts += 1
            self.browser = await Browser.launch(
                self.binary, heap_mb=max(64, self.memory_mb // (2 * self.tabs)))
            self.pages_since_start = 0
            self._restart = False
            return self.browser

    async def close(self) -> None:
        if self._warming is not None:
            self._warming.cancel()
            await asyncio.gather(self._warming, return_exceptions=True)
        for tab in self._idle_tabs:
            await tab.stop()  # closing the browser closes them all at once
        self._idle_tabs.clear()
        if self.browser is not None:
            await self.browser.close()
            self.browser = None
