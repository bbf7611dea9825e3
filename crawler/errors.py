"""Errors the user can act on: each carries a one-line message and the exit status it maps to."""


class CrawlerError(Exception):
    """A problem the user can fix; printed as one line, never as a traceback."""

    exit_status = 1


class UsageError(CrawlerError):
    """Bad input that stops the crawl before it starts: settings, seeds, outputs."""

    exit_status = 2


class SettingsError(UsageError):
    """A setting whose value is not allowed; the message names the setting and its source."""


class SeedsError(UsageError):
    """A seeds file that is missing, unreadable or holds no usable URL."""


class JobLocked(CrawlerError):
    """Another crawl holds the job directory. Exit 75 (EX_TEMPFAIL): cron may simply try again
    at its next turn."""

    exit_status = 75


class OutputLocked(JobLocked):
    """Another crawl is appending to the same output file. Exit 75, as for a busy job."""


class Unavailable(CrawlerError):
    """A service the crawl shares (the Redis frontier) stayed unreachable too long: the crawl
    stops (exit 1) rather than turn pages into error records. Nothing is lost: the URLs it held
    go back to the queue when their leases expire."""
