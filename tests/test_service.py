"""The crawl service (`python -m crawler serve`) as a client sees it: a real service process,
its jobs crawling local aiohttp sites on loopback."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from crawler.service.seed_guard import refused_seed
from tests.service_process import ROOT, Service, alive
from tests.site import Site

pytestmark = pytest.mark.timeout(180)


@pytest.fixture
async def service(tmp_path: Path) -> AsyncIterator[Service]:
    running = await Service(tmp_path / "data", "--max-jobs", "2").start()
    try:
        yield running
    finally:
        running.stop()


def tree(site: Site, pages: int) -> None:
    """A home page linking to `pages` pages, each linking to the next."""
    site.page("/", *[f"/p{i}" for i in range(pages)])
    for i in range(pages):
        site.page(f"/p{i}", f"/p{(i + 1) % pages}", title=f"page {i}")


async def test_a_job_crawls_and_its_records_page_exactly_once(site: Site,
                                                              service: Service) -> None:
    """POST /jobs starts a crawl; GET /jobs/{id} reports it; the records come back as NDJSON
    pages of `limit`, each record once, with cursors to go on from."""
    tree(site, 25)
    job_id = await service.submit([site.url("/")], per_host=4)
    job = await service.wait_for(job_id, "completed")
    assert job["pages"] == 26 and job["errors"] == 0 and job["queued"] == 0
    assert job["report"]["outcome"] == "completed" and job["started_at"] and job["finished_at"]
    assert set(job) >= {"id", "state", "pages", "errors", "queued", "in_flight", "rate",
                        "started_at", "finished_at", "report"}
    got, after = [], 0
    while True:
        page = await service.records(job_id, f"?after={after}&limit=7")
        if not page:
            break
        assert len(page) <= 7
        got += page
        after = page[-1]["cursor"]
    urls = Counter(record["url"] for record in got)
    assert len(urls) == 26 and set(urls.values()) == {1}
    assert {r["title"] for r in got if r["url"] == site.url("/p3")} == {"page 3"}
    assert all(n == 1 for n in site.page_hits().values())
    status, listing = await service.request("GET", "/jobs?state=completed")
    assert status == 200 and [j["id"] for j in listing["jobs"]] == [job_id]
    status, listing = await service.request("GET", "/jobs?state=running")
    assert listing["jobs"] == []


async def test_follow_streams_records_until_the_job_ends(site: Site, service: Service) -> None:
    """?follow=true keeps the response open and sends records as the crawl writes them."""
    site.delay = 0.05
    tree(site, 30)
    job_id = await service.submit([site.url("/")], per_host=2)
    followed = await service.records(job_id, "?follow=true")
    assert len({r["url"] for r in followed}) == len(followed) == 31
    assert (await service.job(job_id))["state"] == "completed"


async def test_bad_requests_get_json_errors_in_the_command_lines_words(
        site: Site, service: Service) -> None:
    """Bad JSON, an unknown setting, a bad value, a setting only the service sets, a bad seed,
    a bad schedule, bad rules: 400; a body over the cap: 413; an unknown job: 404; a state
    that does not allow the action: 409."""
    seed = site.url("/")
    cases = [
        (b"{nope", "the request body is not JSON"),
        (b'{"seeds": []}', "\"seeds\" must be a non-empty list of URLs"),
        (json.dumps({"seeds": [seed], "settings": {"max_pagez": 5}}).encode(),
         "unknown setting 'max_pagez'"),
        (json.dumps({"seeds": [seed], "settings": {"max_pages": "many"}}).encode(),
         "invalid setting max_pages='many' (from settings.max_pages): must be an integer"),
        (json.dumps({"seeds": [seed], "settings": {"outputs": ["/tmp/x.jsonl"]}}).encode(),
         "setting 'outputs' cannot be set over the API"),
        (json.dumps({"seeds": [seed], "settings": {"allow_networks": ["10.0.0.0/8"]}}).encode(),
         "setting 'allow_networks' cannot be set over the API"),
        (json.dumps({"seeds": [seed], "settings": {"extractor": "os:system"}}).encode(),
         "extractor 'os:system' is not one this service runs"),
        (json.dumps({"seeds": ["ftp://example.com/"]}).encode(), "seed 1 'ftp://example.com/'"),
        (json.dumps({"seeds": [seed], "schedule": "every day"}).encode(),
         "'every day' is not a cron expression"),
        (json.dumps({"seeds": [seed], "settings": {"extract": {"rule": [
            {"fields": {"t": "h1["}}]}}}).encode(), "invalid CSS selector 'h1['"),
        (json.dumps({"seeds": [seed], "colour": 1}).encode(), "unknown key 'colour'"),
    ]
    for raw, words in cases:
        status, body = await service.request("POST", "/jobs", raw=raw)
        assert status == 400 and words in body["error"], (raw, body)
    status, body = await service.request("POST", "/jobs", raw=b"x" * (2 << 20))
    assert status == 413 and "over" in body["error"]
    status, body = await service.request("GET", "/jobs/0123456789ab")
    assert status == 404 and body == {"error": "no job '0123456789ab'"}
    status, body = await service.request("GET", "/jobs?state=sleeping")
    assert status == 400 and "unknown state 'sleeping'" in body["error"]
    status, body = await service.request("GET", "/jobs/0123456789ab/records?limit=x")
    assert status == 404
    tree(site, 3)
    job_id = await service.submit([seed])
    await service.wait_for(job_id, "completed")
    status, body = await service.request("POST", f"/jobs/{job_id}/resume")
    assert status == 409 and body["error"] == f"job {job_id} is completed, not paused"
    status, body = await service.request("GET", f"/jobs/{job_id}/records?limit=99999")
    assert status == 400 and body["error"] == "limit must be an integer from 0 to 10000"


async def test_token_guards_every_endpoint_but_health_and_the_dashboard(tmp_path: Path,
                                                                       site: Site) -> None:
    """With --token, a missing or wrong bearer token gets 401 everywhere (/metrics too: it
    names the jobs) but /health and the dashboard's page."""
    service = await Service(tmp_path / "data", token="s3cret").start()
    try:
        for method, path in [("GET", "/jobs"), ("POST", "/jobs"), ("GET", "/jobs/x"),
                             ("GET", "/jobs/x/records"), ("GET", "/jobs/x/items"),
                             ("POST", "/jobs/x/pause"), ("POST", "/jobs/x/resume"),
                             ("POST", "/jobs/x/recrawl"), ("DELETE", "/jobs/x"),
                             ("GET", "/openapi.json"), ("GET", "/metrics")]:
            for token in ("", "wrong"):
                status, body = await service.request(method, path, token=token)
                assert status == 401 and "token" in body["error"], (method, path, token)
        for path in ("/health", "/"):
            status, _ = await service.request("GET", path, token="")
            assert status == 200, path
        tree(site, 2)
        job_id = await service.submit([site.url("/")])
        assert (await service.wait_for(job_id, "completed"))["pages"] == 3
        status, spec = await service.request("GET", "/openapi.json")
        assert status == 200 and spec["openapi"].startswith("3.1")
        assert {"/jobs", "/jobs/{id}", "/jobs/{id}/records", "/metrics"} <= set(spec["paths"])
    finally:
        service.stop()


