"""Scraping end to end on local sites: a user's function (data, items, follows, errors), CSV
outputs read back with the csv module, items in every output, recrawls that keep data, and the
Python API from a script and from a running event loop."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

from crawler import Crawl
from tests.conftest import by_url
from tests.extractors import quotes
from tests.site import Site
from tests.test_cli import clean_env

ROOT = Path(__file__).resolve().parent.parent
QUOTES = {1: [("Be yourself.", "Wilde"), ("So it goes.", "Vonnegut"), ("Ask.", "Socrates")],
          2: [("Less is more.", "Mies"), ("Know thyself.", "Thales")],
          3: [("The end, \"quoted\", here.", "Anon")]}


def serve_quotes(site: Site) -> None:
    """Three listing pages; the next page is linked rel=nofollow, so only the function's
    page.follow reaches it."""
    for n, entries in QUOTES.items():
        body = "".join(f'<div class="quote"><span class="text">{text}</span>'
                       f"<small>{author}</small></div>" for text, author in entries)
        if n + 1 in QUOTES:
            body += (f'<ul><li class="next"><a rel="nofollow" href="/page/{n + 1}">next</a>'
                     "</li></ul>")
        site.page(f"/page/{n}", title=f"Quotes {n}", extra=body)


def read_csv(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_a_function_yields_items_and_follows(site: Site, crawl: Any,
                                                   tmp_path: Path) -> None:
    """--extractor: one item per quote in out.items.jsonl and the job's items table; the page
    reached only through page.follow is crawled; records count their items."""
    serve_quotes(site)
    records = by_url(await crawl([site.url("/page/1")], extractor="tests.extractors:quotes",
                                 job_dir=str(tmp_path / "job")))
    assert {r["items"] for r in records.values()} == {3, 2, 1}
    items = read_jsonl(tmp_path / "out-1.items.jsonl")  # the crawl fixture's first output
    assert [(i["url"], i["index"], i["data"]["author"]) for i in items if i["index"] == 0] \
        == [(site.url(f"/page/{n}"), 0, QUOTES[n][0][1]) for n in (1, 2, 3)]
    assert sorted((i["data"]["text"], i["data"]["author"]) for i in items) == sorted(
        e for entries in QUOTES.values() for e in entries)
    with sqlite3.connect(tmp_path / "job" / "crawl.db") as db:
        assert db.execute("SELECT count(*) FROM items").fetchone()[0] == 6


async def test_a_function_returns_data_and_a_failing_one_costs_its_page(site: Site,
                                                                        crawl: Any) -> None:
    """A returned dict is the record's data (with the page's status and headers); an exception
    is that page's error, its links are still followed and the crawl goes on."""
    site.page("/", "/bad", "/good", extra="<h1>Home</h1>")
    site.page("/bad", "/next-one")
    site.page("/good")
    site.page("/next-one")
    records = by_url(await crawl([site.url("/")], extractor="tests.extractors:headline"))
    home = records[site.url("/")]["data"]
    assert home["h1"] == "Home" and home["status"] == 200
    assert home["type"] == "text/html; charset=utf-8" and home["chars"] > 0
    records = by_url(await crawl([site.url("/")], extractor="tests.extractors:broken"))
    assert records[site.url("/bad")]["error"] == "extract failed: ValueError: this page is bad"
    assert records[site.url("/next-one")]["data"] == {"ok": True}
    assert records[site.url("/good")]["error"] is None


async def test_csv_outputs_read_back(site: Site, crawl: Any, tmp_path: Path) -> None:
    """-o out.csv: a header, one row per record with a column per rules field (lists as JSON
    text), RFC 4180 quoting; out.items.csv has one row per item."""
    serve_quotes(site)
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\nmatch = "/page/"\n[rule.fields]\ntitle = "title"\n'
                     'authors = { css = "small", all = true }\n'
                     'count = { css = "div.quote", all = true }\n')
    out = tmp_path / "out.csv"
    await crawl([site.url("/page/1")], outputs=[str(out)], extract=str(rules),
                extractor="tests.extractors:quotes")
    raw = out.read_bytes()
    assert raw.count(b"\r\n") == 4  # header and three rows, CRLF as RFC 4180 says
    rows = read_csv(out)
    assert [r["url"] for r in rows] == [site.url(f"/page/{n}") for n in (1, 2, 3)]
    assert json.loads(rows[0]["data"])["title"] == "Quotes 1"  # a function too: data as JSON
    items = read_csv(tmp_path / "out.items.csv")
    assert [(i["text"], i["author"]) for i in items] == [e for n in (1, 2, 3) for e in QUOTES[n]]
    assert list(items[0]) == ["url", "run_id", "index", "fetched_at", "text", "author", "extra"]

    only_rules = tmp_path / "rules-only.csv"
    await crawl([site.url("/page/1")], outputs=[str(only_rules)], extract=str(rules))
    rows = read_csv(only_rules)
    assert rows[0]["data.title"] == "Quotes 1"
    assert json.loads(rows[0]["data.authors"]) == ["Wilde", "Vonnegut", "Socrates"]
    assert len(rows) == 1 and rows[0]["links_found"] == "1" and rows[0]["error"] == ""


