"""What a finished job does when it is run again: go on with seeds it never had (when
--max-pages has room), with URLs held back at an older --max-pages, and with the URLs whose last
answer was a failure that can pass; or refuse in one line that names what to type instead
(new seeds with no room: --job-dir; changed extraction settings: --recrawl)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from crawler.errors import UsageError
from crawler.jobs.state import JobState, Run
from crawler.settings import Settings
from crawler.urls import fingerprint

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RerunPlan:
    """What a finished job run again goes on with."""

    new_seeds: list[int] = field(default_factory=list)  # seeds it never had
    retry: list[int] = field(default_factory=list)  # failed URLs (as stored) to try again
    held: bool = False  # --max-pages now allows URLs it held back

    @property
    def anything(self) -> bool:
        return bool(self.new_seeds or self.retry or self.held)


def rerun_plan(settings: Settings, seeds: list[str], state: JobState, run: Run) -> RerunPlan:
    """What a finished job run again does: (its new seeds, the URLs to try again). A
    UsageError, naming what to type instead, when it would do nothing the user asked for:
    new seeds that --max-pages has no room for, or rules changed without --recrawl."""
    new_seeds = state.unknown(fingerprint(url) for url in seeds)
    admitted = _admitted(state)
    if new_seeds:
        if settings.max_pages and admitted >= settings.max_pages:
            raise UsageError(
                f"job directory {settings.job_dir} holds a finished job that has used its "
                f"--max-pages {settings.max_pages} ({admitted} pages); the {len(new_seeds)} "
                "seeds it never had would get no page: give them a job of their own with "
                "--job-dir DIR, or raise --max-pages to go on with this job")
        log.info("job %s: %d new seeds: the finished job goes on with them", settings.job_dir,
                 len(new_seeds))
        if settings.max_pages:
            log.warning("job %s: --max-pages %d is the job's budget: %d pages are left for "
                        "its new seeds (--job-dir DIR gives them a job of their own)",
                        settings.job_dir, settings.max_pages, settings.max_pages - admitted)
    plan = RerunPlan(new_seeds, state.retryable(), _held_now_allowed(settings, state))
    stale = state.stale_extraction()
    if stale and not plan.anything:
        raise UsageError(
            f"job {settings.job_dir} finished run {run.run_id} with other extraction settings "
            f"(--extract, --content, --content-method, --extractor, --render): its {stale} "
            "pages hold data from the old ones; add --recrawl to fetch them again and extract "
            "with these")
    if stale:
        log.warning("job %s: %d pages hold data from other extraction settings; --recrawl "
                    "extracts them again", settings.job_dir, stale)
    return plan


def _admitted(state: JobState) -> int:
    counts = state.url_counts()
    return counts["done"] + counts["queued"] + counts["leased"]


def _held_now_allowed(settings: Settings, state: JobState) -> bool:
    """--max-pages now allows URLs the job held back at the old limit."""
    if not state.url_counts()["held"]:
        return False
    admitted = _admitted(state)
    if settings.max_pages and admitted >= settings.max_pages:
        return False
    log.info("job %s: --max-pages allows more than the %d pages so far: going on with the URLs "
             "it held back", settings.job_dir, admitted)
    return True
