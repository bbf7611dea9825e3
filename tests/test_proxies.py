"""Crawls through real proxies (tinyproxy for HTTP, microsocks for SOCKS5: bench/proxy_servers.py):
every request passes through the proxy, a host keeps its proxy, a failing proxy rests, the
address guard judges the target a proxy would connect to, the environment's proxies are used
only when asked, and a proxy's credentials appear nowhere."""

from __future__ import annotations

import asyncio
import base64
import json
import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bench.proxy_servers import MicroSocks, ProxyServer, TinyProxy
from tests.conftest import by_url
from tests.real_servers import require
from tests.service_process import Service
from tests.signin_site import API_KEY, USER, signin_routes
from tests.signin_site import PASSWORD as SITE_PASSWORD
from tests.site import Site
from tests.test_cli import one_line_error, run_cli

PASSWORD = "pr0xy-s3cret-pw"


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def crawl(seed: str, *args: str, cwd: Path) -> tuple[int, str, str]:
    (cwd / "seeds.txt").write_text(seed + "\n")
    return await run_cli("seeds.txt", *args, cwd=cwd)


def peers(site: Site) -> set[str]:
    return {address for _, address in site.peers}


@pytest.fixture
def proxies(tmp_path: Path) -> Iterator[list[ProxyServer]]:
    """Start proxies with `started(proxies.append(...))`; all are stopped after the test."""
    running: list[ProxyServer] = []
    yield running
    for proxy in running:
        proxy.stop()


def started(running: list[ProxyServer], proxy: ProxyServer) -> ProxyServer:
    require(proxy.installed(), proxy.binary)
    running.append(proxy)
    return proxy.start()


@pytest.fixture
async def tree(site: Site) -> AsyncIterator[Site]:
    """A site of 12 linked pages."""
    site.page("/", *(f"/p{i}" for i in range(11)))
    for i in range(11):
        site.page(f"/p{i}", "/")
    yield site


async def test_an_http_proxy_carries_every_request_and_its_password_shows_nowhere(
        tree: Site, proxies: list[ProxyServer], tmp_path: Path) -> None:
    proxy = started(proxies, TinyProxy(tmp_path, "127.0.0.4", "alice", PASSWORD))
    out = tmp_path / "out"
    code, stdout, err = await crawl(
        tree.url("/"), "--proxy", proxy.url, "--job-dir", str(tmp_path / "job"),
        "-o", str(out / "o.jsonl"), "-o", str(out / "o.csv"), "-o", str(out / "o.warc.gz"),
        "--status-file", str(out / "status.json"), "--log-level", "debug", cwd=tmp_path)
    assert code == 0, err
    records = by_url(read_jsonl(out / "o.jsonl"))
    assert len(records) == 12 and {r["status"] for r in records.values()} == {200}
    assert peers(tree) == {"127.0.0.4"}  # robots.txt too: nothing went direct
    forwarded = proxy.requests()
    assert sorted(forwarded) == sorted(tree.url(path) for path, _ in tree.peers)
    texts = [stdout, err, *(p.read_bytes().decode("latin-1") for p in out.iterdir()),
             *(p.read_bytes().decode("latin-1") for p in (tmp_path / "job").rglob("*")
               if p.is_file())]
    basic = base64.b64encode(f"alice:{PASSWORD}".encode()).decode()  # Proxy-Authorization
    assert not [t for t in texts if PASSWORD in t or basic in t]
    assert f"127.0.0.1:{proxy.port}" in err  # the log names the proxy, without its password


async def test_a_socks5_proxy_carries_every_request(tree: Site, proxies: list[ProxyServer],
                                                    tmp_path: Path) -> None:
    proxy = started(proxies, MicroSocks(tmp_path, "127.0.0.3", "bob", PASSWORD))
    code, _, err = await crawl(tree.url("/"), "--proxy", proxy.url,
                               "--job-dir", str(tmp_path / "job"),
                               "-o", str(tmp_path / "o.jsonl"), cwd=tmp_path)
    assert code == 0, err
    records = read_jsonl(tmp_path / "o.jsonl")
    assert len(records) == 12 and {r["status"] for r in records} == {200}
    assert peers(tree) == {"127.0.0.3"}
    assert proxy.connections() and set(proxy.connections()) == {tree.url("/")[7:-1]}


