"""The Python API is typed: mypy over crawler/ passes (strict for the public API, as
pyproject.toml's [tool.mypy] says), and a user's script that misuses the API is caught."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent


def mypy(*args: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mypy", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=600, check=False)


@pytest.mark.timeout(600)
def test_mypy_passes_over_the_crawler() -> None:
    result = mypy()  # files and options from pyproject.toml
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.timeout(600)
def test_a_script_misusing_the_public_api_is_caught(tmp_path: Path) -> None:
    """What `from crawler import ...` exports carries its types to the user's code: a page
    function with the wrong signature and an outcome read as the wrong type are errors."""
    script = tmp_path / "user_script.py"
    script.write_text(
        "from crawler import Crawl, CrawlOutcome, Page\n\n\n"
        "def on_page(page: Page) -> dict[str, object]:\n"
        "    return {'title': page.css_first('title')}\n\n\n"
        "def wrong(page: int) -> None:\n"
        "    pass\n\n\n"
        "outcome: CrawlOutcome = Crawl(['https://example.com/'], on_page=on_page).run()\n"
        "pages: str = outcome.stats.pages\n"
        "Crawl(['https://example.com/'], on_page=wrong)\n")
    result = mypy("--strict", "--ignore-missing-imports", "--follow-imports=silent", "--cache-dir",
                  str(tmp_path / "cache"), str(script), cwd=ROOT)
    errors = [line for line in result.stdout.splitlines() if ": error:" in line]
    assert len(errors) == 2, result.stdout
    assert "user_script.py:13: error: Incompatible types" in errors[0], errors
    assert "user_script.py:14: error: Argument \"on_page\"" in errors[1], errors
