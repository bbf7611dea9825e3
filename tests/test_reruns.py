"""Every run after the first tells the truth: changed extraction re-extracts, a second seeds
file is crawled or refused with the command to type, a failed seed is tried again, the Python
API runs twice, a job never cuts back another job's output, no credential reaches an output,
and schedules are five-field cron."""

from __future__ import annotations

import asyncio
import base64
import gzip
import json
import re
import shutil
import sqlite3
import sys
from collections import Counter
from pathlib import Path

from aiohttp import web

from crawler.extract.rules import compile_rules
from crawler.extract.setup import Extraction
from crawler.jobs.cron import cron_problem
from tests.real_servers import free_port
from tests.site import Site
from tests.test_cli import clean_env, one_line_error, run_cli
from tests.test_first_hour import seed_files

ROOT = Path(__file__).resolve().parent.parent


def lines_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


def warcs(folder: Path) -> int:
    return len(list(folder.glob("crawl-*.warc.gz")))


def files_below(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.is_file()]


def write_rules(path: Path, **fields: str) -> None:
    path.write_text("[[rule]]\nfields = { " + ", ".join(
        f'{name} = "{css}"' for name, css in fields.items()) + " }\n")


async def test_changed_rules_re_extract_on_recrawl_of_real_docs(nginx_docs: str,
                                                                 tmp_path: Path) -> None:
    """Python's docs on nginx (which answers If-Modified-Since with 304): a crawl with one
    field, then the rules gain a field. Without --recrawl the run refuses in one line naming
    --recrawl; with it every page is fetched in full and has the new field (no 304 carries the
    old data); the recrawl after that gets 304s that carry the new data."""
    (tmp_path / "seeds.txt").write_text(nginx_docs + "/library/index.html\n")
    write_rules(tmp_path / "rules.toml", title="title")
    common = ["seeds.txt", "--max-pages", "25", "-o", "out.jsonl", "--extract", "rules.toml"]
    code, _, err = await run_cli(*common, cwd=tmp_path)
    assert code == 0, err
    write_rules(tmp_path / "rules.toml", title="title", heading="h1")
    code, _, err = await run_cli(*common, cwd=tmp_path)
    assert code == 2
    one_line_error(err, "add --recrawl to fetch them again")
    code, _, err = await run_cli(*common, "--recrawl", cwd=tmp_path)
    assert code == 0, err
    runs = [r["run_id"] for r in lines_of(tmp_path / "out.jsonl")]
    second = [r for r in lines_of(tmp_path / "out.jsonl") if r["run_id"] == runs[-1]]
    pages = [r for r in second if r["content_type"] and "html" in r["content_type"]]
    assert len(pages) >= 20 and {r["status"] for r in pages} == {200}
    assert all(r["data"] and r["data"].get("heading") for r in pages)
    code, _, err = await run_cli(*common, "--recrawl", cwd=tmp_path)
    assert code == 0, err
    third = [r for r in lines_of(tmp_path / "out.jsonl")
             if r["run_id"] not in (runs[0], runs[-1])]
    assert {r["status"] for r in third if r["url"] in {p["url"] for p in pages}} == {304}
    assert all(r["data"]["heading"] for r in third if r["url"] in {p["url"] for p in pages})


def test_the_extraction_fingerprint_names_rules_content_and_function() -> None:
    """Another field, another --content form or another function is another fingerprint;
    the same settings give the same one."""
    one = compile_rules({"rule": [{"fields": {"t": "title"}}]})
    two = compile_rules({"rule": [{"fields": {"t": "title", "h": "h1"}}]})
    prints = {Extraction().fingerprint, Extraction(one).fingerprint,
              Extraction(two).fingerprint, Extraction(content="text").fingerprint,
              Extraction(content="markdown").fingerprint,
              Extraction(function=lines_of).fingerprint}
    assert len(prints) == 6 and Extraction().fingerprint == "none"
    assert Extraction(one).fingerprint == Extraction(compile_rules(
        {"rule": [{"fields": {"t": "title"}}]})).fingerprint


