"""Progress reporting: a live line on a terminal, a log line every few seconds otherwise."""

from __future__ import annotations

import asyncio
import logging
from typing import TextIO

from crawler.engine import Crawler

log = logging.getLogger("crawler.progress")
TERMINAL_REFRESH = 0.5


def progress_line(crawler: Crawler) -> str:
    stats, frontier = crawler.stats, crawler.frontier
    return (f"{stats.pages} pages, {stats.rate():.1f} pages/s, {frontier.queued} queued, "
            f"{frontier.in_flight} in flight, {stats.errors} errors")


class Progress:
    """Runs beside the crawl until `stop()`; silent when `enabled` is false."""

    def __init__(self, crawler: Crawler, stream: TextIO, interval: float, enabled: bool) -> None:
        self.crawler = crawler
        self.stream = stream
        self.live = enabled and stream.isatty()
        self.interval = TERMINAL_REFRESH if self.live else interval
        self.enabled = enabled
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self.enabled:
            self._task = asyncio.create_task(self._run(), name="progress")
        if self.live:
            for handler in logging.getLogger().handlers:
                handler.addFilter(self._clear_line)

    def _clear_line(self, _: logging.LogRecord) -> bool:
        """A log line printed while the live line shows starts on a clean line."""
        self.stream.write("\r\x1b[K")
        return True

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            if self.live:
                self.stream.write("\r\x1b[K" + progress_line(self.crawler))
                self.stream.flush()
            else:
                log.info("progress: %s", progress_line(self.crawler))

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None
        if self.live:
            for handler in logging.getLogger().handlers:
                handler.removeFilter(self._clear_line)
            self.stream.write("\r\x1b[K")
            self.stream.flush()
