"""Run `parse_page` off the event loop in worker processes, with admission control, a per-page
deadline and crash isolation.

Pages go to the workers in batches: a hand-off costs the event loop about half a millisecond
(pickling, the executor's threads, waking the loop), whatever the size, so while every worker is
busy the pages that arrive wait and leave together as one task (at most MAX_BATCH_PAGES pages
or MAX_BATCH_BYTES of bodies); an idle pool takes a page at once. A page with heavy extraction
(ParseConfig.heavy: a hundred times a hand-off) goes alone, so the workers share such pages
evenly. At most two batches per worker are in flight, so page bodies never pile up in the
executor's queues.

Every page has its own deadline, in a batch too: before each page a worker writes into shared
memory which page of its batch it parses, since when. A page over the deadline is known by
that: the pool's workers are killed (the executor has no other way to stop a task), the page
fails at once ("parse timed out"), never retried, and every other page the kill interrupted is
parsed again in the rebuilt pool, in parallel. A hostile page costs one deadline, and the
pages beside it are not queued behind it. Each worker's address space is capped
(--parse-memory-mb): a page that needs more fails alone.

When a worker dies (a segfault: BrokenProcessPool), every page then in the pool fails, and only
one of them is to blame. So the pool is rebuilt and each of those pages is parsed again in a
one-process quarantine pool, one page at a time, where a crash can only be that page's. A page
that fails there up to `attempts - 1` times is reported as ParseFailed; the others parse
normally. Nothing else is lost.

Over 400 lines: admission, per-page deadlines, the rebuild after a crash and the quarantine
all act on the one set of workers and their shared progress slots; the worker's own side is
crawler.parse.worker.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import threading
import time
from collections import deque
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, Self

from crawler.extract.documents import document_kind
from crawler.parse.nesting import may_parse_slowly
from crawler.parse.page import PageMeta, ParseConfig, ParseResult, parse_page
from crawler.parse.pool_start import (
    forkserver_context,
    start_forkserver,
    usable_cpus,
    uses_worker_processes,
)
from crawler.parse.worker import (
    HEAP,
    SLOT_FIELDS,
    ParseFn,
    init_worker,
    parse_batch,
    ready,
)

log = logging.getLogger(__name__)
MAX_BATCH_PAGES = 16
MAX_BATCH_BYTES = 4 << 20
INNOCENT_RETRIES = 10  # a page stopped for other pages' deadlines is parsed again this often


def _heavy(args: tuple[Any, ...]) -> bool:
    """Whether parse_page's arguments (url, body, content_type, config[, meta]) ask for heavy
    extraction: such a page goes to a worker alone."""
    return args[3].heavy


class ParseFailed(Exception):
    """A page could not be parsed; the message says why. The page gets an error record."""


class _WorkerLost(Exception):
    """The worker parsing a page died or was killed; `what` says which. `innocent`: it was
    killed for another page's deadline, so the page is simply parsed again."""

    def __init__(self, what: str, innocent: bool = False) -> None:
        super().__init__(what)
        self.what = what
        self.innocent = innocent


class _TimedOut(Exception):
    """Page `index` of a batch outlived the deadline; the pool was killed for it."""

    def __init__(self, index: int) -> None:
        super().__init__(index)
        self.index = index


class _Workers:
    """A ProcessPoolExecutor that can be killed and rebuilt, once per breakage, with shared
    progress slots its workers fill in (crawler.parse.worker.parse_batch)."""

    def __init__(self, size: int, name: str, preload: tuple[str, ...] = ("crawler.parse.page",),
                 memory_mb: int = 0) -> None:
        self.size = size
        self.name = name
        self.preload = preload
        self.memory_mb = memory_mb
        self.generation = 0
        self.rebuilds = 0
        self.killed_for_deadline: set[int] = set()  # generations killed for a page's deadline
        self.slots = size * 4  # batches in flight are at most two a worker
        self.progress = forkserver_context(preload).Array("d", self.slots * SLOT_FIELDS,
                                                          lock=False)
        self.executor: ProcessPoolExecutor | None = self._new()

    def _new(self) -> ProcessPoolExecutor:
        # forkserver: children never inherit the event loop's threads or sockets
        return ProcessPoolExecutor(max_workers=self.size, mp_context=forkserver_context(
            self.preload), initializer=init_worker, initargs=(self.progress, self.memory_mb))

    def page_in_progress(self, slot: int, token: int) -> tuple[int, float] | None:
        """(index, started) of the page the batch `token` is parsing, once it has begun."""
        base = slot * SLOT_FIELDS
        if self.progress[base] != token:
            return None
        return int(self.progress[base + 1]), self.progress[base + 2]

    def rebuild(self, generation: int, *, kill: bool, for_deadline: bool = False) -> None:
        """Replace the executor (killing its workers first when one hangs), unless a caller
        already did for this generation."""
        if generation != self.generation or self.executor is None:
            return
        old = self.executor
        if kill:  # the executor has no public way to stop a running task
            for process in list(getattr(old, "_processes", {}).values()):
                process.kill()
        if for_deadline:
            self.killed_for_deadline.add(generation)
        old.shutdown(wait=False, cancel_futures=True)
        self.executor = self._new()
        self.generation += 1
        self.rebuilds += 1

    def close(self) -> None:
        if self.executor is not None:
            self.executor.shutdown(wait=True, cancel_futures=True)
            self.executor = None


