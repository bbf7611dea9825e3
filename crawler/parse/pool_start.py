"""Where the parse workers come from: the forkserver they are forked from, and when it starts.

Starting the forkserver takes a few hundred milliseconds (a new interpreter that imports the
parser). The command line starts it as soon as it has read the settings, before it imports the
crawl's own modules (aiohttp alone is about 0.2 s), so both happen at once on two cores and the
first pages find their workers ready. A crawl started another way starts it with its pool.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.context
import multiprocessing.forkserver
import os

# Imported by the forkserver before it forks any worker: the guard that makes it die with the
# crawl, and the worker's side of the pool (crawler.parse.worker, which imports crawler.parse.page).
WORKER_MODULES = ("crawler.parse.forkserver_guard", "crawler.parse.worker")


def usable_cpus() -> int:
    """The CPUs this process may run on (its affinity mask, as a container's cpuset sets it)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def uses_worker_processes(mode: str, cpus: int = 0) -> bool:
    """Whether a parse placement puts every page in worker processes from the start ("auto"
    does with two CPUs or more; crawler.parse.pool.ParsePool)."""
    return mode == "process" or (mode == "auto" and (cpus or usable_cpus()) >= 2)


def worker_preload(content: str = "none", extracts: bool = False) -> tuple[str, ...]:
    """Modules the workers import before their first page: the parser, plus the extraction
    modules a crawl with rules or a function uses, plus trafilatura's for --content."""
    modules = ["crawler.parse.page"]
    if extracts:
        modules += ["crawler.extract.apply", "crawler.extract.page"]
    if content != "none":
        modules.append("crawler.extract.content")
    return tuple(modules)


def forkserver_context(preload: tuple[str, ...]) -> multiprocessing.context.BaseContext:
    """The forkserver context, with what its server imports when it starts (a server already
    running keeps what it has; a worker imports anything else on first use)."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([*WORKER_MODULES, *preload])
    return context


def start_forkserver(preload: tuple[str, ...]) -> None:
    """Start the forkserver now, from the calling thread (it dies with the thread that started
    it: crawler.parse.forkserver_guard), unless it runs already."""
    forkserver_context(preload)
    multiprocessing.forkserver.ensure_running()
