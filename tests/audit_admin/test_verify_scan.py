"""The verify scan's column check: on both databases one text comparison of the body with the columns' canonical
rendering (no JSON parse per row), falling back to the field-by-field (SQLite) or jsonb (PostgreSQL) comparison;
progress told per batch."""

from __future__ import annotations

import datetime as dt
import json
import tracemalloc
from collections.abc import Iterator

import pytest
from conftest import lift_trail_guards
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


def test_engine_written_rows_take_the_fast_path_on_postgresql(postgres_url):
    """PostgreSQL's to_json and json_strip_nulls escape as json.dumps(ensure_ascii=False) does (control characters,
    quotes, backslashes; Vietnamese, emoji, U+2028 left as they are), so rows the engine wrote compare as text,
    NULL columns, nested JSON and imported records included."""
    engine = create_db_engine(postgres_url)
    _insert(engine, 2, tag="a", comment=AWKWARD, actor_unit=AWKWARD[:16], request_id=AWKWARD,
            inputs={"deep": {"list": [AWKWARD, 1, -0.25, True, {"x": "😀"}]}, "note": AWKWARD},
            diff={"title": ["cũ", AWKWARD]}, reasons=[{"code": "x", "text": AWKWARD}], workflow_version=3)
    _insert(engine, 2, tag="i", comment="Hồ sơ giấy 2019", effective_at=dt.datetime(2019, 5, 2, 9, 0, tzinfo=dt.UTC))
    _insert(engine, 2, tag="n")  # nulls and empty containers
    with engine.connect() as conn:
        rows = conn.execute(text(f"SELECT subject_id, {audit._PG_COLUMNS_RENDERED} FROM audit_event")).all()
    engine.dispose()
    assert len(rows) == 6 and all(agree for _id, agree in rows), rows


# JSON field values PostgreSQL renders unlike json.dumps: these rows take the jsonb comparison instead.
SLOW_PATH_VALUES = {
    "null_member": {"a": 1, "b": None},  # json_strip_nulls would drop it
    "key_order": {"sheet_hmac": "x", "version": 1},  # jsonb orders keys by length first
    "float": {"ratio": 1e-07, "half": 0.5},  # jsonb prints 0.0000001
}


@pytest.mark.parametrize("shape", sorted(SLOW_PATH_VALUES))
def test_values_rendered_otherwise_verify_and_a_changed_column_is_caught(engine, shape):
    value = SLOW_PATH_VALUES[shape]
    _insert(engine, 2, tag="s", inputs=value, diff={"v": [value]})
    if engine.dialect.name == "postgresql":
        with engine.connect() as conn:
            agree = conn.execute(text(f"SELECT bool_or({audit._PG_COLUMNS_RENDERED}) FROM audit_event")).scalar()
        assert agree is False  # the fallback is what this test exercises
    assert audit.verify_chain(engine).ok
    _drop_triggers(engine)
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET comment = 'x' WHERE subject_id = 's1'"))
    result = audit.verify_chain(engine)
    assert [(p.subject, p.kind) for p in result.problems] == [("scan:s1", "changed")]
    assert result.altered_columns == ["comment"]


def _drop_triggers(engine: Engine) -> None:
    with engine.begin() as conn:
        lift_trail_guards(conn)


# Column edits that a rendering mistake could hide: each must be caught.
ORIGINAL = 'say "hi"\ttab\\there line\u2028break'
JSON_EDITS = {
    "a null member added": ("inputs", {"note": "x", "extra": None}),
    "a member removed": ("inputs", {}),
    "the object as a string": ("inputs", '{"note":"x"}'),
    "a nested value changed": ("diff", {"title": ["cũ", "mới "]}),
    "an escape spelled out": ("reasons", [{"code": "x", "text": "a\\tb"}]),
}
TEXT_EDITS = {
    "the escaped text stored": ("comment", json.dumps(ORIGINAL, ensure_ascii=False)[1:-1]),
    "U+2028 as a newline": ("comment", ORIGINAL.replace("\u2028", "\n")),
    "a NULL": ("actor_role", None),
    "an empty string for a NULL": ("request_id", ""),
    "a number's text changed": ("actor_id", "07"),
}


@pytest.mark.parametrize("edit", sorted(JSON_EDITS) + sorted(TEXT_EDITS))
def test_an_edited_column_is_caught(engine, edit):
    _insert(engine, 2, tag="e", comment=ORIGINAL, inputs={"note": "x"}, diff={"title": ["cũ", "mới"]},
            reasons=[{"code": "x", "text": "a\tb"}])
    assert audit.verify_chain(engine).ok
    _drop_triggers(engine)
    column, value = JSON_EDITS[edit] if edit in JSON_EDITS else TEXT_EDITS[edit]
    placeholder = ":v"
    if edit in JSON_EDITS:  # as each database stores a JSON field: canonical text (SQLite), jsonb
        value = audit.canonical(value)
        placeholder = "CAST(:v AS jsonb)" if engine.dialect.name == "postgresql" else placeholder
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE audit_event SET {column} = {placeholder} WHERE subject_id = 'e1'"), {"v": value})
    result = audit.verify_chain(engine)
    assert [(p.subject, p.kind) for p in result.problems] == [("scan:e1", "changed")]
    assert result.altered_columns == [column]


def test_awkward_values_verify_and_a_changed_column_is_caught(engine):
    _awkward_trail(engine)
    assert audit.verify_chain(engine).ok
    with engine.begin() as conn:  # a column changed behind its body (the guards lifted, as an attacker would)
        lift_trail_guards(conn)
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


def _traced_verify(engine: Engine) -> tuple[audit.VerifyResult, int]:
    """The whole trail verified (it must verify), and the peak bytes traced meanwhile."""
    tracemalloc.start()
    try:
        result = audit.verify_chain(engine)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result.ok, result.first
    return result, peak


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
    _, small = _traced_verify(engine)
    _insert(engine, 3 * n, tag="x")
    _checkpoint(engine)
    _, large = _traced_verify(engine)
    per_chain = (large - small) / (3 * n)
    assert per_chain < 1_000, (small, large, per_chain)


def test_workers_keep_every_head_the_checkpoints_name(engine):
    """Checkpoints naming several heads of one chain, the chain split between two workers' stretches: each
    stretch's hashes of those heads are kept (the later stretch's must not replace the earlier's)."""
    for _round in range(2):
        with Session(engine) as session:
            for _ in range(3):
                audit.append(session, subject_type="scan", subject_id="c", action="edit", outcome="applied")
            session.commit()
        _checkpoint(engine)
    result = audit.verify_chain(engine, workers=2, min_stretch=1)
    assert result.ok, result.problems
    assert result.count == 8 and result.checkpoints == 2
