"""Follow(url, method="POST", data=..., json=..., headers=...) from a page's function: sent as
asked, deduplicated by method, URL and body, named apart in the records, redirected as RFC 9110
says, archived with its body, kept across runs, and its headers never in an output."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

from warcio.archiveiterator import ArchiveIterator

from crawler.util.request_spec import build_spec
from tests.conftest import by_url
from tests.extractors import FEED_TOKEN
from tests.search_site import search_routes
from tests.site import Site
from tests.test_cli import run_cli

ROOT = Path(__file__).resolve().parent.parent


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def crawl(seed: str, *args: str, cwd: Path) -> tuple[int, str, str]:
    (cwd / "seeds.txt").write_text(seed + "\n")
    return await run_cli("seeds.txt", "--allow-network", "127.0.0.0/8",
                         "--extractor", "tests.extractors:searches", *args, cwd=cwd,
                         env={"PYTHONPATH": str(ROOT)})


def warc_exchanges(folder: Path) -> list[tuple[str, str, Any, bytes]]:
    """(type, target URI, HTTP headers, payload) of the requests and responses archived."""
    with next(folder.glob("a-*.warc.gz")).open("rb") as stream:
        return [(r.rec_type, r.rec_headers.get_header("WARC-Target-URI"), r.http_headers,
                 r.content_stream().read()) for r in ArchiveIterator(stream)
                if r.rec_type in ("request", "response")]


def files_holding(folder: Path, secret: str) -> list[str]:
    """Files under `folder` whose bytes hold `secret`, but the job's crawl.db."""
    return [path.name for path in folder.rglob("*") if path.is_file() and not
            path.name.startswith("crawl.db") and secret.encode() in path.read_bytes()]


def post_name(site: Site, path: str, body: str) -> str:
    """The record URL of a form POST of `body` to `path`."""
    return build_spec("POST", data=body).named(site.url(path))


async def test_posts_are_sent_deduplicated_and_named_apart(site: Site, tmp_path: Path
                                                           ) -> None:
    sent = search_routes(site)
    code, out, err = await crawl(site.url("/"), "-o", "r.jsonl", "-o", "a.warc.gz",
                                 "--log-level", "debug", "--job-dir", "job", cwd=tmp_path)
    assert code == 0, err
    records = by_url(read_jsonl(tmp_path / "r.jsonl"))
    items = {item["url"]: item["data"] for item in read_jsonl(tmp_path / "r.items.jsonl")}
    for term in ("apple", "banana", "pear"):  # each POST once, the repeated one too
        assert sent[("POST", "/search", f"q={term}")] == 1, sent
        name = post_name(site, "/search", f"q={term}")
        assert name.startswith(site.url("/search#post-"))
        assert records[name]["status"] == 200
        assert items[name] == {"results_for": term}  # the function read the POST's answer
        assert records[site.url(f"/item/{term}")]["referrer"] == name  # its links followed
    assert sent[("GET", "/search", "")] == 1  # the plain GET is a request of its own
    assert records[site.url("/search")]["items"] == 0
    # 307 keeps the method and the body; 303 makes it a GET
    assert sent[("POST", "/moved", '{"q":"kept"}')] == 1
    assert sent[("POST", "/search", '{"q":"kept"}')] == 1
    assert records[site.url("/item/kept")]["status"] == 200
    assert sent[("POST", "/seeother", "q=dropped")] == 1 and site.hits["/done"] == 1
    # the GET with a token header of its own: sent, and its value in no output
    feed, = (url for url in records if url.startswith(site.url("/api/feed#get-")))
    assert records[feed]["status"] == 200 and sent[("GET", "/api/feed", "")] == 1
    warc = warc_exchanges(tmp_path)
    assert not any("#" in uri for _, uri, _, _ in warc)  # archived at the URL fetched
    posts = {body for kind, uri, http, body in warc if kind == "request"
             and http.protocol.startswith("POST") and uri == site.url("/search")}
    assert {b"q=apple", b"q=banana", b"q=pear", b'{"q":"kept"}'} <= posts
    tokens = [http.get_header("X-Token") for kind, uri, http, _ in warc
              if kind == "request" and uri == site.url("/api/feed")]
    assert tokens == ["[redacted]"]
    # the job's crawl.db keeps it to send it again (owner-only, as its cookie jar); no other
    # file, nor the records in crawl.db, holds it
    assert files_holding(tmp_path, FEED_TOKEN) == [] and FEED_TOKEN not in out + err
    assert (tmp_path / "job" / "crawl.db").stat().st_mode & 0o077 == 0
    with sqlite3.connect(tmp_path / "job" / "crawl.db") as db:
        rows = db.execute("SELECT * FROM pages").fetchall()
    assert rows and FEED_TOKEN not in repr(rows)


async def test_held_posts_are_sent_as_posts_by_a_later_run(site: Site, tmp_path: Path) -> None:
    """The job keeps a request's method, body and headers: URLs held at --max-pages are sent
    by the next run as they were asked for."""
    sent = search_routes(site, links=False)
    code, _, err = await crawl(site.url("/"), "--max-pages", "2", "-o", "one.jsonl",
                               cwd=tmp_path)
    assert code == 0, err
    assert sum(n for (method, _, _), n in sent.items() if method == "POST") == 1
    code, _, err = await crawl(site.url("/"), "--max-pages", "30", "-o", "two.jsonl",
                               cwd=tmp_path)
    assert code == 0, err
    for term in ("apple", "banana", "pear"):
        assert sent[("POST", "/search", f"q={term}")] == 1, sent
    assert sent[("GET", "/api/feed", "")] == 1
    records = by_url(read_jsonl(tmp_path / "two.jsonl"))
    feed, = (url for url in records if url.startswith(site.url("/api/feed#get-")))
    assert records[feed]["status"] == 200  # its token header was kept for this run
    assert sent[("GET", "/search", "")] == 0  # no POST was ever sent as a GET


async def test_a_follow_the_crawl_cannot_send_is_the_pages_error(site: Site, tmp_path: Path
                                                                ) -> None:
    site.page("/", "/next")
    site.page("/next")
    code, _, err = await crawl(site.url("/"), "-o", "r.jsonl", "--extractor",
                               "tests.extractors:bad_follow", cwd=tmp_path)
    assert code == 0, err
    records = by_url(read_jsonl(tmp_path / "r.jsonl"))
    assert records[site.url("/")]["error"] == (
        "extract failed: BadRequestSpec: header Host is the crawler's own to set")
    assert records[site.url("/next")]["status"] == 200  # the page's links still followed
