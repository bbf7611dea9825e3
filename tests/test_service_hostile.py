"""The service against hostile clients: a page on another site cannot drive it from a browser
(no-cors fetch, a text/plain form, DNS rebinding, framing), resource settings have ceilings, a
schedule that never comes due is refused, and bad input is a 4xx with one line, never a 500
or a leaked secret."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path

import aiohttp
import pytest

from tests.browser import chromium
from tests.service_process import Service
from tests.site import Site

pytestmark = pytest.mark.timeout(180)

ATTACK = """<!doctype html><title>attack</title>
<iframe name="sink" style="display:none"></iframe>
<form id="f" method="POST" action="{base}/jobs" enctype="text/plain" target="sink">
<input name='{{"seeds": ["http://127.0.0.1:9/"], "x": "' value='"}}'></form>
<script>
async function attack() {{
  const body = JSON.stringify({{seeds: ["http://127.0.0.1:9/"]}});
  await fetch("{base}/jobs", {{method: "POST", mode: "no-cors", body}}).catch(() => null);
  await fetch("{base}/jobs", {{method: "POST", mode: "no-cors", body,
                               headers: {{"Content-Type": "text/plain"}}}}).catch(() => null);
  await fetch("{base}/jobs/{job}/pause", {{method: "POST", mode: "no-cors"}})
    .catch(() => null);
  await fetch("{base}/jobs/{job}", {{method: "DELETE", mode: "no-cors"}}).catch(() => null);
  document.getElementById("f").submit();
  await new Promise(r => setTimeout(r, 1500));
  document.title = "done";
}}
attack();
</script>"""


async def test_a_page_on_another_origin_cannot_drive_the_service(tmp_path: Path) -> None:
    """A page served from 127.0.0.2 runs, in headless Chromium, a no-cors fetch POST of a JSON
    body, the same as text/plain, a pause and a DELETE of an existing job, and an auto-submitted
    text/plain form whose body is valid JSON: the service (no token) creates no job and the
    job is untouched; its log says each was refused."""
    service = await Service(tmp_path / "data").start()
    attacker = Site(host="127.0.0.2")
    try:
        victim = await service.submit(["http://127.0.0.1:9/"], max_pages=1)
        await service.wait_for(victim, "completed")
        async def page(_: object) -> aiohttp.web.Response:
            return aiohttp.web.Response(text=ATTACK.format(base=service.base, job=victim),
                                        content_type="text/html")
        attacker.route("/", page)
        await attacker.start()
        async with chromium(tmp_path / "profile") as browser:
            await browser.send("Page.navigate", url=attacker.url("/"))
            assert await browser.wait_for("document.title === 'done'")
        status, jobs = await service.request("GET", "/jobs")
        assert status == 200 and [j["id"] for j in jobs["jobs"]] == [victim]
        assert jobs["jobs"][0]["state"] == "completed"
    finally:
        await attacker.stop()
        service.stop()


async def test_rebound_hosts_framing_and_plain_bodies_are_refused(tmp_path: Path) -> None:
    """A Host the service does not answer to gets 421 (DNS rebinding); a POST whose body is
    not JSON gets 415; an Origin or Sec-Fetch-Site of another site gets 403; the dashboard
    may not be framed; curl-like clients (no Origin) and the service's own origin work."""
    service = await Service(tmp_path / "data").start()
    try:
        async with aiohttp.ClientSession() as session:
            async def call(method: str, path: str, **headers: str) -> tuple[int, str]:
                async with session.request(method, service.base + path, headers=headers,
                                           data=headers.pop("body", None)) as response:
                    return response.status, await response.text()
            status, text = await call("GET", "/jobs", Host="rebind.example:" + str(
                service.port))
            assert status == 421 and "serve --allow-host" in text
            body = '{"seeds": ["http://127.0.0.1:9/"]}'
            status, text = await call("POST", "/jobs", body=body, **{
                "Content-Type": "text/plain"})
            assert status == 415 and "application/json" in text
            status, text = await call("POST", "/jobs", body=body, Origin="http://127.0.0.2",
                                      **{"Content-Type": "application/json"})
            assert status == 403 and "another origin" in text
            status, text = await call("POST", "/jobs", body=body,
                                      **{"Sec-Fetch-Site": "cross-site",
                                         "Content-Type": "application/json"})
            assert status == 403 and "another site" in text
            status, text = await call("POST", "/jobs", body=body, Origin=service.base,
                                      **{"Content-Type": "application/json"})
            assert status == 201, text
            async with session.get(service.base + "/") as response:
                assert response.headers["X-Frame-Options"] == "DENY"
                assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    finally:
        service.stop()