class ParsePool:
    """`await pool.parse(...)` where the mode says: "process" (worker processes, isolated, with a
    deadline), "inline" (on the event loop), "thread" (a thread pool; the GIL mostly serialises
    it), or "auto": the process pool when there are two CPUs or more (batched, it gets more pages
    through than the event loop alone; bench/placement.py), else inline up to
    `inline_max_bytes` and in the process pool above.

    Inline and thread parsing have no deadline and no crash isolation, so in every mode a page
    that could parse slowly (more tags than `crawler.parse.nesting.RISKY_ABOVE`) goes to the process
    pool, which is started on first use: one page must never stall the event loop.
    """

    def __init__(self, mode: str = "process", workers: int = 0, attempts: int = 3,
                 timeout: float = 30.0, parse_fn: ParseFn = parse_page,
                 inline_max_bytes: int = 256 * 1024,
                 preload: tuple[str, ...] = ("crawler.parse.page",), cpus: int = 0,
                 memory_mb: int = 0) -> None:
        if uses_worker_processes(mode, cpus):
            mode = "process"
        self.mode = mode
        self.preload = preload  # modules the workers import before their first page
        self.inline_max_bytes = inline_max_bytes
        self.workers = workers or usable_cpus()
        self.attempts = attempts
        self.timeout = timeout
        self.memory_mb = memory_mb  # each worker's address space, at most (0: no cap)
        self._tokens = itertools.count(1)  # each batch's token in the progress slots
        self.parse_fn = parse_fn  # a picklable top-level function; tests swap in failing ones
        self._admission = asyncio.Semaphore(self.workers * 2)  # thread mode
        self._waiting: deque[tuple[tuple[Any, ...], asyncio.Future[tuple[bool, Any]]]] = deque()
        self._batches_in_flight = 0
        self.batches_sent = 0
        self._batch_tasks: set[asyncio.Task[None]] = set()
        self._main: _Workers | None = None
        self._quarantine: _Workers | None = None
        self._quarantine_turn = asyncio.Lock()
        self._threads: ThreadPoolExecutor | None = None
        self._closed = False

    def __repr__(self) -> str:
        return (f"<ParsePool {self.mode} workers={self.workers} rebuilds={self.rebuilds} "
                f"batches_in_flight={self._batches_in_flight} waiting={len(self._waiting)}>")

    @property
    def rebuilds(self) -> int:
        return sum(w.rebuilds for w in (self._main, self._quarantine) if w is not None)

    async def __aenter__(self) -> Self:
        if self.mode in ("process", "auto"):
            self._main = self._workers(self.workers, "parse")
            if self.mode == "process":
                self._start_workers(self._main)
        elif self.mode == "thread":
            self._threads = ThreadPoolExecutor(self.workers, thread_name_prefix="parse")
        return self

    def _start_workers(self, workers: _Workers) -> None:
        """Start the forkserver and the workers now, from a thread: starting them takes a few
        hundred milliseconds (the forkserver imports the parser), the event loop would wait
        for them at its first page, and meanwhile it can read robots.txt and fetch."""
        executor = workers.executor
        if executor is None:
            return
        # the forkserver is started here, not in the thread: it dies with the thread that
        # started it; the command line usually started it already (crawler.parse.pool_start)
        start_forkserver(workers.preload)

        def start() -> None:
            try:
                for _ in range(workers.size):
                    executor.submit(ready)
            except RuntimeError:  # closed before it started: nothing to warm
                pass

        threading.Thread(target=start, name="parse-pool-start", daemon=True).start()

    async def __aexit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        self._closed = True
        while self._waiting:
            _, future = self._waiting.popleft()
            if not future.done():
                future.set_exception(ParseFailed("parse pool is closed"))
        for workers in (self._main, self._quarantine):
            if workers is not None:
                workers.close()
        if self._threads is not None:
            self._threads.shutdown(wait=True, cancel_futures=True)
            self._threads = None

    async def parse(self, url: str, body: bytes, content_type: str | None,
                    config: ParseConfig, meta: PageMeta | None = None) -> ParseResult:
        """The page's ParseResult, or ParseFailed. In auto mode, pages whose extraction is
        heavy (main content, a user's function) go to the pool as well."""
        args = (url, body, content_type, config) if meta is None else (
            url, body, content_type, config, meta)
        risky = self.mode != "process" and (  # a document: always with a deadline and a cap
            may_parse_slowly(body) or document_kind(content_type, body) is not None)
        if not risky and (self.mode == "inline" or (
                self.mode == "auto" and not config.heavy and len(body) <= self.inline_max_bytes)):
            try:
                return self.parse_fn(*args)
            except Exception as exc:
                raise ParseFailed(f"parse failed: {type(exc).__name__}: {exc}") from exc
            finally:
                HEAP.parsed(len(body))
        if self._threads is not None and not risky:
            async with self._admission:
                try:
                    return await asyncio.get_running_loop().run_in_executor(
                        self._threads, self.parse_fn, *args)
                except Exception as exc:
                    raise ParseFailed(f"parse failed: {type(exc).__name__}: {exc}") from exc
        if self._main is None:
            if self._closed:
                raise ParseFailed("parse pool is closed")
            self._main = self._workers(self.workers, "parse")
        for _ in range(INNOCENT_RETRIES):  # killed beside another page: simply again
            future: asyncio.Future[tuple[bool, Any]] = \
                asyncio.get_running_loop().create_future()
            self._waiting.append((args, future))
            self._send_batches()
            try:
                ok, value = await future
            except _WorkerLost as lost:
                what = lost.what
                if lost.innocent:
                    continue
                log.warning("parse worker %s while parsing %s (or a page beside it); "
                            "parsing it again alone", lost.what, url)
                break
            if ok:
                return value
            raise ParseFailed(value)
        else:
            raise ParseFailed(f"parse worker {what} on this page {INNOCENT_RETRIES} times")
        for _ in range(self.attempts - 1):
            async with self._quarantine_turn:
                if self._quarantine is None:
                    self._quarantine = self._workers(1, "quarantine")
                try:
                    return await self._run(self._quarantine, self.parse_fn, *args)
                except _WorkerLost as lost:
                    what = lost.what
        raise ParseFailed(f"parse worker {what} on this page {self.attempts} times")

    def _send_batches(self) -> None:
        """Start a batch of the waiting pages for each free slot (two per worker)."""
        while self._waiting and self._batches_in_flight < self.workers * 2:
            batch: list[tuple[tuple[Any, ...], asyncio.Future[tuple[bool, Any]]]] = []
            size = 0
            while self._waiting and len(batch) < MAX_BATCH_PAGES and (not batch or (
                    size + len(self._waiting[0][0][1]) <= MAX_BATCH_BYTES
                    and not _heavy(batch[0][0]) and not _heavy(self._waiting[0][0]))):
                args, future = self._waiting.popleft()
                if not future.done():  # its caller was cancelled
                    batch.append((args, future))
                    size += len(args[1])
            if not batch:
                return
            self._batches_in_flight += 1
            self.batches_sent += 1
            task = asyncio.create_task(self._run_batch(batch))
            self._batch_tasks.add(task)
            task.add_done_callback(self._batch_tasks.discard)

    async def _run_batch(self, batch: list[tuple[tuple[Any, ...],
                                                 asyncio.Future[tuple[bool, Any]]]]) -> None:
        """Parse one batch in the shared pool and hand each page its outcome."""
        try:
            if self._main is None:
                raise ParseFailed("parse pool is closed")
            outcomes = await self._run_watched(self._main, [args for args, _ in batch])
        except _TimedOut as timed_out:  # that page fails; the others are parsed again
            for index, (args, future) in enumerate(batch):
                if future.done():
                    continue
                if index == timed_out.index:
                    log.warning("parsing %s took over %gs: the page fails, the pages beside "
                                "it are parsed again", args[0], self.timeout)
                    future.set_result((False, f"parse timed out after {self.timeout:g}s"))
                else:
                    future.set_exception(_WorkerLost("stopped for another page's deadline",
                                                     innocent=True))
        except (_WorkerLost, ParseFailed) as exc:
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
        except Exception as exc:  # not expected: still each page's error, never a lost page
            for _, future in batch:
                if not future.done():
                    future.set_exception(ParseFailed(f"parse failed: {type(exc).__name__}: "
                                                     f"{exc}"))
        except BaseException:  # cancelled with the crawl: the callers are too
            for _, future in batch:
                if not future.done():
                    future.cancel()
            raise
        else:
            for (_, future), outcome in zip(batch, outcomes, strict=True):
                if not future.done():
                    future.set_result(outcome)
        finally:
            self._batches_in_flight -= 1
            self._send_batches()

    def _workers(self, size: int, name: str) -> _Workers:
        return _Workers(size, name, self.preload, self.memory_mb)

    async def _run_watched(self, workers: _Workers, batch: list[tuple[Any, ...]]
                           ) -> list[tuple[bool, Any]]:
        """parse_batch in the pool, each page with its own deadline: raises _TimedOut naming
        the page over it (the pool is killed and rebuilt), _WorkerLost when a worker died."""
        generation, executor = workers.generation, workers.executor
        if executor is None:
            raise ParseFailed("parse pool is closed")
        token = next(self._tokens)
        slot = token % workers.slots
        loop = asyncio.get_running_loop()
        poll = min(max(self.timeout / 8, 0.01), 0.5)
        # a batch that never starts (its worker wedged) is given up at the batch's total
        give_up = loop.time() + self.timeout * (len(batch) + 1)
        try:
            future = loop.run_in_executor(executor, parse_batch, self.parse_fn, batch, token,
                                          slot)
        except RuntimeError as exc:
            raise self._failure(exc, workers, generation, main_pool=True) from None
        while True:
            done, _ = await asyncio.wait({future}, timeout=poll)
            if done:
                try:
                    return future.result()
                except Exception as exc:
                    raise self._failure(exc, workers, generation, main_pool=True) from None
            started = workers.page_in_progress(slot, token)
            late = started is not None and time.monotonic() - started[1] > self.timeout
            if late or loop.time() > give_up:
                future.cancel()
                workers.rebuild(generation, kill=True, for_deadline=True)
                if started is None:
                    raise _WorkerLost(f"timed out after {self.timeout:g}s")
                raise _TimedOut(started[0])

    @staticmethod
    def _failure(exc: Exception, workers: _Workers, generation: int, *,
                 main_pool: bool) -> Exception:
        """What a failed run in the pool raises: _WorkerLost when its worker died or the pool
        was shut down under it (innocent in the main pool when that was for another page's
        deadline), ParseFailed for anything else."""
        if isinstance(exc, BrokenProcessPool):
            if main_pool and generation in workers.killed_for_deadline:
                return _WorkerLost("stopped for another page's deadline", innocent=True)
            workers.rebuild(generation, kill=False)
            return _WorkerLost("crashed")
        if isinstance(exc, RuntimeError) and "shutdown" in str(exc):  # another caller
            return _WorkerLost("stopped for another page's deadline", innocent=True) if \
                main_pool else _WorkerLost("crashed")                    # rebuilt the pool
        return ParseFailed(f"parse failed: {type(exc).__name__}: {exc}")

    async def _run(self, workers: _Workers, fn: Callable[..., Any], *args: Any) -> Any:
        generation, executor = workers.generation, workers.executor
        if executor is None:
            raise ParseFailed("parse pool is closed")
        loop = asyncio.get_running_loop()
        try:
            future = loop.run_in_executor(executor, fn, *args)
            return await asyncio.wait_for(future, self.timeout)
        except TimeoutError:
            workers.rebuild(generation, kill=True)
            raise _WorkerLost(f"timed out after {self.timeout:g}s") from None
        except Exception as exc:
            raise self._failure(exc, workers, generation, main_pool=False) from exc
