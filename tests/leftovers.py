"""Processes a test leaves behind: the suite must end by itself, so every process a test starts
(servers, crawls, parse pools, Chromium, containers) ends with it. After each test the
descendants of the pytest process are noted with the test that first saw them; at the end of
the session any still alive are killed (so the interpreter's exit cannot hang on them) and the
run fails, naming the test and the command."""

from __future__ import annotations

import contextlib
import os
import signal
import time
from pathlib import Path

# started once by the pytest process itself and ended with it: not a test's leftover
LONG_LIVED = (b"multiprocessing.forkserver", b"multiprocessing.resource_tracker")


def descendants(root: int | None = None) -> dict[int, str]:
    """pid -> command line of every live process below `root` (the pytest process)."""
    root = os.getpid() if root is None else root
    parents: dict[int, int] = {}
    commands: dict[int, bytes] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if fields[0] == "Z":
                continue
            parents[int(entry.name)] = int(fields[1])
            commands[int(entry.name)] = (entry / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
    found: dict[int, str] = {}
    for pid in parents:
        ancestor = parents.get(pid)
        while ancestor and ancestor != root:
            ancestor = parents.get(ancestor)
        if ancestor == root and not any(mark in commands[pid] for mark in LONG_LIVED):
            found[pid] = commands[pid].replace(b"\0", b" ").decode(errors="replace")[:200]
    return found


class Leftovers:
    """Notes which test first saw each descendant; `check` kills and names what is left."""

    def __init__(self) -> None:
        self.seen: dict[int, str] = {}

    def after(self, test: str) -> None:
        for pid in descendants():
            self.seen.setdefault(pid, test)

    def check(self, grace: float = 5.0) -> list[str]:
        deadline = time.monotonic() + grace
        left = descendants()
        while left and time.monotonic() < deadline:
            time.sleep(0.2)
            left = descendants()
        lines = []
        for pid, command in sorted(left.items()):
            lines.append(f"left behind by {self.seen.get(pid, 'an unknown test')}: "
                         f"pid {pid}: {command}")
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        deadline = time.monotonic() + grace  # SIGKILL is delivered, not yet done: wait
        while left and any(pid in left for pid in descendants()) and \
                time.monotonic() < deadline:
            time.sleep(0.05)
        return lines
