"""Parse pool: results from worker processes, crash and hang isolation, bounded retries."""

from __future__ import annotations

import asyncio
import os

import pytest

from crawler.frontier.scope import Scope
from crawler.parse.page import ParseConfig
from crawler.parse.pool import ParseFailed, ParsePool
from crawler.parse.pool_start import uses_worker_processes, worker_preload
from tests.crash_hooks import (
    allocate_on_poison,
    crash_on_poison,
    hang_on_poison,
    raise_on_poison,
    report_heavy_modules,
    report_resident_memory,
)

CONFIG = ParseConfig(Scope.for_seeds("host", ["http://a.com/"]))
PAGE = b"<title>t</title><a href='/x'>x</a>"


async def test_process_pool_returns_plain_results() -> None:
    """A page parsed in a worker process comes back as plain data."""
    async with ParsePool("process", workers=1) as pool:
        result = await pool.parse("http://a.com/", PAGE, "text/html", CONFIG)
    assert result.title == "t" and result.links == ["http://a.com/x"]


async def test_busy_pool_sends_waiting_pages_in_batches() -> None:
    """While the workers are busy, the pages that arrive wait and go together, each with its
    own outcome: a page whose parse raises fails alone."""
    async with ParsePool("process", workers=1, parse_fn=raise_on_poison) as pool:
        pages = [pool.parse(f"http://a.com/{i}", b"POISON" if i == 7 else PAGE, "text/html",
                            CONFIG) for i in range(40)]
        results = await asyncio.gather(*pages, return_exceptions=True)
        assert pool.batches_sent < 40
    assert isinstance(results[7], ParseFailed)
    assert all(r.title == "t" for i, r in enumerate(results) if i != 7)


@pytest.mark.parametrize(("hook", "message", "rebuilds"), [
    (crash_on_poison, "parse worker crashed on this page 3 times", 3),
    (hang_on_poison, "parse timed out after 0.5s", 1)])
async def test_poison_page_fails_alone_and_pages_beside_it_survive(hook, message,
                                                                   rebuilds) -> None:
    """A page that kills its worker fails after the bounded attempts (once in the shared pool,
    twice in quarantine); a page that hangs is known by its progress slot and fails after one
    deadline, never retried. The pages beside it when the pool broke are parsed again and
    succeed."""
    async with ParsePool("process", workers=2, attempts=3, timeout=0.5, parse_fn=hook) as pool:
        results = await asyncio.gather(
            pool.parse("http://a.com/poison", b"POISON", "text/html", CONFIG),
            *[pool.parse(f"http://a.com/{i}", PAGE, "text/html", CONFIG) for i in range(6)],
            return_exceptions=True)
        poison, others = results[0], results[1:]
        assert isinstance(poison, ParseFailed)
        assert str(poison) == message
        assert all(not isinstance(r, BaseException) and r.title == "t" for r in others)
        assert pool.rebuilds == rebuilds
        after = await pool.parse("http://a.com/", PAGE, "text/html", CONFIG)
    assert after.title == "t"


async def test_hanging_pages_cost_one_deadline_each_and_bystanders_keep_parsing() -> None:
    """Six hanging pages among 200 ordinary ones, in batches: each hanging page fails with
    one deadline (the pool is rebuilt six times at most, not eighteen), and every ordinary
    page parses, however many times it was stopped beside one."""
    async with ParsePool("process", workers=2, attempts=3, timeout=0.5,
                         parse_fn=hang_on_poison) as pool:
        bodies = [b"POISON" if i % 34 == 5 else PAGE for i in range(200)]
        results = await asyncio.gather(*[
            pool.parse(f"http://a.com/{i}", body, "text/html", CONFIG)
            for i, body in enumerate(bodies)], return_exceptions=True)
        failed = [i for i, r in enumerate(results) if isinstance(r, BaseException)]
        assert failed == [i for i, body in enumerate(bodies) if body == b"POISON"]
        assert {str(results[i]) for i in failed} == {"parse timed out after 0.5s"}
        assert pool.rebuilds <= 6


async def test_exception_in_parser_is_a_parse_failure() -> None:
    """An exception inside the parse function is reported as ParseFailed, without a rebuild."""
    for mode in ("process", "inline"):
        async with ParsePool(mode, workers=1, parse_fn=raise_on_poison) as pool:
            with pytest.raises(ParseFailed, match="RuntimeError: bad page"):
                await pool.parse("http://a.com/p", b"POISON", "text/html", CONFIG)
            assert pool.rebuilds == 0


