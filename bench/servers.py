"""Serve the benchmark site: nginx on loopback (Debian's nginx-light), or, with a warning, a
static aiohttp server of our own when nginx is not installed."""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


def _wait_for(host: str, port: int) -> None:
    for _ in range(200):
        try:
            socket.create_connection((host, port), 0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"the static server did not start on {host}:{port}")


def _nginx_conf(root: Path, hosts: list[str], port: int, work: Path) -> str:
    servers = "\n".join(
        f"  server {{ listen {h}:{port}; root {root / f'{h}:{port}'}; }}" for h in hosts)
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
def serve_static(root: Path, hosts: list[str], port: int) -> Iterator[str]:
    """Serve root/<host>:<port>/ on each host:port until the block ends; yields the server."""
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists()
                                      else None)
    work = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    if nginx:
        conf = work / "nginx.conf"
        conf.write_text(_nginx_conf(root, hosts, port, work))
        proc = subprocess.Popen([nginx, "-c", str(conf), "-e", str(work / "error.log")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        name = "nginx"
    else:
        print("WARNING: nginx is not installed (apt-get install nginx-light); serving the site "
              "with a Python static server, which is slower and skews the results",
              file=sys.stderr)
        proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("static.py")),
                                 str(root), str(port), *hosts])
        name = "python static server"
    try:
        for host in hosts:
            _wait_for(host, port)
        yield name
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(work, ignore_errors=True)
