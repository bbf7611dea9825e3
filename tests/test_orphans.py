"""kill -9 of a crawl leaves no process behind: its forkserver and parse workers die with it,
for a one-process crawl and for a cluster worker."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pytest

from tests.real_servers import RedisServer
from tests.site import Site
from tests.test_cli import clean_env


def descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        children = {child for child, parent in parents.items() if parent in frontier}
        frontier = children - found
        found |= children
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


async def kill_when_parsing_and_check(proc: asyncio.subprocess.Process) -> None:
    """Wait for the parse pool (forkserver and workers), SIGKILL the crawl, and expect every
    process it had started to be gone within 5 seconds."""
    below: set[int] = set()
    for _ in range(300):
        below = descendants(proc.pid)
        if len(below) >= 3:  # forkserver and at least two workers (or a resource tracker)
            break
        await asyncio.sleep(0.05)
    assert len(below) >= 3, below
    await asyncio.sleep(0.3)
    below = descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    for _ in range(100):
        if not any(alive(pid) for pid in below):
            return
        await asyncio.sleep(0.05)
    left = [pid for pid in below if alive(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    raise AssertionError(f"processes left behind: {left}")


def slow_site(site: Site, pages: int = 200) -> None:
    site.delay = 0.05
    site.page("/", *(f"/p{i}" for i in range(pages)))
    for i in range(pages):
        site.page(f"/p{i}", *(f"/p{j}" for j in range(i, min(i + 3, pages))))


async def test_a_killed_crawl_leaves_no_process_behind(site: Site, tmp_path: Path) -> None:
    slow_site(site)
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "crawler", "seeds.txt", "--parse-mode", "process", "--quiet",
        cwd=tmp_path, env=clean_env(), stderr=asyncio.subprocess.DEVNULL)
    await kill_when_parsing_and_check(proc)


@pytest.mark.system
async def test_a_killed_cluster_worker_leaves_no_process_behind(
        site: Site, tmp_path: Path, redis_server: RedisServer) -> None:
    slow_site(site)
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    common = ["--frontier", redis_server.url, "--job-name", "orphans"]
    seed = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "crawler", "seed", "seeds.txt", *common, cwd=tmp_path,
        env=clean_env())
    assert await seed.wait() == 0
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "crawler", "worker", *common, "-o", "results.db",
        "--parse-mode", "process", "--quiet", cwd=tmp_path, env=clean_env(),
        stderr=asyncio.subprocess.DEVNULL)
    await kill_when_parsing_and_check(proc)
