"""System: the trap defences cost real sites nothing. The Python 3.11 docs (530 pages) and the
PostgreSQL 15 docs (1,173 pages, numbered release notes and prev/next chains across every
page), served by nginx, crawled with the default settings: no URL gets a `trap:` record, and
every HTML file is fetched."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from bench.servers import nginx, nginx_binary
from tests.conftest import DOCS
from tests.real_servers import free_port, require
from tests.test_cli import clean_env

pytestmark = pytest.mark.system
PG_DOCS = Path("/usr/share/doc/postgresql-doc-15/html")


@pytest.fixture(params=["python", "postgresql"])
def real_site(request: pytest.FixtureRequest) -> Iterator[tuple[str, Path, str]]:
    """(base URL, document root, seed path) of a real documentation site on nginx."""
    root, seed = (DOCS, "index.html") if request.param == "python" else (PG_DOCS, "index.html")
    require(nginx_binary() is not None, "nginx")
    require((root / seed).is_file(), f"{root} (scripts/system-deps.sh installs it)")
    port = free_port()
    with nginx({("127.0.0.1", port): root}):
        yield f"http://127.0.0.1:{port}", root, seed


@pytest.mark.timeout(300)
def test_real_documentation_loses_no_page_to_trap_limits(real_site: tuple[str, Path, str],
                                                         tmp_path: Path) -> None:
    base, root, seed = real_site
    (tmp_path / "seeds.txt").write_text(f"{base}/{seed}\n")
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "seeds.txt", "--per-host", "16", "--concurrency",
         "16", "-o", "out.jsonl", "--quiet"], cwd=tmp_path, env=clean_env(),
        capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    traps = [r["url"] for r in records if (r["error"] or "").startswith("trap:")]
    assert traps == []
    fetched = {r["url"] for r in records if r["status"] == 200}
    linked = {f"{base}/{p.relative_to(root).as_posix()}" for p in root.rglob("*.html")}
    reachable = linked & {link for r in records for link in r["links"]} | {f"{base}/{seed}"}
    assert reachable <= fetched
    print(f"{root}: {len(records)} records, {len(fetched)} fetched, 0 traps")
