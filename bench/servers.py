"""Static sites on loopback for the benchmarks and the system tests: nginx (Debian's
nginx-light), or, with a warning, a static aiohttp server of our own when nginx is missing."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

Sites = Mapping[tuple[str, int], Path]  # (address, port) -> folder served there


def wait_for_port(host: str, port: int, what: str = "server") -> None:
    """Return once host:port accepts connections; RuntimeError after 10 s."""
    for _ in range(200):
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the {what} did not start on {host}:{port}")


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
                            stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
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
