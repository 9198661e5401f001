"""The delivery worker: claims due outbox rows, sends each e-mail once, retries with backoff, gives up into a
dead-letter state, and runs the deadline sweep now and then.

Claiming: one short transaction selects due rows (PostgreSQL ``FOR UPDATE SKIP LOCKED``, so workers never
wait on each other; SQLite: ``BEGIN IMMEDIATE`` serialises) and leases them (``claimed_until``). Each message's
outcome is committed right after the SMTP server answers. A worker killed mid-batch leaves its leases to expire;
another worker then sends what was not recorded as sent. The one message that may be resent (accepted by the
server, killed before the commit) carries the same Message-ID, the idempotency key receivers deduplicate on.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import smtplib
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from app.models import Notification, NotificationDelivery
from app.models.notifications import DEAD, PENDING, SENT
from app.notifications.mail import MailSettings, build_email
from workflow.storage import utcnow

log = logging.getLogger(__name__)

# Errors of the session, not of one message: every claimed message waits for the next try. (Any other
# OSError, a refused connection or a timeout, too; SMTPException is an OSError, so these come first.)
SESSION_ERRORS = (smtplib.SMTPConnectError, smtplib.SMTPServerDisconnected, smtplib.SMTPHeloError,
                  smtplib.SMTPAuthenticationError, smtplib.SMTPNotSupportedError)


@dataclass(frozen=True)
class WorkerSettings:
    batch: int = 50
    lease_seconds: float = 120.0  # longer than a batch can take: SMTP timeout x batch stays well below it
    max_attempts: int = 8
    retry_base_seconds: float = 30.0  # 30 s, 1 min, 2 min, ... capped at retry_max_seconds
    retry_max_seconds: float = 3600.0
    poll_seconds: float = 1.0
    sweep_seconds: float = 300.0

    @classmethod
    def from_env(cls, config: dict[str, object] | None = None) -> WorkerSettings:
        config = config or {}

        def get(name: str, default: float) -> float:
            value = config.get(name, os.environ.get(name))
            return float(value) if value not in (None, "") else default  # type: ignore[arg-type]

        return cls(batch=int(get("NOTIFY_BATCH", cls.batch)), lease_seconds=get("NOTIFY_LEASE_SECONDS", cls.lease_seconds),
                   max_attempts=int(get("NOTIFY_MAX_ATTEMPTS", cls.max_attempts)),
                   retry_base_seconds=get("NOTIFY_RETRY_BASE_SECONDS", cls.retry_base_seconds),
                   retry_max_seconds=get("NOTIFY_RETRY_MAX_SECONDS", cls.retry_max_seconds),
                   poll_seconds=get("NOTIFY_POLL_SECONDS", cls.poll_seconds),
                   sweep_seconds=get("NOTIFY_SWEEP_SECONDS", cls.sweep_seconds))

    def backoff(self, attempts: int) -> dt.timedelta:
        return dt.timedelta(seconds=min(self.retry_base_seconds * 2 ** max(attempts - 1, 0), self.retry_max_seconds))


class Worker:
    def __init__(self, engine: Engine, mail: MailSettings, settings: WorkerSettings | None = None,
                 name: str | None = None):
        self.engine, self.mail = engine, mail
        self.settings = settings or WorkerSettings()
        self.name = name or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.sessions = sessionmaker(bind=engine, expire_on_commit=False)

    # --- claiming -----------------------------------------------------------------------------------------

    def claim(self) -> list[Notification]:
        """Lease up to ``batch`` due rows to this worker; returns them (detached)."""
        now = utcnow()
        due = (select(Notification.id)
               .where(Notification.email_status == PENDING, Notification.next_attempt_at <= now,
                      or_(Notification.claimed_until.is_(None), Notification.claimed_until < now))
               .order_by(Notification.next_attempt_at, Notification.id).limit(self.settings.batch))
        if self.engine.dialect.name == "postgresql":
            due = due.with_for_update(skip_locked=True)
        with self.sessions() as session, session.begin():
            ids = list(session.scalars(due))
            if not ids:
                return []
            session.execute(update(Notification).where(Notification.id.in_(ids)).values(
                claimed_by=self.name, claimed_until=now + dt.timedelta(seconds=self.settings.lease_seconds)))
            return list(session.scalars(select(Notification).where(Notification.id.in_(ids))
                                        .order_by(Notification.id)))

    # --- sending ------------------------------------------------------------------------------------------

    def _connect(self) -> smtplib.SMTP:
        smtp = smtplib.SMTP(self.mail.host, self.mail.port, timeout=self.mail.timeout)
        if self.mail.starttls:
            smtp.starttls()
        if self.mail.user:
            smtp.login(self.mail.user, self.mail.password or "")
        return smtp

    def _record(self, notification: Notification, error: str | None) -> None:
        """Commit one message's outcome (only while this worker still holds its lease)."""
        attempt = notification.attempts + 1
        now = utcnow()
        if error is None:
            values = {"email_status": SENT, "sent_at": now, "last_error": None}
            outcome = SENT
        elif attempt >= self.settings.max_attempts:
            values, outcome = {"email_status": DEAD, "last_error": error}, DEAD
        else:
            values = {"last_error": error, "next_attempt_at": now + self.settings.backoff(attempt)}
            outcome = "error"
        with self.sessions() as session, session.begin():
            done = session.connection().execute(
                update(Notification).where(Notification.id == notification.id,
                                           Notification.claimed_by == self.name,
                                           Notification.email_status == PENDING)
                .values(attempts=attempt, claimed_by=None, claimed_until=None, **values))
            if done.rowcount == 1:
                session.add(NotificationDelivery(notification_id=notification.id, attempt=attempt,
                                                 outcome=outcome, error=error, worker=self.name, at=now))

    def deliver(self, batch: list[Notification]) -> int:
        """Send the claimed messages over one SMTP connection; returns how many were sent."""
        sent, smtp = 0, None
        try:
            for position, notification in enumerate(batch):
                try:
                    if smtp is None:
                        smtp = self._connect()
                    smtp.send_message(build_email(notification, self.mail))
                except SESSION_ERRORS as exc:
                    self._give_back(batch[position:], _describe(exc))
                    return sent
                except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException) as exc:
                    self._record(notification, _describe(exc))  # this message's fault: the others go on
                except OSError as exc:
                    self._give_back(batch[position:], _describe(exc))
                    return sent
                else:
                    self._record(notification, None)
                    sent += 1
        finally:
            if smtp is not None:
                try:
                    smtp.quit()
                except OSError:
                    smtp.close()
        return sent

    def _give_back(self, waiting: list[Notification], error: str) -> None:
        for notification in waiting:
            self._record(notification, error)

    def drain(self, limit: int | None = None) -> int:
        """Deliver until nothing is due (or ``limit`` messages were sent); returns how many were sent."""
        total = 0
        while limit is None or total < limit:
            batch = self.claim()
            if not batch:
                break
            total += self.deliver(batch)
        return total

    # --- the loop -----------------------------------------------------------------------------------------

    def run(self, sweep: Callable[[Session], int], *, once: bool = False,
            should_stop: Callable[[], bool] = lambda: False) -> None:
        """Deliver and sweep until stopped; ``once``: one sweep, deliver what is due, return."""
        last_sweep = float("-inf")
        while not should_stop():
            if time.monotonic() - last_sweep >= self.settings.sweep_seconds or once:
                with self.sessions() as session:
                    added = sweep(session)
                    session.commit()
                if added:
                    log.info("deadline sweep: %d notice(s) added", added)
                last_sweep = time.monotonic()
            sent = self.drain()
            if once:
                return
            if not sent:
                time.sleep(self.settings.poll_seconds)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error.decode(errors="replace") if isinstance(exc.smtp_error, bytes) else str(exc.smtp_error)
        return f"SMTP {exc.smtp_code}: {text}"[:1000]
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{rcpt}: SMTP {code} {msg.decode(errors='replace')}"
                         for rcpt, (code, msg) in exc.recipients.items())[:1000]
    return f"{type(exc).__name__}: {exc}"[:1000]
