"""The one clock for dates: every date GrantFlow records or compares (progress periods, ``paid_on``,
``accepted_on``, registration windows, deadlines, reports) is a date in Vietnam (Asia/Ho_Chi_Minh, UTC+7).

Moments are stored in UTC (``workflow.storage.utcnow``); a *date* taken from the UTC clock would be yesterday
in Vietnam before 07:00 local time, so dates come only from :func:`today` and :func:`local_date`.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from workflow.storage import utcnow

VN_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def now() -> dt.datetime:
    """The current moment, timezone-aware (UTC). The one place dates are read from (tests set it here)."""
    return utcnow()


def local_date(moment: dt.datetime) -> dt.date:
    """The Vietnamese calendar date of a stored moment (a naive value is UTC: SQLite drops the offset)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(VN_TZ).date()


def today() -> dt.date:
    """Today's date in Vietnam."""
    return local_date(now())
