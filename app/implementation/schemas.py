"""Payloads of the implementation API: progress, advances, changes, indicators."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt, StrictStr

from app.api.types import STRICT_INPUT, BigInt, ExpectedVersion, IsoDate, LongText, Money


class ProgressIn(BaseModel):
    model_config = STRICT_INPUT
    percent: Annotated[StrictInt, Field(ge=0, le=100)]
    period: Annotated[StrictStr, Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")] | None = None
    note: LongText = ""
    expected_version: ExpectedVersion = None


class AdvanceIn(BaseModel):
    model_config = STRICT_INPUT
    amount: Money
    paid_on: IsoDate | None = None
    note: LongText = ""
    expected_version: ExpectedVersion = None


class ChangeIn(BaseModel):
    model_config = STRICT_INPUT
    kind: Literal["amount", "content", "extension"]
    value: Money | LongText = Field(description="amount: integer VND; content: text; extension: YYYY-MM-DD")
    reason: Annotated[LongText, Field(min_length=1)]
    expected_version: ExpectedVersion = None


class ChangeDecisionIn(BaseModel):
    model_config = STRICT_INPUT
    approve: StrictBool
    comment: LongText = ""
    expected_version: ExpectedVersion = None


class IndicatorIn(BaseModel):
    model_config = STRICT_INPUT
    key: StrictStr
    target: StrictBool | BigInt | None = None
    actual: StrictBool | BigInt | None = None
    expected_version: ExpectedVersion = None