async def test_auto_mode_uses_the_pool_on_two_cpus() -> None:
    """auto with two CPUs or more: every page goes to the process pool."""
    async with ParsePool("auto", workers=1, cpus=2, parse_fn=crash_on_poison) as pool:
        assert pool.mode == "process"
        with pytest.raises(ParseFailed, match="crashed"):
            await pool.parse("http://a.com/small", b"POISON", "text/html", CONFIG)


async def test_auto_mode_on_one_cpu_parses_small_pages_inline_and_big_ones_isolated() -> None:
    """auto with one CPU: a page up to inline_max_bytes is parsed on the loop; a bigger one goes
    to the process pool, where a crash costs only that page."""
    async with ParsePool("auto", workers=1, inline_max_bytes=1000, cpus=1,
                         parse_fn=crash_on_poison) as pool:
        assert pool.mode == "auto"
        small = await pool.parse("http://a.com/", PAGE, "text/html", CONFIG)
        assert small.title == "t" and pool.rebuilds == 0
        with pytest.raises(ParseFailed, match="crashed"):
            await pool.parse("http://a.com/big", b"POISON" + b" " * 2000, "text/html", CONFIG)
        assert pool.rebuilds > 0


async def test_thread_mode_returns_results() -> None:
    """thread: pages are parsed in a thread pool."""
    async with ParsePool("thread", workers=2) as pool:
        results = await asyncio.gather(*[pool.parse(f"http://a.com/{i}", PAGE, "text/html",
                                                    CONFIG) for i in range(5)])
    assert all(r.title == "t" for r in results)


@pytest.mark.skipif(not os.path.exists("/proc/self/statm"), reason="reads Linux's /proc")
async def test_worker_gives_back_the_memory_of_a_large_page() -> None:
    """lexbor's tree of a 4 MB page takes tens of MB; the worker returns them to the OS after
    the page (crawler.parse.heap) instead of keeping them for the rest of the crawl."""
    big = b"<ul>" + b"<li><a href='/p/%d'>item</a> <b>text</b></li>" * 100_000 + b"</ul>"
    async with ParsePool("process", workers=1, parse_fn=report_resident_memory) as pool:
        before = int((await pool.parse("http://a.com/", PAGE, "text/html", CONFIG)).title)
        await pool.parse("http://a.com/big", big, "text/html", CONFIG)
        after = int((await pool.parse("http://a.com/", PAGE, "text/html", CONFIG)).title)
    assert len(big) > 4_000_000
    assert after - before < 12 << 20, (before, after)


async def test_worker_loads_only_what_link_extraction_needs() -> None:
    """A worker imports the parser, not the event loop (asyncio and ssl), the encoding detector
    or the extraction modules: each would be megabytes in every worker (crawler.parse.worker).
    A page in another encoding loads the detector then, and only then."""
    async with ParsePool("process", workers=1, parse_fn=report_heavy_modules) as pool:
        plain = await pool.parse("http://a.com/", PAGE, "text/html", CONFIG)
        latin = await pool.parse("http://a.com/l", "<title>caf\u00e9</title>".encode("latin-1"),
                                 "text/html", CONFIG)
    assert plain.title == ""  # no heavy module loaded
    assert latin.title == "charset_normalizer"


def test_worker_processes_and_their_preload_follow_the_settings() -> None:
    """The command line starts the forkserver before it imports the crawl (crawler.parse.pool_start)
    exactly when the pool will parse every page, with the modules the extraction needs."""
    assert uses_worker_processes("process", cpus=1) and uses_worker_processes("auto", cpus=2)
    assert not uses_worker_processes("auto", cpus=1) and not uses_worker_processes("inline", 8)
    assert worker_preload() == ("crawler.parse.page",)
    assert worker_preload("text", extracts=True) == (
        "crawler.parse.page", "crawler.extract.apply", "crawler.extract.page",
        "crawler.extract.content")


async def test_a_page_over_the_workers_memory_cap_fails_alone() -> None:
    """With --parse-memory-mb 512, a page that needs a gigabyte fails with a message naming
    the cap; the worker lives on and the pages beside it parse."""
    async with ParsePool("process", workers=1, timeout=10, memory_mb=512,
                         parse_fn=allocate_on_poison) as pool:
        results = await asyncio.gather(
            pool.parse("http://a.com/big", b"POISON", "text/html", CONFIG),
            *[pool.parse(f"http://a.com/{i}", PAGE, "text/html", CONFIG) for i in range(5)],
            return_exceptions=True)
        assert isinstance(results[0], ParseFailed) and "--parse-memory-mb" in str(results[0])
        assert all(r.title == "t" for r in results[1:])
        assert pool.rebuilds == 0