async def test_bad_input_is_a_4xx_and_secrets_stay_hidden(tmp_path: Path, site: Site) -> None:
    """A non-ASCII token, ?after=², a 5,000-character job id, deeply nested selectors, a
    user_agent with CR/LF, settings over the ceilings and a schedule with no next date: each a
    4xx with a one-line error. /metrics needs the token; a job view hides a seed's password."""
    service = await Service(tmp_path / "data", token="s3cret").start()
    try:
        async with aiohttp.ClientSession() as session, session.get(
                service.base + "/jobs", headers={"Authorization": "Bearer tökén"}) as response:
            assert response.status == 401
        status, _ = await service.request("GET", "/metrics", token="")
        assert status == 401
        status, _ = await service.request("GET", "/metrics")
        assert status == 200
        site.page("/")
        seed = site.url("/").replace("http://", "http://alice:hunter2@")
        job = await service.submit([seed], max_pages=1)
        status, view = await service.request("GET", f"/jobs/{job}")
        assert "hunter2" not in str(view) and view["seeds"][0].startswith(
            "http://alice:[redacted]@")
        status, body = await service.request("GET", f"/jobs/{job}/records?after=²")
        assert status == 400 and "after must be an integer" in body["error"]
        status, body = await service.request("GET", "/jobs/" + "a" * 5000)
        assert status == 404
        nested = ":not(" * 300 + "a" + ")" * 300
        cases = [
            ({"extract": {"rule": [{"fields": {"x": nested}}]}}, "too long or too deeply"),
            ({"user_agent": "bot/1\r\nX-Evil: 1"}, "one line of printable text"),
            ({"parse_workers": 100000}, "parse_workers=100000 is more than this service"),
            ({"concurrency": 1000000}, "concurrency=1e+06 is more than this service"),
            ({"max_body_bytes": 1 << 40}, "max_body_bytes"),
            ({"timeout": 1e12}, "timeout=1e+12 is more than"),
        ]
        for settings, words in cases:
            status, body = await service.request("POST", "/jobs", {
                "seeds": [site.url("/")], "settings": settings})
            assert status == 400 and words in body["error"], (settings, body)
            assert "\n" not in body["error"]
        from crawler.service.spec import CREDENTIALS, SERVICE_ONLY

        for name in sorted(SERVICE_ONLY):  # metrics_listen, outputs, job_dir, ... each refused
            status, body = await service.request("POST", "/jobs", {
                "seeds": [site.url("/")], "settings": {name: "127.0.0.1:9109"}})
            words = "carries credentials" if name in CREDENTIALS else "cannot be set over the API"
            assert status == 400 and f"setting {name!r} {words}" in body["error"], (name, body)
        for schedule in ("0 0 31 2 *", "*/10 * * * * *"):
            status, body = await service.request("POST", "/jobs", {
                "seeds": [site.url("/")], "schedule": schedule})
            assert status == 400, body
        await asyncio.sleep(0)
    finally:
        service.stop()


async def test_a_tick_reads_no_job_file_and_walks_no_kept_job(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With 300 ended jobs of 2,000 seeds each, the supervisor's tick reads no job file (the
    store keeps specs, states and reports in memory) and looks at none of the ended jobs; a
    scheduled job's due turn and a queued job are still found."""
    from crawler.service.jobs import JobFiles, JobSpec, JobStore, Lifecycle
    from crawler.service.supervisor import Supervisor

    store = JobStore(tmp_path)
    await store.load()
    for n in range(300):
        job = await store.create(JobSpec(f"{n:012x}", [f"http://a.example/{i}"
                                                       for i in range(2000)], {}), {})
        store.write_state(job, Lifecycle(state="completed"))
    due = await store.create(JobSpec("d" * 12, ["http://a.example/"], {}, "* * * * *"), {})
    store.write_state(due, Lifecycle(state="completed", next_run_at="2020-01-01T00:00:00+00:00"))
    store = JobStore(tmp_path)  # a service started anew reads the directory once
    await store.load()
    supervisor = Supervisor(store, 0, [])  # no slot: nothing starts, but turns are queued
    await supervisor.start()
    supervisor._task.cancel()  # ticked by hand below
    reads: list[Path] = []
    looked: list[str] = []
    real_read, real_state = Path.read_bytes, JobFiles.state
    monkeypatch.setattr(Path, "read_bytes", lambda self: reads.append(self) or real_read(self))
    monkeypatch.setattr(JobFiles, "state",
                        lambda self: looked.append(self.id) or real_state(self))
    for _ in range(5):
        await supervisor.tick()
    assert reads == []
    assert looked == ["d" * 12]  # the due turn, once; no ended job is looked at
    assert store.get("d" * 12).state_name == "queued"
    assert [job.id for job in store.jobs(("queued",))] == ["d" * 12]


