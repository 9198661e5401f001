"""The later stages of a proposal: council, funding, implementation, evaluation.

Rows here are only written inside ``workflow.operations.act``/``fire`` (through the areas' services), so every
change has its audit event. Old score sheets and decided change requests are kept, never overwritten.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from app.db import Base
from app.models.users import User
from workflow.storage import utcnow


class StageFacts:
    """The facts the stage guards read through ``ctx.fact`` (mixed into Proposal). The services compute them
    (``app.stage_facts``); models never import services, so ``create_app`` hands them in with ``use``. A list
    page may set ``prefetched_facts`` (fact name -> value), computed for all its rows at once, which the per-row
    methods then answer from."""

    prefetched_facts: dict[str, object]
    _source: ClassVar[Any] = None

    @classmethod
    def use(cls, source: Any) -> None:
        cls._source = source

    @classmethod
    def _facts(cls) -> Any:
        if cls._source is None:
            raise RuntimeError("StageFacts.use(app.stage_facts) was not called; create_app does it")
        return cls._source

    def _prefetched(self, name: str) -> tuple[bool, Any]:
        facts = self.__dict__.get("prefetched_facts", {})
        return (True, facts[name]) if name in facts else (False, None)

    def council_result(self) -> object:
        found, value = self._prefetched("council_result")
        return value if found else self._facts().council_result(object_session(self), self)

    def cap_problem(self) -> dict[str, str] | None:
        return self._facts().cap_problem(self, self.requested_support or 0)  # type: ignore[attr-defined]

    def eligibility_problem(self) -> dict[str, str] | None:
        return self._facts().eligibility_problem(object_session(self), self)

    def round_problem(self) -> dict[str, str] | None:
        return self._facts().round_problem(object_session(self), self)

    def budget_problem(self, amount: int, inputs: Mapping[str, Any]) -> dict[str, str] | None:
        return self._facts().budget_problem(object_session(self), self, amount, inputs)  # type: ignore[no-any-return]

    def progress_percent(self) -> int:
        found, value = self._prefetched("progress_percent")
        return value if found else self._facts().progress_percent(object_session(self), self.id)  # type: ignore[attr-defined]

    def acceptance_kinds_required(self) -> list[str]:
        return self._facts().acceptance_kinds_required(self)

    def recorded_indicators(self) -> list[str]:
        found, value = self._prefetched("recorded_indicators")
        return value if found else self._facts().recorded_indicators(object_session(self), self.id)  # type: ignore[attr-defined]


class CouncilMember(Base):
    """A user assigned to appraise one proposal. Recusal (or a declared conflict) keeps the row."""

    __tablename__ = "council_member"
    __table_args__ = (UniqueConstraint("proposal_id", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id"))
    assigned_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    assigned_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    recused: Mapped[bool] = mapped_column(Boolean, default=False)
    recusal_kind: Mapped[str | None] = mapped_column(String(16))  # "conflict" | "recusal"
    recusal_reason: Mapped[str | None] = mapped_column(Text)
    recused_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(foreign_keys=[user_id], lazy="joined")


class ScoreSheet(Base):
    """One version of a member's score sheet; the highest version is the member's current sheet."""

    __tablename__ = "score_sheet"
    __table_args__ = (UniqueConstraint("member_id", "version"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"), index=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("council_member.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    points: Mapped[dict[str, int]] = mapped_column(JSON)
    total: Mapped[int] = mapped_column(Integer)  # raw sum of points
    comment: Mapped[str] = mapped_column(Text, default="")
    not_eligible: Mapped[bool] = mapped_column(Boolean, default=False)
    submitted_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    salt: Mapped[str | None] = mapped_column(String(64))  # keys the sheet's commitment in the trail

    member: Mapped[CouncilMember] = relationship(lazy="joined")


class BudgetEnvelope(Base):
    """A year's money for one fund; ``committed`` grows with each funding decision and never passes ``amount``."""

    __tablename__ = "budget_envelope"
    __table_args__ = (
        UniqueConstraint("province_code", "fund", "year"),
        CheckConstraint("committed >= 0 AND committed <= amount", name="within_amount"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    province_code: Mapped[str] = mapped_column(String(16), index=True)
    fund: Mapped[str] = mapped_column(String(200))  # e.g. "Kinh phí khuyến công địa phương"
    year: Mapped[int] = mapped_column(Integer, index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    committed: Mapped[int] = mapped_column(BigInteger, default=0)
    round_id: Mapped[int | None] = mapped_column(ForeignKey("plan_round.id"), index=True)  # its approved plan
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def remaining(self) -> int:
        return self.amount - self.committed

    @property
    def label(self) -> str:
        return f"{self.fund} {self.year}"


class Funding(Base):
    """The money and contract terms of a funded proposal (one row, created by approve_funding)."""

    __tablename__ = "funding"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"), unique=True)
    envelope_id: Mapped[int] = mapped_column(ForeignKey("budget_envelope.id"), index=True)
    approved_amount: Mapped[int] = mapped_column(BigInteger)
    decision_number: Mapped[str] = mapped_column(String(255))
    decision_date: Mapped[dt.date] = mapped_column(Date)
    terms_version: Mapped[int] = mapped_column(Integer, default=1)  # bumped by each approved change
    content: Mapped[str] = mapped_column(Text, default="")
    contract_number: Mapped[str | None] = mapped_column(String(255))
    contract_date: Mapped[dt.date | None] = mapped_column(Date)
    end_date: Mapped[dt.date | None] = mapped_column(Date)
    accepted_on: Mapped[dt.date | None] = mapped_column(Date)  # the acceptance committee's date
    acceptance_members: Mapped[list[str] | None] = mapped_column(JSON)
    acceptance_conclusion: Mapped[str | None] = mapped_column(Text)
    disbursed_total: Mapped[int | None] = mapped_column(BigInteger)
    refund_amount: Mapped[int | None] = mapped_column(BigInteger)
    released: Mapped[int] = mapped_column(BigInteger, default=0)  # given back to the envelope
    evaluation_score: Mapped[int | None] = mapped_column(Integer)
    evaluation_comment: Mapped[str | None] = mapped_column(Text)

    envelope: Mapped[BudgetEnvelope] = relationship(lazy="joined")


class ProgressReport(Base):
    __tablename__ = "progress_report"
    __table_args__ = (
        UniqueConstraint("proposal_id", "period"),
        CheckConstraint("percent >= 0 AND percent <= 100", name="percent_range"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"), index=True)
    period: Mapped[str] = mapped_column(String(7))  # YYYY-MM
    percent: Mapped[int] = mapped_column(Integer)
    note: Mapped[str] = mapped_column(Text, default="")
    reported_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    reported_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # A report counts towards progress only once the Centre has confirmed it.
    confirmed_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    confirmed_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class Advance(Base):
    __tablename__ = "advance"
    __table_args__ = (CheckConstraint("amount > 0", name="positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"), index=True)
    amount: Mapped[int] = mapped_column(BigInteger)
    paid_on: Mapped[dt.date] = mapped_column(Date)
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ChangeRequest(Base):
    """A requested change of amount, content or end date; approval applies it and keeps the old value here."""

    __tablename__ = "change_request"

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # amount | content | extension
    new_value: Mapped[str] = mapped_column(Text)  # an integer, a text or an ISO date, by kind
    old_value: Mapped[str | None] = mapped_column(Text)  # filled when approved
    reason: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | approved | rejected
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    requested_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    decided_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    decision_comment: Mapped[str | None] = mapped_column(Text)


class IndicatorValue(Base):
    """Target and actual value of one evaluation indicator declared by the definition (bools as 0/1)."""

    __tablename__ = "indicator_value"
    __table_args__ = (UniqueConstraint("proposal_id", "key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    proposal_id: Mapped[int] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))
    target: Mapped[int | None] = mapped_column(BigInteger)
    actual: Mapped[int | None] = mapped_column(BigInteger)
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    recorded_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
