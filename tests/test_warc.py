"""WARC output (`-o crawl.warc.gz`): records that `warcio check` accepts, payloads identical to
what the server sent, request/response pairs, revisits on a recrawl, rotation by size, a CDXJ
index that resolves every URL, and exactly-once files across SIGKILL."""

from __future__ import annotations

import asyncio
import gzip
import json
import signal
import sqlite3
import subprocess
import sys
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from warcio.archiveiterator import ArchiveIterator

from crawler.app import run_crawl
from crawler.frontier.seeds import parse_seeds
from crawler.settings import load_settings
from tests.site import Site
from tests.test_chaos import start

BIN = Path(sys.executable).parent


async def crawl(tmp_path: Path, seeds: list[str], **overrides: Any) -> None:
    values = {"job_dir": str(tmp_path / "job"), "outputs": [str(tmp_path / "crawl.warc.gz")],
              "quiet": "true", "parse_mode": "inline", "sink_flush_seconds": "0.05",
              **{k: v if isinstance(v, list) else str(v) for k, v in overrides.items()}}
    settings = load_settings(values)
    parsed = parse_seeds("\n".join(seeds).encode(), "seeds", settings.url_rules)
    await run_crawl(settings, parsed.urls, handle_signals=False)


def tool(name: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A command-line tool of the venv (warcio, cdxj-indexer) on `args`."""
    return subprocess.run([str(BIN / name), *args], capture_output=True, text=True, timeout=60)


def warc_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("crawl-*.warc.gz"))


def records(folder: Path) -> list[Any]:
    """(type, url, headers dict, http status, payload) of every record in every file."""
    out = []
    for path in warc_files(folder):
        with path.open("rb") as stream:
            for record in ArchiveIterator(stream):
                http = record.http_headers
                out.append((record.rec_type, record.rec_headers.get_header("WARC-Target-URI"),
                            dict(record.rec_headers.headers), http,
                            record.content_stream().read()))
    return out


def build_site(site: Site) -> dict[str, bytes]:
    """Pages, a gzip-encoded page, a PDF and a page over the body cap; what each path serves
    (decoded)."""
    site.page("/", "/a", "/zipped", "/doc.pdf", "/big", "/gone", title="Home",
              validators="etag")
    site.page("/a", "/", title="A", validators="etag")
    zipped = b"<title>Z</title>" + b"<p>compressed text</p>" * 200
    site.add("/zipped", gzip.compress(zipped), headers={"Content-Encoding": "gzip"})
    pdf = b"%PDF-1.4 " + bytes(range(256)) * 10
    site.add("/doc.pdf", pdf, content_type="application/pdf")
    site.add("/big", b"<title>big</title>" + b"x" * 300_000)
    served = {"/": None, "/a": None, "/zipped": zipped, "/doc.pdf": pdf}
    return {path: body for path, body in served.items() if body is not None}


async def test_warc_holds_each_fetch_as_served_and_passes_warcio_check(
        site: Site, tmp_path: Path) -> None:
    served = build_site(site)
    await crawl(tmp_path, [site.url("/")], max_body_bytes=100_000)
    files = warc_files(tmp_path)
    assert len(files) == 1 and files[0].name.startswith("crawl-00000-")
    check = tool("warcio", "check", "-v", str(files[0]))
    assert check.returncode == 0, check.stdout + check.stderr
    assert "digest pass" in check.stdout and "fail" not in check.stdout
    found = records(tmp_path)
    assert found[0][0] == "warcinfo"
    responses = {url: (headers, http, payload) for kind, url, headers, http, payload in found
                 if kind == "response"}
    requests = Counter(url for kind, url, *_ in found if kind == "request")
    assert set(responses) == {site.url(p) for p in ("/", "/a", "/zipped", "/doc.pdf", "/big",
                                                    "/gone")}
    assert set(requests.values()) == {1} and set(requests) == set(responses)
    for path, body in served.items():
        assert responses[site.url(path)][2] == body, path  # byte-identical, decoded
    zipped_http = responses[site.url("/zipped")][1]
    assert zipped_http.get_header("X-Crawler-Original-Content-Encoding") == "gzip"
    assert zipped_http.get_header("Content-Encoding") is None
    assert zipped_http.get_header("Content-Length") == str(len(served["/zipped"]))
    big_headers, _, big_payload = responses[site.url("/big")]
    assert big_headers["WARC-Truncated"] == "length" and len(big_payload) == 100_000
    assert responses[site.url("/gone")][1].get_statuscode() == "404"
    for headers, _, _ in responses.values():
        assert headers["WARC-Payload-Digest"].startswith("sha1:")
        assert headers["WARC-Block-Digest"].startswith("sha1:")
        assert headers["WARC-IP-Address"] == "127.0.0.1"
    index = tool("cdxj-indexer", *map(str, files)).stdout
    indexed = {line.split(" ", 2)[2].split('"url": "')[1].split('"')[0]
               for line in index.splitlines()}
    assert indexed == set(responses)


async def test_recrawl_writes_revisit_records(site: Site, tmp_path: Path) -> None:
    """A recrawl: a 304 is a server-not-modified revisit; a body that hashes as before is an
    identical-payload-digest revisit; both keep their request record."""
    site.page("/", "/same", title="Home", validators="etag")
    site.page("/same", "/", title="Same")  # no validators: 200 again, the same bytes
    await crawl(tmp_path, [site.url("/")])
    await crawl(tmp_path, [site.url("/")], recrawl="true")
    revisits = {url: headers for kind, url, headers, _, _ in records(tmp_path)
                if kind == "revisit"}
    assert revisits[site.url("/")]["WARC-Profile"].endswith("/revisit/server-not-modified")
    same = revisits[site.url("/same")]
    assert same["WARC-Profile"].endswith("/revisit/identical-payload-digest")
    first = next(h for kind, url, h, _, _ in records(tmp_path)
                 if kind == "response" and url == site.url("/same"))
    assert same["WARC-Payload-Digest"] == first["WARC-Payload-Digest"]
    check = tool("warcio", "check", *map(str, warc_files(tmp_path)))
    assert check.returncode == 0, check.stdout


async def test_files_rotate_at_the_size_cap(site: Site, tmp_path: Path) -> None:
    site.page("/", *[f"/p{i}" for i in range(60)])
    for i in range(60):
        site.page(f"/p{i}", extra="<p>" + "text " * 400 + "</p>")
    await crawl(tmp_path, [site.url("/")], warc_max_bytes=8000, sink_batch_size=5)
    files = warc_files(tmp_path)
    assert len(files) >= 3
    assert [f.name.split("-")[1] for f in files] == [f"{n:05d}" for n in range(len(files))]
    for path in files:  # each file opens with its own warcinfo
        with path.open("rb") as stream:
            assert next(iter(ArchiveIterator(stream))).rec_type == "warcinfo"
    responses = Counter(url for kind, url, *_ in records(tmp_path) if kind == "response")
    assert len(responses) == 61 and set(responses.values()) == {1}


@pytest.mark.timeout(240)
async def test_sigkill_leaves_each_response_exactly_once(tmp_path: Path) -> None:
    """Killed after the WARC has a batch and before the job commits it, then killed at a random
    moment, then resumed: every page's response is in the WARC files exactly once."""
    from tests.site import tree_sites

    async with tree_sites(("127.0.0.1",), 300, 0.01) as sites:
        (tmp_path / "seeds.txt").write_text(sites[0].url("/p0") + "\n")
        args = ["seeds.txt", "--job-dir", "job", "-o", "crawl.warc.gz", "--warc-max-bytes",
                "60000", "--per-host", "4", "--sink-batch-size", "10",
                "--sink-flush-seconds", "0.05", "--parse-mode", "inline", "--quiet"]
        proc = await start(tmp_path, args, fault="4:1")  # the WARC wrote batch 4, no commit
        _, err = await asyncio.wait_for(proc.communicate(), 60)
        assert proc.returncode == -signal.SIGKILL, err.decode()
        proc = await start(tmp_path, args)
        await asyncio.sleep(1.0)
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        proc = await start(tmp_path, args)
        _, err = await asyncio.wait_for(proc.communicate(), 120)
        assert proc.returncode == 0, err.decode()
        expected = {sites[0].url(f"/p{n}") for n in range(300)}
    responses = Counter(url for kind, url, *_ in records(tmp_path) if kind == "response")
    assert responses == Counter(expected)
    check = tool("warcio", "check", *map(str, warc_files(tmp_path)))
    assert check.returncode == 0, check.stdout


@pytest.mark.timeout(120)
async def test_sigkill_in_the_first_batch_and_after_a_rotation_resumes_exactly_once(
        tmp_path: Path) -> None:
    """Two crash windows: a kill -9 inside the very first batch (the outputs have it, the job
    committed nothing but the opening checkpoint), and a kill -9 after a batch went into a WARC
    file that rotation just started (no commit covers that file). Each resume ends with one
    JSON Lines record and one WARC response per URL."""
    from tests.site import tree_sites

    async with tree_sites(("127.0.0.1",), 61, 0.005) as sites:
        expected = Counter(sites[0].url(f"/p{n}") for n in range(61))
        for name, fault, cap in (("first", "1", "1000000000"), ("rotated", "3", "1")):
            folder = tmp_path / name
            folder.mkdir()
            (folder / "seeds.txt").write_text(sites[0].url("/p0") + "\n")
            args = ["seeds.txt", "--job-dir", "job", "-o", "out.jsonl", "-o", "crawl.warc.gz",
                    "--warc-max-bytes", cap, "--per-host", "4", "--sink-batch-size", "8",
                    "--sink-flush-seconds", "0.05", "--parse-mode", "inline", "--quiet"]
            proc = await start(folder, args, fault=fault)
            _, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == -signal.SIGKILL, err.decode()
            written = (folder / "out.jsonl").read_text().count("\n")
            with sqlite3.connect(folder / "job" / "crawl.db") as db:
                committed = db.execute("SELECT count(*) FROM pages").fetchone()[0]
            assert written > committed  # lines no commit covers
            assert committed == 0 or name != "first"
            if name == "rotated":  # the warcinfo-only file 0, then one file per batch
                assert len(warc_files(folder)) == 4
            proc = await start(folder, args)
            _, err = await asyncio.wait_for(proc.communicate(), 60)
            assert proc.returncode == 0, err.decode()
            lines = (folder / "out.jsonl").read_text().splitlines()
            assert Counter(json.loads(line)["url"] for line in lines) == expected, name
            responses = Counter(url for kind, url, *_ in records(folder) if kind == "response")
            assert responses == expected, name
