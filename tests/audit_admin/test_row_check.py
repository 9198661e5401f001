"""PostgreSQL proves each audit row as it is written (0022, workflow.audit.ROW_CHECK): the hash is the body's
SHA-256 and every column says what the body says. Verify trusts that proof only while the constraint is
validated and genuine, and otherwise checks every row itself; every way of taking the proof away that an owner
of the table has is tried here, each with a row changed behind it that verify must still find."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from conftest import lift_trail_guards
from sqlalchemy import text
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from workflow import audit
from workflow.storage import create_db_engine

from .test_verify_scan import _awkward_trail, _insert


@pytest.fixture
def engine(postgres_url: str) -> Iterator[Engine]:
    engine = create_db_engine(postgres_url)
    _awkward_trail(engine)
    _insert(engine, 3, tag="s", inputs={"a": 1, "b": None})  # rows only the jsonb comparison accepts
    yield engine
    engine.dispose()


def test_the_database_proves_every_row_and_verify_only_links(engine):
    proven = audit.verify_chain(engine)
    rechecked = audit.verify_chain(engine, recheck_rows=True)
    assert proven.ok and proven.rows_proven
    assert rechecked.ok and not rechecked.rows_proven
    assert (proven.count, proven.head_digest) == (rechecked.count, rechecked.head_digest)
    assert proven.count == 10


def test_sqlite_has_no_such_proof(sqlite_url):
    engine = create_db_engine(sqlite_url)
    _insert(engine, 2, tag="q")
    result = audit.verify_chain(engine)
    engine.dispose()
    assert result.ok and not result.rows_proven


@pytest.mark.parametrize("change", [
    "UPDATE audit_event SET actor_id = 'intruder' WHERE subject_id = 'a1'",
    "UPDATE audit_event SET inputs = '{\"a\": 2, \"b\": null}' WHERE subject_id = 's1'",
    "UPDATE audit_event SET hash = repeat('0', 64) WHERE subject_id = 'n0'",
    "UPDATE audit_event SET body = replace(body, '\"edit\"', '\"submit\"') WHERE subject_id = 'i0'",
    "INSERT INTO audit_event (body, hash) SELECT body, repeat('1', 64) FROM audit_event WHERE subject_id = 'n1'",
])
def test_a_row_that_disagrees_is_refused_with_every_trigger_off(engine, change):
    """A trigger can be switched off by the table's owner; the constraint cannot, short of dropping it."""
    with engine.begin() as conn:
        conn.execute(text("ALTER TABLE audit_event DISABLE TRIGGER ALL"))
    with pytest.raises(IntegrityError, match=audit.ROW_CHECK), engine.begin() as conn:
        conn.execute(text(change))
    assert audit.verify_chain(engine).ok


TAMPER = "UPDATE audit_event SET actor_id = 'intruder' WHERE subject_id = 'a1'"
DROP = f"ALTER TABLE audit_event DROP CONSTRAINT {audit.ROW_CHECK}"


def _signature(conn: Connection) -> str:
    return conn.execute(text("SELECT oid::regprocedure::text FROM pg_proc WHERE proname = :n"),
                        {"n": audit.ROW_CHECK_FUNCTION}).scalar_one()


# What the table's owner can do to take the proof away, with the row changed where each lets it be changed.
UNDONE: dict[str, Callable[[Connection], list[str]]] = {
    "dropped": lambda conn: [DROP, TAMPER],
    "put back NOT VALID": lambda conn: [DROP, TAMPER, audit.row_check_statements()[1]],
    "put back weaker": lambda conn: [DROP, f"ALTER TABLE audit_event ADD CONSTRAINT {audit.ROW_CHECK} "
                                           "CHECK (hash IS NOT NULL)", TAMPER],
    "its function rewritten": lambda conn: [audit.row_check_statements()[0].replace("CREATE", "CREATE OR REPLACE")
                                            .replace(audit.ROW_CHECK_SOURCE, "SELECT true"), TAMPER],
}


@pytest.mark.parametrize("undo", sorted(UNDONE))
def test_verify_checks_every_row_once_the_proof_is_undone(engine, undo):
    with engine.begin() as conn:
        lift_trail_guards(conn)
        conn.execute(text(audit.row_check_statements()[1].replace(" NOT VALID", "")))  # as it was
        for statement in UNDONE[undo](conn):
            conn.execute(text(statement))
    result = audit.verify_chain(engine)
    assert not result.rows_proven
    assert [(p.subject, p.kind) for p in result.problems] == [("scan:a1", "changed")]
    assert result.altered_columns == ["actor_id"]


def test_a_function_that_could_run_another_schemas_sha256_is_not_trusted(engine):
    """Without its pinned search_path the function would call whatever sha256 or to_json a schema placed
    earlier in the caller's path offers."""
    with engine.begin() as conn:
        conn.execute(text(f"ALTER FUNCTION {_signature(conn)} RESET search_path"))
    result = audit.verify_chain(engine)
    assert result.ok and not result.rows_proven


def test_a_proof_undone_while_the_scan_runs_sends_verify_back_over_every_row(engine, monkeypatch):
    """The constraint is looked at before the scan and again after it: dropped in between (and a row changed),
    the scan's rows were not all proven, so verify runs again checking each."""
    holds = audit._row_check_holds
    looks = []

    def undone_after_the_first_look(conn):
        looks.append(conn)
        if len(looks) == 2:  # after the scan (whose connection is closed): the owner strikes
            with engine.begin() as other:
                other.execute(text("SET LOCAL lock_timeout = '10s'"))  # a wait here is a failure, not a hang
                lift_trail_guards(other)
                other.execute(text("UPDATE audit_event SET comment = 'x' WHERE subject_id = 'n1'"))
        return holds(conn)

    monkeypatch.setattr(audit, "_row_check_holds", undone_after_the_first_look)
    result = audit.verify_chain(engine)
    assert len(looks) == 2 and not result.rows_proven  # before the scan, after it (no longer): then rechecked
    assert [(p.subject, p.kind) for p in result.problems] == [("scan:n1", "changed")]
