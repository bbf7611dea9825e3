"""Unit: reading seeds files."""

from __future__ import annotations

from pathlib import Path

import pytest

from crawler.errors import SeedsError
from crawler.frontier.seeds import parse_seeds, read_seeds


def test_comments_blank_lines_and_bad_lines() -> None:
    """Comments and blanks are skipped; each bad line is reported by number; the rest are kept."""
    data = b"# seeds\n\nhttp://a.com/\nnot a url\n  https://b.com/x#f  \nftp://c.com/\n\xff\n"
    seeds = parse_seeds(data, "s.txt")
    assert seeds.urls == ["http://a.com/", "https://b.com/x"]
    assert [p.split(":")[1] for p in seeds.problems] == ["4", "6", "7"]
    assert seeds.problems[0].startswith("s.txt:4: ")
    assert "not valid UTF-8" in seeds.problems[2]


def test_missing_empty_and_all_bad_files(tmp_path: Path) -> None:
    """No file, an empty file, or a file of only bad lines is a SeedsError with one line."""
    empty, bad = tmp_path / "empty.txt", tmp_path / "bad.txt"
    empty.write_text("# nothing\n\n")
    bad.write_text("x\ny\n")
    with pytest.raises(SeedsError, match="seeds file not found"):
        read_seeds(str(tmp_path / "missing.txt"))
    with pytest.raises(SeedsError, match=r"has no usable URL$"):
        read_seeds(str(empty))
    with pytest.raises(SeedsError, match=r"has no usable URL \(2 bad lines\)"):
        read_seeds(str(bad))
    with pytest.raises(SeedsError, match="is a directory"):
        read_seeds(str(tmp_path))


def test_byte_order_mark_is_ignored() -> None:
    """A UTF-8 BOM at the start of the file does not spoil the first URL."""
    assert parse_seeds(b"\xef\xbb\xbfhttp://a.com/\n", "s").urls == ["http://a.com/"]
