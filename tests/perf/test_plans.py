""""My work" reads the rows in the user's states, never the whole table: on SQLite (whose planner has no histogram
of the states, and once walked an entry-time index through every row) every statement of the page finds its
proposals through an index, whatever the size of the table."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import event

from app.models import Proposal


def _plans(world: Any, db: Any, role: str) -> list[tuple[str, list[str]]]:
    """(statement, its plan lines) of every SELECT over ``proposal`` that GET /my-work runs as ``role``."""
    engine = world.app.extensions["db_engine"]
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: Any) -> None:
        if statement.lstrip().startswith("SELECT") and f"FROM {Proposal.__tablename__}" in statement:
            seen.append((statement, parameters))

    client = world.client(role)
    event.listen(engine, "before_cursor_execute", keep)
    try:
        assert client.get("/my-work").status_code == 200
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    with engine.connect() as conn:
        return [(statement, [row[-1] for row in conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)])
                for statement, params in seen]


@pytest.mark.parametrize("role", ["centre", "district_own"])
def test_my_work_never_scans_the_proposal_table(world, db, role):
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's (PostgreSQL plans by its statistics)")
    plans = _plans(world, db, role)
    assert any("ix_proposal_state_work" in line for _statement, lines in plans for line in lines), plans
    scans = [(statement, lines) for statement, lines in plans
             if any(line.startswith("SCAN proposal") or line == "SCAN proposal" for line in lines)]
    assert not scans, "\n\n".join(f"{s}\n{lines}" for s, lines in scans)


def test_overdue_reads_the_state_index(world, db):
    """The overdue counts and oldest items seek ix_proposal_state_work per (state, entered before) part: the
    narrower (wf_state) and (wf_state, wf_entered_at, workflow, version) indexes went in 0021_fire_writes."""
    if db.get_bind().dialect.name != "sqlite":
        pytest.skip("the plans checked are SQLite's (PostgreSQL plans by its statistics)")
    import datetime as dt

    from sqlalchemy import true

    from app.reports import queries

    engine = db.get_bind()
    seen: list[tuple[str, Any]] = []

    def keep(_conn: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: Any) -> None:
        if statement.lstrip().startswith("SELECT") and f"FROM {Proposal.__tablename__}" in statement:
            seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", keep)
    try:
        queries.overdue(db, true(), on=dt.date.today() + dt.timedelta(days=400))
    finally:
        event.remove(engine, "before_cursor_execute", keep)
    assert seen
    for statement, params in seen:  # on the session's own connection: it holds the write lock
        lines = [row[-1] for row in db.connection().exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", params)]
        assert any("ix_proposal_state_work" in line for line in lines), (statement, lines)
        assert not any(line.startswith("SCAN proposal") for line in lines), (statement, lines)
