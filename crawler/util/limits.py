"""Process limits a crawl needs: enough file descriptors for its connections."""

from __future__ import annotations

import logging
import resource

log = logging.getLogger(__name__)
SPARE_FILES = 256  # descriptors beyond the connections: outputs, the job database, workers


def raise_open_files_limit(connections: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards connections + spare (never past the hard limit);
    returns the soft limit now in force, warning when it is still short."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = connections + SPARE_FILES
    if soft < wanted:
        new = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
        resource.setrlimit(resource.RLIMIT_NOFILE, (new, hard))
        soft = new
    if soft < wanted:
        log.warning("only %d open files allowed (hard limit); --concurrency %d may run out of "
                    "sockets: raise `ulimit -Hn`", soft, connections)
    return soft
