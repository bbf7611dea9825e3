"""Run a command and measure its whole process tree: wall time, CPU seconds and peak RSS.

The tree is sampled every 20 ms with psutil: CPU is the sum over every process ever seen of its
last user+system time, peak RSS the largest sum of the tree's resident sets at one sample (so a
crawler's worker processes count against it). Peak PSS (Linux, every 25th sample) is the same
sum of proportional set sizes: a page shared by N processes (the libraries a forked worker
shares with its parent) counts 1/N in each, where the RSS sum counts it N times.

The sampler shares the machine with what it measures, so it must cost little: finding a
tree's processes reads every process on the system (2.4 ms here), so the tree is looked up
again every TREE_SECONDS, not at every sample; PSS walks every page table of the tree, so it
is summed every 0.5 s; CPU and RSS are two small reads from /proc. As first written (the tree
and CPU and RSS through psutil at every sample, PSS every fifth) the sampler took 21% of a
core, which on 2 cores came out of the crawlers that use both; now about 7%.
"""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_SECONDS = 0.02
TREE_SECONDS = 0.25  # how often new processes of the tree are looked for
PSS_EVERY = 25  # samples: the PSS sum walks every page table, so every 0.5 s
PROC = Path("/proc/self/stat").exists()
CLOCK_TICKS = os.sysconf("SC_CLK_TCK") if PROC else 100
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if PROC else 4096


def cpu_and_rss(process: psutil.Process) -> tuple[float, int]:
    """A process's user+system CPU seconds and resident bytes: two small reads from /proc on
    Linux (a third of psutil's cost), psutil elsewhere."""
    if not PROC:
        with process.oneshot():
            times = process.cpu_times()
            return times.user + times.system, process.memory_info().rss
    try:
        with open(f"/proc/{process.pid}/stat", "rb") as handle:
            stat = handle.read()
        with open(f"/proc/{process.pid}/statm", "rb") as handle:
            statm = handle.read()
    except (FileNotFoundError, ProcessLookupError):
        raise psutil.NoSuchProcess(process.pid) from None
    fields = stat[stat.rfind(b")") + 2:].split()  # from field 3 (state) on
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS, int(statm.split()[1]) * PAGE_SIZE


@dataclass
class Usage:
    """What one run cost."""

    wall: float
    cpu: float
    peak_rss: int
    returncode: int
    peak_pss: int = 0


def run_measured(command: list[str], cwd: Path, env: dict[str, str] | None = None,
                 timeout: float = 1800, log: Path | None = None) -> Usage:
    """Run `command` to its end, sampling its process tree."""
    out = log.open("w") if log else subprocess.DEVNULL
    started = time.monotonic()
    proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
    root = psutil.Process(proc.pid)
    cpu_seen: dict[int, float] = {}
    peak = peak_pss = 0
    samples = 0
    tree: list[psutil.Process] = [root]
    tree_at = 0.0
    try:
        while proc.poll() is None:
            now = time.monotonic()
            if now - started > timeout:
                proc.kill()
                raise TimeoutError(f"{command[0]} ran longer than {timeout}s")
            total_rss = total_pss = 0
            samples += 1
            with_pss = samples % PSS_EVERY == 1
            if now - tree_at >= TREE_SECONDS:
                try:
                    tree = [root, *root.children(recursive=True)]
                except psutil.NoSuchProcess:
                    break
                tree_at = now
            for process in tree:
                try:
                    cpu_seen[process.pid], rss = cpu_and_rss(process)
                    total_rss += rss
                    if with_pss:
                        total_pss += getattr(process.memory_full_info(), "pss", 0)
                except (psutil.NoSuchProcess, psutil.ZombieProcess, psutil.AccessDenied):
                    continue
            peak = max(peak, total_rss)
            peak_pss = max(peak_pss, total_pss)
            time.sleep(SAMPLE_SECONDS)
    finally:
        proc.wait()
        if log:
            out.close()
    return Usage(time.monotonic() - started, sum(cpu_seen.values()), peak, proc.returncode,
                 peak_pss)
