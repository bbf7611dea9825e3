"""System: --render with Debian's real Chromium, headless. A single-page app's content and
links appear; a page that never settles, or loops forever, costs at most its deadline; a page
cannot make the browser reach a denied address; dialogs and popups never stall a tab; a tab
that dies takes one page, not the crawl; --render auto renders what needs it."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from crawler.errors import UsageError
from crawler.render.browser import chromium_binary
from tests.conftest import by_url
from tests.real_servers import RedisServer, require
from tests.service_process import Service
from tests.site import Site
from tests.test_cli import clean_env, run_cli
from tests.test_cluster import Workers
from tests.test_orphans import alive, descendants

pytestmark = pytest.mark.system

BUILT_LATER = """<!doctype html><html><head><title>app</title></head><body><div id="root"></div>
<script>setTimeout(function () {
  document.getElementById('root').innerHTML =
    '<h1>Built by script</h1><p>' + 'words '.repeat(80) + '</p><a href="/built/1">one</a>' +
    '<a href="/built/2">two</a><a href="/built/3">three</a>';
}, 300);</script></body></html>"""


@pytest.fixture(autouse=True)
def needs_chromium() -> None:
    try:
        chromium_binary()
    except UsageError:
        require(False, "chromium")


def app_page(site: Site, path: str, body: str) -> None:
    site.add(path, body.encode(), content_type="text/html; charset=utf-8")


async def test_a_single_page_app_is_rendered_with_its_links(site: Site, crawl: Any) -> None:
    app_page(site, "/", BUILT_LATER)
    for n in (1, 2, 3):
        site.page(f"/built/{n}")
    static = by_url(await crawl([site.url("/")]))
    assert static[site.url("/")]["links"] == [] and len(static) == 1
    records = by_url(await crawl([site.url("/")], render="always"))
    home = records[site.url("/")]
    assert home["rendered"] and home["render_error"] is None and home["render_ms"] > 0
    assert home["links"] == [site.url(f"/built/{n}") for n in (1, 2, 3)]
    assert {site.url(f"/built/{n}") for n in (1, 2, 3)} <= set(records)
    assert site.page_hits()["/"] == 2  # once a crawl: the browser got the crawler's copy


async def test_a_warc_keeps_the_response_and_the_rendered_page(site: Site, crawl: Any,
                                                               tmp_path: Path) -> None:
    """The server's answer stays a `response` record; the DOM the record was taken from is a
    `conversion` record that refers to it."""
    from warcio.archiveiterator import ArchiveIterator

    app_page(site, "/", BUILT_LATER)
    await crawl([site.url("/")], render="always", max_depth=0,
                outputs=[str(tmp_path / "out.jsonl"), str(tmp_path / "crawl.warc.gz")])
    [warc] = list(tmp_path.glob("crawl-*.warc.gz"))  # noqa: ASYNC240 (serial-numbered files)
    with warc.open("rb") as stream:
        records = [(r.rec_type, r.rec_headers.get_header("WARC-Record-ID"),
                    r.rec_headers.get_header("WARC-Refers-To"), r.content_stream().read())
                   for r in ArchiveIterator(stream)]
    response = next(r for r in records if r[0] == "response")
    conversion = next(r for r in records if r[0] == "conversion")
    built = b'<div id="root"><h1>Built by script</h1>'
    assert b'<div id="root"></div>' in response[3] and built not in response[3]
    assert built in conversion[3] and conversion[2] == response[1]


async def test_rules_and_content_read_the_rendered_page(site: Site, crawl: Any,
                                                        tmp_path: Path) -> None:
    app_page(site, "/", BUILT_LATER)
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\n[rule.fields]\nheading = "h1"\n')
    records = by_url(await crawl([site.url("/")], render="always", extract=str(rules),
                                 content="text", max_depth=0))
    home = records[site.url("/")]
    assert home["data"] == {"heading": "Built by script"}
    assert "words words" in home["content"]


async def test_a_page_that_never_settles_costs_its_deadline(site: Site, crawl: Any) -> None:
    """A DOM changed every 20 ms forever, and a script that never returns: each ends at
    --render-timeout with the DOM as it was (or the static page), and a record that says so."""
    app_page(site, "/", '<a href="/busy">b</a><a href="/loop">l</a>' + "<p>x</p>" * 50)
    app_page(site, "/busy", "<div id=n></div><script>var i = 0; setInterval(function () {"
             "document.getElementById('n').textContent = i++; }, 20);</script>"
             "<a href='/after-busy'>next</a>")
    app_page(site, "/loop", "<p>static text</p><a href='/after-loop'>next</a><script>"
             "setTimeout(function () { while (true) {} }, 50);</script>")
    site.page("/after-busy")
    site.page("/after-loop")
    started = time.monotonic()
    records = by_url(await crawl([site.url("/")], render="always", render_timeout=3))
    assert time.monotonic() - started < 30
    busy, loop = records[site.url("/busy")], records[site.url("/loop")]
    for record in (busy, loop):
        assert record["render_error"].startswith("render: the page did not settle"), record
        assert record["render_ms"] < 3000 + 4000
        assert record["status"] == 200 and record["error"] is None
    assert busy["rendered"] and site.url("/after-busy") in busy["links"]
    assert site.url("/after-loop") in loop["links"]
    assert {site.url("/after-busy"), site.url("/after-loop")} <= set(records)


async def test_a_page_cannot_make_the_browser_reach_a_denied_address(site: Site,
                                                                     crawl: Any) -> None:
    """The page's script fetches, images, frames, beacons and a WebSocket aimed at a server on
    127.0.0.2 (denied: only the seed's own address is allowed) get nowhere: that server sees
    no request at all, while the page's own script on the seed's host loads."""
    decoy = Site()
    await decoy.start()
    port = int(decoy.url().rsplit(":", 1)[1].split("/")[0])
    target = f"127.0.0.2:{port}"
    try:
        decoy.page("/decoy")
        site.add("/app.js", b"document.getElementById('out').textContent = 'script ran';",
                 content_type="application/javascript")
        app_page(site, "/", f"""<div id="out"></div><script src="/app.js"></script>
<img src="http://{target}/img.png"><iframe src="http://{target}/frame"></iframe>
<link rel="stylesheet" href="http://{target}/style.css">
<script>fetch('http://{target}/decoy').catch(function () {{}});
var x = new XMLHttpRequest(); x.open('GET', 'http://{target}/xhr'); x.send();
navigator.sendBeacon('http://{target}/beacon', 'x');
try {{ new WebSocket('ws://{target}/ws'); }} catch (e) {{}}
new Image().src = 'http://{target}/pixel';</script>""")
        records = by_url(await crawl([site.url("/")], render="always", render_settle_ms=300))
        home = records[site.url("/")]
        assert home["rendered"], home
        assert sum(decoy.page_hits().values()) == 0, decoy.page_hits()
        assert site.page_hits()["/app.js"] == 1
    finally:
        await decoy.stop()


async def test_dialogs_popups_and_downloads_never_stall_a_tab(site: Site, crawl: Any) -> None:
    app_page(site, "/", """<p id=p>before</p><script>
alert('hello'); confirm('sure?'); prompt('name?');
window.open('/popup'); window.open('/popup2', '_blank');
var a = document.createElement('a'); a.href = '/file.bin'; a.download = 'f.bin';
document.body.appendChild(a); a.click();
window.onbeforeunload = function () { return 'stay'; };
document.getElementById('p').textContent = 'after dialogs';</script>""")
    site.add("/file.bin", b"\0" * 1000, content_type="application/octet-stream")
    started = time.monotonic()
    records = by_url(await crawl([site.url("/")], render="always", render_timeout=15))
    home = records[site.url("/")]
    assert home["rendered"] and home["render_error"] is None, home
    assert time.monotonic() - started < 12
    assert site.page_hits()["/popup"] == 0 and site.page_hits()["/popup2"] == 0


async def test_a_tab_that_dies_costs_one_page(site: Site, crawl: Any) -> None:
    """A page that allocates until its renderer dies is tried once more, then recorded with
    the static page and an error; the pages after it render as before."""
    app_page(site, "/", '<a href="/hog">h</a><a href="/fine">f</a><p>index</p>' * 3)
    app_page(site, "/hog", "<p>hog</p><a href='/after-hog'>a</a><script>var keep = [];"
             "setTimeout(function () { while (true) { keep.push(new Array(1e7).fill(1)); } },"
             " 10);</script>")
    app_page(site, "/fine", BUILT_LATER)
    site.page("/after-hog")
    for n in (1, 2, 3):
        site.page(f"/built/{n}")
    records = by_url(await crawl([site.url("/")], render="always", render_timeout=20,
                                 render_tabs=2))
    hog = records[site.url("/hog")]
    assert hog["render_error"] is not None and hog["status"] == 200, hog
    assert site.url("/after-hog") in hog["links"]  # the static page's links still count
    fine = records[site.url("/fine")]
    assert fine["rendered"] and fine["render_error"] is None
    assert {site.url(f"/built/{n}") for n in (1, 2, 3)} <= set(records)


async def test_auto_renders_what_needs_it(site: Site, crawl: Any) -> None:
    """A site of 60 pages rendered by the server (with scripts of their own), 40 single-page
    app pages (an empty root) and 40 pages whose server sends text but whose links a script
    builds: --render auto renders the ones that need it (both shares at least 95%)."""
    needs: dict[str, bool] = {}

    def add(path: str, body: str, needed: bool) -> None:
        app_page(site, path, body)
        needs[site.url(path)] = needed

    words = "<p>" + "server text " * 60 + "</p>"
    index = "".join(f'<a href="/docs/{n}">d</a>' for n in range(60)) + \
        "".join(f'<a href="/app/{n}">a</a><a href="/hybrid/{n}">h</a>' for n in range(40))
    add("/", words + index + "<script>var analytics = 1;</script>", False)
    for n in range(60):
        add(f"/docs/{n}", words + f'<a href="/docs/{(n + 1) % 60}">next</a>'
            "<script>window.dataLayer = [];</script>", False)
    for n in range(40):
        add(f"/app/{n}", '<div id="app"></div><script>document.getElementById("app")'
            f'.innerHTML = "<h1>App {n}</h1><p>" + "built text ".repeat(50) + "</p>'
            f'<a href=/app/{(n + 1) % 40}>n</a><a href=/docs/{n}>d</a>";</script>', True)
        add(f"/hybrid/{n}", words + '<nav id="menu"></nav><script>var m = '
            'document.getElementById("menu"); for (var i = 0; i < 8; i++) {'
            ' var a = document.createElement("a"); a.href = "/hybrid/" + i; '
            'a.textContent = "h" + i; m.appendChild(a); }</script>', True)
    records = by_url(await crawl([site.url("/")], render="auto", render_settle_ms=100,
                                 concurrency=8, per_host=4))
    assert set(records) == set(needs)
    rendered = {url for url, record in records.items() if record["rendered"]}
    needed = {url for url, need in needs.items() if need}
    precision = len(rendered & needed) / len(rendered)
    recall = len(rendered & needed) / len(needed)
    print(f"auto: rendered {len(rendered)}, needed {len(needed)}, precision "
          f"{precision:.3f}, recall {recall:.3f}")
    assert precision >= 0.95 and recall >= 0.95


async def test_no_chromium_is_a_one_line_error(site: Site, crawl: Any) -> None:
    site.page("/")
    with pytest.raises(UsageError, match="--render needs Chromium: no-such-browser"):
        await crawl([site.url("/")], render="always", render_browser="no-such-browser")


def test_render_options_have_service_ceilings() -> None:
    from crawler.service.spec import CEILINGS, SERVICE_ONLY

    assert CEILINGS["render_tabs"] <= 16 and "render_browser" in SERVICE_ONLY



def _session_of(pid: int) -> int | None:
    try:
        return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[3])
    except (OSError, ValueError, IndexError):
        return None


def _command(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
    except OSError:
        return ""


def in_sessions(sessions: set[int]) -> set[int]:
    """Every live Chromium process in one of `sessions` (its helpers may leave the tree)."""
    return {int(entry) for entry in os.listdir("/proc") if entry.isdigit()
            and _session_of(int(entry)) in sessions and alive(int(entry))
            and "chromium" in _command(int(entry))}


async def test_kill_9_mid_render_leaves_no_browser_and_resume_renders_every_page_once(
        site: Site, tmp_path: Path) -> None:
    pages = 40
    site.delay = 0.05
    app_page(site, "/", "".join(f'<a href="/app/{n}">{n}</a>' for n in range(pages)) +
             "<p>index</p>" * 40)
    for n in range(pages):
        app_page(site, f"/app/{n}", '<div id="app"></div><script>setTimeout(function () {'
                 f'document.getElementById("app").innerHTML = "<h1>page {n}</h1>";'
                 "}, 200);</script>")
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    command = [sys.executable, "-m", "crawler", "seeds.txt", "--render", "always", "--quiet",
               "--render-tabs", "2", "-o", "out.jsonl"]
    proc = await asyncio.create_subprocess_exec(*command, cwd=tmp_path, env=clean_env(),
                                                stderr=asyncio.subprocess.DEVNULL)
    browsers: set[int] = set()
    for _ in range(400):
        out = tmp_path / "out.jsonl"
        browsers = {pid for pid in descendants(proc.pid) if "chromium" in _command(pid)}
        if browsers and out.exists() and len(out.read_text().splitlines()) >= 5:
            break
        await asyncio.sleep(0.05)
    assert browsers, "no Chromium started"
    sessions = {session for pid in browsers if (session := _session_of(pid)) is not None}
    assert os.getsid(0) not in sessions and 0 not in sessions
    everything = in_sessions(sessions) | descendants(proc.pid)
    proc.send_signal(signal.SIGKILL)
    await proc.wait()
    for _ in range(100):
        left = [pid for pid in everything | in_sessions(sessions) if alive(pid)]
        if not left:
            break
        await asyncio.sleep(0.05)
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"processes left behind: {left}"
    again = await asyncio.create_subprocess_exec(*command, cwd=tmp_path, env=clean_env(),
                                                 stderr=asyncio.subprocess.PIPE)
    _, err = await again.communicate()
    assert again.returncode == 0, err.decode()
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    urls = [record["url"] for record in records]
    assert sorted(urls) == sorted({site.url("/"), *(site.url(f"/app/{n}") for n in range(pages))})
    assert all(record["rendered"] for record in records if "/app/" in record["url"])


async def test_the_browser_is_restarted_by_page_count_and_memory() -> None:
    """--render-restart-pages 3 over 7 pages restarts the browser twice; a memory cap below
    what one browser takes restarts it at its next reading; every page still renders."""
    from crawler.render.browser import chromium_binary as binary
    from crawler.render.pool import Renderer
    from crawler.render.tab import Answer

    async def fetch(url: str, method: str, headers: dict[str, str], body: bytes | None) -> str:
        return "not fetched"

    async def policy(url: str, kind: str, main_frame: bool) -> str | None:
        return None

    page = Answer(200, [("Content-Type", "text/html")], BUILT_LATER.encode())
    for pages, restart_pages, memory_mb, restarts in ((7, 3, 4096, 2), (4, 1000, 64, 1)):
        async with Renderer(binary(), fetch, policy, tabs=1, restart_pages=restart_pages,
                            memory_mb=memory_mb) as renderer:
            results = [await renderer.render(f"http://127.0.0.1:9/{n}", page)
                       for n in range(pages)]
            assert all(r.html is not None and "Built by script" in r.html for r in results)
            assert renderer.restarts == restarts if memory_mb > 64 else renderer.restarts >= 1


async def test_a_warmed_pool_opens_its_tabs_once_in_one_context() -> None:
    """warm() starts the browser and opens `tabs` tabs; pages that arrive meanwhile wait for
    them rather than open more; every tab is in one browser context."""
    from crawler.render.browser import chromium_binary as binary
    from crawler.render.pool import Renderer
    from crawler.render.tab import Answer

    async def fetch(url: str, method: str, headers: dict[str, str], body: bytes | None) -> str:
        return "not fetched"

    async def policy(url: str, kind: str, main_frame: bool) -> str | None:
        return None

    page = Answer(200, [("Content-Type", "text/html")], BUILT_LATER.encode())
    async with Renderer(binary(), fetch, policy, tabs=3) as renderer:
        renderer.warm()
        results = await asyncio.gather(*(renderer.render(f"http://127.0.0.1:9/{n}", page)
                                         for n in range(9)))
        assert all(r.html is not None and "Built by script" in r.html for r in results)
        assert renderer.browser is not None
        targets = await renderer.browser.connection.send("Target.getTargets")
        pages = [t for t in targets["targetInfos"] if t["type"] == "page"]
        ours = [t for t in pages if t["browserContextId"] == renderer.browser.context]
        assert len(ours) == 3
        assert [t["url"] for t in pages if t not in ours] == ["about:blank"]  # the startup one


def spa_site(site: Site) -> None:
    """/p0: an app whose links a script builds; /built/N: plain pages."""
    app_page(site, "/p0", BUILT_LATER)
    for n in (1, 2, 3):
        site.page(f"/built/{n}")


async def test_a_cluster_worker_renders(site: Site, redis_server: RedisServer, pg_dsn: str,
                                        tmp_path: Path) -> None:
    spa_site(site)
    workers = Workers(tmp_path, redis_server.url, pg_dsn)
    await workers.seed([site])
    worker = await workers.worker("--render", "always", "--render-tabs", "2")
    assert await workers.wait_all([worker], 90) == [0], workers.log(1)
    db = await asyncpg.connect(pg_dsn)
    try:
        rows = {row["url"]: row for row in await db.fetch(
            "SELECT url, rendered, render_ms FROM pages")}
    finally:
        await db.close()
    assert rows[site.url("/p0")]["rendered"] and rows[site.url("/p0")]["render_ms"] > 0
    assert {site.url(f"/built/{n}") for n in (1, 2, 3)} <= set(rows)


async def test_a_service_job_renders_within_the_services_caps(site: Site,
                                                              tmp_path: Path) -> None:
    spa_site(site)
    service = await Service(tmp_path / "data").start()
    try:
        job_id = await service.submit([site.url("/p0")], render="always", render_tabs=2)
        job = await service.wait_for(job_id, "completed")
        assert job["pages"] == 4, job
        records = {r["url"]: r for r in await service.records(job_id, "")}
        assert records[site.url("/p0")]["rendered"] is True
        for settings in ({"render_browser": "/bin/sh"}, {"render_tabs": 64}):
            status, answer = await service.request("POST", "/jobs", {
                "seeds": [site.url("/p0")], "settings": settings})
            assert status == 400 and "render_" in answer["error"], answer
    finally:
        service.stop()


async def test_a_finished_job_run_again_with_render_says_its_data_is_stale(
        site: Site, tmp_path: Path) -> None:
    """Rendering changes what a page's record holds: a finished job run again with --render
    refuses with one line naming --recrawl, and --recrawl renders its pages."""
    spa_site(site)
    (tmp_path / "seeds.txt").write_text(site.url("/p0") + "\n")
    code, _, err = await run_cli("seeds.txt", "-o", "out.jsonl", cwd=tmp_path)
    assert code == 0, err
    code, _, err = await run_cli("seeds.txt", "-o", "out.jsonl", "--render", "always",
                                 cwd=tmp_path)
    assert code == 2 and "--render" in err and "add --recrawl" in err, err
    code, _, err = await run_cli("seeds.txt", "-o", "out.jsonl", "--render", "always",
                                 "--recrawl", cwd=tmp_path)
    assert code == 0, err
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    home = [r for r in records if r["url"] == site.url("/p0")]
    assert [r["rendered"] for r in home] == [False, True]