async def test_get_jobs_pages_and_follow_streams_are_capped(tmp_path: Path, site: Site) -> None:
    """GET /jobs is paged (limit, after, next) with a job's first seeds; many spellings of
    ?state= share one cached view; with 64 follow streams open the next one gets 429."""
    from crawler.service import api

    service = await Service(tmp_path / "data", "--max-jobs", "1").start()

    async def slow(_: object) -> aiohttp.web.Response:
        await asyncio.sleep(20)
        return aiohttp.web.Response(text="late", content_type="text/html")

    site.route("/slow", slow)
    try:
        seeds = [site.url("/slow")] + [site.url(f"/{n}") for n in range(12)]
        ids = [await service.submit(seeds, max_pages=1) for _ in range(3)]
        status, page = await service.request("GET", "/jobs?limit=2")
        assert status == 200 and [j["id"] for j in page["jobs"]] == ids[:2]
        assert len(page["jobs"][0]["seeds"]) == 10 and page["jobs"][0]["seeds_count"] == 13
        status, rest = await service.request("GET", f"/jobs?limit=2&after={page['next']}")
        assert [j["id"] for j in rest["jobs"]] == ids[2:] and rest["next"] is None
        for spelling in ("?state=queued&state=running", "?state=running&state=queued"):
            status, _ = await service.request("GET", "/jobs" + spelling)
            assert status == 200
        queued = ids[2]  # behind the first job, which waits on /slow: its streams stay open
        async with aiohttp.ClientSession() as session:
            url = f"{service.base}/jobs/{queued}/records?follow=true"
            streams = [await session.get(url) for _ in range(api.MAX_FOLLOWERS)]
            try:
                assert {response.status for response in streams} == {200}
                async with session.get(url) as response:
                    assert response.status == 429 and "follow streams" in await response.text()
            finally:
                for response in streams:
                    response.release()
        status, _ = await service.request("GET", "/jobs?state=bogus")
        assert status == 400
        for job_id in ids:
            await service.request("DELETE", f"/jobs/{job_id}")
    finally:
        service.stop()


def test_the_view_cache_holds_at_most_its_bytes() -> None:
    """Views of many keys (each spelling of a query) drop the oldest past the byte cap."""
    from types import SimpleNamespace

    from crawler.service.api import ViewCache

    cache = ViewCache(SimpleNamespace(version=0), max_bytes=10_000)  # type: ignore[arg-type]
    for n in range(100):
        cache.get(("jobs", n), lambda: {"x": "y" * 1000})
    assert cache.size <= 10_000 and len(cache.entries) == 9
    assert cache.size == sum(len(entry[2]) for entry in cache.entries.values())


def group_members(pgid: int) -> list[int]:
    """Live processes (not zombies) in process group `pgid`."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            found.append(int(entry.name))
    return found


def crawl_children(service_pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                cmdline = (entry / "cmdline").read_bytes()
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            if ppid == service_pid and b"crawler.service.child" in cmdline:
                out.append(int(entry.name))
    return out


async def test_a_killed_crawl_leaves_no_parse_worker_and_its_job_ends(tmp_path: Path,
                                                                      site: Site) -> None:
    """kill -9 of a job's crawl process while its parse workers run: the service kills what
    is left of its process group (no orphaned worker), and the job ends as failed."""
    from tests.test_cli import _slow_site

    _slow_site(site, 300, 0.2)
    service = await Service(tmp_path / "data").start()
    try:
        assert service.process is not None
        job = await service.submit([site.url("/p0")], parse_mode="process", parse_workers=2)
        child, members = 0, []
        for _ in range(200):
            children = crawl_children(service.process.pid)
            if children:
                child = children[0]
                members = [pid for pid in group_members(child) if pid != child]
                if len(members) >= 3:  # the forkserver and two workers
                    break
            await asyncio.sleep(0.1)
        assert child and len(members) >= 3, members
        os.kill(child, signal.SIGKILL)
        view = await service.wait_for(job, "failed")
        assert view["state"] == "failed"
        for _ in range(50):
            if not group_members(child):
                break
            await asyncio.sleep(0.1)
        assert group_members(child) == []
    finally:
        service.stop()
