"""Crash safety: the crawler is killed with SIGKILL again and again (at random moments, and
between a batch reaching the outputs and its commit) and restarted on the same job directory;
at the end every page has exactly one record in every output and the job state is consistent.
Also: a second run on a busy job directory, and resuming after SIGTERM."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import os
import random
import signal
import sqlite3
import sys
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiohttp import web

from crawler.jobs.state import DONE
from tests.site import Site
from tests.site import tree_sites as serving_trees
from tests.test_cli import _slow_site, clean_env, run_cli

ROOT = Path(__file__).resolve().parent.parent
PAGES_PER_HOST = 1000
HOSTS = ("127.0.0.1", "127.0.0.2", "127.0.0.3")


@pytest.fixture
async def tree_sites() -> AsyncIterator[list[Site]]:
    async with serving_trees(HOSTS, PAGES_PER_HOST, 0.025) as sites:
        yield sites


def crawl_args(sites: list[Site]) -> list[str]:
    return ["seeds.txt", "--job-dir", "job", "-o", "out.jsonl", "-o", "out.db", "-o", "out.csv",
            "--concurrency", "9", "--per-host", "3", "--sink-batch-size", "20",
            "--sink-flush-seconds", "0.05", "--parse-mode", "inline", "--quiet",
            "--extractor", "tests.extractors:two_items"]


def job_args(per_host: int, batch: int) -> list[str]:
    """A crawl of seeds.txt into job/ and out.jsonl, committing small batches often."""
    return ["seeds.txt", "--job-dir", "job", "-o", "out.jsonl", "--per-host", str(per_host),
            "--sink-batch-size", str(batch), "--sink-flush-seconds", "0.05", "--quiet"]


async def start(tmp_path: Path, args: list[str], fault: str | None = None
                ) -> asyncio.subprocess.Process:
    """The crawler on `args`; with `fault` ("N" or "N:S"), tests.fault_crawl's SIGKILL while
    writing batch N, once S outputs have it."""
    command = ["crawler"] if fault is None else ["tests.fault_crawl", fault]
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", *command, *args, cwd=tmp_path,
        env={**clean_env(), "PYTHONPATH": str(ROOT)}, stderr=asyncio.subprocess.PIPE)


async def session_begun(job: Path, sessions: int) -> None:
    """Wait until the job's run has counted `sessions` sessions (the crawl has begun)."""
    for _ in range(400):
        try:
            with sqlite3.connect(job / "crawl.db") as db:
                row = db.execute("SELECT max(sessions) FROM runs").fetchone()
            if row and (row[0] or 0) >= sessions:
                return
        except sqlite3.Error:
            pass
        await asyncio.sleep(0.025)
    raise AssertionError(f"the crawl did not begin session {sessions}")


def committed_state(job: Path) -> tuple[dict[int, int], int, int]:
    """(URLs by state, records in the job's pages table, committed JSONL offset)."""
    with sqlite3.connect(job / "crawl.db") as db:
        states = dict(db.execute("SELECT state, count(*) FROM urls GROUP BY state").fetchall())
        pages = db.execute("SELECT count(*) FROM pages").fetchone()[0]
        duplicates = db.execute("SELECT count(*) FROM (SELECT url FROM pages GROUP BY url "
                                "HAVING count(*) > 1)").fetchone()[0]
        offsets = dict(db.execute("SELECT sink, byte_offset FROM sink_offsets").fetchall())
    assert duplicates == 0
    jsonl = next(v for k, v in offsets.items() if k.endswith("out.jsonl"))
    return states, pages, jsonl


