"""The README documents what the code does: every option, every record field, the commands."""

from __future__ import annotations

from pathlib import Path

from crawler.records import RECORD_FIELDS
from crawler.settings import FIELDS, flag_for
from scripts.settings_docs import readme_with_table

README = (Path(__file__).parent.parent / "README.md").read_text()


def test_readme_starts_with_the_two_commands() -> None:
    """The first code block holds the setup-and-crawl and setup-and-test commands."""
    first_block = README.split("```sh", 1)[1].split("```", 1)[0]
    assert "./crawl.sh" in first_block and "./test.sh" in first_block


def test_readme_options_table_is_generated_from_the_settings() -> None:
    """The README's options table is what scripts/settings_docs.py writes."""
    assert readme_with_table(README) == README


def test_readme_lists_every_option_and_record_field() -> None:
    """Each setting's flag and environment name, and each record field, appear in the README."""
    for name in FIELDS:
        assert f"`{flag_for(name)}" in README, name
        assert f"`CRAWLER_{name.upper()}`" in README, name
    for name in RECORD_FIELDS:
        assert f"| `{name}` |" in README, name