async def test_a_recrawl_keeps_the_data_of_unchanged_pages(site: Site, crawl: Any,
                                                           tmp_path: Path) -> None:
    """A 304 carries the last run's data, content and items into the new run."""
    site.add("/", b"<title>t</title><h1>Kept</h1><div class=quote><span class=text>x</span>"
                  b"<small>y</small></div><p>" + b"Some words of text here. " * 40 + b"</p>",
             validators="etag")
    rules = tmp_path / "rules.toml"
    rules.write_text('[[rule]]\n[rule.fields]\nh1 = "h1"\n')
    job = str(tmp_path / "job")
    out = tmp_path / "out.jsonl"
    settings = {"job_dir": job, "outputs": [str(out)], "extract": str(rules),
                "extractor": "tests.extractors:quotes", "content": "text"}
    await crawl([site.url("/")], **settings)
    await crawl([site.url("/")], recrawl="true", **settings)
    first, second = read_jsonl(out)
    assert second["status"] == 304 and site.not_modified == 1
    for name in ("data", "content", "items"):
        assert second[name] == first[name] and first[name], name
    items = read_jsonl(tmp_path / "out.items.jsonl")
    assert [(i["run_id"], i["data"]) for i in items] == [
        (first["run_id"], {"text": "x", "author": "y"}),
        (second["run_id"], {"text": "x", "author": "y"})]


async def test_the_api_inside_a_running_event_loop(site: Site, tmp_path: Path) -> None:
    """await Crawl(...).run_async() from a program that already runs a loop."""
    serve_quotes(site)
    outcome = await Crawl([site.url("/page/1")], on_page=quotes, job_dir=str(tmp_path / "job"),
                          outputs=[str(tmp_path / "q.jsonl")], quiet=True).run_async()
    assert outcome.report is not None and outcome.report["records"] == 3
    assert len(read_jsonl(tmp_path / "q.items.jsonl")) == 6


SCRIPT = '''
from crawler import Crawl, Page

def quotes(page: Page):
    for q in page.css("div.quote"):
        yield {"text": q.css_first("span.text").text(), "author": q.css_first("small").text()}
    nxt = page.css_first("li.next a")
    if nxt is not None:
        yield page.follow(nxt.attributes["href"])

if __name__ == "__main__":
    import sys
    result = Crawl([sys.argv[1]], on_page=quotes, outputs=["quotes.csv"], max_pages=100,
                   parse_mode="process", quiet=True).run()
    print(result.report["records"])
'''


async def test_the_api_from_a_plain_script(site: Site, tmp_path: Path) -> None:
    """docs/scraping.md's 15-line script, its function in __main__, parsed in workers."""
    serve_quotes(site)
    (tmp_path / "scrape.py").write_text(SCRIPT)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "scrape.py", site.url("/page/1"), cwd=tmp_path,
        env={**clean_env(), "PYTHONPATH": str(ROOT)}, stdout=subprocess.PIPE,
        stderr=subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()
    assert out.decode().strip() == "3"
    items = read_csv(tmp_path / "quotes.items.csv")
    assert len(items) == 6 and items[5]["text"] == 'The end, "quoted", here.'


def test_the_api_refuses_what_workers_cannot_import_and_bad_settings() -> None:
    import pytest

    from crawler import UsageError

    with pytest.raises(UsageError, match="cannot be sent to the parse workers"):
        Crawl(["http://a.com/"], on_page=lambda page: {})
    with pytest.raises(UsageError, match=r"invalid setting per_host=0 \(from Crawl\(per_host"):
        Crawl(["http://a.com/"], per_host=0)
    with pytest.raises(UsageError, match="unknown setting 'max_page'"):
        Crawl(["http://a.com/"], max_page=3)
    with pytest.raises(UsageError, match="seed 'nope'"):
        Crawl(["nope"])
