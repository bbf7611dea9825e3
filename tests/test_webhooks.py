"""Change notifications: after a job's first run, each run POSTs the pages it found new,
changed or gone to --webhook, in batches signed as Standard Webhooks sign them, with a diff
of the content and the data fields that changed; a receiver that fails is tried again, a crawl
killed mid-delivery delivers the rest at its next start (each change under one id), and a
webhook the address guard refuses is refused before the crawl (CLI) or at POST /jobs."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from crawler.notify.signing import verify
from tests.service_process import Service
from tests.site import Site
from tests.test_cli import clean_env, one_line_error, run_cli

SECRET = "whsec_" + "c2VjcmV0LWZvci10aGUtdGVzdHM="  # base64, as Standard Webhooks issues them


@dataclass
class Receiver:
    """A webhook receiver on loopback: it answers `fail` requests with 503 first, then takes
    each delivery (after `delay` seconds) and keeps it."""

    fail: int = 0
    delay: float = 0.0
    taken: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    refused: int = 0
    url: str = ""

    async def handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        if self.fail > 0:
            self.fail -= 1
            self.refused += 1
            return web.Response(status=503)
        await asyncio.sleep(self.delay)
        self.taken.append((dict(request.headers), body))
        return web.Response(status=204)

    def changes(self) -> list[dict[str, Any]]:
        return [change for _, body in self.taken for change in json.loads(body)["changes"]]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    hook.url = f"http://127.0.0.1:{port}/hook"
    yield hook
    await runner.cleanup()


def page(title: str, text: str, price: str, *links: str, head: str = "") -> bytes:
    anchors = "".join(f'<a href="{link}">{link}</a> ' for link in links)
    return (f"<html><head><title>{title}</title>{head}</head><body><article><h1>{title}</h1>"
            f"<p>{text}</p><p>More words about {title} so that the page has a body.</p>"
            f'<span class="price">{price}</span></article><nav>{anchors}</nav></body></html>'
            ).encode()


async def test_a_recrawl_sends_what_changed_came_and_went_signed(
        tmp_path: Path, site: Site, receiver: Receiver) -> None:
    """The first run is the baseline (nothing sent); the recrawl sends the changed page with
    a diff of its content and its changed price, the new page with its data, and the gone
    page, each once, in signed deliveries, but not the page whose only change was a link in
    its scripts; a recrawl with nothing changed sends nothing."""
    site.add("/", page("Home", "Welcome.", "0", "/a", "/b"))
    site.add("/a", page("Alpha", "The old line of alpha.", "10"))
    site.add("/b", page("Beta", "Beta stays a while.", "20"))
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    (tmp_path / "rules.toml").write_text('[[rule]]\nfields = { price = ".price" }\n')
    common = ["seeds.txt", "--extract", "rules.toml", "--content", "text", "--webhook",
              receiver.url, "--webhook-batch", "2"]
    env = {"CRAWLER_WEBHOOK_SECRET": SECRET}
    code, _, err = await run_cli(*common, cwd=tmp_path, env=env)
    assert code == 0, err
    assert receiver.taken == []  # the baseline
    assert SECRET not in err

    site.add("/", page("Home", "Welcome.", "0", "/a", "/b",
                       head='<script src="/app.js?v=2"></script>'))
    site.add("/a", page("Alpha", "The new line of alpha.", "12", "/c"))
    site.add("/b", b"gone", status=404)
    site.add("/c", page("Gamma", "Gamma is new here.", "30"))
    code, _, err = await run_cli(*common, "--recrawl", cwd=tmp_path, env=env)
    assert code == 0, err
    assert len(receiver.taken) == 2  # three changes, two a batch
    for headers, body in receiver.taken:
        assert verify(SECRET, headers, body)
        assert not verify("another secret", headers, body)
        assert headers["webhook-id"] == json.loads(body)["id"]
        assert headers["Content-Type"] == "application/json"
    changes = {change["url"]: change for change in receiver.changes()}
    assert {url: change["change"] for url, change in changes.items()} == {
        site.url("/a"): "changed", site.url("/b"): "gone", site.url("/c"): "new"}
    alpha = changes[site.url("/a")]
    assert "-The old line of alpha." in alpha["diff"].splitlines()
    assert "+The new line of alpha." in alpha["diff"].splitlines()
    assert alpha["data_changes"] == {"price": {"before": "10", "after": "12"}}
    assert changes[site.url("/c")]["data"] == {"price": "30"}
    assert changes[site.url("/b")]["status"] == 404
    assert len({change["id"] for change in changes.values()}) == 3
    report = json.loads((tmp_path / "crawl-job" / "report.json").read_text())
    assert report["by_change"]["changed"] == 2  # "/" too: its bytes changed, in a <script>
    assert report["webhooks"] == {"delivered": 3, "pending": 0, "failed": 0}

    code, _, err = await run_cli(*common, "--recrawl", cwd=tmp_path, env=env)
    assert code == 0, err
    assert len(receiver.taken) == 2  # nothing changed: nothing sent


async def test_deliveries_outlive_a_failing_receiver_and_a_kill(
        tmp_path: Path, site: Site, receiver: Receiver) -> None:
    """200 pages change; the receiver fails its first two deliveries (tried again with
    backoff) and is slow, and the crawl is killed with -9 while it delivers. The same command
    again delivers the rest: every change arrives, each under one id, no batch is made twice,
    and only a batch in flight at the kill may arrive twice."""
    version = {"n": 1}

    async def numbered(request: web.Request) -> web.Response:
        return web.Response(body=page(request.path, f"Version {version['n']} of "
                                      f"{request.path}.", "1"), content_type="text/html")
    site.add("/", page("Home", "Index.", "0", *[f"/p{n}" for n in range(200)]))
    for n in range(200):
        site.route(f"/p{n}", numbered)
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    command = ["seeds.txt", "--content", "text", "--webhook", receiver.url,
               "--webhook-batch", "10", "--webhook-secret", SECRET]
    code, _, err = await run_cli(*command, cwd=tmp_path)
    assert code == 0, err
    version["n"] = 2
    receiver.fail, receiver.delay = 2, 0.4
    crawl = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "crawler", *command, "--recrawl", cwd=tmp_path, env=clean_env(),
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
    for _ in range(600):
        if len(receiver.taken) >= 5:
            break
        await asyncio.sleep(0.05)
    assert len(receiver.taken) >= 5
    crawl.send_signal(signal.SIGKILL)
    await crawl.wait()
    assert receiver.refused == 2
    taken_before = len(receiver.taken)
    receiver.delay = 0.0
    code, _, err = await run_cli(*command, cwd=tmp_path)
    assert code == 0, err
    changes = receiver.changes()
    ids_by_url: dict[str, set[str]] = {}
    for change in changes:
        ids_by_url.setdefault(change["url"], set()).add(change["id"])
        assert change["change"] == "changed"
    assert set(ids_by_url) == {site.url(f"/p{n}") for n in range(200)}
    assert all(len(ids) == 1 for ids in ids_by_url.values())
    batches_of: dict[str, set[str]] = {}  # change id -> the deliveries that carried it
    for headers, body in receiver.taken:
        assert len(json.loads(body)["changes"]) <= 10
        for change in json.loads(body)["changes"]:
            batches_of.setdefault(change["id"], set()).add(headers["webhook-id"])
    assert all(len(batches) == 1 for batches in batches_of.values())  # each batched once
    deliveries = Counter(headers["webhook-id"] for headers, _ in receiver.taken)
    assert sum(deliveries.values()) - len(deliveries) <= 1  # the one in flight at the kill
    assert len(receiver.taken) > taken_before
    report = json.loads((tmp_path / "crawl-job" / "report.json").read_text())
    assert report["webhooks"]["delivered"] == 200 and report["webhooks"]["pending"] == 0


async def test_a_webhook_the_guard_refuses_is_one_line_before_the_crawl(
        tmp_path: Path, site: Site) -> None:
    site.page("/")
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    code, _, err = await run_cli("seeds.txt", "--webhook", "http://10.1.2.3/hook",
                                 cwd=tmp_path)
    assert code == 2
    one_line_error(err, "--webhook http://10.1.2.3/...: address guard: 10.1.2.3 is a private")
    assert "/hook" not in err  # a receiver's path may be its secret: only its origin is named
    assert site.page_hits() == Counter()
    code, _, err = await run_cli("seeds.txt", "--webhook", "http://user:pw@127.0.0.1/",
                                 cwd=tmp_path)
    assert code == 2
    one_line_error(err, "must not carry user:password")


async def test_a_service_job_notifies_and_never_shows_its_secret(
        tmp_path: Path, site: Site, receiver: Receiver) -> None:
    """Over the API: a webhook on an address the service does not crawl is a 400 naming
    it; a job's view redacts its secret; its recrawl delivers the change, signed."""
    site.add("/", page("Home", "First words.", "1"))
    service = await Service(tmp_path / "data").start()
    try:
        status, body = await service.request("POST", "/jobs", {
            "seeds": [site.url("/")], "settings": {"webhook": "http://127.0.0.2:9/hook"}})
        assert status == 400 and "setting webhook" in body["error"], body
        assert "127.0.0.2 is a loopback address" in body["error"]
        job_id = await service.submit([site.url("/")], content="text",
                                      webhook=receiver.url, webhook_secret=SECRET)
        job = await service.wait_for(job_id, "completed")
        assert job["settings"]["webhook_secret"] == "[redacted]"
        assert receiver.taken == []
        site.add("/", page("Home", "Second words.", "1"))
        status, _ = await service.request("POST", f"/jobs/{job_id}/recrawl")
        assert status == 200
        job = await service.wait_for(job_id, "completed")
        assert job["report"]["webhooks"]["delivered"] == 1
        (headers, body_bytes), = receiver.taken
        assert verify(SECRET, headers, body_bytes)
        (change,) = json.loads(body_bytes)["changes"]
        assert change["change"] == "changed" and "+Second words." in change["diff"]
        assert SECRET not in (tmp_path / "data").joinpath(
            "jobs", job_id, "crawl.log").read_text()
    finally:
        service.stop()


