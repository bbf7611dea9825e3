"""`--content markdown` keeps the structure of real documentation (the PostgreSQL and Python
manuals, served by nginx), with either `--content-method`: headings, code blocks, tables and
links survive, and a synopsis is a code block, not escaped prose."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from selectolax.lexbor import LexborHTMLParser

from bench.servers import nginx, nginx_binary
from tests.conftest import DOCS
from tests.real_servers import free_port, require
from tests.test_cli import clean_env
from tests.test_traps_on_real_sites import PG_DOCS

pytestmark = pytest.mark.system
PAGES = 200  # of each manual: a sample in the order the crawl finds them


@pytest.fixture(params=["python", "postgresql"])
def manual(request: pytest.FixtureRequest) -> Iterator[tuple[str, Path]]:
    """(base URL, document root) of a real manual on nginx."""
    root = DOCS if request.param == "python" else PG_DOCS
    require(nginx_binary() is not None, "nginx")
    require((root / "index.html").is_file(), f"{root} (scripts/system-deps.sh installs it)")
    port = free_port()
    with nginx({("127.0.0.1", port): root}):
        yield f"http://127.0.0.1:{port}", root


@pytest.mark.timeout(300)
@pytest.mark.parametrize("method", ["careful", "fast"])
def test_markdown_keeps_headings_code_tables_and_links(manual: tuple[str, Path],
                                                       tmp_path: Path, method: str) -> None:
    base, root = manual
    (tmp_path / "seeds.txt").write_text(f"{base}/index.html\n")
    result = subprocess.run(
        [sys.executable, "-m", "crawler", "seeds.txt", "--content", "markdown",
         "--content-method", method, "--max-pages",
         str(PAGES), "--per-host", "8", "-o", "out.jsonl", "--quiet"], cwd=tmp_path,
        env=clean_env(), capture_output=True, text=True, timeout=300, check=False)
    assert result.returncode == 0, result.stderr
    records = [json.loads(line) for line in (tmp_path / "out.jsonl").read_text().splitlines()]
    pages = [r for r in records if r["status"] == 200 and r["content"]]
    assert len(pages) >= PAGES * 0.9
    with_headings = kept = headings = headings_kept = code = tables = links = 0
    for record in pages:
        html = (root / record["url"][len(base) + 1:]).read_text(encoding="utf-8", errors="replace")
        tree = LexborHTMLParser(html)
        markdown = record["content"]
        main = tree.css_first("[role=main], main, article") or tree.body
        wanted = [_words(h.text()) for h in main.css("h1, h2, h3") if _words(h.text())]
        lines = {_words(line.lstrip("#")) for line in markdown.splitlines()
                 if line.startswith("#")}
        if wanted:
            with_headings += 1
            kept += any(heading in lines for heading in wanted)
        headings += len(wanted)
        headings_kept += sum(heading in lines for heading in wanted)
        code += tree.css_first("pre") is not None and "```" in markdown
        tables += tree.css_first("table td") is not None and "|" in markdown
        links += "](" in markdown
        assert "\\[ " not in markdown[:2000] or "```" in markdown, record["url"]
    assert kept >= 0.95 * with_headings, (kept, with_headings)
    assert headings_kept >= 0.9 * headings, (headings_kept, headings)  # not only the first
    assert code > len(pages) * 0.2 and tables > 0 and links > len(pages) * 0.5, (
        code, tables, links)


def _words(text: str) -> str:
    """A heading's words, lowercase, markdown links unwrapped: how the two sides compare."""
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    return " ".join(re.findall(r"\w+", text.lower()))