@pytest.mark.timeout(300)
async def test_sigkill_at_any_moment_loses_nothing_and_writes_nothing_twice(
        tree_sites: list[Site], tmp_path: Path) -> None:
    """Seven SIGKILLs during one crawl of 3,000 pages on three hosts, each page yielding two
    items: five at random moments, one between two outputs' writes of a batch, one after all
    wrote it and before its commit. After each kill the state is consistent (a record for
    every done URL, none twice); the last run completes with exactly one record per page and
    one row per item in every output (JSON Lines, CSV, SQLite)."""
    seed = int(os.environ.get("CHAOS_SEED") or random.randrange(1 << 32))
    rng = random.Random(seed)
    print(f"CHAOS_SEED={seed} reproduces this run's kill times")
    (tmp_path / "seeds.txt").write_text("".join(s.url("/p0") + "\n" for s in tree_sites))
    job, out = tmp_path / "job", tmp_path / "out.jsonl"
    kills = Counter[str]()
    done_before = -1
    for session in range(7):
        sinks_written = {2: ":1", 5: ""}.get(session)  # mid-sinks; after both sinks
        hook = None if sinks_written is None else f"{rng.randint(3, 12)}{sinks_written}"
        proc = await start(tmp_path, crawl_args(tree_sites), fault=hook)
        if hook:
            _, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == -signal.SIGKILL, err.decode()
            kills["between outputs" if sinks_written else "before commit"] += 1
            assert out.stat().st_size > committed_state(job)[2]  # lines no commit covers
        else:
            await session_begun(job, session + 1)  # a kill before that is no session of the run
            await asyncio.sleep(rng.uniform(0.2, 1.0))
            assert proc.returncode is None, "the crawl ended before it could be killed"
            proc.kill()
            await proc.wait()
            kills["random"] += 1
        states, pages, offset = committed_state(job)
        assert states.get(DONE, 0) == pages  # a record for every done URL, and no other
        assert out.stat().st_size >= offset  # the JSONL holds at least what was committed
        assert pages >= done_before  # nothing committed is ever lost
        done_before = pages
    assert kills == {"random": 5, "between outputs": 1, "before commit": 1}
    assert 0 < done_before < 3 * PAGES_PER_HOST, "the kills must fall inside the crawl"
    print(f"{sum(kills.values())} kills; {done_before} records committed before the last")

    proc = await start(tmp_path, crawl_args(tree_sites))
    _, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode == 0, err.decode()

    expected = {s.url(f"/p{n}") for s in tree_sites for n in range(PAGES_PER_HOST)}
    jsonl = [json.loads(line) for line in out.read_text().splitlines()]
    assert Counter(r["url"] for r in jsonl) == Counter(expected)
    assert {r["status"] for r in jsonl} == {200}
    assert len({r["run_id"] for r in jsonl}) == 1
    for db_path in (tmp_path / "out.db", job / "crawl.db"):
        with sqlite3.connect(db_path) as db:
            rows = db.execute("SELECT url FROM pages").fetchall()
        assert Counter(url for (url,) in rows) == Counter(expected), db_path
    rows_csv = list(csv.DictReader(io.StringIO((tmp_path / "out.csv").read_text(), newline="")))
    assert Counter(row["url"] for row in rows_csv) == Counter(expected)
    items_csv = list(csv.DictReader(io.StringIO((tmp_path / "out.items.csv").read_text(),
                                                newline="")))
    assert Counter((row["url"], row["index"]) for row in items_csv) == Counter(
        (url, str(n)) for url in expected for n in (0, 1))
    items = [json.loads(line) for line in (tmp_path / "out.items.jsonl").read_text().splitlines()]
    assert Counter((i["url"], i["index"]) for i in items) == Counter(
        (url, n) for url in expected for n in (0, 1))
    assert all(i["data"] == {"n": i["index"], "page": i["url"]} for i in items)
    for db_path in (tmp_path / "out.db", job / "crawl.db"):
        with sqlite3.connect(db_path) as db:
            rows = db.execute('SELECT url, "index" FROM items').fetchall()
        assert Counter(rows) == Counter((url, n) for url in expected for n in (0, 1)), db_path
    # The SQLite outputs' keys hide double fetches; the servers count them. A kill may cost
    # the fetches in flight (9) and the records buffered but not committed (5 batches of 20).
    fetched_twice = sum(n - 1 for s in tree_sites for n in s.page_hits().values() if n > 1)
    assert fetched_twice <= sum(kills.values()) * (9 + 5 * 20), fetched_twice
    states, pages, offset = committed_state(job)
    assert states == {DONE: len(expected)} and pages == len(expected)
    assert offset == out.stat().st_size
    report = json.loads((job / "report.json").read_text())
    assert report["outcome"] == "completed" and report["sessions"] == 8
    assert report["records"] == len(expected) and report["by_change"]["new"] == len(expected)


async def test_second_run_on_a_busy_job_exits_75_then_sigterm_resumes(
        tree_sites: list[Site], tmp_path: Path) -> None:
    """A second crawl on a job directory in use exits at once with 75 and touches nothing. The
    first, stopped by SIGTERM, resumes on the next start and finishes with one record per
    page, without fetching any finished page again."""
    (tmp_path / "seeds.txt").write_text(tree_sites[0].url("/p0") + "\n")
    args = [*crawl_args(tree_sites), "--max-pages", "300"]
    first = await start(tmp_path, args)
    for _ in range(200):
        if (tmp_path / "out.jsonl").exists() and (tmp_path / "out.jsonl").stat().st_size:
            break
        await asyncio.sleep(0.05)
    second = await start(tmp_path, args)
    _, err = await asyncio.wait_for(second.communicate(), 30)
    assert second.returncode == 75
    assert f"is in use by another crawl (pid {first.pid} since" in err.decode()
    code, out, _ = await run_cli("status", "job", "--json", cwd=tmp_path)
    info = json.loads(out)
    assert code == 0 and info["running"].startswith(f"pid {first.pid} ")
    assert info["last_run"]["outcome"] == "running" and info["urls"]["pending"] > 0

    first.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(first.communicate(), 30)
    assert first.returncode == 143, err.decode()
    lines = (tmp_path / "out.jsonl").read_text().splitlines()
    stopped = {json.loads(line)["url"] for line in lines}
    hits_before = Counter(h for s in tree_sites for h in s.page_hits().elements())

    again = await start(tmp_path, args)
    _, err = await asyncio.wait_for(again.communicate(), 60)
    assert again.returncode == 0, err.decode()
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    urls = Counter(r["url"] for r in records)
    assert len(urls) == 300 and set(urls.values()) == {1}
    hits_after = Counter(h for s in tree_sites for h in s.page_hits().elements())
    refetched = {path for path, n in hits_after.items() if n > hits_before[path]}
    assert not {tree_sites[0].url(p) for p in refetched} & stopped


