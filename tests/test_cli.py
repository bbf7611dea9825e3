"""The command line, run as users run it (`python -m crawler`) in a subprocess."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

from aiohttp import web

from crawler.settings import FIELDS, flag_for
from tests.site import Site


def clean_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("CRAWLER_")}


async def run_cli(*args: str, cwd: Path, env: dict[str, str] | None = None
                  ) -> tuple[int, str, str]:
    """Run `python -m crawler ARGS` without blocking the loop that serves the test site."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "crawler", *args, cwd=cwd, env={**clean_env(), **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


def one_line_error(stderr: str, expected: str) -> None:
    """The failure is a single 'crawler: error:' line containing `expected`, no traceback."""
    assert "Traceback" not in stderr
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert lines[0].startswith("crawler: error: ") and expected in lines[0], lines[0]


def test_help_lists_every_option_with_its_default() -> None:
    """--help shows a flag and a default for every setting, and the exit codes."""
    result = subprocess.run([sys.executable, "-m", "crawler", "--help"], capture_output=True,
                            text=True, check=True, env=clean_env())
    text = " ".join(result.stdout.split())
    for name in FIELDS:
        assert flag_for(name) in text, name
    assert text.count("(default: ") >= len(FIELDS)
    assert "-o PATH, --output PATH" in text and "143" in text


async def test_missing_and_empty_seeds_files(tmp_path: Path) -> None:
    """A missing or empty seeds file exits 2 with one line that names the file."""
    code, _, err = await run_cli("nope.txt", cwd=tmp_path)
    assert code == 2
    one_line_error(err, "seeds file not found: nope.txt")
    (tmp_path / "empty.txt").write_text("# only a comment\n")
    code, _, err = await run_cli("empty.txt", cwd=tmp_path)
    assert code == 2
    one_line_error(err, "seeds file empty.txt has no usable URL")


async def test_bad_seed_line_is_reported_and_the_rest_crawled(tmp_path: Path, site: Site) -> None:
    """A malformed line is reported with its line number; good seeds are crawled; exit 3."""
    site.page("/")
    (tmp_path / "seeds.txt").write_text(f"# mine\n{site.url('/')}\nhttp//broken\n")
    code, _, err = await run_cli("seeds.txt", "-o", "out.jsonl", "--quiet", cwd=tmp_path)
    assert code == 3, err
    assert "seeds.txt:3: " in err and "Traceback" not in err
    records = [json.loads(x) for x in (tmp_path / "out.jsonl").read_text().splitlines()]
    assert [r["url"] for r in records] == [site.url("/")]


async def test_invalid_settings_name_the_setting(tmp_path: Path) -> None:
    """Bad flags, environment values, config files and outputs each exit 2 with a named error."""
    (tmp_path / "seeds.txt").write_text("http://127.0.0.1:9/\n")
    (tmp_path / "bad.toml").write_text("per_host = 0\n")
    cases = [
        (["--concurrency", "0"], {}, "invalid setting concurrency=0 (from --concurrency): "
                                     "must be >= 1"),
        ([], {"CRAWLER_SCOPE": "planet"}, "(from environment CRAWLER_SCOPE): must be one of"),
        (["--config", "bad.toml"], {}, "per_host=0 (from config file bad.toml): must be >= 1"),
        (["-o", "out.xml"], {}, "unknown output 'out.xml'"),
        (["--deny", "("], {}, "is not a valid regular expression"),
    ]
    for args, env, expected in cases:
        code, _, err = await run_cli("seeds.txt", *args, cwd=tmp_path, env=env)
        assert code == 2, (args, err)
        one_line_error(err, expected)


async def test_unusable_job_dir_is_named(tmp_path: Path) -> None:
    """A job directory that cannot be created exits 2 with one line naming it."""
    (tmp_path / "seeds.txt").write_text("http://127.0.0.1:9/\n")
    (tmp_path / "a-file").write_text("")
    code, _, err = await run_cli("seeds.txt", "--job-dir", "a-file/job", cwd=tmp_path)
    assert code == 2
    one_line_error(err, "cannot use job directory a-file/job: Not a directory")


