"""Display formats: VND amounts as ``1.250.000.000 ₫``, dates dd/mm/yyyy in Asia/Ho_Chi_Minh, numbers with the
page's decimal and thousands separators."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.numbers import format_decimal
from jinja2 import pass_context

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


# Locale-aware numbers for templates (Babel's patterns): "86,00" and "150.000.000 ₫" on Vietnamese pages,
# "86.00" and "150,000,000 ₫" on English ones. vnd() above stays Vietnamese: it is used in bilingual messages
# built once for both languages. The page's language comes from the template's ``lang()`` (this module is
# below the web layer: models import it, so it imports nothing of Flask).
def _locale(context: Any) -> str:
    lang = context.get("lang")
    return str(lang()) if callable(lang) else "vi"


@pass_context
def number(context: Any, value: Any, digits: int | None = None) -> str:
    """A number with the page's separators; ``digits`` fixes the decimals (a score: 2)."""
    if value is None or value == "":
        return ""
    pattern = None if digits is None else "#,##0" + ("." + "0" * digits if digits else "")
    return str(format_decimal(value, format=pattern, locale=_locale(context)))


@pass_context
def money(context: Any, amount: int | None) -> str:
    """VND with the page's separators, the symbol after the amount as Vietnamese documents write it."""
    if amount is None:
        return ""
    return f"{format_decimal(amount, format='#,##0', locale=_locale(context))} ₫"


@pass_context
def kb(context: Any, size: int | None) -> str:
    """A file size in KB with one decimal: "0,6 KB"."""
    if size is None:
        return ""
    return f"{number(context, Decimal(size) / 1024, 1)} KB"
