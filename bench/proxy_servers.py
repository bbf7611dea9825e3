"""Real proxy servers from Debian's packages (scripts/system-deps.sh), between a crawler and a
local site, for tests/test_proxies.py and bench/proxy.py: tinyproxy
(HTTP, with Basic proxy auth) and microsocks (SOCKS5, with user/password). Each binds its
outgoing connections to an address of its own in 127.0.0.0/8, so the site can tell a request
that passed through the proxy (from that address) from one that did not (from 127.0.0.1);
tinyproxy's log also counts the requests it forwarded.

Why these two: both are small, packaged by Debian (scripts/system-deps.sh) and speak the
protocols as deployed proxies do; a proxy written in Python for the tests would share the
crawler's assumptions.
"""

from __future__ import annotations

import re
import shutil
import socket
import subprocess
import time
from pathlib import Path

from bench.servers import free_port


def wait_for_port(host: str, port: int, process: subprocess.Popen[bytes],
                  seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the proxy exited with {process.returncode}")
        with socket.socket() as probe:
            if probe.connect_ex((host, port)) == 0:
                return
        time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {host}:{port} after {seconds}s")


class ProxyServer:
    """A proxy process on 127.0.0.1:`port` whose outgoing connections come from `outgoing`."""

    scheme = ""
    binary = ""

    @classmethod
    def installed(cls) -> bool:
        return shutil.which(cls.binary) is not None

    def __init__(self, directory: Path, outgoing: str, user: str = "", password: str = "",
                 listen: str = "127.0.0.1") -> None:
        self.directory = directory
        self.listen = listen
        self.outgoing = outgoing
        self.user, self.password = user, password
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        """The proxy's URL, with its credentials."""
        auth = f"{self.user}:{self.password}@" if self.user else ""
        return f"{self.scheme}://{auth}{self.listen}:{self.port}"

    def command(self) -> list[str]:
        raise NotImplementedError

    def start(self) -> ProxyServer:
        command = self.command()
        with (self.directory / f"{self.scheme}-proxy.out").open("wb") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT)
        wait_for_port(self.listen, self.port, self.process)
        return self

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


class TinyProxy(ProxyServer):
    """tinyproxy in the foreground, logging every request it forwards."""

    scheme = "http"
    binary = "tinyproxy"

    @property
    def log(self) -> Path:
        return self.directory / "tinyproxy.log"

    def command(self) -> list[str]:
        config = self.directory / "tinyproxy.conf"
        lines = [f"Port {self.port}", f"Listen {self.listen}", f"Bind {self.outgoing}",
                 "Timeout 30", f'LogFile "{self.log}"', "LogLevel Info", "MaxClients 200",
                 "Allow 127.0.0.0/8", "DisableViaHeader Yes"]
        if self.user:
            lines.append(f"BasicAuth {self.user} {self.password}")
        config.write_text("\n".join(lines) + "\n")
        return ["tinyproxy", "-d", "-c", str(config)]

    def requests(self) -> list[str]:
        """The URLs of the requests the proxy forwarded, in order."""
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return re.findall(r"Request \(file descriptor \d+\): \S+ (\S+) HTTP", text)


class MicroSocks(ProxyServer):
    """microsocks (SOCKS5), printing each connection it makes for a client."""

    scheme = "socks5"
    binary = "microsocks"

    def command(self) -> list[str]:
        command = ["microsocks", "-i", self.listen, "-p", str(self.port), "-b", self.outgoing]
        if self.user:
            command += ["-u", self.user, "-P", self.password]
        return command

    def connections(self) -> list[str]:
        """host:port of every connection the proxy opened for a client."""
        out = self.directory / "socks5-proxy.out"
        text = out.read_text(errors="replace") if out.exists() else ""
        return re.findall(r"connected to (\S+)", text)
