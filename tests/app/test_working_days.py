"""add_working_days is arithmetic over the sorted weekday holidays; it must agree with the plain walk over the
days (weekends and Vietnamese public holidays skipped) for every start, weekend and holiday starts included,
across year boundaries and Tết."""

from __future__ import annotations

import datetime as dt

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.deadlines import _vn_holidays, add_working_days


def _walked(start: dt.date, days: int) -> dt.date:
    day, left = start, days
    while left > 0:
        day += dt.timedelta(days=1)
        if day.weekday() < 5 and day not in _vn_holidays():
            left -= 1
    return day


# The holiday table covers 2010-2040; 800 working days from mid-2037 still end inside it.
@settings(max_examples=500, deadline=None)
@given(start=st.dates(dt.date(2010, 1, 1), dt.date(2037, 6, 30)), days=st.integers(-5, 800))
@example(start=dt.date(2025, 8, 29), days=3)  # Friday, weekend, National Day 1-2/9
@example(start=dt.date(2026, 2, 13), days=1)  # Friday before Tết: the week of Tết is off
@example(start=dt.date(2026, 2, 17), days=1)  # a start on a holiday
@example(start=dt.date(2025, 12, 27), days=4)  # Saturday, across New Year's Day
@example(start=dt.date(2025, 12, 28), days=0)  # Sunday, no days: the start itself
def test_add_working_days_agrees_with_the_walk(start: dt.date, days: int) -> None:
    assert add_working_days(start, days) == _walked(start, days)


def test_the_result_is_a_working_day_after_the_start() -> None:
    tet = dt.date(2026, 2, 13)  # Friday; Tết 2026 falls on Tuesday 17/2
    due = add_working_days(tet, 1)
    assert due > tet + dt.timedelta(days=3) and due.weekday() < 5 and due not in _vn_holidays()
