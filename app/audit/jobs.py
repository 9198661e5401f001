"""Whole-trail verification as a background job: a row per run, a thread that verifies on its own read-only
connection and records its progress, and a page that shows the latest run while it goes.

A web request never verifies a million events itself; it starts a run (or finds one running) and returns.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import gc
import logging
import threading
import time
from typing import Any

from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, func, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base
from workflow import seal
from workflow.audit import AuditEvent
from workflow.storage import read_only, utcnow

log = logging.getLogger(__name__)
PROGRESS_EVERY = 1.0  # seconds between progress writes
STALE_AFTER = dt.timedelta(hours=2)  # a run not finished by then died with its process


class VerificationRun(Base):
    __tablename__ = "audit_verification"

    id: Mapped[int] = mapped_column(primary_key=True)
    started_by_id: Mapped[int | None] = mapped_column(ForeignKey("user_account.id"))
    started_at: Mapped[dt.datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[dt.datetime | None] = mapped_column(DateTime(timezone=True))
    total: Mapped[int] = mapped_column(Integer, default=0)  # events when the run started (for the progress bar)
    checked: Mapped[int] = mapped_column(Integer, default=0)
    ok: Mapped[bool | None] = mapped_column(Boolean)
    head_digest: Mapped[str | None] = mapped_column(String(64))
    problems: Mapped[list[str]] = mapped_column(JSON, default=list)
    error: Mapped[str | None] = mapped_column(Text)

    @property
    def running(self) -> bool:
        started = self.started_at if self.started_at.tzinfo else self.started_at.replace(tzinfo=dt.UTC)
        return self.finished_at is None and utcnow() - started < STALE_AFTER

    @property
    def percent(self) -> int:
        return 100 if self.finished_at else min(99, self.checked * 100 // max(self.total, 1))


def latest_run(session: Session) -> VerificationRun | None:
    return session.scalars(select(VerificationRun).order_by(VerificationRun.id.desc()).limit(1)).first()


def start_run(session: Session, sessionmaker: Any, user_id: int | None,
              public_key: Any = None) -> VerificationRun:
    """The running run if there is one, else a new one started in a thread (chains, checkpoint signatures given
    the public key, and the data rows against their chains: workflow.seal.verify). Commits."""
    current = latest_run(session)
    if current is not None and current.running:
        return current
    total = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    run = VerificationRun(started_by_id=user_id, total=total, problems=[])
    session.add(run)
    session.commit()  # the thread's writes on SQLite must not wait for this request's write lock
    threading.Thread(target=_run, args=(sessionmaker, run.id, public_key), name=f"audit-verify-{run.id}", daemon=True).start()
    return run


def release_memory() -> None:
    """Hand the memory a finished run freed back to the system: the run's thread allocated it in a malloc arena
    of its own, which glibc keeps (the worker's RSS stayed ~75 MB higher after a whole-trail run) unless trimmed."""
    gc.collect()
    trim = getattr(ctypes.CDLL(None), "malloc_trim", None)  # the process's own C library
    if trim is not None:  # glibc only
        trim(0)


def _run(sessionmaker: Any, run_id: int, public_key: Any) -> None:
    last = [0.0]

    def record(**values: Any) -> None:
        with sessionmaker() as session:
            run = session.get(VerificationRun, run_id)
            assert run is not None
            for name, value in values.items():
                setattr(run, name, value)
            session.commit()

    def progress(checked: int) -> None:
        if time.monotonic() - last[0] >= PROGRESS_EVERY:
            last[0] = time.monotonic()
            record(checked=checked)

    with sessionmaker() as session:
        engine = read_only(session.get_bind().engine)
    try:
        sealed = seal.verify(engine, public_key=public_key, progress=progress)
    except Exception as exc:  # the page must say the run failed rather than spin forever
        log.exception("audit verification run %s failed", run_id)
        record(finished_at=utcnow(), error=f"{type(exc).__name__}: {exc}"[:2000])
        return
    finally:
        release_memory()
    record(finished_at=utcnow(), checked=sealed.chains.count, ok=sealed.ok, head_digest=sealed.chains.head_digest,
           problems=[str(p) for p in sealed.problems[:100]])
