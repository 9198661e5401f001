"""Validation of the inputs an actor gives with an action (``requires`` in a transition)."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping
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


class _Bad(Exception):
    """What is wrong with one input's value, in both languages (clean_value names the input)."""

    def __init__(self, vi: str, en: str):
        super().__init__(en)
        self.message = _msg(vi, en)


def clean_value(name: str, spec: InputSpec, value: Any) -> Any:
    """Return the cleaned value or raise InvalidInput for this one input."""
    try:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise _Bad("Bắt buộc nhập", "This is required")
        cleaner = _CLEANERS.get(spec.type)
        if cleaner is None:
            raise _Bad("Kiểu dữ liệu không hỗ trợ", f"Unsupported input type {spec.type}")
        return cleaner(spec, value)
    except _Bad as bad:
        raise InvalidInput({name: bad.message}) from None


def _clean_text(spec: InputSpec, value: Any) -> str:
    if not isinstance(value, str):
        raise _Bad("Phải là văn bản", "Must be text")
    text = value.strip()
    limit = 255 if spec.type == "string" else MAX_TEXT
    if len(text) > limit:
        raise _Bad(f"Dài quá {limit} ký tự", f"Longer than {limit} characters")
    return text


def _clean_number(spec: InputSpec, value: Any) -> int:
    """Money, a whole number or a percentage, within the spec's bounds (0 at least; a percentage 100 at most)."""
    try:
        number = _to_int(value, money=spec.type == "money")
    except ValueError:
        raise _Bad("Phải là số nguyên", "Must be a whole number") from None
    low = spec.min if spec.min is not None else 0
    high = spec.max if spec.max is not None else (100 if spec.type == "percent" else None)
    if number < low:
        raise _Bad(f"Không được nhỏ hơn {low}", f"Must not be below {low}")
    if high is not None and number > high:
        raise _Bad(f"Không được lớn hơn {high}", f"Must not be above {high}")
    return number


def _clean_date(spec: InputSpec, value: Any) -> dt.date:
    try:
        return _to_date(value)
    except ValueError:
        raise _Bad("Ngày không hợp lệ (dd/mm/yyyy)", "Invalid date (dd/mm/yyyy)") from None


def _clean_bool(spec: InputSpec, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    answer = unicodedata.normalize("NFC", value).strip().lower() if isinstance(value, str) else None
    if answer in _YES | _NO:
        return answer in _YES
    raise _Bad("Phải là có/không", "Must be yes or no")


def _clean_choice(spec: InputSpec, value: Any) -> Any:
    if value not in (spec.choices or []):
        raise _Bad(f"Giá trị không hợp lệ: {value}", f"Not one of the choices: {value}")
    return value


def _clean_user_list(spec: InputSpec, value: Any) -> list[str]:
    items = value if isinstance(value, list) else [v for v in str(value).replace(",", " ").split() if v]
    if not items or not all(isinstance(v, str | int) and not isinstance(v, bool) for v in items):
        raise _Bad("Cần danh sách người dùng", "Needs a list of users")
    return [str(v) for v in items]


_CLEANERS: dict[str, Callable[[InputSpec, Any], Any]] = {
    "text": _clean_text, "string": _clean_text, "money": _clean_number, "int": _clean_number,
    "percent": _clean_number, "date": _clean_date, "bool": _clean_bool, "choice": _clean_choice,
    "user_list": _clean_user_list,
}


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
        value = given.get(name)
        if spec.optional and (value is None or (isinstance(value, str) and not value.strip())):
            continue  # left empty: absent from the cleaned inputs
        try:
            cleaned[name] = clean_value(name, spec, value)
        except InvalidInput as exc:
            errors.update(exc.errors)
    if errors:
        raise InvalidInput(errors)
    return cleaned