async def test_a_killed_recrawl_resumes_with_its_history(site: Site, tmp_path: Path) -> None:
    """A recrawl killed half-way resumes as the same run: the pages it had not reached are
    still fetched with their validators (answered 304) and labelled unchanged, the changed one
    changed, each URL once in the run."""
    pages = 300

    async def page(request: web.Request) -> web.Response:
        await asyncio.sleep(0.01)
        n = int(request.path.removeprefix("/p"))
        body = f"<title>{n}{' edited' if n == 250 and edited else ''}</title>" + "".join(
            f'<a href="/p{k}">{k}</a>' for k in range(2 * n + 1, min(2 * n + 3, pages)))
        etag = f'"{hash(body) & 0xFFFFFF:x}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(text=body, content_type="text/html", headers={"ETag": etag})

    edited = False
    for n in range(pages):
        site.route(f"/p{n}", page)
    (tmp_path / "seeds.txt").write_text(site.url("/p0") + "\n")
    args = job_args(per_host=2, batch=10)
    first = await start(tmp_path, args)
    assert await asyncio.wait_for(first.wait(), 60) == 0
    edited = True
    recrawl = await start(tmp_path, [*args, "--recrawl"])
    for _ in range(200):
        await asyncio.sleep(0.05)
        with sqlite3.connect(tmp_path / "job" / "crawl.db") as db:
            if db.execute("SELECT count(*) FROM pages").fetchone()[0] >= pages + 60:
                break
    recrawl.kill()
    await recrawl.wait()
    resumed = await start(tmp_path, args)  # no --recrawl: the unfinished run comes first
    _, err = await asyncio.wait_for(resumed.communicate(), 60)
    assert resumed.returncode == 0, err.decode()

    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    runs = sorted({r["run_id"] for r in records}, key=[r["run_id"] for r in records].index)
    assert len(runs) == 2
    second = [r for r in records if r["run_id"] == runs[1]]
    assert Counter(r["url"] for r in second) == Counter(site.url(f"/p{n}") for n in range(pages))
    changes = Counter((r["change"], r["status"]) for r in second)
    assert changes == {("unchanged", 304): pages - 1, ("changed", 200): 1}
    report = json.loads((tmp_path / "job" / "report.json").read_text())
    assert report["run_id"] == runs[1] and report["kind"] == "resume"
    assert report["sessions"] == 2 and report["by_change"]["unchanged"] == pages - 1


async def test_a_resumed_run_keeps_the_host_a_seed_redirected_to(two_sites: tuple[Site, Site],
                                                                  tmp_path: Path) -> None:
    """A seed that redirects to another host brings that host into scope; after a stop and a
    resume it is still in scope, so the rest of its pages are crawled, not dropped."""
    first, second = two_sites
    first.redirect("/", second.url("/p0"))
    pages = 40
    _slow_site(second, pages, 0.05)
    (tmp_path / "seeds.txt").write_text(first.url("/") + "\n")
    args = job_args(per_host=1, batch=1)
    crawl = await start(tmp_path, args)
    for _ in range(200):
        await asyncio.sleep(0.05)
        out = tmp_path / "out.jsonl"
        if out.exists() and len(out.read_text().splitlines()) >= 5:
            break
    crawl.send_signal(signal.SIGTERM)
    assert await asyncio.wait_for(crawl.wait(), 30) == 143
    resumed = await start(tmp_path, args)
    _, err = await asyncio.wait_for(resumed.communicate(), 60)
    assert resumed.returncode == 0, err.decode()
    urls = Counter(json.loads(line)["url"]
                   for line in (tmp_path / "out.jsonl").read_text().splitlines())
    assert urls == Counter([first.url("/"), *(second.url(f"/p{n}") for n in range(pages))])
