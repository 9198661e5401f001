"""The verify scan's column check: on SQLite one text comparison of the body with the columns' canonical
rendering (no JSON parse per row), falling back to the field-by-field comparison; progress told per batch."""

from __future__ import annotations

import datetime as dt
import tracemalloc
from collections.abc import Iterator

import pytest
from sqlalchemy import insert, text
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from workflow import audit
from workflow.chaincheck import GENESIS
from workflow.storage import create_db_engine

# Every character JSON escapes (but NUL, which PostgreSQL text cannot hold), and ones it must not (Vietnamese,
# emoji, line separators, DEL).
AWKWARD = "".join(chr(c) for c in range(1, 0x20)) + "\"\\/\x7f\u2028\u2029\ufeff Đề án “máy” 😀 </script>"


@pytest.fixture
def engine(database_url: str) -> Iterator[Engine]:
    engine = create_db_engine(database_url)
    yield engine
    engine.dispose()


def _insert(engine: Engine, count: int, **fields) -> None:
    start = dt.datetime(2026, 3, 1, 8, 30, 15, 123456, tzinfo=dt.UTC)
    rows = [audit.event_values(seq=1, prev_hash=GENESIS, subject_type="scan", subject_id=f"{fields.get('tag', '')}{n}",
                               action="edit", outcome="applied", actor_id="7", actor_role="applicant",
                               occurred_at=start + dt.timedelta(microseconds=n),
                               **{k: v for k, v in fields.items() if k != "tag"})
            for n in range(count)]
    with engine.begin() as conn:
        conn.execute(insert(audit.AuditEvent.__table__), rows)


def _awkward_trail(engine: Engine) -> None:
    _insert(engine, 3, tag="a", comment=AWKWARD, inputs={"note": AWKWARD, "amount": 1.5, "big": 10**20,
                                                          "list": [None, True, -0.25]},
            diff={"title": ["cũ", AWKWARD]}, reasons=[{"code": "x", "text": AWKWARD}], workflow_version=3)
    _insert(engine, 2, tag="i", comment="Hồ sơ giấy 2019", effective_at=dt.datetime(2019, 5, 2, 9, 0, tzinfo=dt.UTC))
    _insert(engine, 2, tag="n")  # nulls and empty containers


def test_engine_written_rows_take_the_fast_path(sqlite_url):
    """SQLite renders the columns exactly as chaincheck.canonical wrote the body, escapes included, so no row
    the engine wrote needs the slow field-by-field comparison."""
    engine = create_db_engine(sqlite_url)
    _awkward_trail(engine)
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT id, {audit._SQLITE_COLUMNS_AGREE} FROM audit_event")).all()
    engine.dispose()
    assert rows and all(agree == 1 for _id, agree in rows), rows


def test_awkward_values_verify_and_a_changed_column_is_caught(engine):
    _awkward_trail(engine)
    assert audit.verify_chain(engine).ok
    with engine.begin() as conn:  # a column changed behind its body (the triggers dropped, as an attacker would)
        for name in ("audit_event_no_update", "audit_event_no_delete"):
            conn.execute(text(f"DROP TRIGGER {name}{' ON audit_event' if conn.dialect.name == 'postgresql' else ''}"))
        conn.execute(text("UPDATE audit_event SET comment = comment || ' ' WHERE subject_id = 'a1'"))
        conn.execute(text("UPDATE audit_event SET effective_at = NULL WHERE subject_id = 'i0'"))
    result = audit.verify_chain(engine)
    assert not result.ok
    assert {(p.subject, p.kind) for p in result.problems} == {("scan:a1", "changed"), ("scan:i0", "changed")}
    assert result.altered_columns == ["comment", "effective_at"]


def test_progress_is_told_per_batch_not_per_event(engine, monkeypatch):
    """The background job records progress from this callback: once per batch of the scan, never per event."""
    monkeypatch.setattr(audit, "_BATCH", 10)
    _insert(engine, 95)
    told: list[int] = []
    result = audit.verify_chain(engine, progress=told.append)
    assert result.ok and result.count == 95
    assert told == [10, 20, 30, 40, 50, 60, 70, 80, 90, 95]


def test_the_job_writes_progress_at_most_once_a_second(app, monkeypatch):
    """The run (what its process does: jobs.run_verification, here called in this process so the batch size
    can be shrunk and the writes counted) is told its progress per batch (here 10 batches) but commits it at
    most once per second (jobs.PROGRESS_EVERY), plus its end: progress never slows the scan it reports."""
    import time

    from sqlalchemy import event

    from app.audit import jobs

    monkeypatch.setattr(audit, "_BATCH", 10)
    engine = app.extensions["db_engine"]
    _insert(engine, 95)
    sessionmaker = app.extensions["db_sessionmaker"]
    with sessionmaker() as session:
        run = jobs.VerificationRun(total=95, problems=[])
        session.add(run)
        session.commit()
    writes: list[str] = []

    def count(_conn, _cursor, statement, *_args):
        if statement.lstrip().upper().startswith("UPDATE AUDIT_VERIFICATION"):
            writes.append(statement)

    event.listen(engine, "before_cursor_execute", count)
    began = time.monotonic()
    try:
        assert jobs.run_verification(sessionmaker, run.id, None)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    took = time.monotonic() - began
    with sessionmaker() as session:
        finished = session.get(jobs.VerificationRun, run.id)
    assert finished.ok and finished.checked == 95 and finished.finished_at is not None  # every event, once
    assert 2 <= len(writes) <= 2 + int(took), (len(writes), took)  # the first batch, the end, one a second at most


def _traced_verify(engine: Engine) -> int:
    """Peak bytes traced while the whole trail is verified (it must verify)."""
    tracemalloc.start()
    try:
        result = audit.verify_chain(engine)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.ok, result.first
    return peak


def _checkpoint(engine: Engine) -> None:
    with Session(engine) as session:
        assert audit.checkpoint(session) is not None
        session.commit()


def test_verify_memory_per_chain_stays_small(engine, monkeypatch):
    """A trail of 4N one-event chains, each named by a checkpoint (as after a bulk load), against one of N: the
    verify keeps per chain its head, the seq a checkpoint names and the hash found there, and no more. Traced
    (CPython 3.11, both databases): ~1,610 bytes a chain before that bookkeeping was compacted, ~720 after."""
    monkeypatch.setattr(audit, "_BATCH", 500)  # both trails span several batches: the rows held are alike
    n = 1_500
    _insert(engine, n, tag="m")
    _checkpoint(engine)
    audit.verify_chain(engine)  # warm SQLAlchemy's caches: they are not the verify's own memory
    small = _traced_verify(engine)
    _insert(engine, 3 * n, tag="x")
    _checkpoint(engine)
    large = _traced_verify(engine)
    per_chain = (large - small) / (3 * n)
    assert per_chain < 1_000, (small, large, per_chain)