async def test_a_second_seeds_file_is_crawled_or_refused_naming_job_dir(
        two_sites: tuple[Site, Site], tmp_path: Path) -> None:
    """a.txt --max-pages 3, then b.txt --max-pages 3 in the same folder: the default job has
    no room left, so the run exits 2 in one line naming --job-dir and writes nothing; with its
    own --job-dir, b's pages are crawled. With room (--max-pages 6) b.txt goes on with the
    job and its pages are written."""
    second = two_sites[1]
    seed_files(two_sites, tmp_path)
    code, _, err = await run_cli("a.txt", "--max-pages", "3", "-o", "a.jsonl", cwd=tmp_path)
    assert code == 0, err
    code, _, err = await run_cli("b.txt", "--max-pages", "3", "-o", "b.jsonl", cwd=tmp_path)
    assert code == 2
    one_line_error(err, "--job-dir DIR")
    assert not (tmp_path / "b.jsonl").exists()
    code, _, err = await run_cli("b.txt", "--max-pages", "3", "--job-dir", "b-job", "-o",
                                 "b.jsonl", cwd=tmp_path)
    assert code == 0, err
    assert {r["url"] for r in lines_of(tmp_path / "b.jsonl")} <= {
        second.url(p) for p in ("/", "/a", "/b", "/c", "/d")}
    assert len(lines_of(tmp_path / "b.jsonl")) == 3
    code, _, err = await run_cli("b.txt", "--max-pages", "6", "-o", "more.jsonl", cwd=tmp_path)
    assert code == 0, err
    urls = [r["url"] for r in lines_of(tmp_path / "more.jsonl")]
    assert second.url("/") in urls and len(urls) == 3  # the new seed first, then the budget


async def test_a_dead_seed_and_5xx_pages_are_tried_again_when_the_job_runs_again(
        tmp_path: Path) -> None:
    """A seed whose host refuses connections exits 4; when the site is back, the same command
    crawls it (and says how many URLs it tried again); a page that answered 503 is tried again
    on the next run; a run with nothing left to try does nothing."""
    port = free_port()
    (tmp_path / "seeds.txt").write_text(f"http://127.0.0.1:{port}/\n")
    args = ["seeds.txt", "-o", "out.jsonl", "--robots-retry-seconds", "0.05", "--retries", "0"]
    code, _, err = await run_cli(*args, cwd=tmp_path)
    assert code == 4, err
    site = Site()
    answers = Counter[str]()

    async def flaky(request: web.Request) -> web.Response:
        answers["/flaky"] += 1
        status = 503 if answers["/flaky"] == 1 else 200
        return web.Response(status=status, text="<title>flaky</title>", content_type="text/html")

    site.page("/", "/a", "/flaky")
    site.page("/a")
    site.route("/flaky", flaky)
    await site.start(port)
    try:
        code, _, err = await run_cli(*args, cwd=tmp_path)
        assert code == 0, err
        assert "tried again 1 URLs" in err
        statuses = {r["url"]: r["status"] for r in lines_of(tmp_path / "out.jsonl")}
        assert statuses == {site.url("/"): 200, site.url("/a"): 200, site.url("/flaky"): 503}
        code, _, err = await run_cli(*args, cwd=tmp_path)
        assert code == 0 and "tried again 1 URLs" in err, err
        assert lines_of(tmp_path / "out.jsonl")[-1]["status"] == 200
        code, _, err = await run_cli(*args, cwd=tmp_path)
        assert code == 0 and "nothing to do" in err, err
        report = json.loads((tmp_path / "crawl-job" / "report.json").read_text())
        assert report["by_status"] == {"200": 3}  # each URL once in the run, the last answer
    finally:
        await site.stop()


def readme_api_example() -> str:
    text = (ROOT / "docs" / "scraping.md").read_text()
    block = re.search(r"```python\n(from crawler import Crawl, Page\n.*?)```", text, re.S)
    assert block is not None, "the docs' Python API example"
    return block.group(1)


async def test_the_readme_api_example_runs_twice(site: Site, tmp_path: Path) -> None:
    """The docs' Python API example, pointed at a local quotes site, run twice in one folder: both
    runs return an outcome with a report and print the number of pages."""
    site.page("/", "/page/2/", extra='<div class="quote"><span class="text">A</span>'
              '<small>X</small></div><li class="next"><a href="/page/2/">next</a></li>')
    site.page("/page/2/", extra='<div class="quote"><span class="text">B</span>'
              '<small>Y</small></div>')
    script = readme_api_example().replace("https://quotes.example/", site.url("/"))
    (tmp_path / "quotes_example.py").write_text(script)
    outputs = []
    for _ in range(2):
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "quotes_example.py", cwd=tmp_path, env=clean_env(),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
        out, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == 0, err.decode()
        outputs.append(out.decode().strip())
    assert outputs == ["2 pages", "2 pages"]
    with (tmp_path / "quotes.items.csv").open() as items:
        assert len(items.read().splitlines()) == 3  # the header and two quotes


