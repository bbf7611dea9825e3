"""The crawl service as the tests run it: a real `python -m crawler serve` process on a free
loopback port, and a small JSON client for it."""

from __future__ import annotations

import asyncio
import io
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import aiohttp

ROOT = Path(__file__).resolve().parent.parent


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


class Service:
    """`python -m crawler serve` with --data-dir `data_dir`; `start()`, `kill()` (SIGKILL, as
    an OOM kill would), `stop()` (SIGTERM)."""

    def __init__(self, data_dir: Path, *args: str, token: str | None = None,
                 allow: tuple[str, ...] = ("127.0.0.1/32",)) -> None:
        self.data_dir = data_dir
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.token = token
        self.args = [*args, *(["--token", token] if token else [])]
        for network in allow:
            self.args += ["--allow-network", network]
        self.process: subprocess.Popen[bytes] | None = None
        self.log = data_dir.parent / f"service-{self.port}.log"

    def _spawn(self) -> subprocess.Popen[bytes]:
        command = [sys.executable, "-m", "crawler", "serve", "--listen",
                   f"127.0.0.1:{self.port}", "--data-dir", str(self.data_dir), *self.args]
        with self.log.open("ab") as log:
            return subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)

    async def start(self) -> Service:
        self.process = self._spawn()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the service exited: {self.log.read_text()[-2000:]}")
            try:
                status, _ = await self.request("GET", "/health")
                if status == 200:
                    return self
            except aiohttp.ClientConnectionError:
                pass
            await asyncio.sleep(0.1)
        raise RuntimeError("the service did not start")

    def kill(self) -> None:
        assert self.process is not None
        self.process.kill()
        self.process.wait(10)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)

    async def request(self, method: str, path: str, body: Any = None, *,
                      token: str | None = None, raw: bytes | None = None
                      ) -> tuple[int, Any]:
        """(status, JSON or text) of one request; the service's token unless `token`."""
        headers = {} if body is None and raw is None else {"Content-Type": "application/json"}
        use = token if token is not None else self.token
        if use:
            headers["Authorization"] = f"Bearer {use}"
        data: Any = io.BytesIO(raw) if raw is not None else (
            None if body is None else json.dumps(body).encode())
        async with aiohttp.ClientSession() as session, session.request(
                method, self.base + path, data=data, headers=headers) as resp:
            text = await resp.text()
            if resp.content_type == "application/json":
                return resp.status, json.loads(text)
            return resp.status, text

    async def submit(self, seeds: list[str], **settings: Any) -> str:
        status, body = await self.request("POST", "/jobs", {"seeds": seeds,
                                                            "settings": settings})
        assert status == 201, body
        return body["id"]

    async def job(self, job_id: str) -> dict[str, Any]:
        status, body = await self.request("GET", f"/jobs/{job_id}")
        assert status == 200, body
        return body

    async def wait_for(self, job_id: str, *states: str, seconds: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            job = await self.job(job_id)
            if job["state"] in states:
                return job
            await asyncio.sleep(0.1)
        raise AssertionError(f"job {job_id} never got to {states}: {job}")

    async def wait_pages(self, job_id: str, pages: int, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        for _ in range(int(seconds * 20)):
            if (await self.job(job_id))["pages"] >= pages or time.monotonic() > deadline:
                return
            await asyncio.sleep(0.05)

    async def records(self, job_id: str, query: str = "", kind: str = "records"
                      ) -> list[dict[str, Any]]:
        status, text = await self.request("GET", f"/jobs/{job_id}/{kind}{query}")
        assert status == 200, text
        return [json.loads(line) for line in text.splitlines()]

    def child_pids(self) -> list[int]:
        """The crawl processes of the service's jobs."""
        out = subprocess.run(["pgrep", "-f", f"crawler.service.child {self.data_dir}"],
                             capture_output=True, text=True)
        return [int(pid) for pid in out.stdout.split()]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
