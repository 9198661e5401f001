"""Stage-entry facts: one row per stay of a proposal in a state, for the funnel and the stage durations.

Written only by the database: migration 0014_reports_perf installs an AFTER INSERT trigger on ``audit_event``
that opens a stay on each state change and closes the previous one, in the statement that appends the event.
The application only reads this table.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import BigInteger, DateTime, Float, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base


class ProposalStay(Base):
    __tablename__ = "proposal_stay"

    id: Mapped[int] = mapped_column(BigInteger().with_variant(Integer(), "sqlite"), primary_key=True)
    proposal_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(64))
    entered_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True))
    left_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    days: Mapped[float | None] = mapped_column(Float)  # calendar days, once left
    event_id: Mapped[int] = mapped_column(BigInteger)  # the audit event that entered the state
