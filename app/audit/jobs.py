"""Whole-trail verification as a background job: a row per run, a process of its own that verifies on a
read-only connection and records its progress in the row, and a page that shows the latest run while it goes.

A web request never verifies a million events itself; it starts a run (or finds one running) and returns. The
run goes on in a separate Python process (app/audit/verify_process.py), not in a thread of the web worker: its
per-chain bookkeeping (~100 MB at 100,000 chains) stayed in the worker's memory after the run. The process is
started, not forked (the worker has threads and open connections), in a session of its own: it finishes its run
and writes its end even when the worker that started it stops first.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from sqlalchemy import JSON, Boolean, DateTime, ForeignKey, Integer, String, Text, func, select, text
from sqlalchemy.orm import Mapped, Session, mapped_column

from app.db import Base
from workflow import seal
from workflow.audit import AuditEvent
from workflow.storage import read_only, utcnow

log = logging.getLogger(__name__)
PROGRESS_EVERY = 1.0  # seconds between progress writes
STALE_AFTER = dt.timedelta(hours=2)  # a run not finished by then died with its process (and its starter)
_ONE_RUN_LOCK = 0x6766_7665  # PostgreSQL advisory lock key: concurrent starts see each other's run
_CODE_ROOT = Path(__file__).resolve().parents[2]  # holds the `app` package: the process runs this same code


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
              public_key: Ed25519PublicKey | None = None) -> VerificationRun:
    """The running run if there is one, else a new one started in a process of its own (chains, checkpoint
    signatures given the public key, and the data rows against their chains: workflow.seal.verify). Commits."""
    if session.get_bind().dialect.name == "postgresql":  # SQLite: the request's write transaction serialises
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _ONE_RUN_LOCK})
    current = latest_run(session)
    if current is not None and current.running:
        return current
    total = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    run = VerificationRun(started_by_id=user_id, total=total, problems=[])
    session.add(run)
    session.commit()  # the process's writes on SQLite must not wait for this request's write lock
    _launch(session.get_bind().engine.url.render_as_string(hide_password=False), run.id, public_key, sessionmaker)
    return run


def _launch(url: str, run_id: int, public_key: Ed25519PublicKey | None, sessionmaker: Any) -> None:
    """Start the run's process, handing it its order on stdin (the URL may hold a password: not in argv), and
    a thread that waits for it: no zombie, and a process that died without recording its end fails its run."""
    key = public_key.public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo).decode() if public_key else None
    order = json.dumps({"url": url, "run_id": run_id, "public_key": key}).encode()
    paths = [str(_CODE_ROOT), *filter(None, [os.environ.get("PYTHONPATH")])]
    try:
        process = subprocess.Popen([sys.executable, "-m", "app.audit.verify_process"], stdin=subprocess.PIPE,
                                   env={**os.environ, "PYTHONPATH": os.pathsep.join(paths)}, start_new_session=True)
    except OSError as exc:
        log.exception("audit verification run %s: cannot start its process", run_id)
        _record(sessionmaker, run_id, finished_at=utcnow(), error=f"{type(exc).__name__}: {exc}"[:2000])
        return
    assert process.stdin is not None
    with process.stdin:  # a few hundred bytes: the pipe takes them whole, the write never waits
        process.stdin.write(order)
    threading.Thread(target=_reap, args=(process, sessionmaker, run_id), name=f"audit-verify-{run_id}",
                     daemon=True).start()


def _reap(process: subprocess.Popen[bytes], sessionmaker: Any, run_id: int) -> None:
    code = process.wait()
    if code == 0:
        return
    with sessionmaker() as session:
        run = session.get(VerificationRun, run_id)
        if run is None or run.finished_at is not None:
            return  # the process recorded its own failure
    reason = f"killed by signal {-code}" if code < 0 else f"exit code {code}"
    log.error("audit verification run %s: its process ended (%s) without recording the end", run_id, reason)
    _record(sessionmaker, run_id, finished_at=utcnow(),
            error=f"The verification process ended ({reason}) before the run did.")


def _record(sessionmaker: Any, run_id: int, **values: Any) -> None:
    with sessionmaker() as session:
        run = session.get(VerificationRun, run_id)
        assert run is not None
        for name, value in values.items():
            setattr(run, name, value)
        session.commit()


def run_verification(sessionmaker: Any, run_id: int, public_key: Ed25519PublicKey | None) -> bool:
    """Verify the whole trail on a read-only connection (no write lock on SQLite), recording progress at most
    once a second and then the end in the run's row; True when the run ended (intact or not) without error.
    What the run's process does; callable in any process holding a sessionmaker on the trail's database."""
    last = [0.0]

    def progress(checked: int) -> None:
        if time.monotonic() - last[0] >= PROGRESS_EVERY:
            last[0] = time.monotonic()
            _record(sessionmaker, run_id, checked=checked)

    with sessionmaker() as session:
        engine = read_only(session.get_bind().engine)
    try:
        sealed = seal.verify(engine, public_key=public_key, progress=progress)
    except Exception as exc:  # the page must say the run failed rather than spin forever
        log.exception("audit verification run %s failed", run_id)
        _record(sessionmaker, run_id, finished_at=utcnow(), error=f"{type(exc).__name__}: {exc}"[:2000])
        return False
    _record(sessionmaker, run_id, finished_at=utcnow(), checked=sealed.chains.count, ok=sealed.ok,
            head_digest=sealed.chains.head_digest, problems=[str(p) for p in sealed.problems[:100]])
    return True
