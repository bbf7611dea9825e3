"""What runs inside a parse worker process: the batch loop, the initializer and the warm-up task.

Kept apart from crawler.parse.pool, which drives the pool from the event loop and imports
asyncio: a worker unpickles these functions by module name, so it imports this module, not
that one (asyncio and the ssl module behind it are 2.4 MiB more per worker).
"""

from __future__ import annotations

import resource
import signal
import time
from collections.abc import Callable
from typing import Any

from crawler.parse.heap import HeapTrimmer
from crawler.parse.orphans import die_with_parent
from crawler.parse.page import ParseResult

ParseFn = Callable[..., ParseResult]  # (url, body, content_type, config[, meta]) like parse_page
HEAP = HeapTrimmer()  # per process: a worker's, or the crawl's own for inline parsing


PROGRESS: Any = None  # the pool's shared progress slots (a ctypes double array), or None
SLOT_FIELDS = 3  # token, index of the page being parsed, when it started (time.monotonic)


def parse_batch(parse_fn: ParseFn, batch: list[tuple[Any, ...]], token: int = 0,
                slot: int = -1) -> list[tuple[bool, Any]]:
    """Each page's (True, ParseResult), or (False, why) when the parse function raised; one
    page's exception never costs the others. Before each page, the batch's `slot` of the
    shared progress says which page is being parsed since when, so the pool can tell a page
    over its deadline from the pages beside it."""
    out: list[tuple[bool, Any]] = []
    for index, args in enumerate(batch):
        if PROGRESS is not None and slot >= 0:
            base = slot * SLOT_FIELDS
            PROGRESS[base + 1], PROGRESS[base + 2] = index, time.monotonic()
            PROGRESS[base] = token  # last: a reader that sees the token sees the rest
        try:
            out.append((True, parse_fn(*args)))
        except MemoryError:
            out.append((False, "parse failed: the page needs more than the worker's memory "
                               "limit (--parse-memory-mb)"))
        except Exception as exc:
            out.append((False, f"parse failed: {type(exc).__name__}: {exc}"))
        HEAP.parsed(len(args[1]))
    return out


def init_worker(progress: Any = None, memory_mb: int = 0) -> None:
    """Ctrl-C reaches the whole process group; the parent, not the workers, handles it. And a
    worker dies with its parent, so a SIGKILLed crawl leaves no worker behind. `progress`:
    the pool's shared progress slots; `memory_mb`: the worker's address space, at most (a
    page that needs more fails alone, never the machine)."""
    global PROGRESS
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()
    PROGRESS = progress
    if memory_mb > 0:
        limit = memory_mb << 20
        _, hard = resource.getrlimit(resource.RLIMIT_AS)
        if hard != resource.RLIM_INFINITY:
            limit = min(limit, hard)
        resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def ready() -> None:
    """A first task that makes the executor start its worker processes."""