def test_a_public_address_without_a_token_is_refused() -> None:
    out = subprocess.run([sys.executable, "-m", "crawler", "serve", "--listen",
                          "0.0.0.0:0", "--data-dir", "/nonexistent/never"],
                         cwd=ROOT, capture_output=True, text=True, timeout=30)
    assert out.returncode == 2
    assert out.stderr.strip() == (
        "crawler: error: --listen 0.0.0.0:0 is not a loopback address: give --token (or "
        "CRAWLER_SERVICE_TOKEN) so that only those who hold it can start crawls")


async def test_seeds_in_a_network_the_service_does_not_allow_are_refused_at_once(
        site: Site, service: Service) -> None:
    """The API's seeds are untrusted: a seed on 127.0.0.2 (a loopback decoy; the service
    allows only 127.0.0.1/32), or a name that resolves to it, is a 400 naming the seed, its
    address and the operator's flag; no job is made and the decoy sees nothing, while the
    same crawl from the command line would have allowed the seed's network."""
    decoy = await Site(host="127.0.0.2").start()
    try:
        decoy.page("/", "/secret")
        seed = decoy.url("/")
        status, body = await service.request("POST", "/jobs", {"seeds": [site.url("/"), seed]})
        assert status == 400, body
        assert body["error"] == (
            f"seed 2 {seed!r}: 127.0.0.2 is a loopback address, which this service's jobs do "
            "not crawl (its operator allows a network with serve --allow-network CIDR)")
        assert decoy.hits == Counter()
        status, jobs = await service.request("GET", "/jobs")
        assert status == 200 and jobs["jobs"] == []
        await service.submit([site.url("/")])  # the allowed network still is
    finally:
        await decoy.stop()