async def test_each_host_keeps_its_proxy_or_each_request_takes_the_next(
        two_sites: tuple[Site, Site], proxies: list[ProxyServer], tmp_path: Path) -> None:
    first, second = two_sites
    for site in two_sites:
        site.page("/", *(f"/p{i}" for i in range(8)), first.url("/"), second.url("/"))
        for i in range(8):
            site.page(f"/p{i}")
    http = started(proxies, TinyProxy(tmp_path, "127.0.0.4"))
    socks = started(proxies, MicroSocks(tmp_path, "127.0.0.3"))
    flags = ["--proxy", http.url, "--proxy", socks.url, "--scope", "any"]
    code, _, err = await crawl(first.url("/"), *flags, "--job-dir", str(tmp_path / "sticky"),
                               cwd=tmp_path)
    assert code == 0, err
    assert len(peers(first)) == 1 and len(peers(second)) == 1  # one proxy per host
    assert peers(first) | peers(second) == {"127.0.0.3", "127.0.0.4"}  # both used
    for site in two_sites:
        site.peers.clear()
    code, _, err = await crawl(first.url("/"), *flags, "--proxy-rotation", "request",
                               "--job-dir", str(tmp_path / "rotating"), cwd=tmp_path)
    assert code == 0, err
    assert peers(first) == peers(second) == {"127.0.0.3", "127.0.0.4"}


