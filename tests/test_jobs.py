"""Durable jobs: runs, recrawls with conditional requests and change labels, the job lock, the
run report and `status`."""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path

import pytest

from crawler.cli.status import status_main
from crawler.errors import JobLocked
from crawler.frontier.request import History
from crawler.jobs.changes import change_of, conditional_headers
from crawler.jobs.lock import JobLock, holder
from tests.conftest import by_url
from tests.site import Site


def test_change_labels_compare_with_the_last_run() -> None:
    """new/changed/unchanged/gone follow the previous answer and content hash."""
    ok = History(True, '"e1"', None, "h1")
    missing = History(False)
    assert change_of(None, 200, "h1") == "new"
    assert change_of(missing, 200, "h1") == "new"  # it came back
    assert change_of(ok, 200, "h1") == "unchanged"
    assert change_of(ok, 200, "h2") == "changed"
    assert change_of(ok, 304, None) == "unchanged"
    assert change_of(ok, 404, None) == "gone"
    assert change_of(ok, 410, None) == "gone"
    assert change_of(missing, 404, None) is None  # still missing: nothing to say
    assert change_of(ok, 503, None) is None and change_of(ok, None, None) is None
    assert conditional_headers(ok) == {"If-None-Match": '"e1"'}
    assert conditional_headers(History(True, None, "Wed, 21 Oct 2026 07:28:00 GMT")) == {
        "If-Modified-Since": "Wed, 21 Oct 2026 07:28:00 GMT"}
    assert conditional_headers(missing) is None and conditional_headers(None) is None


async def test_recrawl_labels_changes_and_gets_304_for_unchanged_pages(
        site: Site, crawl, tmp_path: Path) -> None:
    """A recrawl sends the validators the first run got; 304s and equal hashes are unchanged,
    edited pages changed, removed ones gone, newly linked ones new; every record of the second
    run carries its new run id, and 304 records keep the page's title and links."""
    job = str(tmp_path / "job")
    site.page("/", "/etag", "/lastmod", "/plain", "/edited", "/removed", validators="etag")
    site.page("/etag", "/plain", title="ETag page", validators="etag")
    site.page("/lastmod", title="Last-Modified page", validators="last-modified")
    site.page("/plain", title="no validators")
    site.page("/edited", title="before", validators="both")
    site.page("/removed")
    first = by_url(await crawl([site.url("/")], job_dir=job))
    assert {r["change"] for r in first.values()} == {"new"}
    assert first[site.url("/etag")]["etag"] and first[site.url("/lastmod")]["last_modified"]

    site.page("/", "/etag", "/lastmod", "/plain", "/edited", "/removed", "/added",
              validators="etag")
    site.page("/edited", title="after", validators="both")
    del site.handlers["/removed"]
    site.page("/added")
    site.headers.clear()
    second = by_url(await crawl([site.url("/")], job_dir=job, recrawl="true"))

    changes = {url.removeprefix(site.base): r["change"] for url, r in second.items()}
    assert changes == {"/": "changed", "/etag": "unchanged", "/lastmod": "unchanged",
                       "/plain": "unchanged", "/edited": "changed", "/removed": "gone",
                       "/added": "new"}
    assert site.not_modified == 2
    assert second[site.url("/etag")]["status"] == 304
    assert second[site.url("/lastmod")]["status"] == 304
    assert second[site.url("/plain")]["status"] == 200
    sent = dict(site.headers)
    assert sent["/etag"]["If-None-Match"] == first[site.url("/etag")]["etag"]
    assert sent["/lastmod"]["If-Modified-Since"] == first[site.url("/lastmod")]["last_modified"]
    assert "If-None-Match" not in sent["/plain"] and "If-None-Match" not in sent["/added"]
    kept = second[site.url("/etag")]
    assert kept["title"] == "ETag page" and kept["links"] == [site.url("/plain")]
    assert kept["content_hash"] == first[site.url("/etag")]["content_hash"]
    run_ids = {r["run_id"] for r in second.values()}
    assert len(run_ids) == 1 and run_ids != {r["run_id"] for r in first.values()}

    report = json.loads((tmp_path / "job" / "report.json").read_text())
    assert report["kind"] == "recrawl" and report["outcome"] == "completed"
    assert report["by_change"] == {"new": 1, "changed": 2, "unchanged": 3, "gone": 1,
                                   "none": 0}
    assert report["by_status"] == {"200": 4, "304": 2, "404": 1}