async def test_two_jobs_run_at_once_and_a_third_waits(tmp_path: Path) -> None:
    """--max-jobs 2: two jobs crawl at the same time, the third stays queued until one ends."""
    sites = [await Site().start() for _ in range(3)]
    service = await Service(tmp_path / "data", "--max-jobs", "2").start()
    try:
        for site in sites:
            site.delay = 0.1
            tree(site, 20)
        ids = [await service.submit([site.url("/")], per_host=1) for site in sites]
        seen_states: list[list[str]] = []
        for _ in range(600):
            # one GET /jobs is one snapshot; three GETs could straddle a job ending and the
            # next starting (CI once saw "running" three times that way)
            status, listing = await service.request("GET", "/jobs")
            assert status == 200, listing
            state_of = {job["id"]: job["state"] for job in listing["jobs"]}
            states = [state_of[i] for i in ids]
            seen_states.append(states)
            if all(s == "completed" for s in states):
                break
            await asyncio.sleep(0.05)
        assert ["running", "running", "queued"] in seen_states
        assert all(states.count("running") <= 2 for states in seen_states)
        assert seen_states[-1] == ["completed"] * 3
        for site in sites:
            assert all(n == 1 for n in site.page_hits().values())
    finally:
        service.stop()
        for site in sites:
            await site.stop()


async def test_pause_resume_cancel_and_recrawl(site: Site, service: Service) -> None:
    """Pause stops the crawl and keeps its state; resume finishes it with every page once;
    recrawl starts a new run; cancel stops it and keeps the records; DELETE stops a running
    job and removes it with its records (204, then 404), a completed one too."""
    site.delay = 0.15  # the crawl runs for seconds, so the pause falls inside it
    tree(site, 40)
    job_id = await service.submit([site.url("/")], per_host=1)
    await service.wait_for(job_id, "running")
    await service.wait_pages(job_id, 5)
    status, body = await service.request("POST", f"/jobs/{job_id}/pause")
    assert status == 200 and body["state"] == "paused"
    await asyncio.sleep(1.0)
    assert not service.child_pids()
    paused = await service.job(job_id)
    assert paused["state"] == "paused" and 5 <= paused["pages"] < 41
    status, _ = await service.request("POST", f"/jobs/{job_id}/resume")
    assert status == 200
    done = await service.wait_for(job_id, "completed")
    assert done["pages"] == 41 and done["runs"] == 2
    urls = Counter(r["url"] for r in await service.records(job_id, "?limit=10000"))
    assert len(urls) == 41 and set(urls.values()) == {1}
    status, body = await service.request("POST", f"/jobs/{job_id}/recrawl")
    assert status == 200 and body["state"] == "queued"
    await service.wait_for(job_id, "running")
    status, body = await service.request("POST", f"/jobs/{job_id}/cancel")
    assert status == 200 and body["state"] == "cancelled"
    await asyncio.sleep(1.0)
    assert (await service.job(job_id))["state"] == "cancelled" and not service.child_pids()
    assert len(await service.records(job_id, "?limit=10000")) >= 41  # the records stay
    # DELETE removes it: a cancelled job, and a running one (stopped first)
    running = await service.submit([site.url("/")], per_host=1)
    await service.wait_for(running, "running")
    for gone in (job_id, running):
        status, _ = await service.request("DELETE", f"/jobs/{gone}")
        assert status == 204
        for path in (f"/jobs/{gone}", f"/jobs/{gone}/records"):
            status, _ = await service.request("GET", path)
            assert status == 404
        status, _ = await service.request("DELETE", f"/jobs/{gone}")
        assert status == 404
    assert not service.child_pids()
    assert not [p for p in (service.data_dir / "jobs").iterdir() if p.name in (job_id, running)
                or p.name.startswith(".deleted-")]
    status, body = await service.request("GET", "/jobs")
    assert status == 200 and body["jobs"] == []


async def test_kill_9_of_the_service_resumes_every_job_with_each_page_once(
        tmp_path: Path, site: Site) -> None:
    """SIGKILL of the service mid-crawl takes its crawl processes with it; the next start
    resumes the job, and every page has exactly one record."""
    site.delay = 0.2  # the crawl runs for seconds, so the kill falls inside it
    tree(site, 60)
    data = tmp_path / "data"
    service = await Service(data).start()
    try:
        job_id = await service.submit([site.url("/")], per_host=2)
        await service.wait_pages(job_id, 10)
        children = service.child_pids()
        assert children and (await service.job(job_id))["state"] == "running"
        service.kill()
        for _ in range(100):
            if not any(alive(pid) for pid in children):
                break
            await asyncio.sleep(0.05)
        assert not any(alive(pid) for pid in children), "a crawl outlived its service"
    finally:
        service.stop()
    restarted = await Service(data).start()
    try:
        job = await restarted.wait_for(job_id, "completed", seconds=90)
        records = await restarted.records(job_id, "?limit=10000")
    finally:
        restarted.stop()
    urls = Counter(r["url"] for r in records)
    assert len(urls) == 61 and set(urls.values()) == {1}
    assert job["pages"] == 61


