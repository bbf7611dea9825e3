"""Run a command and measure its whole process tree: wall time, CPU seconds and peak RSS.

The tree is sampled every 20 ms with psutil: CPU is the sum over every process ever seen of its
last user+system time, peak RSS the largest sum of the tree's resident sets at one sample (so a
crawler's worker processes count against it). Peak PSS (Linux, every fifth sample) is the same
sum of proportional set sizes: a page shared by N processes (the libraries a forked worker
shares with its parent) counts 1/N in each, where the RSS sum counts it N times.
"""

from __future__ import annotations

import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

SAMPLE_SECONDS = 0.02


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
    try:
        while proc.poll() is None:
            if time.monotonic() - started > timeout:
                proc.kill()
                raise TimeoutError(f"{command[0]} ran longer than {timeout}s")
            total_rss = total_pss = 0
            samples += 1
            with_pss = samples % 5 == 1
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.NoSuchProcess:
                break
            for process in tree:
                try:
                    with process.oneshot():
                        times = process.cpu_times()
                        cpu_seen[process.pid] = times.user + times.system
                        total_rss += process.memory_info().rss
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