async def test_links_of_unchanged_pages_are_still_crawled(site: Site, crawl,
                                                          tmp_path: Path) -> None:
    """A page answered 304 is not parsed again, yet the pages it links to are all recrawled."""
    job = str(tmp_path / "job")
    site.page("/", "/a", validators="etag")
    site.page("/a", "/b", validators="etag")
    site.page("/b")
    await crawl([site.url("/")], job_dir=job)
    site.page("/b", title="new text")
    second = by_url(await crawl([site.url("/")], job_dir=job, recrawl="true"))
    assert second[site.url("/a")]["status"] == 304
    assert second[site.url("/b")]["change"] == "changed"
    assert len(second) == 3


async def test_a_finished_job_does_nothing_until_a_recrawl_is_due(site: Site, crawl,
                                                                  tmp_path: Path) -> None:
    """Running a finished job again fetches nothing; recrawl_after makes it recrawl once that
    many seconds have passed since it finished."""
    job = str(tmp_path / "job")
    site.page("/", "/a")
    site.page("/a")
    assert len(await crawl([site.url("/")], job_dir=job)) == 2
    hits = sum(site.hits.values())
    assert await crawl([site.url("/")], job_dir=job, recrawl_after="3600") == []
    assert sum(site.hits.values()) == hits
    await asyncio.sleep(0.05)
    again = await crawl([site.url("/")], job_dir=job, recrawl_after="0.01")
    assert {r["change"] for r in again} == {"unchanged"}
    with sqlite3.connect(tmp_path / "job" / "crawl.db") as db:
        runs = db.execute("SELECT outcome, finished_at IS NOT NULL FROM runs").fetchall()
        assert runs == [("completed", 1), ("completed", 1)]
        assert db.execute("SELECT count(*), count(DISTINCT run_id) FROM pages").fetchone() == \
            (4, 2)


async def test_a_locked_job_directory_is_refused(site: Site, crawl, tmp_path: Path) -> None:
    """While one run holds the job directory, another stops at once with JobLocked (exit 75),
    naming the holder; the lock goes with its holder."""
    site.page("/")
    job = tmp_path / "job"
    job.mkdir()
    with JobLock(job):
        assert holder(job) is not None and holder(job).startswith("pid ")
        with pytest.raises(JobLocked, match="in use by another crawl") as caught:
            await crawl([site.url("/")], job_dir=str(job))
        assert caught.value.exit_status == 75
    assert holder(job) is None
    assert site.hits == {}
    assert len(await crawl([site.url("/")], job_dir=str(job))) == 1


async def test_status_prints_the_job_state(site: Site, crawl, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    """`status JOB_DIR` tells pending, done, errors and the last run; --json the same as data."""
    site.page("/", "/a", "/missing")
    site.page("/a")
    await crawl([site.url("/")], job_dir=str(tmp_path / "job"))
    capsys.readouterr()
    assert status_main([str(tmp_path / "job")]) == 0
    text = capsys.readouterr().out
    assert "not running" in text and "0 pending" in text and "3 done" in text
    assert "completed at" in text and "3 records" in text and "1 HTTP 4xx/5xx" in text
    assert status_main([str(tmp_path / "job"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["urls"]["done"] == 3 and info["urls"]["pending"] == 0
    assert info["last_run"]["outcome"] == "completed"
    assert info["last_run"]["report"]["by_status"] == {"200": 2, "404": 1}
    assert status_main([str(tmp_path / "nothing-here")]) == 2
    assert "is not a job directory" in capsys.readouterr().err


async def test_report_counts_errors_by_kind(site: Site, crawl, tmp_path: Path) -> None:
    """report.json groups record errors by their kind and counts statuses, none included."""
    site.add("/robots.txt", b"User-agent: *\nDisallow: /secret\n", content_type="text/plain")
    site.page("/", "/secret", "/open")
    site.page("/open")
    await crawl([site.url("/"), "http://127.0.0.1:9/"], job_dir=str(tmp_path / "job"),
                retries="0")
    report = json.loads((tmp_path / "job" / "report.json").read_text())
    assert report["errors_by_kind"] == {"disallowed by robots.txt": 1,
                                        "connection failed": 1}
    assert report["by_status"] == {"200": 2, "none": 2}
    assert report["records"] == 4 and report["pending"] == 0
    assert report["session"]["records"] == 4 and report["outcome"] == "completed"
