"""Payloads of the council API."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, Field, StrictBool, StrictInt

from app.api.types import STRICT_INPUT, ExpectedVersion, LongText, RowId


class MemberIn(BaseModel):
    model_config = STRICT_INPUT
    user_id: RowId
    expected_version: ExpectedVersion = None


class RecusalIn(BaseModel):
    model_config = STRICT_INPUT
    kind: Literal["conflict", "recusal"]
    reason: Annotated[LongText, Field(min_length=1)]
    expected_version: ExpectedVersion = None


class SheetIn(BaseModel):
    model_config = STRICT_INPUT
    points: dict[str, StrictInt] = Field(description="criterion key -> points (0..the criterion's max_points)")
    comment: LongText = ""
    not_eligible: StrictBool = False
    expected_version: ExpectedVersion = None
