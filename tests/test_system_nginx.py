"""System: crawl a real static site (Python's HTML docs) served by nginx on loopback and find
every page that `wget2 -r` finds.

Needs Debian's nginx-light, wget2 and python3.11-doc (scripts/system-deps.sh installs them). They
are skipped when missing, except where CRAWLER_REQUIRE_SYSTEM_TESTS=1 (CI), where that fails.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.real_servers import require

pytestmark = pytest.mark.system


def wget2_pages(base: str, workdir: Path) -> set[str]:
    """The HTML pages `wget2 -r -l inf` downloads from base/index.html, as URLs."""
    wget2 = shutil.which("wget2")
    require(wget2 is not None, "wget2")
    assert wget2 is not None
    subprocess.run([wget2, "-r", "-l", "inf", "-q", "--no-robots", "-P", str(workdir),
                    "--no-host-directories", f"{base}/index.html"], timeout=300, check=False)
    return {f"{base}/{p.relative_to(workdir).as_posix()}" for p in workdir.rglob("*.html")}


def test_finds_every_page_wget2_finds(nginx_docs: str, tmp_path: Path) -> None:
    """With --per-host 64 --concurrency 64 the crawl's HTML pages include all of wget2's."""
    expected = wget2_pages(nginx_docs, tmp_path / "wget2")
    assert len(expected) > 400, "wget2 found too few pages for a meaningful comparison"
    seeds = tmp_path / "seeds.txt"
    seeds.write_text(f"{nginx_docs}/index.html\n")
    out = tmp_path / "out.jsonl"
    result = subprocess.run(
        [sys.executable, "-m", "crawler", str(seeds), "--per-host", "64", "--concurrency", "64",
         "--job-dir", str(tmp_path / "job"), "-o", str(out), "--quiet"],
        capture_output=True, text=True, timeout=600, check=False)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in out.read_text().splitlines()]
    found = {r["url"] for r in records
             if r["status"] == 200 and (r["content_type"] or "").startswith("text/html")}
    assert sorted(expected - found) == []
    assert len({r["url"] for r in records}) == len(records)