async def test_a_job_never_cuts_back_another_jobs_output(site: Site, tmp_path: Path) -> None:
    """Job A writes out.jsonl, out.csv and a WARC prefix; job B (another job directory) given
    the same outputs is refused with exit 2 in one line; A's recrawl keeps every record; once
    A's directory is removed, B takes the outputs over and appends."""
    site.page("/", "/a")
    site.page("/a")
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    outputs = ["-o", "out.jsonl", "-o", "out.csv", "-o", "crawl.warc.gz"]
    code, _, err = await run_cli("seeds.txt", "--job-dir", "A", *outputs, cwd=tmp_path)
    assert code == 0, err
    for output in ("out.jsonl", "out.csv", "crawl.warc.gz"):
        code, _, err = await run_cli("seeds.txt", "--job-dir", "B", "-o", output,
                                     cwd=tmp_path)
        assert code == 2
        one_line_error(err, f"output {output} belongs to the job in ")
    code, _, err = await run_cli("seeds.txt", "--job-dir", "A", *outputs, "--recrawl",
                                 cwd=tmp_path)
    assert code == 0, err
    assert len(lines_of(tmp_path / "out.jsonl")) == 4
    assert len((tmp_path / "out.csv").read_text().splitlines()) == 5
    assert warcs(tmp_path) == 1  # the recrawl appends to it
    shutil.rmtree(tmp_path / "A")
    code, _, err = await run_cli("seeds.txt", "--job-dir", "B", *outputs, cwd=tmp_path)
    assert code == 0, err
    assert len(lines_of(tmp_path / "out.jsonl")) == 6
    assert warcs(tmp_path) == 2  # B's own file, the next serial


async def test_no_credential_reaches_any_output_record_report_status_or_log(
        site: Site, tmp_path: Path) -> None:
    """A seed with user:password@ on a site that asks for Basic auth: every file the crawl
    writes (JSON Lines, CSV, SQLite, WARC unzipped, crawl.db, report, status file) and its
    debug log hold neither the password nor its Basic token; the WARC request record says
    `Authorization: Basic [redacted]`."""
    secret = "s3cr3t-Pa55"
    token = base64.b64encode(f"alice:{secret}".encode()).decode()

    async def private(request: web.Request) -> web.Response:
        if request.headers.get("Authorization") != f"Basic {token}":
            return web.Response(status=401, headers={"WWW-Authenticate": "Basic"})
        return web.Response(text='<title>in</title><a href="/p2">p2</a>',
                            content_type="text/html")

    site.route("/", private)
    site.route("/p2", private)
    host = site.url("/").replace("http://", "")
    (tmp_path / "seeds.txt").write_text(f"http://alice:{secret}@{host}\n")
    code, _, err = await run_cli(
        "seeds.txt", "-o", "out.jsonl", "-o", "out.csv", "-o", "out.db", "-o", "crawl.warc.gz",
        "--status-file", "status.json", "--log-level", "debug", "--record-headers",
        cwd=tmp_path)
    assert code == 0, err
    statuses = [r["status"] for r in lines_of(tmp_path / "out.jsonl")]
    assert statuses == [200, 200]
    assert secret not in err and token not in err
    written = [p for p in files_below(tmp_path) if p.name != "seeds.txt"]
    assert len(written) >= 8
    for path in written:
        data = path.read_bytes()
        if path.name.endswith(".gz"):
            data = gzip.decompress(data)
            assert b"Authorization: Basic [redacted]" in data
        assert secret.encode() not in data and token.encode() not in data, path


async def test_schedules_are_five_field_cron(tmp_path: Path) -> None:
    """A six-field expression (seconds), one with no next date, or no cron at all is refused
    with one line and exit 2; --with-seconds takes seconds when they are meant."""
    (tmp_path / "seeds.txt").write_text("http://127.0.0.1:9/\n")
    for expression, words in (("*/10 * * * * *", "has six fields"),
                               ("0 0 31 2 *", "never comes due"),
                               ("every day", "is not a cron expression")):
        code, _, err = await run_cli("schedule", expression, "seeds.txt", cwd=tmp_path)
        assert code == 2
        one_line_error(err, words)
    assert cron_problem("*/10 * * * * *", with_seconds=True) is None
    assert cron_problem("0 3 * * *") is None


def test_job_ids_survive_reopening_and_differ_between_jobs(tmp_path: Path) -> None:
    """A job's id is made with its crawl.db and kept; a new job directory has another."""
    from crawler.jobs.state import JobState

    ids = []
    for job in ("one", "one", "two"):
        (tmp_path / job).mkdir(exist_ok=True)
        state = JobState.open(tmp_path / job)
        ids.append(state.job_id)
        state.close()
    assert ids[0] == ids[1] != ids[2]
    with sqlite3.connect(tmp_path / "one" / "crawl.db") as db:
        assert db.execute("SELECT count(*) FROM meta").fetchone()[0] == 1
