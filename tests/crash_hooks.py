"""Parse functions that misbehave on purpose; importable by the parse worker processes."""

from __future__ import annotations

import os

from crawler.parse.page import ParseConfig, ParseResult, parse_page


def crash_on_poison(url: str, body: bytes, content_type: str | None,
                    config: ParseConfig) -> ParseResult:
    """Kill the worker process (as a segfault would) for pages whose body says POISON."""
    if b"POISON" in body:
        os._exit(11)
    return parse_page(url, body, content_type, config)


def raise_on_poison(url: str, body: bytes, content_type: str | None,
                    config: ParseConfig) -> ParseResult:
    """Raise an ordinary exception for pages whose body says POISON."""
    if b"POISON" in body:
        raise RuntimeError("bad page")
    return parse_page(url, body, content_type, config)


def hang_on_poison(url: str, body: bytes, content_type: str | None,
                   config: ParseConfig) -> ParseResult:
    """Never return for pages whose body says POISON (a parser stuck in a loop)."""
    if b"POISON" in body:
        while True:
            pass
    return parse_page(url, body, content_type, config)


def report_resident_memory(url: str, body: bytes, content_type: str | None,
                           config: ParseConfig) -> ParseResult:
    """Parse the page and put the worker's resident memory (bytes), as it was before this page,
    in the title: the memory a worker keeps between pages."""
    with open("/proc/self/statm") as statm:
        resident = int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    result = parse_page(url, body, content_type, config)
    result.title = str(resident)
    return result


def report_heavy_modules(url: str, body: bytes, content_type: str | None,
                         config: ParseConfig) -> ParseResult:
    """Parse the page and put in the title which of the modules a parse worker never needs for
    plain link extraction it has loaded (space-separated; empty when none)."""
    import sys

    result = parse_page(url, body, content_type, config)
    result.title = " ".join(sorted(m for m in HEAVY_MODULES if m in sys.modules))
    return result


# The event loop's and the extraction's modules: megabytes a worker must not carry for nothing.
HEAVY_MODULES = ("asyncio", "ssl", "aiohttp", "charset_normalizer", "cssselect",
                 "crawler.parse.pool", "crawler.extract.rules", "trafilatura")


def allocate_on_poison(url: str, body: bytes, content_type: str | None,
                       config: ParseConfig) -> ParseResult:
    """Try to hold a gigabyte for pages whose body says POISON (a page that explodes in
    memory)."""
    if b"POISON" in body:
        hog = bytearray(1 << 30)
        hog[-1] = 1
    return parse_page(url, body, content_type, config)
