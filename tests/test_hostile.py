"""The hostile-site suite: the crawl finishes, every URL has a record that says what happened,
peak memory stays within the caps, and the denied server never hears from us."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests import hostile_site
from tests.site import Site

CONCURRENCY = 8
BODY_CAP = 10 * 1024 * 1024
MIB = 1024 * 1024


def run_and_measure(args: list[str], cwd: Path) -> tuple[int, str, int]:
    """Run the CLI; return its exit status, stderr and its own peak RSS in bytes (wait4 reports
    the child's rusage alone)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("CRAWLER_")}
    cwd.mkdir(parents=True, exist_ok=True)
    with (cwd / "stderr.txt").open("w+") as err:
        proc = subprocess.Popen([sys.executable, "-m", "crawler", *args], cwd=cwd, env=env,
                                stdout=subprocess.DEVNULL, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        err.seek(0)
        return proc.returncode, err.read(), usage.ru_maxrss * 1024


async def run_crawler(args: list[str], cwd: Path) -> tuple[int, str, int]:
    """run_and_measure in a thread, so this loop keeps serving the test sites."""
    return await asyncio.wait_for(asyncio.to_thread(run_and_measure, args, cwd), 240)


async def crawl_records(site: Site, tmp_path: Path, *extra: str) -> tuple[dict[str, Any], int]:
    os.makedirs(tmp_path, exist_ok=True)
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    out = tmp_path / "out.jsonl"
    code, err, peak = await run_crawler(
        ["seeds.txt", "-o", str(out), "--quiet", "--concurrency", str(CONCURRENCY),
         "--per-host", str(CONCURRENCY), "--max-body-bytes", str(BODY_CAP), *extra], tmp_path)
    assert code == 0, err
    records = [json.loads(line) for line in out.read_text().splitlines()]
    keyed = {r["url"]: r for r in records}
    assert len(keyed) == len(records), "a URL got more than one record"
    return keyed, peak


async def test_hostile_site(tmp_path: Path) -> None:
    """Bombs, drips, header floods, redirect loops and chains, denied addresses, traps, truncated
    bodies, lying charsets and deep nesting: one record each, memory within the caps."""
    site, denied = Site(), Site(host="127.0.0.2")
    await site.start()
    await denied.start()
    try:
        links = hostile_site.build(site, denied)
        benign = Site()
        await benign.start()
        benign.page("/", "/a")
        benign.page("/a")
        _, baseline = await crawl_records(benign, tmp_path / "benign")
        await benign.stop()
        records, peak = await crawl_records(
            site, tmp_path, "--timeout", "2", "--retries", "0", "--max-query-variants", "20",
            "--deny-network", "127.0.0.2/32", "--scope", "any")
    finally:
        await site.stop()
        await denied.stop()

    def rec(path: str) -> dict[str, Any]:
        return records[site.url(path)]

    assert denied.log == [], "the denied address received a request"
    for path in links:
        assert rec(path)["status"] is not None or rec(path)["error"], path
    for bomb in ("/gzip-bomb", "/brotli-bomb", "/zstd-bomb"):
        assert rec(bomb)["truncated"] is True and rec(bomb)["content_length"] == BODY_CAP, bomb
    assert rec("/drip")["error"].startswith("timeout")
    assert rec("/slow-header")["error"].startswith("timeout")
    assert rec("/big-header")["error"].startswith("bad response")
    assert rec("/many-headers")["error"].startswith("bad response")
    assert site.hits["/loop-a"] == 1 and site.hits["/loop-b"] == 1
    assert rec("/chain/10")["error"] == "too many redirects (more than 10)"
    assert "/chain/11" not in site.hits
    port = denied.base.rsplit(":", 1)[1]
    for url in (denied.url("/by-redirect"), denied.url("/by-link"),
                denied.url("/by-hex-redirect"), denied.url("/by-integer-link")):
        assert records[url]["error"].startswith("address guard: 127.0.0.2 is in the denied"), url
    assert f"http://127.0.0.2:{port}/by-hex-redirect" == rec("/to-denied-hex")["final_url"]
    errors = [r["error"] or "" for r in records.values()]
    assert any("--max-query-variants 20" in e for e in errors)
    assert any("path segment 'a' repeated" in e for e in errors)
    assert site.hits["/session"] == 1
    assert rec("/truncated")["error"].startswith("incomplete body")
    assert "/lying-target" in site.hits
    assert rec("/nested")["truncated"] is True and "/after-nested" in site.hits
    # Bodies in flight are at most CONCURRENCY x BODY_CAP; without the cap the three bombs
    # alone would expand to 768 MiB.
    assert peak - baseline < CONCURRENCY * BODY_CAP + 64 * MIB, (peak / MIB, baseline / MIB)


async def test_one_hostile_page_costs_a_bounded_number_of_bytes(site: Site, crawl,
                                                                tmp_path: Path) -> None:
    """A 175 KB page whose <base href> is a 100 KB path, with 4,000 short relative links, once
    made 1.2 GB of JSON Lines and a 2 GB crawl.db: every link resolved to a 100 KB URL, each
    recorded twice, all listed in the page's record. Now oversize URLs are recorded cut
    (`#cut-` and their fingerprint), a page adds at most 1,000 trap records and stores at most
    1 MiB of links."""
    long_path = "/" + "b" * 100_000 + "/"
    links = "".join(f"<a href='l{i}'>x</a>" for i in range(4000))
    site.add("/", f"<base href='{long_path}'>{links}".encode())
    site.redirect("/moved", "/" + "c" * 15_000)  # under the header cap, over the URL cap
    site.page("/other", "/moved")
    job = tmp_path / "job"
    records = await crawl([site.url("/"), site.url("/other")], job_dir=str(job))
    out = tmp_path / "out-1.jsonl"  # the crawl fixture's first output
    assert out.stat().st_size < 2_000_000, out.stat().st_size
    assert (job / "crawl.db").stat().st_size < 8_000_000
    page = next(r for r in records if r["url"] == site.url("/"))
    assert page["links_found"] == 4000 and page["links"] == []
    traps = [r for r in records if r["error"] == "trap: URL longer than 2048 characters"]
    assert len(traps) == 1000 + 1  # the page's first 1,000, and the redirect's target
    assert all("#cut-" in r["url"] and len(r["url"]) < 300 for r in traps)
    moved = next(r for r in records if r["url"] == site.url("/moved"))
    assert len(moved["final_url"]) < 300 and len(moved["links"][0]) < 300
    assert len(site.page_hits()) == 3
