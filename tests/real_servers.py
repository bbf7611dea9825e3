"""Real servers for the scale-out tests, started from the installed binaries on 127.0.0.1 and
stopped when done: redis-server (with an append-only file, so a restart keeps the frontier) and
PostgreSQL (initdb refuses root, so as root the server runs as the `postgres` user).

Missing binaries skip the tests, except where CRAWLER_REQUIRE_SYSTEM_TESTS=1 (CI): there that
fails.
"""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path

import pytest


def require(condition: bool, what: str) -> None:
    if condition:
        return
    if os.environ.get("CRAWLER_REQUIRE_SYSTEM_TESTS") == "1":
        pytest.fail(f"{what} is required here (CRAWLER_REQUIRE_SYSTEM_TESTS=1)")
    pytest.skip(f"{what} is not installed (scripts/system-deps.sh installs it)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, proc: subprocess.Popen[bytes], log: Path, seconds: float = 30
                  ) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}: {log.read_text()[-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"server did not listen on {port} within {seconds}s")


class RedisServer:
    """redis-server on 127.0.0.1 with AOF (fsync always): `restart()` keeps what it had."""

    def __init__(self, directory: Path) -> None:
        binary = shutil.which("redis-server")
        require(binary is not None, "redis-server")
        assert binary is not None
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        log = self.directory / "redis.log"
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.directory), "--appendonly", "yes", "--appendfsync", "always",
             "--save", "", "--logfile", str(log)], stdin=subprocess.DEVNULL)
        wait_for_port(self.port, self.proc, log)
        return self

    def stop(self) -> None:
        """A clean shutdown (SIGTERM): Redis finishes its append-only file first."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(30)
        self.proc = None

    def restart(self, down_seconds: float = 0.0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()


def _pg_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust auth, fsync off), user `crawler`."""

    def __init__(self) -> None:
        self.initdb, self.postgres = _pg_binary("initdb"), _pg_binary("postgres")
        require(self.initdb is not None and self.postgres is not None, "PostgreSQL (postgresql)")
        self.user: str | None = None
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            require(_has_user("postgres"), "the postgres user (Debian's postgresql package)")
            self.user = "postgres"
        self.directory = Path(tempfile.mkdtemp(prefix="crawler-pg-"))
        if self.user:
            shutil.chown(self.directory, "postgres", "postgres")
        self.port = free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def dsn(self, database: str = "postgres") -> str:
        return f"postgresql://crawler@127.0.0.1:{self.port}/{database}"

    def start(self) -> PostgresServer:
        data, log = self.directory / "data", self.directory / "postgres.log"
        if not data.exists():
            subprocess.run([str(self.initdb), "-D", str(data), "-U", "crawler", "--auth=trust",
                            "--no-sync"], check=True, capture_output=True, user=self.user,
                           group=self.user, cwd=self.directory)
        with log.open("ab") as out:
            self.proc = subprocess.Popen(
                [str(self.postgres), "-D", str(data), "-p", str(self.port),
                 "-k", str(self.directory), "-c", "listen_addresses=127.0.0.1",
                 "-c", "fsync=off", "-c", "synchronous_commit=off"],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, user=self.user,
                group=self.user, cwd=self.directory)
        wait_for_port(self.port, self.proc, log)
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # fast shutdown
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.directory, ignore_errors=True)


def _has_user(name: str) -> bool:
    try:
        pwd.getpwnam(name)
    except KeyError:
        return False
    return True
