"""Unit: the open-files limit is raised for the connections a crawl needs."""

from __future__ import annotations

import resource

from crawler.util.limits import SPARE_FILES, raise_open_files_limit


def test_soft_limit_covers_the_connections() -> None:
    """After the call, the soft limit is at least connections + spare, or the hard limit."""
    soft_before, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(512, hard), hard))
        soft = raise_open_files_limit(600)
        assert soft == min(600 + SPARE_FILES, hard)
        assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] == soft
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft_before, hard))