async def test_metrics_carry_a_job_label(site: Site, service: Service) -> None:
    """GET /metrics parses with prometheus-client's parser; each job is a `job` label."""
    tree(site, 5)
    job_id = await service.submit([site.url("/")])
    await service.wait_for(job_id, "completed")
    status, text = await service.request("GET", "/metrics")
    assert status == 200
    values = {(s.name, tuple(sorted(s.labels.items()))): s.value
              for family in text_string_to_metric_families(text) for s in family.samples}
    assert values[("crawler_pages_total", (("job", job_id), ("status_class", "2xx")))] == 6
    assert ("crawler_fetch_latency_seconds_count", (("job", job_id),)) in values


async def test_items_of_an_allowed_extractor(tmp_path: Path, site: Site) -> None:
    """A job may name an extraction function the service allows; its items page as records
    do."""
    service = await Service(tmp_path / "data", "--allow-extractor",
                            "tests.extractors:two_items").start()
    try:
        tree(site, 2)
        job_id = await service.submit([site.url("/")], extractor="tests.extractors:two_items")
        await service.wait_for(job_id, "completed")
        items = await service.records(job_id, "?limit=100", kind="items")
        assert len(items) == 6 and [i["cursor"] for i in items] == sorted(
            i["cursor"] for i in items)
        assert {i["data"]["n"] for i in items} == {0, 1}
        assert await service.records(job_id, f"?after={items[3]['cursor']}", kind="items") == \
            items[4:]
    finally:
        service.stop()


async def test_rules_object_schedule_and_caps(tmp_path: Path, site: Site) -> None:
    """Extraction rules given as an object fill the records' `data`; a job with a schedule
    runs again at its next turn (a recrawl, labelled); --max-seeds and --max-kept-jobs cap
    what the service takes."""
    service = await Service(tmp_path / "data", "--max-seeds", "2",
                            "--max-kept-jobs", "2", "--schedule-seconds").start()
    try:
        site.page("/", "/a", title="Home", extra="<h1>Welcome</h1>")
        site.page("/a", title="A", extra="<h1>Page A</h1>")
        status, body = await service.request("POST", "/jobs", {
            "seeds": [site.url("/")], "schedule": "* * * * * */2",
            "settings": {"extract": {"rule": [{"fields": {"heading": "h1"}}]}}})
        assert status == 201, body
        job_id = body["id"]
        first = await service.wait_for(job_id, "completed")
        assert first["next_run_at"] is not None and first["schedule"] == "* * * * * */2"
        assert first["settings"] == {"extract": {"rule": [{"fields": {"heading": "h1"}}]}}
        data = {r["url"]: r["data"] for r in await service.records(job_id)}
        assert data == {site.url("/"): {"heading": "Welcome"}, site.url("/a"): {
            "heading": "Page A"}}
        for _ in range(200):  # the next turn comes within two seconds
            job = await service.job(job_id)
            if job["runs"] == 2 and job["state"] == "completed":
                break
            await asyncio.sleep(0.1)
        assert job["runs"] == 2 and job["report"]["kind"] == "recrawl"
        changes = Counter(r["change"] for r in await service.records(job_id, "?limit=100"))
        assert changes["new"] == 2 and changes["unchanged"] == 2
        status, body = await service.request("POST", "/jobs", {"seeds": [
            site.url("/1"), site.url("/2"), site.url("/3")]})
        assert status == 400 and body["error"] == "3 seeds: a job takes at most 2"
        await service.request("DELETE", f"/jobs/{job_id}")
        second = await service.submit([site.url("/a")])
        await service.wait_for(second, "completed")
        third = await service.submit([site.url("/a")])  # the oldest ended job makes room
        status, listing = await service.request("GET", "/jobs")
        assert [j["id"] for j in listing["jobs"]] == [second, third]
    finally:
        service.stop()


async def test_a_seed_name_is_judged_by_the_addresses_it_resolves_to() -> None:
    """localhost resolves (through /etc/hosts, no DNS) to a loopback address: refused unless
    the service allows it; a public address is fine."""
    refused = await refused_seed(["https://93.184.215.14/", "http://localhost:8080/"], [])
    assert refused is not None and refused.startswith(
        "seed 2 'http://localhost:8080/': localhost is at ")
    assert "loopback address" in refused
    assert await refused_seed(["http://localhost:8080/"], ["127.0.0.0/8", "::1/128"]) is None
