"""Payloads and answers of the funding API: envelopes, ranking, bulk decisions."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, Field, StrictInt

from app.api.types import STRICT_INPUT, IsoDate, Money, RowId, text
from app.common.stages_api import EnvelopeOut


class EnvelopeIn(BaseModel):
    model_config = STRICT_INPUT
    fund: text(200, min_length=1)  # type: ignore[valid-type]
    year: Annotated[StrictInt, Field(ge=2000, le=2100)]
    amount: Annotated[Money, Field(ge=1)]


class BulkIn(BaseModel):
    model_config = STRICT_INPUT
    envelope_id: RowId
    proposal_ids: Annotated[list[RowId], Field(min_length=1)]
    decision_number: text(255, min_length=1)  # type: ignore[valid-type]
    decision_date: IsoDate


class EnvelopeList(BaseModel):
    items: list[EnvelopeOut]


class RankedOut(BaseModel):
    proposal_id: int
    code: str
    title: str
    state: str
    score: float | None
    priority: bool
    requested: int
    cumulative: int
    fits: bool


class RankingOut(BaseModel):
    envelope: EnvelopeOut
    items: list[RankedOut]


class BulkOut(BaseModel):
    funded: list[int]
    envelope: EnvelopeOut
