"""Working days in mainland China, for service levels ("受理 within 1 working day").

A day is a working day by, in order:

1. ``OVERRIDES``, the project's own table (next year's 调休 once the State Council announces
   it and the ``holidays`` package has not caught up yet; any local exception);
2. the ``holidays`` package's ``China`` calendar: statutory holidays (法定节假日) and the
   weekend days made working days by 调休 — its 调休 table runs to the last announced year;
3. Monday to Friday, for a year the package has no holidays for at all.

For a year with statutory holidays but no announced 调休 (neither in the package nor in
``OVERRIDES``), the package's rule-based holidays apply and make-up working days are missing;
a warning is logged once per year so that someone fills in ``OVERRIDES``.

Deadlines are computed once, when a ticket is filed, and stored (UTC): a later change of the
calendar does not move an old deadline. Times are stored in UTC and shown in Asia/Shanghai.
"""

from __future__ import annotations

import functools
import logging
from datetime import UTC, date, datetime, time, timedelta

import holidays

from participation.common.schemas import SHANGHAI

log = logging.getLogger(__name__)

END_OF_DAY = time(23, 59, 59)

# date → True (a working day, e.g. a make-up Saturday) or False (a day off). To add a year's
# 调休 once announced (国务院办公厅关于XXXX年部分节假日安排的通知, usually in November), list
# every holiday on a weekday as False and every make-up weekend day as True, with the notice
# as a comment, e.g.:
#     date(2027, 2, 20): True,  # 国办发明电〔2026〕N号: 春节调休上班 (Saturday)
# Remove a year's entries once the ``holidays`` package carries it (tests compare both).
OVERRIDES: dict[date, bool] = {}


@functools.cache
def _calendar(year: int) -> holidays.HolidayBase:
    return holidays.China(years=year)


@functools.cache
def _has_holidays(year: int) -> bool:
    """Whether the package knows the year's holidays; warns once when it does not."""
    known = len(_calendar(year)) > 0
    if not known:
        log.warning("no holiday data for %s: working days fall back to Monday–Friday", year)
    return known


@functools.cache
def _warn_no_make_up_days(year: int) -> None:
    """Warn once that ``year`` has no 调休 table (package or ``OVERRIDES``)."""
    log.warning(
        "no 调休 (make-up working days) for %s: add the announced ones to "
        "participation.common.workdays.OVERRIDES",
        year,
    )


def has_make_up_data(year: int) -> bool:
    """Whether the year's 调休 is known: in the package's table or in ``OVERRIDES``."""
    calendar = _calendar(year)
    return (
        year in getattr(calendar, "special_public_holidays", {})
        or any(d.year == year for d in getattr(calendar, "weekend_workdays", ()))
        or any(d.year == year for d in OVERRIDES)
    )


def is_workday(d: date) -> bool:
    """Whether ``d`` is a working day in mainland China (see the module's order of sources)."""
    if d in OVERRIDES:
        return OVERRIDES[d]
    if not _has_holidays(d.year):
        return d.weekday() < 5
    if not has_make_up_data(d.year):
        _warn_no_make_up_days(d.year)
    return _calendar(d.year).is_working_day(d)


def local_date(at: datetime) -> date:
    """The date of ``at`` (aware) in Asia/Shanghai."""
    if at.tzinfo is None:
        raise ValueError("naive datetime; use an aware one")
    return at.astimezone(SHANGHAI).date()


def end_of_local_day(d: date) -> datetime:
    """23:59:59 Asia/Shanghai on ``d``, as an aware UTC datetime."""
    return datetime.combine(d, END_OF_DAY, SHANGHAI).astimezone(UTC)


def end_of_working_day_after(at: datetime, working_days: int = 1) -> datetime:
    """Due by 23:59:59 Asia/Shanghai on the ``working_days``-th working day after the local
    date of ``at`` (aware UTC). Filed on Wednesday 2026-09-30 at 10:00 (before the National
    Day week), one working day is Thursday 2026-10-08 at 23:59:59+08:00."""
    if working_days < 1:
        raise ValueError("working_days must be at least 1")
    d = local_date(at)
    left = working_days
    while left:
        d += timedelta(days=1)
        if is_workday(d):
            left -= 1
    return end_of_local_day(d)


def add_days(at: datetime, days: int) -> datetime:
    """Due by 23:59:59 Asia/Shanghai on the ``days``-th calendar day after the local date of
    ``at`` (aware UTC); ``days=0`` is the end of that same local day."""
    if days < 0:
        raise ValueError("days must not be negative")
    return end_of_local_day(local_date(at) + timedelta(days=days))
