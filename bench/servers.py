"""Servers on loopback for the benchmarks and the system tests: static sites with nginx (Debian's
nginx-light), or, with a warning, a static aiohttp server of our own when nginx is missing; and
real redis-server and PostgreSQL processes started from the installed binaries (PostgreSQL as
the `postgres` user when we are root, since initdb refuses root)."""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

Sites = Mapping[tuple[str, int], Path]  # (address, port) -> folder served there


def wait_for_port(host: str, port: int, what: str = "server", seconds: float = 10.0,
                  proc: subprocess.Popen[bytes] | None = None, log: Path | None = None) -> None:
    """Return once host:port accepts connections; RuntimeError after `seconds`, or as soon as
    `proc` (the server, when we started it) exits, with the end of its `log`."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            tail = log.read_text()[-2000:] if log is not None else ""
            raise RuntimeError(f"the {what} exited with {proc.returncode}: {tail}")
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the {what} did not start on {host}:{port} within {seconds:g}s")


def nginx_binary() -> str | None:
    return shutil.which("nginx") or next(
        (p for p in ("/usr/sbin/nginx",) if Path(p).exists()), None)


def _nginx_conf(sites: Sites, work: Path) -> str:
    servers = "\n".join(f"  server {{ listen {host}:{port}; root {root}; }}"
                        for (host, port), root in sites.items())
    temp = "\n".join(f"  {k}_temp_path {work / k};" for k in
                     ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    return f"""worker_processes 1;
daemon off;
pid {work}/nginx.pid;
error_log {work}/error.log;
events {{ worker_connections 4096; }}
http {{
  include /etc/nginx/mime.types;
  access_log off;
  keepalive_requests 100000;
{temp}
{servers}
}}
"""


def _stop_with_parent() -> None:
    """In the child, before exec: nginx gets SIGTERM (and stops its workers) when the Python
    process that started it dies, however it dies (a bench killed with SIGTERM left it
    running)."""
    from crawler.parse.orphans import die_with_parent

    die_with_parent(signal.SIGTERM)


@contextlib.contextmanager
def nginx(sites: Sites) -> Iterator[None]:
    """nginx serving `sites` until the block ends (nginx must be installed)."""
    binary = nginx_binary()
    if binary is None:
        raise RuntimeError("nginx is not installed (apt-get install nginx-light)")
    work = Path(tempfile.mkdtemp(prefix="nginx-"))
    conf = work / "nginx.conf"
    conf.write_text(_nginx_conf(sites, work))
    proc = subprocess.Popen([binary, "-c", str(conf), "-e", str(work / "error.log")],
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT,
                            preexec_fn=_stop_with_parent)
    try:
        for host, port in sites:
            wait_for_port(host, port, "nginx")
        yield
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)


@contextlib.contextmanager
def serve_static(sites: Sites) -> Iterator[str]:
    """Serve `sites` with nginx, else with our static server and a warning; yields which."""
    if nginx_binary() is not None:
        with nginx(sites):
            yield "nginx"
        return
    print("WARNING: nginx is not installed (apt-get install nginx-light); serving the site "
          "with a Python static server, which is slower and skews the results", file=sys.stderr)
    args = [f"{host}:{port}={root}" for (host, port), root in sites.items()]
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("static.py")), *args])
    try:
        for host, port in sites:
            wait_for_port(host, port, "static server")
        yield "python static server"
    finally:
        proc.terminate()
        proc.wait(10)


def redis_binary() -> str | None:
    return shutil.which("redis-server")


class RedisServer:
    """redis-server on 127.0.0.1 with an append-only file (fsync `appendfsync`: always, so a
    restart keeps every write; everysec, as in docker-compose.yml)."""

    def __init__(self, directory: Path, appendfsync: str = "always",
                 extra_args: tuple[str, ...] = ()) -> None:
        binary = redis_binary()
        if binary is None:
            raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
        self.binary = binary
        self.directory = directory
        self.port = free_port()
        self.appendfsync = appendfsync
        self.extra_args = extra_args
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> RedisServer:
        log = self.directory / "redis.log"
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.directory), "--appendonly", "yes", "--appendfsync", self.appendfsync,
             "--save", "", "--logfile", str(log), *self.extra_args], stdin=subprocess.DEVNULL)
        wait_for_port("127.0.0.1", self.port, "redis-server", 30, self.proc, log)
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


class RedisClusterServers:
    """A Redis Cluster of `size` masters (no replicas) on 127.0.0.1, made with
    `redis-cli --cluster create`; each node in its own folder below `directory`."""

    def __init__(self, directory: Path, size: int = 3) -> None:
        self.nodes = []
        for n in range(size):
            folder = directory / f"node-{n}"
            folder.mkdir(parents=True, exist_ok=True)
            self.nodes.append(RedisServer(folder, "everysec", (
                "--cluster-enabled", "yes", "--cluster-config-file", str(folder / "nodes.conf"),
                "--cluster-node-timeout", "2000",
                "--cluster-port", str(free_port()))))  # else it is port + 10000: may not exist

    def start(self) -> RedisClusterServers:
        try:
            self._start()
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self) -> None:
        for node in self.nodes:
            node.start()
        addresses = [f"127.0.0.1:{node.port}" for node in self.nodes]
        subprocess.run(["redis-cli", "--cluster", "create", *addresses, "--cluster-replicas",
                        "0", "--cluster-yes"], check=True, capture_output=True, timeout=60)
        for node in self.nodes:  # every node agrees that all slots are served
            for _ in range(200):
                info = subprocess.run(["redis-cli", "-p", str(node.port), "cluster", "info"],
                                      capture_output=True, text=True, timeout=10).stdout
                if "cluster_state:ok" in info:
                    break
                time.sleep(0.05)
            else:
                raise RuntimeError(f"cluster node {node.port} did not reach cluster_state:ok")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()


def pg_binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust auth), user `crawler`; `durable=False`
    (tests) turns fsync and synchronous commits off."""

    def __init__(self, durable: bool = False) -> None:
        self.durable = durable
        self.initdb, self.postgres = pg_binary("initdb"), pg_binary("postgres")
        if self.initdb is None or self.postgres is None:
            raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
        self.user: str | None = None
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            if not _has_user("postgres"):
                raise RuntimeError("running as root needs the postgres user (Debian's "
                                   "postgresql package makes it)")
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
                 *([] if self.durable else ["-c", "fsync=off", "-c", "synchronous_commit=off"])],
                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, user=self.user,
                group=self.user, cwd=self.directory)
        wait_for_port("127.0.0.1", self.port, "PostgreSQL server", 30, self.proc, log)
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
