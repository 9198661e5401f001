"""Plan rounds (đợt đăng ký kế hoạch khuyến công): a fund x plan year with a registration window.

A round is a workflow subject (definitions/plan_round/): the Centre opens it, proposals are filed into it while its
window is open, the Centre compiles the plan list, the Director of the Department of Industry and Trade submits
it, and the provincial People's Committee's approval is recorded (decision number, date, total, attachment)
before any funding decision charges an envelope of the round.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, Date, DateTime, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from workflow.permissions import Place
from workflow.storage import WorkflowMixin, utcnow

# The two sources of khuyến công money (Decree 45/2012/NĐ-CP art. 14): keys are stored in ``fund`` columns.
FUNDS: dict[str, tuple[str, str]] = {
    "local": ("Kinh phí khuyến công địa phương", "Local industrial promotion fund"),
    "national": ("Kinh phí khuyến công quốc gia", "National industrial promotion fund"),
}


class PlanRound(WorkflowMixin, Base):
    __tablename__ = "plan_round"
    __table_args__ = (UniqueConstraint("province_code", "fund", "plan_year"),)
    wf_subject_type = "plan_round"

    id: Mapped[int] = mapped_column(primary_key=True)
    province_code: Mapped[str] = mapped_column(String(16), index=True)
    fund: Mapped[str] = mapped_column(String(16), index=True)  # a FUNDS key
    plan_year: Mapped[int] = mapped_column(Integer, index=True)
    opens_on: Mapped[dt.date] = mapped_column(Date)  # registration window, both days included (local dates)
    closes_on: Mapped[dt.date] = mapped_column(Date)
    # The People's Committee's approval of the plan, recorded by the record_approval transition.
    decision_number: Mapped[str | None] = mapped_column(String(64))
    decision_date: Mapped[dt.date | None] = mapped_column(Date)
    approved_total: Mapped[int | None] = mapped_column(BigInteger)
    decision_file_name: Mapped[str | None] = mapped_column(String(255))
    decision_file_sha256: Mapped[str | None] = mapped_column(String(64))
    decision_file_stored: Mapped[str | None] = mapped_column(String(64))
    plan_total: Mapped[int | None] = mapped_column(BigInteger)  # the compiled list's requested support
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    def wf_place(self) -> Place:
        return Place(province=self.province_code)

    @property
    def approved(self) -> bool:
        return self.decision_number is not None

    @property
    def label(self) -> str:
        return f"{FUNDS[self.fund][0]} {self.plan_year}"

    # --- facts read by the round's guards -----------------------------------------------------------------
    def registration_ended(self) -> bool:
        from app.deadlines import today as local_today

        return local_today() > self.closes_on
