"""A running crawl's live numbers as one JSON-able dict (`live_snapshot`), and `--status-file`,
which rewrites them to a file every second for whoever watches the crawl (the crawl service
reads its jobs' this way; a cron crawl's owner can too)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from crawler.engine import Crawler
from crawler.records import now_iso
from crawler.util.atomicfile import write_atomically

log = logging.getLogger(__name__)
STATUS_FILE_SECONDS = 1.0


@dataclass(frozen=True)
class RunBase:
    """What the run had recorded before this session started (a resumed run goes on counting)."""

    pages: int = 0
    errors: int = 0


NOTHING_BEFORE = RunBase()


def live_snapshot(crawler: Crawler, base: RunBase = NOTHING_BEFORE, state: str = "running"
                  ) -> dict[str, Any]:
    stats, frontier = crawler.stats, crawler.frontier
    by_class: dict[str, int] = {}
    for status, n in stats.statuses.items():
        key = f"{status // 100}xx"
        by_class[key] = by_class.get(key, 0) + n
    no_answer = stats.pages - sum(stats.statuses.values())
    if no_answer:
        by_class["none"] = no_answer
    return {
        "state": state,
        "pid": os.getpid(),
        "run_id": crawler.run_id,
        "updated_at": now_iso(),
        "pages": base.pages + stats.pages,
        "errors": base.errors + stats.errors,
        "session_pages": stats.pages,
        "session_seconds": round(stats.elapsed(), 3),
        "rate": round(stats.rate(), 2),
        "queued": frontier.queued,
        "in_flight": frontier.in_flight,
        "pages_by_class": by_class,
        "errors_by_kind": dict(stats.errors_by_kind),
        "fetches": crawler.fetcher.counts.as_dict(),
    }


class StatusFile:
    """Rewrites the crawl's live snapshot to `path` every STATUS_FILE_SECONDS, and a last time
    (state "stopped") when the crawl ends."""

    def __init__(self, path: Path, crawler: Crawler, base: RunBase) -> None:
        self.path = path
        self.crawler = crawler
        self.base = base
        self._task: asyncio.Task[None] | None = None

    def write(self, state: str = "running") -> None:
        try:
            write_atomically(self.path, orjson.dumps(live_snapshot(self.crawler, self.base,
                                                                   state)))
        except OSError as exc:
            log.warning("could not write the status file %s: %s", self.path, exc)

    def start(self) -> None:
        self.write()
        self._task = asyncio.create_task(self._run(), name="status-file")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(STATUS_FILE_SECONDS)
            self.write()

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.write("stopped")
