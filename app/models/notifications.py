"""The notification outbox (one row per recipient and notice: the in-app inbox item and its e-mail), the log of
every delivery attempt, and per-user e-mail preferences."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.db import Base
from workflow.storage import utcnow

ID = BigInteger().with_variant(Integer(), "sqlite")

# e-mail states: pending (to send; last_error says why the previous attempt failed), sent, dead (gave up after
# the maximum attempts; an admin may retry), off (the user turned this kind off), no_address (no e-mail on file)
PENDING, SENT, DEAD, OFF, NO_ADDRESS = "pending", "sent", "dead", "off", "no_address"


class Notification(Base):
    __tablename__ = "notification"
    __table_args__ = (
        Index("ix_notification_due", "email_status", "next_attempt_at"),
        Index("ix_notification_inbox", "user_id", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    # The idempotency key: one row per (cause, notice, recipient); the e-mail's Message-ID derives from it.
    dedup_key: Mapped[str] = mapped_column(String(200), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"))
    proposal_id: Mapped[int | None] = mapped_column(ForeignKey("proposal.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(64))  # a key of workflow/notices.yaml
    lang: Mapped[str] = mapped_column(String(2), default="vi")
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    link: Mapped[str] = mapped_column(String(300), default="/")
    created_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    read_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    email_to: Mapped[str | None] = mapped_column(String(200))
    email_status: Mapped[str] = mapped_column(String(16), default=PENDING)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(String(64))
    claimed_until: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    last_error: Mapped[str | None] = mapped_column(Text)
    sent_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))


class NotificationDelivery(Base):
    """Every e-mail attempt: sent, or the error."""

    __tablename__ = "notification_delivery"

    id: Mapped[int] = mapped_column(ID, primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notification.id", ondelete="CASCADE"), index=True)
    attempt: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # sent | error | dead
    error: Mapped[str | None] = mapped_column(Text)
    worker: Mapped[str] = mapped_column(String(64))
    at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class NotificationPreference(Base):
    """E-mail off for one kind of notice (absent row: on). Statutory notices ignore it."""

    __tablename__ = "notification_preference"

    user_id: Mapped[int] = mapped_column(ForeignKey("user_account.id", ondelete="CASCADE"), primary_key=True)
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    email: Mapped[bool] = mapped_column(Boolean, default=True)