def test_the_outbox_batches_every_change_once_past_a_read(tmp_path: Path) -> None:
    """2,500 changed records among 5,000 of a second run (more than one read of records), 500
    of them changed only outside their content and data: 2,000 changes batched 100 a batch,
    each once; the first run's pages are its baseline; the diff and the changed fields come
    from the page's record of the run before."""
    from crawler.jobs.state import JobState
    from crawler.notify.outbox import Outbox

    state = JobState.open(tmp_path)
    db = state._db
    db.execute("INSERT INTO runs (run_id, started_at, outcome, sessions) VALUES "
               "('r1', 'a', 'completed', 1), ('r2', 'b', 'running', 1)")
    rows = [(f"https://a.example/{n}", "r1", "new", f"line one\nline {n}", '{"n": 1}')
            for n in range(5000)]
    rows += [(f"https://a.example/{n}", "r2", "changed" if n % 2 else "unchanged",
              f"line one\nline {n}" + ("" if n % 10 == 1 else " changed"),
              '{"n": 1}' if n % 10 == 1 else '{"n": 2}') for n in range(5000)]
    db.executemany("INSERT INTO pages (url, run_id, change, content, data, status) VALUES "
                   "(?, ?, ?, ?, ?, 200)", rows)
    outbox = Outbox(tmp_path / "crawl.db", "job", 100)
    assert outbox.collect() == 2000 and outbox.collect() == 0
    bodies = [json.loads(body) for (body,) in outbox.db.execute(
        "SELECT body FROM webhook_batches ORDER BY seq")]
    assert len(bodies) == 20 and {len(body["changes"]) for body in bodies} == {100}
    changes = [change for body in bodies for change in body["changes"]]
    assert len({change["id"] for change in changes}) == 2000
    assert not any(change["url"].endswith("1") for change in changes)  # boilerplate only
    first = changes[0]
    assert first["url"] == "https://a.example/3" and first["change"] == "changed"
    assert first["diff"].splitlines()[-2:] == ["-line 3", "+line 3 changed"]
    assert first["data_changes"] == {"n": {"before": 1, "after": 2}}
    outbox.close()
    state.close()


def test_signatures_are_standard_webhooks_ones() -> None:
    """The example of the Standard Webhooks libraries' own tests (standard-webhooks/
    standard-webhooks): the same secret, id, timestamp and body give the same signature; a
    stale timestamp or another body does not verify."""
    from crawler.notify.signing import signature, signed_headers

    secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"
    body = b'{"test": 2432232314}'
    assert signature(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330, body) == (
        "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
    headers = signed_headers(secret, "msg_p5jXN8AQM9LWM0D4loKWxJek", body, 1614265330)
    assert verify(secret, headers, body, now=1614265330 + 299)
    assert not verify(secret, headers, body, now=1614265330 + 301)
    assert not verify(secret, headers, body + b" ", now=1614265330)
