"""Real servers for the scale-out tests: redis-server (with an append-only file, so a restart
keeps the frontier) and PostgreSQL, from bench/servers.py. Missing binaries skip the tests,
except where CRAWLER_REQUIRE_SYSTEM_TESTS=1 (CI): there that fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bench.servers import PostgresServer, RedisServer, free_port, pg_binary, redis_binary

__all__ = ["PostgresServer", "RedisServer", "free_port", "require", "start_postgres",
           "start_redis"]


def require(condition: bool, what: str) -> None:
    if condition:
        return
    if os.environ.get("CRAWLER_REQUIRE_SYSTEM_TESTS") == "1":
        pytest.fail(f"{what} is required here (CRAWLER_REQUIRE_SYSTEM_TESTS=1)")
    pytest.skip(f"{what} is not installed (scripts/system-deps.sh installs it)")


def start_redis(directory: Path) -> RedisServer:
    """A started redis-server, or the test is skipped (failed in CI) without one."""
    require(redis_binary() is not None, "redis-server")
    return RedisServer(directory).start()


def start_postgres() -> PostgresServer:
    """A started PostgreSQL, or the test is skipped (failed in CI) without one."""
    require(pg_binary("initdb") is not None and pg_binary("postgres") is not None,
            "PostgreSQL (postgresql)")
    return PostgresServer().start()
