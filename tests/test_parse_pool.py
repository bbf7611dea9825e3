"""Parse pool: results from worker processes, crash recovery, bounded retries."""

from __future__ import annotations

import pytest

from crawler.parse import ParseConfig
from crawler.parse_pool import ParseFailed, ParsePool
from crawler.scope import Scope
from tests.crash_hooks import crash_on_poison, raise_on_poison

SCOPE = ParseConfig(Scope.for_seeds("host", ["http://a.com/"]))
PAGE = b"<title>t</title><a href='/x'>x</a>"


async def test_process_pool_returns_plain_results() -> None:
    """A page parsed in a worker process comes back as plain data."""
    async with ParsePool("process", workers=1) as pool:
        result = await pool.parse("http://a.com/", PAGE, "text/html", SCOPE)
    assert result.title == "t" and result.links == ["http://a.com/x"]


async def test_crashing_page_is_retried_then_failed_and_others_survive() -> None:
    """A page that kills its worker fails after the bounded attempts; the pool is rebuilt and
    the next page parses fine."""
    async with ParsePool("process", workers=1, attempts=2, parse_fn=crash_on_poison) as pool:
        with pytest.raises(ParseFailed, match="crashed 2 times"):
            await pool.parse("http://a.com/p", b"POISON", "text/html", SCOPE)
        assert pool.rebuilds == 2
        result = await pool.parse("http://a.com/", PAGE, "text/html", SCOPE)
    assert result.title == "t"


async def test_exception_in_parser_is_a_parse_failure() -> None:
    """An exception inside the parse function is reported as ParseFailed, without a rebuild."""
    for mode in ("process", "inline"):
        async with ParsePool(mode, workers=1, parse_fn=raise_on_poison) as pool:
            with pytest.raises(ParseFailed, match="RuntimeError: bad page"):
                await pool.parse("http://a.com/p", b"POISON", "text/html", SCOPE)
            assert pool.rebuilds == 0
