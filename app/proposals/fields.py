"""A proposal's fields and their rules, declared once.

``create_proposal`` and ``edit_proposal`` check every value here (types, ranges, lengths, and the cross-field
rules: support <= total cost, support + counterpart = total cost), so the pages, the API, the CLI and the demo
give the same verdict on the same data. The API's request models are built from :data:`PROPOSAL_FIELDS` (for
its OpenAPI document and JSON types); the web form only parses text into numbers and shows these errors.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import (
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    StrictStr,
    StringConstraints,
    ValidationError,
    create_model,
)

from app.models.proposals import CATEGORIES, SECTORS
from app.validation import MAX_VND, invalid_input
from workflow.errors import InvalidInput

# Plan years the programme can hold (the web form and the API took different ranges before).
FIRST_YEAR, LAST_YEAR = 2010, 2100
MAX_MONTHS = 60  # a khuyến công project runs at most five years
MAX_JOBS = 100_000
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: refuse it as input rather than fail on insert

Message = dict[str, str]


def text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[StrictStr, StringConstraints(strip_whitespace=min_length > 0, min_length=min_length,
                                                  max_length=max_length, pattern=NO_NUL)]


Money = Annotated[StrictInt, Field(ge=0, le=MAX_VND, description="Integer VND")]
Category = Literal[tuple(CATEGORIES)]  # type: ignore[valid-type]
Sector = Literal[tuple(SECTORS)]  # type: ignore[valid-type]

# Each editable field once: (annotation, default when creating; ... = required).
PROPOSAL_FIELDS: dict[str, tuple[Any, Any]] = {
    "title": (text(500, min_length=1), ...),
    "commune_code": (text(16, min_length=1), None),
    "category": (Category, ...),
    "sector": (Sector, ...),
    "year": (Annotated[StrictInt, Field(ge=FIRST_YEAR, le=LAST_YEAR)], ...),
    "total_cost": (Money, 0),
    "requested_support": (Money, 0),
    "counterpart_funds": (Money, 0),
    "duration_months": (Annotated[StrictInt, Field(ge=1, le=MAX_MONTHS)], 12),
    "objectives": (text(10_000), ""),
    "expected_results": (text(10_000), ""),
    "expected_jobs": (Annotated[StrictInt, Field(ge=0, le=MAX_JOBS)], 0),
    "expected_output": (text(300), ""),
    "priority_region": (StrictBool, False),
    "priority_sector": (StrictBool, False),
}

ProposalFields = create_model(  # type: ignore[call-overload]
    "ProposalFields", __config__=ConfigDict(extra="ignore"), **PROPOSAL_FIELDS)

SUPPORT_ABOVE_TOTAL = {"vi": "Kinh phí đề nghị hỗ trợ không được lớn hơn tổng kinh phí",
                       "en": "The requested support cannot exceed the total cost"}
PARTS_NOT_TOTAL = {"vi": "Kinh phí hỗ trợ cộng vốn đối ứng phải bằng tổng kinh phí",
                   "en": "Support plus counterpart funds must equal the total cost"}
# field -> the fields its cross-field rule reads
CROSS_FIELD = {"requested_support": ("requested_support", "total_cost"),
               "counterpart_funds": ("counterpart_funds", "requested_support", "total_cost")}


def cross_field_problems(values: Mapping[str, Any]) -> dict[str, Message]:
    total, support, counterpart = values["total_cost"], values["requested_support"], values["counterpart_funds"]
    if support > total:
        return {"requested_support": SUPPORT_ABOVE_TOTAL}
    if support + counterpart != total:
        return {"counterpart_funds": PARTS_NOT_TOTAL}
    return {}


MONEY_FIELDS = frozenset({"total_cost", "requested_support", "counterpart_funds"})
DEFAULTS = {name: default for name, (_, default) in PROPOSAL_FIELDS.items() if default is not ...}


def problems(values: Mapping[str, Any], *, changed: set[str] | None = None,
             unread: frozenset[str] | set[str] = frozenset()) -> tuple[dict[str, Message], dict[str, Any] | None]:
    """(field -> message, the cleaned values or None): the verdict of :func:`checked`, without raising.

    ``unread``: fields a front end could not read (it shows its own message there); they are left out, and no
    rule reading them is checked, so the page can show every other problem of the same post at once.
    """
    cleaned: dict[str, Any] | None
    try:
        cleaned = ProposalFields.model_validate(dict(values)).model_dump()
        found: dict[str, Message] = {}
    except ValidationError as exc:
        cleaned, found = None, invalid_input(exc).errors
    if changed is not None:
        found = {name: message for name, message in found.items() if name in changed}
    found = {name: message for name, message in found.items() if name not in unread}
    if found:
        return found, None
    base = cleaned if cleaned is not None else {**DEFAULTS, **dict(values)}
    if unread & MONEY_FIELDS or not all(isinstance(base.get(name), int) for name in MONEY_FIELDS):
        return {}, cleaned  # a rule on amounts the page could not read (or that failed their own check above)
    cross = cross_field_problems(base)
    if changed is not None:
        cross = {name: m for name, m in cross.items() if set(CROSS_FIELD[name]) & changed}
    return cross, None if cross else base


def checked(values: Mapping[str, Any], *, changed: set[str] | None = None) -> dict[str, Any]:
    """The full set of fields checked, or InvalidInput naming each field at fault (bilingual messages).

    ``changed`` (an edit): only problems the change is part of count, so a value stored under an older rule
    does not block editing another field.
    """
    found, cleaned = problems(values, changed=changed)
    if found:
        raise InvalidInput(found)
    assert cleaned is not None
    return cleaned
