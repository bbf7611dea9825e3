"""docker-compose.yml for real, run by podman-compose on the image the Dockerfile builds
(tests/containers.py), each service on the host's network (tests/compose.loopback.yml) against
a site on loopback: the one-shot `crawl`, turns of `crawl-scheduled`, the `service`, and the
`cluster` profile on stand-in Redis and PostgreSQL images. On the host's network the services
take their own ports there: 8080 (the service), 6379 (Redis) and 5432 (PostgreSQL)."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import aiohttp
import pytest

from tests.containers import (
    POSTGRES_STANDIN,
    REDIS_STANDIN,
    ROOT,
    build_crawler_image,
    build_standins,
    engine,
    podman,
)
from tests.site import Site, tree_sites

pytestmark = [pytest.mark.system, pytest.mark.timeout(1800)]
COMPOSE = Path(sys.executable).parent / "podman-compose"


class Compose:
    """podman-compose in a copy of the project's compose file, with the loopback override."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        shutil.copy(ROOT / "docker-compose.yml", folder / "docker-compose.yml")
        shutil.copy(ROOT / "tests" / "compose.loopback.yml", folder / "loopback.yml")
        (folder / "data").mkdir()
        self.env = {**os.environ, "CRAWLER_UID": str(os.getuid()),
                    "CRAWLER_GID": str(os.getgid())}

    def down(self, profile: str, env: dict[str, str] | None = None) -> None:
        """Stop and remove the profile's containers and volumes, whatever state they are in."""
        subprocess.run([str(COMPOSE), "-f", "docker-compose.yml", "-f", "loopback.yml",
                        "--profile", profile, "down", "-v"], cwd=self.folder,
                       capture_output=True, timeout=300, env={**self.env, **(env or {})})
        names = podman("ps", "-a", "--format", "{{.Names}}").stdout.split()
        mine = [name for name in names if name.startswith(self.folder.name + "_")]
        if mine:
            podman("rm", "-f", *mine)

    def __call__(self, *args: str, env: dict[str, str] | None = None,
                 timeout: float = 300) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([str(COMPOSE), "-f", "docker-compose.yml", "-f", "loopback.yml",
                               *args], cwd=self.folder, capture_output=True, text=True,
                              timeout=timeout, env={**self.env, **(env or {})})
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done


def records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


@pytest.fixture
async def compose(tmp_path: Path) -> Compose:
    await asyncio.to_thread(engine)
    await asyncio.to_thread(build_crawler_image)
    return Compose(tmp_path)


async def test_compose_crawl_scheduled_and_service(site: Site, compose: Compose) -> None:
    site.page("/", "/a", "/b", title="Home", validators="etag")
    site.page("/a", "/b", title="A", validators="etag")
    site.page("/b", title="B", validators="etag")
    pages = Counter(site.url(p) for p in ("/", "/a", "/b"))
    data = compose.folder / "data"
    (data / "seeds.txt").write_text(site.url("/") + "\n")

    # the one-shot crawl job, as `docker compose up` runs it
    await asyncio.to_thread(compose, "up", "--no-build", "crawl")
    assert Counter(r["url"] for r in records(data / "results.jsonl")) == pages
    assert (data / "job" / "report.json").exists()

    # crawl-scheduled: a seconds-level schedule; the second turn is a recrawl
    every = {"CRAWLER_SCHEDULE": "* * * * * */2", "CRAWLER_SCHEDULE_WITH_SECONDS": "1"}
    await asyncio.to_thread(compose, "--profile", "scheduled", "up", "-d", "--no-build",
                            "crawl-scheduled", env=every)
    try:
        for _ in range(300):
            runs = {r["run_id"] for r in records(data / "scheduled.jsonl")}
            if len(runs) >= 2:
                break
            await asyncio.sleep(0.1)
    finally:
        await asyncio.to_thread(compose.down, "scheduled", every)
    scheduled = records(data / "scheduled.jsonl")
    first = [r for r in scheduled if r["change"] == "new"]
    assert Counter(r["url"] for r in first) == pages
    assert any(r["status"] == 304 for r in scheduled), "the next turn recrawls"

    # the service: up, healthy, its token required, API seeds on a network it does not allow
    # refused at once, and a job on the one it allows (CRAWLER_SERVICE_ALLOW_NETWORKS) crawled
    token = {"CRAWLER_SERVICE_TOKEN": "s3cret", "CRAWLER_SERVICE_ALLOW_NETWORKS": "127.0.0.1/32"}
    await asyncio.to_thread(compose, "--profile", "service", "up", "-d", "--no-build",
                            "service", env=token)
    try:
        job = await use_service(site.url("/"))
        health = await asyncio.to_thread(
            podman, "exec", f"{compose.folder.name}_service_1", "python", "-c",
            "import urllib.request; urllib.request.urlopen("
            "'http://127.0.0.1:8080/health', timeout=3)", check=False)
        assert health.returncode == 0, health.stderr  # the compose healthcheck's command
    finally:
        await asyncio.to_thread(compose.down, "service", token)
    assert job["state"] == "completed"
    assert (data / "service" / "jobs" / job["id"] / "crawl" / "crawl.db").exists()


