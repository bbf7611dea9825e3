"""What kept jobs cost the service: the same requests to `python -m crawler serve` holding 10
jobs, then 10,000 (issue 31, item 4: 10,000 kept jobs must cost no more per request than 10).

    .venv/bin/python bench/service_jobs.py [--jobs 10,10000] [--requests 300]

One real job is crawled first (20 pages served by nginx); its directory (spec, state, report,
crawl.db) is then copied to make the kept jobs, each with its own id and creation time, so the
service reads real files. For each size the service is started on those jobs and measured:

- its CPU while idle (the supervisor's ticks), in ms a second;
- for each kind of request, one at a time over one connection, PACE seconds apart: the median
  and 99th percentile latency and the service's CPU per request (its CPU over the batch less
  its CPU with only the /health pings below); 10 or 16 keys in turn, so that the service's 0.5 s
  view cache answers none, and pages of the same jobs at every size;
- POST /jobs with --max-kept-jobs full, so that each one deletes the oldest job;
- the event loop's worst stall: the slowest of /health requests sent every 20 ms throughout.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import psutil

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
sys.path.insert(0, str(BENCH))

from servers import free_port, serve_static, wait_for_port  # noqa: E402

PACE = 0.055  # seconds between requests: a key (10 or 16 in turn) comes again after 0.55 s
# or more, past the view cache


def site(folder: Path, pages: int = 20) -> None:
    folder.chmod(0o755)
    for n in range(pages):
        links = "".join(f'<a href="/p{m}.html">page {m}</a> ' for m in range(pages))
        (folder / f"p{n}.html").write_text(f"<html><head><title>Page {n}</title></head><body>"
                                           f"<h1>Page {n}</h1><p>{'text ' * 200}</p>{links}"
                                           "</body></html>")


class Serve:
    """A `serve` process on a free port with `data` as its data directory."""

    def __init__(self, data: Path, *args: str) -> None:
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "crawler", "serve", "--listen", f"127.0.0.1:{self.port}",
             "--data-dir", str(data), "--allow-network", "127.0.0.0/8", *args], cwd=ROOT,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_for_port("127.0.0.1", self.port, "service", 60, proc=self.process)
        self.ps = psutil.Process(self.process.pid)

    def cpu(self) -> float:
        times = self.ps.cpu_times()
        return times.user + times.system

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(90)
        except subprocess.TimeoutExpired:
            print("the service did not stop within 90 s of SIGTERM: killed", file=sys.stderr)
            self.process.kill()
            self.process.wait()


async def template_job(data: Path, seed: str) -> Path:
    """Crawl one real job through the service; its directory is the template."""
    serve = Serve(data)
    try:
        async with aiohttp.ClientSession(serve.base) as http:
            async with http.post("/jobs", json={"seeds": [seed]}) as resp:
                job_id = (await resp.json())["id"]
            while True:
                async with http.get(f"/jobs/{job_id}") as resp:
                    job = await resp.json()
                if job["state"] in ("completed", "failed"):
                    break
                await asyncio.sleep(0.3)
        assert job["state"] == "completed", job
    finally:
        serve.stop()
    return data / "jobs" / job_id


def make_jobs(template: Path, data: Path, count: int) -> list[str]:
    """`count` copies of the template job under data/jobs, oldest first; every tenth one was
    cancelled, the rest completed. crawl.db is hard-linked (the service only reads it)."""
    jobs = data / "jobs"
    jobs.mkdir(parents=True)
    spec = json.loads((template / "spec.json").read_text())
    state = json.loads((template / "state.json").read_text())
    start = datetime.now(UTC) - timedelta(days=30)
    ids = []
    for n in range(count):
        job_id = uuid.uuid4().hex[:12]
        folder = jobs / job_id
        shutil.copytree(template, folder, copy_function=os.link)
        for name in ("spec.json", "state.json"):  # each its own, not a link
            (folder / name).unlink()
        created = (start + timedelta(seconds=n)).isoformat(timespec="seconds")
        (folder / "spec.json").write_text(json.dumps({**spec, "id": job_id,
                                                      "created_at": created}))
        (folder / "state.json").write_text(json.dumps(
            {**state, "state": "cancelled" if n % 10 == 0 else "completed"}))
        ids.append(job_id)
    return ids


async def timed(http: aiohttp.ClientSession, method: str, path: str, body: Any = None
                ) -> tuple[float, int]:
    started = time.perf_counter()
    async with http.request(method, path, json=body) as resp:
        await resp.read()
        return time.perf_counter() - started, resp.status


async def measure(serve: Serve, ids: list[str], requests: int, seed: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    async with aiohttp.ClientSession(serve.base) as http:
        await timed(http, "GET", "/jobs")  # warm
        cpu0, t0 = serve.cpu(), time.monotonic()
        await asyncio.sleep(5)
        out["idle CPU, ms a second"] = (serve.cpu() - cpu0) / (time.monotonic() - t0) * 1000
        def ended(n: int, states: tuple[str, ...] = ("completed", "cancelled")) -> str:
            """?state= for `states` and one of 16 sets of other states: 16 keys for the view
            cache, and the same page of jobs, at any size."""
            others = [s for bit, s in enumerate(("queued", "running", "paused", "failed"))
                      if n % 16 & 1 << bit]
            return "&".join(f"state={s}" for s in [*states, *others])
        kinds: dict[str, Any] = {
            "GET /jobs (a page of 10)": lambda n: ("GET", f"/jobs?limit=10&{ended(n)}"),
            "GET /jobs?state=cancelled (a page of 1)": lambda n: (
                "GET", f"/jobs?limit=1&{ended(n, ('cancelled',))}"),
            "GET /jobs?after=ID (the first)": lambda n: ("GET", f"/jobs?after={ids[0]}&limit="
                                                                f"10&{ended(n)}"),
            "GET /jobs?order=newest": lambda n: ("GET", f"/jobs?order=newest&limit=10&"
                                                        f"{ended(n)}"),
            "GET /jobs/{id}": lambda n: ("GET", f"/jobs/{ids[(n * 7919) % len(ids)]}"),  # 10+
            "POST /jobs (full: the oldest deleted; CPU with a cancel)": lambda n: (
                "POST", "/jobs", {"seeds": [seed], "settings": {"max_pages": 1}}),
        }
        stalls: list[float] = []
        stop = asyncio.Event()

        async def pinger() -> None:
            async with aiohttp.ClientSession(serve.base) as ping:
                while not stop.is_set():
                    stalls.append((await timed(ping, "GET", "/health"))[0])
                    await asyncio.sleep(0.02)
        ping_task = asyncio.create_task(pinger())
        cpu0, t0 = serve.cpu(), time.monotonic()
        await asyncio.sleep(5)
        idle = (serve.cpu() - cpu0) / (time.monotonic() - t0)  # ticks and the /health pings
        for kind, make in kinds.items():
            count = requests if not kind.startswith("POST") else min(requests, 60)
            latencies = []
            cpu0, t0 = serve.cpu(), time.monotonic()
            for n in range(count):
                call = make(n)
                seconds, status = await timed(http, *call)
                assert status in (200, 201), (kind, status)
                latencies.append(seconds)
                await asyncio.sleep(PACE)
                if call[0] == "POST":  # cancelled, so that the next POST may delete it
                    async with http.get("/jobs?order=newest&limit=1") as resp:
                        newest = (await resp.json())["jobs"][0]["id"]
                    await timed(http, "POST", f"/jobs/{newest}/cancel")
            cpu = serve.cpu() - cpu0 - idle * (time.monotonic() - t0)
            latencies.sort()
            out[kind] = (statistics.median(latencies) * 1000,
                         latencies[int(len(latencies) * 0.99) - 1] * 1000,
                         max(cpu, 0.0) / count * 1000)
        stop.set()
        await ping_task
        out["worst /health stall, ms"] = max(stalls) * 1000
        out["rss MB"] = serve.ps.memory_info().rss / 1e6
    return out


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", default="10,10000")
    parser.add_argument("--requests", type=int, default=300)
    args = parser.parse_args()
    sizes = [int(size) for size in args.jobs.split(",")]
    with tempfile.TemporaryDirectory() as work_dir:
        work = Path(work_dir)
        (work / "site").mkdir()
        site(work / "site")
        port = free_port()
        with serve_static({("127.0.0.1", port): work / "site"}):
            seed = f"http://127.0.0.1:{port}/p0.html"
            template = await template_job(work / "template", seed)
            results = {}
            for size in sizes:
                data = work / f"data-{size}"
                started = time.monotonic()
                ids = make_jobs(template, data, size)
                made = time.monotonic() - started
                started = time.monotonic()
                serve = Serve(data, "--max-kept-jobs", str(size), "--max-jobs", "1")
                print(f"{size} jobs: made in {made:.1f}s, the service up in "
                      f"{time.monotonic() - started:.1f}s", file=sys.stderr)
                try:
                    results[size] = await measure(serve, ids, args.requests, seed)
                    print(results[size], file=sys.stderr)
                finally:
                    serve.stop()
                shutil.rmtree(data)
    small, large = sizes[0], sizes[-1]
    print(f"\n| kept jobs | {' | '.join(str(s) for s in sizes)} | {large} vs {small} |")
    print("|---|" + "---|" * (len(sizes) + 1))
    for key in results[small]:
        values = [results[size][key] for size in sizes]
        if isinstance(values[0], tuple):
            cells = [f"{v[0]:.2f} / {v[1]:.2f} / {v[2]:.2f}" for v in values]
            ratio = f"{values[-1][2] / values[0][2]:.2f} (CPU)" if values[0][2] else "-"
            print(f"| {key}: median / p99 ms, CPU ms | {' | '.join(cells)} | {ratio} |")
        else:
            ratio = f"{values[-1] / values[0]:.2f}" if values[0] else "-"
            print(f"| {key} | {' | '.join(f'{v:.2f}' for v in values)} | {ratio} |")


if __name__ == "__main__":
    asyncio.run(main())