async def test_unwritable_output_is_a_fatal_error(tmp_path: Path) -> None:
    """An output that cannot be opened exits 1 with one line naming it."""
    (tmp_path / "seeds.txt").write_text("http://127.0.0.1:9/\n")
    (tmp_path / "taken.jsonl").mkdir()
    code, _, err = await run_cli("seeds.txt", "-o", "taken.jsonl", cwd=tmp_path)
    assert code == 1
    one_line_error(err, "cannot open output taken.jsonl")


async def test_finished_crawl_prints_summary_and_exits_0(tmp_path: Path, site: Site) -> None:
    """A finished crawl exits 0, writes the default SQLite results and prints a summary."""
    site.page("/", "/a")
    site.page("/a")
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    code, _, err = await run_cli("seeds.txt", cwd=tmp_path)
    assert code == 0, err
    assert "crawled 2 URLs" in err and "crawl-job/crawl.db" in err
    with sqlite3.connect(tmp_path / "crawl-job" / "crawl.db") as db:
        assert db.execute("SELECT count(*) FROM pages").fetchone() == (2,)


async def test_a_finished_job_run_again_does_nothing_and_says_so(tmp_path: Path,
                                                                   site: Site) -> None:
    """The same command on a finished job fetches nothing, exits 0 and tells how to recrawl;
    with --recrawl it crawls again under a new run id, and report.json says so."""
    site.page("/")
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    assert (await run_cli("seeds.txt", cwd=tmp_path))[0] == 0
    first = json.loads((tmp_path / "crawl-job" / "report.json").read_text())
    code, _, err = await run_cli("seeds.txt", cwd=tmp_path)
    assert code == 0 and "nothing to do (pass --recrawl" in err
    assert site.page_hits() == {"/": 1}
    code, _, err = await run_cli("seeds.txt", "--recrawl", cwd=tmp_path)
    assert code == 0 and "(recrawl, completed)" in err
    second = json.loads((tmp_path / "crawl-job" / "report.json").read_text())
    assert second["run_id"] != first["run_id"] and second["by_change"]["unchanged"] == 1


def _slow_site(site: Site, pages: int, seconds: float) -> None:
    async def slow_page(request: web.Request) -> web.Response:
        await asyncio.sleep(seconds)
        n = int(request.path.strip("/p") or 0)
        links = "".join(f'<a href="/p{k}">{k}</a>' for k in range(n + 1, min(n + 5, pages)))
        return web.Response(text=f"<title>{n}</title>{links}", content_type="text/html")

    for n in range(pages):
        site.route(f"/p{n}", slow_page)


async def test_sigterm_stops_cleanly_with_complete_outputs(tmp_path: Path, site: Site) -> None:
    """SIGTERM: in-flight fetches finish, every request the server answered has exactly one
    record, the JSONL file holds only whole lines, and the exit status is 143."""
    _slow_site(site, pages=400, seconds=0.1)
    (tmp_path / "seeds.txt").write_text(site.url("/p0") + "\n")
    out = tmp_path / "out.jsonl"
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "crawler", "seeds.txt", "-o", "out.jsonl", "--concurrency", "4",
        "--per-host", "4", "--sink-flush-seconds", "0.05", cwd=tmp_path, env=clean_env(),
        stderr=asyncio.subprocess.PIPE)
    for _ in range(300):
        if out.exists() and len(out.read_text().splitlines()) >= 10:
            break
        await asyncio.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    _, err = await asyncio.wait_for(proc.communicate(), 30)
    assert proc.returncode == 143, err.decode()
    text = out.read_text()
    assert text.endswith("\n")
    urls = [json.loads(line)["url"] for line in text.splitlines()]
    assert len(urls) == len(set(urls)) < 400
    assert {site.url(p) for p in site.page_hits()} == set(urls)
    assert "stopped by SIGTERM; 0 in-flight fetches were cancelled" in err.decode()


async def test_second_signal_exits_at_once(tmp_path: Path, site: Site) -> None:
    """A second Ctrl-C does not wait for the grace period: the process exits with 130."""
    _slow_site(site, pages=10, seconds=30)
    (tmp_path / "seeds.txt").write_text(site.url("/p0") + "\n")
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "crawler", "seeds.txt", "--shutdown-grace", "60", cwd=tmp_path,
        env=clean_env(), stderr=asyncio.subprocess.PIPE)
    for _ in range(200):
        if site.hits:
            break
        await asyncio.sleep(0.05)
    proc.send_signal(signal.SIGINT)
    await asyncio.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 130
    assert "second SIGINT: exiting now" in err.decode()