async def use_service(seed: str) -> dict:
    base, auth = "http://127.0.0.1:8080", {"Authorization": "Bearer s3cret"}
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + 60
        while True:
            try:
                async with session.get(base + "/health") as resp:
                    if resp.status == 200:
                        break
            except aiohttp.ClientConnectionError:
                pass
            assert time.monotonic() < deadline, "the service did not come up"
            await asyncio.sleep(0.2)
        async with session.get(base + "/jobs") as resp:
            assert resp.status == 401
        async with session.post(base + "/jobs", json={"seeds": ["http://127.0.0.2/"]},
                                headers=auth) as resp:
            assert resp.status == 400
            assert "127.0.0.2 is a loopback address" in (await resp.json())["error"]
        async with session.post(base + "/jobs", json={"seeds": [seed]}, headers=auth) as resp:
            assert resp.status == 201
            job_id = (await resp.json())["id"]
        for _ in range(300):
            async with session.get(f"{base}/jobs/{job_id}", headers=auth) as resp:
                job = await resp.json()
            if job["state"] in ("completed", "failed"):
                break
            await asyncio.sleep(0.2)
        async with session.get(f"{base}/jobs/{job_id}/records", headers=auth) as resp:
            lines = (await resp.text()).splitlines()
    assert lines and all(json.loads(line)["status"] == 200 for line in lines)
    return job


async def test_compose_cluster_seed_and_workers(compose: Compose) -> None:
    """The `cluster` profile on stand-in Redis and PostgreSQL images: `seed` queues the seeds
    (one bad line is reported and does not stop it), two workers crawl the site together, and
    every page is in PostgreSQL once."""
    import asyncpg

    await asyncio.to_thread(build_standins)
    async with tree_sites(("127.0.0.1",), 60, 0.01) as sites:
        site = sites[0]
        data = compose.folder / "data"
        (data / "seeds.txt").write_text(site.url("/p0") + "\nnot a url\n")
        env = {"REDIS_IMAGE": REDIS_STANDIN, "POSTGRES_IMAGE": POSTGRES_STANDIN}
        name = compose.folder.name
        try:
            # podman 4.3 cannot start a container that `requires` one that has exited, so the
            # workers come up once `seed` is done, without re-creating what they depend on
            await asyncio.to_thread(compose, "--profile", "cluster", "up", "-d", "--no-build",
                                    "redis", "postgres", "seed", env=env, timeout=600)
            await asyncio.to_thread(podman, "wait", f"{name}_seed_1", timeout=300)
            await asyncio.to_thread(compose, "--profile", "cluster", "up", "-d", "--no-build",
                                    "--no-deps", "--scale", "worker=2", "worker", env=env,
                                    timeout=600)
            for _ in range(1200):
                states = (await asyncio.to_thread(
                    podman, "ps", "-a", "--filter", f"name={name}_worker",
                    "--format", "{{.Status}}")).stdout.split("\n")
                states = [state for state in states if state]
                if len(states) == 2 and all(s.startswith("Exited (0)") for s in states):
                    break
                await asyncio.sleep(0.25)
            ready = await asyncio.to_thread(podman, "exec", f"{name}_postgres_1", "pg_isready",
                                            "-U", "crawler", "-d", "crawl", check=False)
            assert ready.returncode == 0, ready.stdout + ready.stderr  # the healthcheck
            db = await asyncpg.connect("postgresql://crawler:crawler@127.0.0.1:5432/crawl")
            try:
                rows = await db.fetch("SELECT url, status FROM pages")
            finally:
                await db.close()
            seed_log = await asyncio.to_thread(podman, "logs", f"{name}_seed_1")
        finally:
            await asyncio.to_thread(compose.down, "cluster", env)
    assert Counter(r["url"] for r in rows) == Counter(site.url(f"/p{n}") for n in range(60))
    assert {r["status"] for r in rows} == {200}
    assert "skipping seed line" in seed_log.stdout + seed_log.stderr
    assert len(states) == 2 and all(s.startswith("Exited (0)") for s in states), states
