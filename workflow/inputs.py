"""Validation of the inputs an actor gives with an action (``requires`` in a transition)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable, Mapping
from typing import Any

from workflow.definitions import InputSpec, Text
from workflow.errors import InvalidInput

BUILTIN_INPUTS: dict[str, InputSpec] = {
    "comment": InputSpec(type="text", title=Text(vi="Ý kiến", en="Comment")),
    "reason": InputSpec(type="text", title=Text(vi="Lý do", en="Reason")),
}

MAX_TEXT = 10_000
# Money may group thousands with '.', ',', ' ' or '_' and end in đ/₫/VND; plain numbers may not, so that
# "7.5" is refused instead of read as 75.
_MONEY = re.compile(r"(-?(?:\d{1,3}([.,\s_])\d{3}(?:\2\d{3})*|\d+))\s*(?:đ|₫|vnd|đồng)?", re.IGNORECASE)
_PLAIN = re.compile(r"-?\d+")


# The Vietnamese answers too: a form asking "có/không" must accept them.
_YES = {"true", "1", "yes", "on", "có", "co"}
_NO = {"false", "0", "no", "off", "không", "khong"}


def _msg(vi: str, en: str) -> dict[str, str]:
    return {"vi": vi, "en": en}


def _to_int(value: Any, money: bool = False) -> int:
    if isinstance(value, bool):
        raise ValueError
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str):
        text = value.strip()
        if _PLAIN.fullmatch(text):
            return int(text)
        match = _MONEY.fullmatch(text) if money else None
        if match:
            return int(re.sub(r"[.,\s_]", "", match.group(1)))
    raise ValueError


def _to_date(value: Any) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        for fmt in ("%Y-%m-%d", "%d/%m/%Y"):
            try:
                return dt.datetime.strptime(value.strip(), fmt).date()
            except ValueError:
                continue
    raise ValueError


def clean_value(name: str, spec: InputSpec, value: Any) -> Any:
    """Return the cleaned value or raise InvalidInput for this one input."""
    def bad(vi: str, en: str) -> InvalidInput:
        return InvalidInput({name: _msg(vi, en)})

    if value is None or (isinstance(value, str) and not value.strip()):
        raise bad("Bắt buộc nhập", "This is required")
    kind = spec.type
    if kind in ("text", "string"):
        if not isinstance(value, str):
            raise bad("Phải là văn bản", "Must be text")
        text = value.strip()
        limit = 255 if kind == "string" else MAX_TEXT
        if len(text) > limit:
            raise bad(f"Dài quá {limit} ký tự", f"Longer than {limit} characters")
        return text
    if kind in ("money", "int", "percent"):
        try:
            number = _to_int(value, money=kind == "money")
        except ValueError:
            raise bad("Phải là số nguyên", "Must be a whole number") from None
        low = spec.min if spec.min is not None else 0
        high = spec.max if spec.max is not None else (100 if kind == "percent" else None)
        if number < low:
            raise bad(f"Không được nhỏ hơn {low}", f"Must not be below {low}")
        if high is not None and number > high:
            raise bad(f"Không được lớn hơn {high}", f"Must not be above {high}")
        return number
    if kind == "date":
        try:
            return _to_date(value)
        except ValueError:
            raise bad("Ngày không hợp lệ (dd/mm/yyyy)", "Invalid date (dd/mm/yyyy)") from None
    if kind == "bool":
        if isinstance(value, bool):
            return value
        answer = unicodedata.normalize("NFC", value).strip().lower() if isinstance(value, str) else None
        if answer in _YES | _NO:
            return answer in _YES
        raise bad("Phải là có/không", "Must be yes or no")
    if kind == "choice":
        if value not in (spec.choices or []):
            raise bad(f"Giá trị không hợp lệ: {value}", f"Not one of the choices: {value}")
        return value
    if kind == "user_list":
        items = value if isinstance(value, list) else [v for v in str(value).replace(",", " ").split() if v]
        if not items or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in items):
            raise bad("Cần danh sách người dùng", "Needs a list of users")
        return [str(v) for v in items]
    raise bad("Kiểu dữ liệu không hỗ trợ", f"Unsupported input type {kind}")


def clean_inputs(names: Iterable[str], specs: Mapping[str, InputSpec], given: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate every required input at once; unknown extra keys are ignored, never stored."""
    given = given or {}
    cleaned: dict[str, Any] = {}
    errors: dict[str, dict[str, str]] = {}
    for name in names:
        spec = specs.get(name) or BUILTIN_INPUTS.get(name)
        if spec is None:
            errors[name] = _msg("Dữ liệu không được khai báo", "Input is not declared by the definition")
            continue
        try:
            cleaned[name] = clean_value(name, spec, given.get(name))
        except InvalidInput as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    return cleaned
