"""Parse functions that misbehave on purpose; importable by the parse worker processes."""

from __future__ import annotations

import os

from crawler.parse import ParseConfig, ParseResult, parse_page


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
