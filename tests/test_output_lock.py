"""An append-only output has one writer: a second crawl appending to the same file would lose
records to the first one's cut-back on resume, so it is refused with one line (the file belongs
to the job that writes it: crawler.sinks.owner; and it is locked while written)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from tests.site import Site
from tests.test_cli import _slow_site, clean_env, one_line_error, run_cli


async def test_a_second_crawl_on_the_same_jsonl_is_refused(site: Site, tmp_path: Path) -> None:
    """Job A is appending to shared.jsonl; job B asked to append to it exits 2 with one line
    naming A's job and writes nothing; A's file holds exactly A's records."""
    _slow_site(site, 30, 0.2)  # A runs for seconds: B's start-up must fall inside it
    (tmp_path / "seeds.txt").write_text(site.url("/p0") + "\n")
    first = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "crawler", "seeds.txt", "--job-dir", "a", "-o", "shared.jsonl",
        "--quiet", "--sink-flush-seconds", "0.05", cwd=tmp_path, env=clean_env(),
        stderr=asyncio.subprocess.PIPE)
    shared = tmp_path / "shared.jsonl"
    for _ in range(200):
        if shared.exists() and shared.stat().st_size:
            break
        await asyncio.sleep(0.05)
    code, _, err = await run_cli("seeds.txt", "--job-dir", "b", "-o", "shared.jsonl", cwd=tmp_path)
    assert code == 2
    one_line_error(err, "output shared.jsonl belongs to the job in ")
    _, err = await asyncio.wait_for(first.communicate(), 60)
    assert first.returncode == 0, err.decode()
    urls = [json.loads(line)["url"] for line in shared.read_text().splitlines()]
    assert len(urls) == len(set(urls)) == 30


async def test_one_output_given_twice_is_refused(tmp_path: Path, site: Site) -> None:
    site.page("/")
    (tmp_path / "seeds.txt").write_text(site.url("/") + "\n")
    code, _, err = await run_cli("seeds.txt", "-o", "x.jsonl", "-o", "./x.jsonl", cwd=tmp_path)
    assert code == 2
    one_line_error(err, "is given twice")


def test_an_output_being_appended_to_is_locked_against_a_second_writer(tmp_path: Path) -> None:
    """The backstop under ownership: while one writer holds a file, a second open is refused
    with OutputLocked (exit 75), and the first writer's bytes stay."""
    import pytest

    from crawler.errors import OutputLocked
    from crawler.sinks.append import AppendOnlyFile

    first, second = AppendOnlyFile(tmp_path / "x.jsonl"), AppendOnlyFile(tmp_path / "x.jsonl")
    first.open(None)
    first.append(b"{}\n")
    with pytest.raises(OutputLocked, match="is being written by another crawl"):
        second.open(0)
    first.close()
    assert (tmp_path / "x.jsonl").read_bytes() == b"{}\n"
