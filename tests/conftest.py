"""Fixtures: a local site per test, and a helper that crawls it in-process and returns records."""

from __future__ import annotations

import itertools
import json
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from bench.servers import nginx, nginx_binary
from crawler.app import run_crawl
from crawler.frontier.seeds import parse_seeds
from crawler.parse.page import parse_page
from crawler.parse.pool import ParseFn
from crawler.settings import load_settings
from tests.leftovers import Leftovers
from tests.real_servers import (
    PostgresServer,
    RedisServer,
    free_port,
    require,
    start_postgres,
    start_redis,
)
from tests.site import Site


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    server = Site()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def two_sites() -> AsyncIterator[tuple[Site, Site]]:
    """Two sites on different hosts: 127.0.0.1 and 127.0.0.2."""
    first, second = Site(), Site(host="127.0.0.2")
    await first.start()
    await second.start()
    yield first, second
    await first.stop()
    await second.stop()


@pytest.fixture
def crawl(tmp_path: Path):
    """`await crawl([seed, ...], concurrency=4, ...)` -> the records the JSONL sink got. Each
    call is a new job (its own job directory) unless `job_dir` is given."""
    calls = iter(range(1, 1000))

    async def run(seeds: list[str], parse_fn: ParseFn = parse_page,
                  **overrides: Any) -> list[dict[str, Any]]:
        call = next(calls)
        out = tmp_path / f"out-{call}.jsonl"
        # short waits: retries and unreachable robots.txt would otherwise take seconds
        values = {"job_dir": str(tmp_path / f"job-{call}"), "outputs": [str(out)],
                  "quiet": "true",
                  "parse_mode": "inline", "sink_flush_seconds": "0.05", "backoff_base": "0.01",
                  "robots_retry_seconds": "0.05",
                  **{k: v if isinstance(v, list) else str(v) for k, v in overrides.items()}}
        settings = load_settings(values)
        parsed = parse_seeds("\n".join(seeds).encode(), "seeds", settings.url_rules)
        await run_crawl(settings, parsed.urls, handle_signals=False, parse_fn=parse_fn,
                        credentials=parsed.credentials)
        if not out.exists():  # an idle job opens no output
            return []
        return [json.loads(line) for line in out.read_text().splitlines()]
    return run


def by_url(records: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Records keyed by URL; fails the test if a URL has more than one record."""
    keyed = {r["url"]: r for r in records}
    assert len(keyed) == len(records), "a URL got more than one record"
    return keyed


@pytest.fixture
def redis_server(tmp_path: Path) -> Iterator[RedisServer]:
    """A redis-server of the test's own (AOF on), stopped after it."""
    server = start_redis(tmp_path)
    yield server
    server.stop()


@pytest.fixture(scope="session")
def pg_server() -> Iterator[PostgresServer]:
    """One PostgreSQL server for the session; each test takes a database of its own."""
    server = start_postgres()
    yield server
    server.remove()


@pytest.fixture
async def pg_dsn(pg_server: PostgresServer) -> str:
    """The DSN of a new, empty database on the session's PostgreSQL."""
    name = f"test_{next(_databases)}"
    admin = await asyncpg.connect(pg_server.dsn())
    try:
        await admin.execute(f"CREATE DATABASE {name}")
    finally:
        await admin.close()
    return pg_server.dsn(name)


_databases = itertools.count(1)
DOCS = Path("/usr/share/doc/python3.11/html")


@pytest.fixture
def nginx_docs() -> Iterator[str]:
    """nginx serving Python's HTML docs on 127.0.0.1; yields the base URL."""
    require(nginx_binary() is not None, "nginx")
    require((DOCS / "index.html").is_file(), f"python3.11-doc ({DOCS})")
    port = free_port()
    with nginx({("127.0.0.1", port): DOCS}):
        yield f"http://127.0.0.1:{port}"



LEFTOVERS = Leftovers()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None):
    """Note the processes each test leaves running (tests/leftovers.py)."""
    yield
    LEFTOVERS.after(item.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    """A process a test left behind fails the run, named, and is killed: the suite ends by
    itself instead of hanging on it at exit."""
    lines = LEFTOVERS.check()
    if lines:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        for line in lines:
            if reporter is not None:
                reporter.write_line(f"LEFTOVER PROCESS {line}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
