"""Bilingual messages for validation errors, shared by the services, the pages and the API (no Flask here).

One catalogue: a pydantic error type maps to one Vietnamese/English message, whichever front end shows it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from workflow.errors import InvalidInput

# The most any amount may be, in whole VND, wherever it is entered (proposal fields, stage inputs, envelopes):
# far above any khuyến công budget (the per-category caps in config/caps are the legal limits, see
# app/common/caps.py) and inside a 64-bit column. Declared here, a module without imports of the app, so that
# models, services and both front ends can read it without import cycles.
MAX_VND = 10**13

# pydantic error type -> message; {placeholders} come from the error's ctx.
PYDANTIC_MESSAGES: dict[str, dict[str, str]] = {
    "missing": {"vi": "Bắt buộc nhập", "en": "This is required"},
    "extra_forbidden": {"vi": "Trường không được phép", "en": "Unknown field"},
    "int_type": {"vi": "Phải là số nguyên", "en": "Must be a whole number"},
    "int_parsing": {"vi": "Phải là số nguyên", "en": "Must be a whole number"},
    "int_from_float": {"vi": "Phải là số nguyên (đồng), không dùng số thập phân",
                       "en": "Must be a whole number (VND), not a decimal"},
    "string_type": {"vi": "Phải là văn bản", "en": "Must be text"},
    "bool_type": {"vi": "Phải là true/false", "en": "Must be true or false"},
    "list_type": {"vi": "Phải là danh sách", "en": "Must be a list"},
    "model_type": {"vi": "Phải là một đối tượng JSON", "en": "Must be a JSON object"},
    "dict_type": {"vi": "Phải là một đối tượng JSON", "en": "Must be a JSON object"},
    "literal_error": {"vi": "Phải là một trong: {expected}", "en": "Must be one of: {expected}"},
    "enum": {"vi": "Phải là một trong: {expected}", "en": "Must be one of: {expected}"},
    "greater_than_equal": {"vi": "Không được nhỏ hơn {ge}", "en": "Must not be below {ge}"},
    "greater_than": {"vi": "Phải lớn hơn {gt}", "en": "Must be above {gt}"},
    "less_than_equal": {"vi": "Không được lớn hơn {le}", "en": "Must not be above {le}"},
    "less_than": {"vi": "Phải nhỏ hơn {lt}", "en": "Must be below {lt}"},
    "string_too_short": {"vi": "Phải có ít nhất {min_length} ký tự", "en": "Needs at least {min_length} characters"},
    "string_too_long": {"vi": "Dài quá {max_length} ký tự", "en": "Longer than {max_length} characters"},
    "string_pattern_mismatch": {"vi": "Sai định dạng (có ký tự không hợp lệ)",
                                "en": "Wrong format (it holds a character that is not allowed)"},
    "date_type": {"vi": "Ngày không hợp lệ (YYYY-MM-DD)", "en": "Invalid date (YYYY-MM-DD)"},
    "date_parsing": {"vi": "Ngày không hợp lệ (YYYY-MM-DD)", "en": "Invalid date (YYYY-MM-DD)"},
    "date_from_datetime_parsing": {"vi": "Ngày không hợp lệ (YYYY-MM-DD)", "en": "Invalid date (YYYY-MM-DD)"},
    "date_from_datetime_inexact": {"vi": "Ngày không hợp lệ (YYYY-MM-DD)", "en": "Invalid date (YYYY-MM-DD)"},
    "json_invalid": {"vi": "JSON không hợp lệ", "en": "Invalid JSON"},
}
INVALID_VALUE = {"vi": "Giá trị không hợp lệ", "en": "Invalid value"}


def pydantic_message(error: Mapping[str, Any]) -> dict[str, str]:
    template = PYDANTIC_MESSAGES.get(error["type"])
    if template is None:
        return INVALID_VALUE
    ctx = {k: v for k, v in (error.get("ctx") or {}).items()}
    try:
        return {lang: msg.format(**ctx) for lang, msg in template.items()}
    except (KeyError, IndexError):
        return INVALID_VALUE


def invalid_input(exc: ValidationError) -> InvalidInput:
    """A pydantic failure as the engine's InvalidInput: field name -> message (the first error of a field)."""
    errors: dict[str, dict[str, str]] = {}
    for error in exc.errors(include_url=False):
        name = ".".join(str(p) for p in error["loc"]) or "changes"
        errors.setdefault(name, pydantic_message(error))
    return InvalidInput(errors)
