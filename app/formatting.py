"""Display formats: VND amounts as ``1.250.000.000 ₫``, dates dd/mm/yyyy in Asia/Ho_Chi_Minh."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def vnd(amount: int | None) -> str:
    if amount is None:
        return ""
    return f"{amount:,}".replace(",", ".") + " ₫"


def local(value: dt.datetime) -> dt.datetime:
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)  # stored in UTC; SQLite drops the offset
    return value.astimezone(LOCAL_TZ)


def date(value: dt.date | dt.datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, dt.datetime):
        value = local(value)
    return value.strftime("%d/%m/%Y")


def datetime(value: dt.datetime | None) -> str:
    return local(value).strftime("%d/%m/%Y %H:%M") if value is not None else ""
