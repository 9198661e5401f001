"""Field types and error answers shared by every area's API models; the OpenAPI document is generated from them.

Request models forbid unknown fields and take amounts as JSON integers (VND): a float, a string or a boolean
where an amount belongs is a 422, never silently rounded.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
    StringConstraints,
)

from app.api.spec import MAX_ID
from app.validation import MAX_VND  # one limit for every front end


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


UtcDatetime = Annotated[dt.datetime, AfterValidator(_utc)]  # SQLite gives back naive UTC


def _iso_date_only(value: Any) -> Any:
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise ValueError("date must be YYYY-MM-DD")
    return value


Money = Annotated[StrictInt, Field(ge=0, le=MAX_VND, description="Integer VND")]
RowId = Annotated[StrictInt, Field(ge=1, le=MAX_ID, description="A row's id")]  # what an INTEGER key can hold
BigInt = Annotated[StrictInt, Field(ge=-(2**63), le=2**63 - 1)]  # what a BIGINT column can hold
IsoDate = Annotated[dt.date, BeforeValidator(_iso_date_only)]
NO_NUL = r"^[^\x00]*$"  # PostgreSQL text cannot hold NUL: refuse it as input rather than fail on insert


def text(max_length: int, min_length: int = 0) -> Any:
    return Annotated[StrictStr, StringConstraints(strip_whitespace=min_length > 0, min_length=min_length,
                                                  max_length=max_length, pattern=NO_NUL)]


LongText = text(10_000)


def _no_null_defaults(schema: dict[str, Any]) -> None:
    """Optional-but-never-null fields default to None in Python; the schema must not advertise null."""
    for prop in schema.get("properties", {}).values():
        if prop.get("default", 0) is None and "anyOf" not in prop:
            del prop["default"]


STRICT_INPUT = ConfigDict(extra="forbid", json_schema_extra=_no_null_defaults)
ExpectedVersion = Annotated[StrictInt | None, Field(
    default=None, ge=1, le=MAX_ID, description="The version the caller last saw; a stale one is a 409")]


class ReasonOut(BaseModel):
    code: str = Field(description="state, unknown_trigger, role, scope, separation, read_only, edit, guard, "
                                  "invalid, conflict")
    subject: str = Field(description="The field, role, guard or state the reason is about")
    message: str


class ErrorOut(BaseModel):
    error: str
    reasons: list[ReasonOut]
    current_version: int | None = None
    current_state: str | None = None
