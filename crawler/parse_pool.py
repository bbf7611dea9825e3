"""Run `parse_page` off the event loop in a process pool, with admission control and crash recovery.

`ProcessPoolExecutor.submit` never blocks, so submissions wait on a semaphore sized to keep every
worker busy without piling up page bodies in memory. A worker that dies (BrokenProcessPool) gets
the pool rebuilt once, however many pages saw it break; the page is retried a bounded number of
times, then reported as a ParseFailed. No other page is lost.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import signal
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Self

from crawler.parse import ParseConfig, ParseResult, parse_page

log = logging.getLogger(__name__)
ParseFn = Callable[[str, bytes, str | None, ParseConfig], ParseResult]


def _ignore_interrupts() -> None:
    """Ctrl-C reaches the whole process group; the parent, not the workers, handles it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


class ParseFailed(Exception):
    """A page could not be parsed; the message says why. The page gets an error record."""


class ParsePool:
    """`await pool.parse(...)`: parse in worker processes ("process") or on the loop ("inline")."""

    def __init__(self, mode: str = "process", workers: int = 0, attempts: int = 3,
                 parse_fn: ParseFn = parse_page) -> None:
        self.mode = mode
        self.parse_fn = parse_fn  # a picklable top-level function; tests swap in crashing ones
        self.workers = workers or os.cpu_count() or 1
        self.attempts = attempts
        self.rebuilds = 0
        self._executor: ProcessPoolExecutor | None = None
        self._generation = 0
        self._admission = asyncio.Semaphore(self.workers * 2)

    def __repr__(self) -> str:
        return (f"<ParsePool {self.mode} workers={self.workers} rebuilds={self.rebuilds} "
                f"free_admissions={self._admission._value}>")

    async def __aenter__(self) -> Self:
        if self.mode == "process":
            self._executor = self._new_executor()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            self._executor = None

    def _new_executor(self) -> ProcessPoolExecutor:
        # forkserver: children never inherit the event loop's threads or sockets
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["crawler.parse"])
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=context,
                                   initializer=_ignore_interrupts)

    def _rebuild(self, generation: int) -> None:
        """Replace a broken executor, once per breakage however many callers saw it."""
        if generation != self._generation or self._executor is None:
            return
        log.warning("a parse worker died; rebuilding the parse pool")
        self._executor.shutdown(wait=False, cancel_futures=True)
        self._executor = self._new_executor()
        self._generation += 1
        self.rebuilds += 1

    async def parse(self, url: str, body: bytes, content_type: str | None,
                    config: ParseConfig) -> ParseResult:
        """The page's ParseResult, or ParseFailed."""
        if self.mode == "inline":
            try:
                return self.parse_fn(url, body, content_type, config)
            except Exception as exc:
                raise ParseFailed(f"parse failed: {type(exc).__name__}: {exc}") from exc
        loop = asyncio.get_running_loop()
        async with self._admission:
            for _ in range(self.attempts):
                generation, executor = self._generation, self._executor
                if executor is None:
                    raise ParseFailed("parse pool is closed")
                try:
                    return await loop.run_in_executor(
                        executor, self.parse_fn, url, body, content_type, config
                    )
                except BrokenProcessPool:
                    self._rebuild(generation)
                except Exception as exc:
                    raise ParseFailed(f"parse failed: {type(exc).__name__}: {exc}") from exc
        raise ParseFailed(f"parse worker crashed {self.attempts} times on this page")
