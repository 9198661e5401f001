"""When a proposal is due to leave its state: calendar days, or Vietnamese working days (weekends and
public holidays from the ``holidays`` package skipped)."""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from functools import lru_cache
from typing import Any

import holidays

from app.clock import today as today  # re-exported: the one today() lives in app.clock
from app.formatting import local


@lru_cache(maxsize=1)
def _vn_holidays() -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=range(2010, 2041))


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The ``days``-th working day after ``start`` (``start`` itself when days <= 0). Arithmetic, not a walk
    over the days ("my work" asks it per row): skip ``days`` weekdays, then as many more as there were weekday
    holidays on the way, until a stretch holds none (a few rounds at most, one per holiday cluster)."""
    day, left, off = start, days, _weekday_holidays()
    while left > 0:
        end = _add_weekdays(day, left)
        left = bisect_right(off, end) - bisect_right(off, day)
        day = end
    return day


def _add_weekdays(start: dt.date, days: int) -> dt.date:
    friday_on = start - dt.timedelta(days=max(start.weekday() - 4, 0))  # a weekend counts on from its Friday
    weeks, rest = divmod(days, 7 - 2)
    spill = 2 if friday_on.weekday() + rest > 4 else 0  # the rest runs over a weekend
    return friday_on + dt.timedelta(days=weeks * 7 + rest + spill)


def due_date(entered_at: dt.datetime, deadline: Any) -> dt.date | None:
    """The last day allowed in the state (local date), or None when the state has no deadline."""
    if deadline is None:
        return None
    start = local(entered_at).date()
    if deadline.working_days:
        return add_working_days(start, deadline.working_days)
    if deadline.days:
        return start + dt.timedelta(days=deadline.days)
    return None


@lru_cache(maxsize=1)
def _weekday_holidays() -> list[dt.date]:
    return sorted(day for day in _vn_holidays() if day.weekday() < 5)


def working_days_between(start: dt.date, end: dt.date) -> int:
    """Working days after ``start`` up to and including ``end`` (0 when end <= start); arithmetic, not a walk
    over the days, since reports ask it of items years old."""
    if end <= start:
        return 0
    weeks, rest = divmod((end - start).days, 7)
    weekdays = weeks * 5 + sum(1 for i in range(1, rest + 1) if (start.weekday() + i) % 7 < 5)
    off = _weekday_holidays()
    return weekdays - (bisect_right(off, end) - bisect_right(off, start))


def last_start_overdue(deadline: Any, on: dt.date) -> dt.date | None:
    """The latest local date a state may have been entered on and be overdue ``on`` (due date before it)."""
    if deadline is None or not (deadline.working_days or deadline.days):
        return None
    if deadline.days and not deadline.working_days:
        return on - dt.timedelta(days=deadline.days + 1)
    # Overdue when the due date (the n-th working day after entry) is before ``on``, i.e. when at least n working
    # days lie after entry up to ``on`` - 1: counted by arithmetic, not by walking each candidate's due date.
    before = on - dt.timedelta(days=1)
    day = before
    while working_days_between(day, before) < deadline.working_days:  # about two weeks per 10 working days
        day -= dt.timedelta(days=1)
    return day
