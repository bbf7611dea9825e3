"""Parse processes die with the crawl. A crawl killed with SIGKILL (an OOM kill, kill -9) gets no
chance to stop its process pool, so without this its forkserver and parse workers live on:
3-4 processes and about 100 MB per kill, every night for a cron crawl that keeps being killed.

Linux's PR_SET_PDEATHSIG asks the kernel to kill a process when its parent dies: the pool
workers set it in their initializer (their parent is the forkserver), and the forkserver sets it
when it starts (crawler.parse.forkserver_guard, preloaded; its parent is the crawl). Elsewhere this
is a no-op.
"""

from __future__ import annotations

import ctypes
import os
import signal
import sys

PR_SET_PDEATHSIG = 1


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """`signum` (SIGKILL) to this process when its parent dies (Linux); if it died already,
    exit now."""
    if not sys.platform.startswith("linux"):
        return
    parent = os.getppid()
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signum, 0, 0, 0)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:  # the parent died before the request took effect
        os._exit(1)
