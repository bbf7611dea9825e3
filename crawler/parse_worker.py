"""What runs inside a parse worker process: the batch loop, the initializer and the warm-up task.

Kept apart from crawler.parse_pool, which drives the pool from the event loop and imports
asyncio: a worker unpickles these functions by module name, so it imports this module, not
that one (asyncio and the ssl module behind it are 2.4 MiB more per worker).
"""

from __future__ import annotations

import signal
from collections.abc import Callable
from typing import Any

from crawler.heap import HeapTrimmer
from crawler.orphans import die_with_parent
from crawler.parse import ParseResult

ParseFn = Callable[..., ParseResult]  # (url, body, content_type, config[, meta]) like parse_page
HEAP = HeapTrimmer()  # per process: a worker's, or the crawl's own for inline parsing


def parse_batch(parse_fn: ParseFn, batch: list[tuple[Any, ...]]) -> list[tuple[bool, Any]]:
    """Each page's (True, ParseResult), or (False, why) when the parse function raised; one
    page's exception never costs the others."""
    out: list[tuple[bool, Any]] = []
    for args in batch:
        try:
            out.append((True, parse_fn(*args)))
        except Exception as exc:
            out.append((False, f"parse failed: {type(exc).__name__}: {exc}"))
        HEAP.parsed(len(args[1]))
    return out


def init_worker() -> None:
    """Ctrl-C reaches the whole process group; the parent, not the workers, handles it. And a
    worker dies with its parent, so a SIGKILLed crawl leaves no worker behind."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    die_with_parent()


def ready() -> None:
    """A first task that makes the executor start its worker processes."""
