"""Payloads and answers of the plan-round API."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictInt

from app.api.types import STRICT_INPUT, ExpectedVersion, IsoDate, LongText, Money, text
from app.models import FUNDS

# --- payloads -------------------------------------------------------------------------------------------------


class RoundIn(BaseModel):
    model_config = STRICT_INPUT
    fund: Literal[tuple(FUNDS)]  # type: ignore[valid-type]
    plan_year: Annotated[StrictInt, Field(ge=2000, le=2100)]
    opens_on: IsoDate
    closes_on: IsoDate
    note: LongText = ""


class RoundActionIn(BaseModel):
    model_config = STRICT_INPUT
    comment: LongText | None = None
    reason: LongText | None = None
    decision_number: text(64, min_length=1) | None = None  # type: ignore[valid-type]
    decision_date: IsoDate | None = None
    approved_total: Money | None = None
    expected_version: ExpectedVersion = None


class RoundEnvelopeIn(BaseModel):
    model_config = STRICT_INPUT
    amount: Annotated[Money, Field(ge=1)]


class PriorityIn(BaseModel):
    model_config = STRICT_INPUT
    priority_region: StrictBool
    priority_sector: StrictBool
    expected_version: ExpectedVersion = None


class ProgressConfirmIn(BaseModel):
    model_config = STRICT_INPUT
    expected_version: ExpectedVersion = None


DECISION_UPLOAD = {"type": "object", "required": ["file"],
                   "properties": {"file": {"type": "string", "contentMediaType": "application/octet-stream"}}}


# --- answers --------------------------------------------------------------------------------------------------

class PlanLineOut(BaseModel):
    rank: int
    proposal_id: int
    code: str
    title: str
    state: str
    score: float | None
    priority_region: bool
    priority_sector: bool
    requested: int


class PlanGroupOut(BaseModel):
    category: str
    title: str
    lines: list[PlanLineOut]
    total: int


class RoundOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: int
    fund: str
    plan_year: int
    opens_on: dt.date
    closes_on: dt.date
    state: str
    state_title: str
    version: int
    plan_total: int | None
    decision_number: str | None
    decision_date: dt.date | None
    approved_total: int | None
    decision_file_name: str | None
    decision_file_sha256: str | None
    allowed_actions: list[str]


class RoundDetail(RoundOut):
    plan: list[PlanGroupOut]
    plan_count: int


class RoundList(BaseModel):
    items: list[RoundOut]


