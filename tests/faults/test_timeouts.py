"""Held locks and killed connections: a bounded wait, then a 503 with Retry-After; nothing half-written."""

from __future__ import annotations

import sqlite3
import threading
import time

import pytest
from conftest import _make_app
from sqlalchemy import create_engine, select, text
from sqlalchemy.engine import make_url

from app.models import Proposal
from faults.conftest import ON_POSTGRES
from workflow.audit import verify_chain

pytestmark = pytest.mark.faults
FAST = {"DB_BUSY_TIMEOUT_MS": 300, "DB_LOCK_TIMEOUT_MS": 300, "DB_STATEMENT_TIMEOUT_MS": 3_000,
        "RETRY_AFTER_SECONDS": 7}


@pytest.fixture
def app(request, tmp_path):
    """The API tests' app with short database timeouts (SQLite, or PostgreSQL by param)."""
    database, _, patience = getattr(request, "param", "sqlite").partition(":")
    config = {**FAST, "DB_LOCK_TIMEOUT_MS": 10_000} if patience else FAST  # "postgres:patient": waits on locks
    application = _make_app(request.getfixturevalue(f"{database}_url"), tmp_path, **config)
    yield application
    application.extensions["db_engine"].dispose()


def _state(db, pid) -> tuple[str, int, str]:
    p = db.get(Proposal, pid, populate_existing=True)
    result = (p.wf_state, p.wf_version, p.title)
    db.rollback()
    return result


def test_sqlite_write_lock_held_reads_go_on_and_writes_get_503(app, client, world, db):
    pid, h = world.pa.id, world.headers("applicant_a")
    before = _state(db, pid)
    holder = sqlite3.connect(make_url(app.config["DATABASE_URL"]).database, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process holds the write lock
    try:
        assert client.get(f"/api/v1/proposals/{pid}", headers=h).status_code == 200  # GETs never wait for it
        started = time.monotonic()
        write = client.patch(f"/api/v1/proposals/{pid}", headers=h, json={"title": "Tên mới"})
        elapsed = time.monotonic() - started
        assert write.status_code == 503 and write.headers["Retry-After"] == "7" and write.is_json, write.data
        assert elapsed < 3, elapsed  # bounded by the busy timeout, far below the worker's
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert _state(db, pid) == before
    assert client.patch(f"/api/v1/proposals/{pid}", headers=h, json={"title": "Tên mới"}).status_code == 200


@ON_POSTGRES
def test_postgres_table_lock_held_gives_503_within_the_lock_timeout(app, client, world, db):
    pid, h = world.pa.id, world.headers("applicant_a")
    before = _state(db, pid)
    holder = create_engine(app.config["DATABASE_URL"])
    with holder.connect() as conn:
        conn.execute(text("LOCK TABLE proposal IN ACCESS EXCLUSIVE MODE"))
        started = time.monotonic()
        read = client.get(f"/api/v1/proposals/{pid}", headers=h)
        write = client.patch(f"/api/v1/proposals/{pid}", headers=h, json={"title": "Tên mới"})
        elapsed = time.monotonic() - started
        page = client.get("/proposals")  # the web: a friendly page, not a 500 (no session: a redirect to login)
        conn.rollback()
    holder.dispose()
    assert (read.status_code, write.status_code) == (503, 503) and write.headers["Retry-After"] == "7"
    assert write.get_json()["reasons"][0]["code"] == "unavailable"
    assert elapsed < 3, elapsed
    assert page.status_code in (302, 503)
    assert _state(db, pid) == before
    assert client.patch(f"/api/v1/proposals/{pid}", headers=h, json={"title": "Tên mới"}).status_code == 200


@pytest.mark.parametrize("app", [pytest.param("postgres:patient", marks=pytest.mark.postgres)], indirect=True)
def test_a_connection_killed_mid_request_is_a_clean_503_and_the_trail_verifies(app, client, world, db):
    """The request waits on a row lock; its backend is terminated (as a DBA or a failover would)."""
    pid, h = world.pa.id, world.headers("applicant_a")
    before = _state(db, pid)
    url = app.config["DATABASE_URL"]
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    holder = create_engine(url)
    outcome: dict[str, object] = {}

    def request_in_flight() -> None:
        r = client.post(f"/api/v1/proposals/{pid}/actions/submit", headers=h, json={})
        outcome.update(status=r.status_code, json=r.get_json(), retry=r.headers.get("Retry-After"))

    with holder.connect() as conn:
        conn.execute(text("SELECT 1 FROM proposal WHERE id = :id FOR UPDATE"), {"id": pid})
        worker = threading.Thread(target=request_in_flight)
        worker.start()
        with admin.connect() as a:
            deadline = time.monotonic() + 5
            victim = None
            while victim is None and time.monotonic() < deadline:
                victim = a.scalar(text("SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                                       "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"))
                time.sleep(0.02)
            assert victim is not None, "the request never waited on the lock"
            a.execute(text("SELECT pg_terminate_backend(:p)"), {"p": victim})
        worker.join(timeout=10)
        conn.rollback()
    admin.dispose()
    holder.dispose()
    assert outcome["status"] == 503 and outcome["retry"] == "7", outcome
    assert _state(db, pid) == before
    assert verify_chain(app.extensions["db_engine"]).ok
    assert db.scalar(select(Proposal.wf_state).where(Proposal.id == pid)) == "draft"
