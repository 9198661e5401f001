"""When a proposal is due to leave its state: calendar days, or Vietnamese working days (weekends and
public holidays from the ``holidays`` package skipped)."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache
from typing import Any

import holidays

from app.formatting import local


@lru_cache(maxsize=1)
def _vn_holidays() -> holidays.HolidayBase:
    return holidays.country_holidays("VN", years=range(2010, 2041))


def add_working_days(start: dt.date, days: int) -> dt.date:
    day, left, off = start, days, _vn_holidays()
    while left > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in off:
            left -= 1
    return day


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


def today() -> dt.date:
    return local(dt.datetime.now(dt.UTC)).date()