async def test_a_failing_proxy_rests_while_the_other_carries_the_crawl(
        tree: Site, proxies: list[ProxyServer], tmp_path: Path) -> None:
    attempts = 0

    async def refuse(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal attempts
        attempts += 1  # a proxy that takes the connection and drops it
        writer.close()

    dead = await asyncio.start_server(refuse, "127.0.0.1", 0)
    dead_port = dead.sockets[0].getsockname()[1]
    good = started(proxies, TinyProxy(tmp_path, "127.0.0.4"))
    try:
        code, _, err = await crawl(
            tree.url("/"), "--proxy", f"http://127.0.0.1:{dead_port}", "--proxy", good.url,
            "--proxy-rotation", "request", "--job-dir", str(tmp_path / "job"),
            "-o", str(tmp_path / "o.jsonl"), cwd=tmp_path)
    finally:
        dead.close()
    assert code == 0, err
    records = read_jsonl(tmp_path / "o.jsonl")
    assert len(records) == 12 and {r["status"] for r in records} == {200}
    assert 1 <= attempts <= 2  # tried, failed, left to rest (--proxy-cooldown 60)
    assert peers(tree) == {"127.0.0.4"}


async def test_a_proxy_that_refuses_gives_an_error_record_per_url(
        site: Site, proxies: list[ProxyServer], tmp_path: Path) -> None:
    site.page("/")
    proxy = started(proxies, MicroSocks(tmp_path, "127.0.0.3", "bob", PASSWORD))
    wrong = proxy.url.replace(PASSWORD, "wrong-password")
    code, _, err = await crawl(site.url("/"), "--proxy", wrong, "--retries", "0",
                               "--no-robots", "--job-dir", str(tmp_path / "job"),
                               "-o", str(tmp_path / "o.jsonl"), cwd=tmp_path)
    assert code == 4, err  # no seed got an answer
    (record,) = [r for r in read_jsonl(tmp_path / "o.jsonl") if r["url"] == site.url("/")]
    assert record["status"] is None
    assert record["error"].startswith(f"proxy socks5://127.0.0.1:{proxy.port}: "), record
    assert "wrong-password" not in json.dumps(record) + err
    assert not site.peers


async def test_the_guard_judges_the_target_a_proxy_connects_to(
        proxies: list[ProxyServer], tmp_path: Path) -> None:
    """A link to a name that resolves to a denied address: the proxy would resolve it and
    connect; the crawler resolves it first and refuses. The decoy gets no request."""
    decoy, seed = Site(), Site(host="127.0.0.2")
    await decoy.start()
    await seed.start()
    try:
        decoy.page("/secret")
        port = decoy.url("/").rsplit(":", 1)[1].rstrip("/")
        seed.page("/", f"http://localhost:{port}/secret")
        proxy = started(proxies, TinyProxy(tmp_path, "127.0.0.4", listen="127.0.0.5"))
        code, _, err = await crawl(
            seed.url("/"), "--proxy", proxy.url, "--scope", "any",
            "--deny-network", "127.0.0.1/32", "--deny-network", "::1/128",
            "--job-dir", str(tmp_path / "job"), "-o", str(tmp_path / "o.jsonl"), cwd=tmp_path)
        assert code == 0, err
        records = by_url(read_jsonl(tmp_path / "o.jsonl"))
        refused = records[f"http://localhost:{port}/secret"]
        assert refused["error"].startswith("address guard: "), refused
        assert not decoy.peers
        assert not [url for url in proxy.requests() if "localhost" in url]
    finally:
        await decoy.stop()
        await seed.stop()


async def test_a_proxy_on_a_refused_network_is_one_line_before_the_crawl(
        site: Site, tmp_path: Path) -> None:
    site.page("/")
    code, _, err = await crawl(site.url("/"), "--proxy", f"http://u:{PASSWORD}@127.0.0.9:3128",
                               "--deny-network", "127.0.0.9/32",
                               "--job-dir", str(tmp_path / "job"), cwd=tmp_path)
    assert code == 2
    one_line_error(err, "--proxy http://127.0.0.9:3128: address guard: 127.0.0.9 is in the "
                   "denied network")
    assert PASSWORD not in err
    assert not site.peers


@pytest.mark.parametrize("value", ["ftp://127.0.0.1:21", f"http://u:{PASSWORD}@host:port",
                                   "http://127.0.0.1:3128/path"])
async def test_a_bad_proxy_url_is_one_line(value: str, tmp_path: Path) -> None:
    code, _, err = await crawl("http://127.0.0.1:9/", "--proxy", value,
                               "--job-dir", str(tmp_path / "job"), cwd=tmp_path)
    assert code == 2
    one_line_error(err, "invalid setting proxies=[redacted]")
    assert PASSWORD not in err


async def test_the_environments_proxies_only_when_asked_and_no_proxy_goes_direct(
        two_sites: tuple[Site, Site], proxies: list[ProxyServer], tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch) -> None:
    first, second = two_sites
    first.page("/", second.url("/"))
    second.page("/")
    proxy = started(proxies, TinyProxy(tmp_path, "127.0.0.4"))
    monkeypatch.setenv("HTTP_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", "127.0.0.2")
    monkeypatch.delenv("http_proxy", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    assert os.environ["HTTP_PROXY"] == proxy.url
    code, _, err = await crawl(first.url("/"), "--scope", "any",
                               "--job-dir", str(tmp_path / "plain"), cwd=tmp_path)
    assert code == 0, err
    assert peers(first) == {"127.0.0.1"} and not proxy.requests()  # not asked: direct
    first.peers.clear()
    second.peers.clear()
    code, _, err = await crawl(first.url("/"), "--scope", "any", "--proxy-env",
                               "--job-dir", str(tmp_path / "env"), cwd=tmp_path)
    assert code == 0, err
    assert peers(first) == {"127.0.0.4"}  # through HTTP_PROXY
    assert peers(second) == {"127.0.0.1"}  # NO_PROXY: direct


async def test_the_service_takes_credentials_only_where_its_operator_allows_them(
        site: Site, proxies: list[ProxyServer], tmp_path: Path) -> None:
    """serve --allow-credentials: a job's header, cookies (a cookies.txt's text), sign-in
    fields and proxy are used, kept owner-only, and shown redacted; without it, refused."""
    flow = signin_routes(site)
    site.page("/", "/api/1", "/private/1")
    proxy = started(proxies, TinyProxy(tmp_path, "127.0.0.4", "alice", PASSWORD))
    cookies = "# Netscape HTTP Cookie File\n127.0.0.1\tFALSE\t/\tFALSE\t0\tpref\tdark-theme\n"
    settings = {"headers": [f"127.0.0.1 X-Api-Key: {API_KEY}"], "proxies": [proxy.url],
                "cookies": cookies, "login": site.url("/login"),
                "login_fields": [f"user={USER}", f"password={SITE_PASSWORD}"]}
    plain = await Service(tmp_path / "plain").start()
    try:
        for name, value in settings.items():
            status, body = await plain.request("POST", "/jobs", {
                "seeds": [site.url("/")], "settings": {name: value}})
            assert status == 400 and "serve --allow-credentials" in body["error"], body
            assert API_KEY not in body["error"] and PASSWORD not in body["error"]
    finally:
        plain.stop()
    service = await Service(tmp_path / "data", "--allow-credentials").start()
    try:
        status, body = await service.request("POST", "/jobs", {
            "seeds": [site.url("/")], "settings": {"cookies": "not a cookies file"}})
        assert status == 400 and "settings.cookies" in body["error"], body
        job_id = await service.submit([site.url("/")], **settings)
        job = await service.wait_for(job_id, "completed")
        records = {r["url"]: r for r in await service.records(job_id, "?limit=100")}
        assert records[site.url("/api/1")]["status"] == 200  # the header
        assert records[site.url("/private/1")]["status"] == 200  # the sign-in
        assert flow.logins == 1
        assert peers(site) == {"127.0.0.4"}  # the proxy
        assert any(h.get("Cookie", "").find("pref=dark-theme") >= 0 for _, h in site.headers)
        view = json.dumps(job)
        for secret in (API_KEY, PASSWORD, SITE_PASSWORD, "dark-theme"):
            assert secret not in view, secret
        assert job["settings"]["headers"] == ["127.0.0.1 X-Api-Key: [redacted]"]
        assert job["settings"]["proxies"] == [f"http://127.0.0.1:{proxy.port}"]
        job_dir = tmp_path / "data" / "jobs" / job_id
        assert job_dir.stat().st_mode & 0o077 == 0  # the spec holds them: owner-only
        log = (job_dir / "crawl.log").read_text()
        for secret in (API_KEY, PASSWORD, SITE_PASSWORD):
            assert secret not in log
    finally:
        service.stop()
