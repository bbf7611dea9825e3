"""What a new user meets in the first hour: a job that grows with new seeds and a raised
--max-pages, a dead seed that fails fast and says so, checks made before anything runs, seeds
files with comments, a grouped --help, environment typos, debug logs, status, headers and the
server's address in records, and a setup that is instant the second time."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from crawler.frontier.seeds import parse_seeds
from crawler.settings import warn_unknown_environment
from tests.site import Site
from tests.test_cli import clean_env, one_line_error, run_cli

ROOT = Path(__file__).resolve().parent.parent


def seed_files(sites: tuple[Site, Site], folder: Path) -> None:
    """Each site gets / linking /a to /d; a.txt seeds the first, b.txt the second."""
    for site in sites:
        site.page("/", "/a", "/b", "/c", "/d")
        for path in ("/a", "/b", "/c", "/d"):
            site.page(path)
    for name, site in zip(("a.txt", "b.txt"), sites, strict=True):
        (folder / name).write_text(site.url("/") + "\n")


def records_of(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


async def test_new_seeds_and_a_raised_max_pages_go_on_with_a_finished_job(
        two_sites: tuple[Site, Site], tmp_path: Path) -> None:
    """The default job directory: a.txt, then b.txt (another site) crawls b; a --max-pages 3
    trial, rerun with --max-pages 0, crawls the rest; a run with nothing to do says which
    output it did not write."""
    second = two_sites[1]
    seed_files(two_sites, tmp_path)
    code, _, _ = await run_cli("a.txt", "--max-pages", "3", "-o", "one.jsonl", cwd=tmp_path)
    assert code == 0 and len(records_of(tmp_path / "one.jsonl")) == 3
    code, _, err = await run_cli("a.txt", "--max-pages", "3", "-o", "same.jsonl", cwd=tmp_path)
    assert code == 0 and "nothing was written to" in err and "same.jsonl" in err
    code, _, _ = await run_cli("a.txt", "--max-pages", "0", "-o", "more.jsonl", cwd=tmp_path)
    assert code == 0 and len(records_of(tmp_path / "more.jsonl")) == 2
    code, _, _ = await run_cli("b.txt", "-o", "b.jsonl", cwd=tmp_path)
    assert code == 0
    assert {r["url"] for r in records_of(tmp_path / "b.jsonl")} == {
        second.url(p) for p in ("/", "/a", "/b", "/c", "/d")}


@pytest.mark.timeout(30)
async def test_a_dead_seed_fails_fast_says_what_it_is_and_exits_4(tmp_path: Path) -> None:
    (tmp_path / "seeds.txt").write_text("http://127.0.0.1:9/\n")
    code, _, err = await run_cli("seeds.txt", "-o", "out.jsonl", cwd=tmp_path)
    assert code == 4 and "no seed got an answer" in err
    (record,) = records_of(tmp_path / "out.jsonl")
    assert record["error"].startswith("connection failed: ")


async def test_checks_come_before_anything_runs(tmp_path: Path) -> None:
    """schedule with a missing seeds file, or a bad output, fails at once with exit 2; a bad -o
    starts no run in the job."""
    code, _, err = await run_cli("schedule", "0 3 * * *", "missing.txt", cwd=tmp_path)
    assert code == 2
    one_line_error(err, "seeds file not found: missing.txt")
    (tmp_path / "seeds.txt").write_text("http://127.0.0.1:9/\n")
    code, _, err = await run_cli("schedule", "0 3 * * *", "seeds.txt", "-o", "x.xml",
                                 cwd=tmp_path)
    assert code == 2
    code, _, err = await run_cli("seeds.txt", "-o", "x.xml", cwd=tmp_path)
    assert code == 2
    one_line_error(err, "unknown output 'x.xml'")
    assert not (tmp_path / "crawl-job").exists()


def test_seeds_files_take_trailing_comments() -> None:
    seeds = parse_seeds(b"https://example.com/ # docs\nhttp://a.com/x#top\n\t# note\n", "s")
    assert seeds.urls == ["https://example.com/", "http://a.com/x"]


def test_help_is_grouped_with_honest_metavars_and_choices() -> None:
    text = subprocess.run([sys.executable, "-m", "crawler", "--help"], capture_output=True,
                          text=True, check=True, env=clean_env()).stdout
    for title in ("Scope: what to crawl", "Politeness", "Limits", "Outputs", "Jobs",
                  "Parsing and extraction", "Scale-out", "Logging"):
        assert f"\n{title}" in text, title
    assert text.index("--frontier URL") > text.index("--max-pages N")  # not among the basics
    assert "--strip-params GLOB" in text and "--allow-network CIDR" in text
    assert "--autothrottle-target N" in text and "--scope {host,domain,any}" in text
    assert "(default: )" not in text


def test_environment_typos_are_named_and_one_value_is_a_list() -> None:
    warnings = warn_unknown_environment({"CRAWLER_MAXPAGES": "5", "CRAWLER_UID": "1"})
    assert warnings == ["environment variable CRAWLER_MAXPAGES names no setting and is "
                        "ignored (did you mean CRAWLER_MAX_PAGES?)"]
    from crawler.settings import load_settings
    assert load_settings(environ={"CRAWLER_DENY": r"[0-9]+\.pdf$"}).deny == (r"[0-9]+\.pdf$",)
    assert load_settings(environ={"CRAWLER_DENY": '["a", "b"]'}).deny == ("a", "b")


async def test_debug_logs_each_fetch_status_reads_the_default_job_and_records_say_more(
        site: Site, tmp_path: Path) -> None:
    """--log-level debug: a line per fetch; `status` alone: the default job; the summary
    says 'no label', not 'none'; --record-headers and the server's IP in records."""
    site.page("/", "/missing")
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    code, _, err = await run_cli("seeds.txt", "--log-level", "debug", "--record-headers",
                                 "-o", "out.jsonl", cwd=tmp_path)
    assert code == 0
    assert f"fetched {site.url('/')}: 200, " in err and "attempt 1" in err
    assert "no label: 1" in err and "none: " not in err
    home = next(r for r in records_of(tmp_path / "out.jsonl") if r["url"] == site.url("/"))
    assert home["ip"] == "127.0.0.1"
    assert home["headers"]["Content-Type"] == "text/html; charset=utf-8"
    code, out, _ = await run_cli("status", cwd=tmp_path)
    assert code == 0 and "job crawl-job" in out


def test_a_second_setup_asks_no_package_index(tmp_path: Path) -> None:
    """With the stamp in place the setup script returns without running pip: here with no
    package index reachable at all."""
    stamp = ROOT / ".venv" / "setup.stamp"
    assert stamp.is_file(), "the venv was made by scripts/setup-venv.sh"
    log = ROOT / ".venv" / "setup.log"
    before = log.stat().st_mtime if log.exists() else None
    env = {**clean_env(), "PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_NO_INDEX": "1",
           "EXTRAS": stamp.read_text().split()[1] if len(stamp.read_text().split()) > 1
           else ""}
    result = subprocess.run([str(ROOT / "scripts/setup-venv.sh")], env=env,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert (log.stat().st_mtime if log.exists() else None) == before
