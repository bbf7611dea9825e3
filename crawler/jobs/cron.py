"""Cron expressions for `schedule` and the service's jobs: standard five-field cron (minute
hour day month weekday), checked once before anything runs.

croniter also takes a sixth field, seconds, and expressions that never come due
(`0 0 31 2 *`, February 31st); both are refused here with one line. Five fields come due at
most once a minute; a sixth field (seconds) is taken only when the caller asks for it
(`schedule --with-seconds`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from croniter import CroniterBadDateError, croniter

EXAMPLE = "'0 3 * * *' (minute hour day month weekday)"


def cron_problem(expression: object, with_seconds: bool = False) -> str | None:
    """Why `expression` is not a schedule we run (one line), or None when it is."""
    if not isinstance(expression, str):
        return f"{expression!r} is not a cron expression such as {EXAMPLE}"
    fields = expression.split()
    if len(fields) == 6 and not with_seconds:
        return (f"{expression!r} has six fields: the sixth is seconds, which would run the "
                f"crawl up to every second; give five fields such as {EXAMPLE} (or "
                "`schedule --with-seconds` to mean seconds)")
    if len(fields) not in ((5, 6) if with_seconds else (5,)) or not croniter.is_valid(
            expression):
        return f"{expression!r} is not a cron expression such as {EXAMPLE}"
    try:
        croniter(expression, datetime.now(UTC)).get_next(datetime)
    except (CroniterBadDateError, ValueError, OverflowError):
        return f"{expression!r} never comes due (no such date); give one such as {EXAMPLE}"
    return None


def next_turn(expression: str, after: datetime) -> datetime:
    """The first time `expression` names after `after`."""
    return croniter(expression, after).get_next(datetime)
