"""fire writes: fewer index entries and report rows per transition

Revision ID: 0021_fire_writes
Revises: 0020_stay_median
Create Date: 2026-12-07 17:00:00

What a transition (UPDATE proposal, INSERT audit_event) made the database write, and what goes
(benchmarks/bench_write_cost.py, results-issue17.md "firedb"):

- A new stay (``proposal_stay`` INSERT, from the trail's trigger of 0014) refreshed its proposal in full
  (0016): the fact and its cells, and every ``report_stay_days`` row of the proposal deleted and inserted again
  (4 b-trees each, ~10 stays a proposal at 100k). A stay changes none of the proposal's dimensions, so its
  other stays' rows are already right (any write of a dimension refreshes them all, and ``check-cube`` holds
  them equal): the fact and cells are refreshed (the stay may reach a new funnel stage) and the new stay's row
  alone is inserted.
- ``proposal`` indexes whose columns lead a wider index: (wf_state) and (wf_state, wf_entered_at, wf_workflow,
  wf_workflow_version) lead ix_proposal_state_work (wf_state, wf_entered_at, id, workflow, version, scope…),
  which answers their queries (the overdue counts and lists, reminders, state filters) with the same seek and
  ``id`` in order besides; (province_code), (district_code), (commune_code) lead the list indexes of 0018 (the
  commune one also serves the foreign key to ``unit``). The first two change on every transition (SQLite
  writes them); on PostgreSQL a state change is never HOT, so it adds an entry to every index of the table.
- ``audit_event (subject_type, to_state, subject_id, seq)`` (0007) served the funnel and stage durations read
  from the trail; they read ``proposal_stay`` since 0014 and the cube since 0016, and no query of app/ or
  workflow/ filters events by ``to_state``: one b-tree less per event.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

from alembic import op

revision = "0021_fire_writes"
down_revision = "0020_stay_median"
branch_labels = None
depends_on = None

# (table, name, columns) of the indexes that go; the downgrade puts them back.
DROPPED = (
    ("proposal", "ix_proposal_wf_state", ["wf_state"]),
    ("proposal", "ix_proposal_overdue", ["wf_state", "wf_entered_at", "wf_workflow", "wf_workflow_version"]),
    ("proposal", "ix_proposal_province_code", ["province_code"]),
    ("proposal", "ix_proposal_district_code", ["district_code"]),
    ("proposal", "ix_proposal_commune_code", ["commune_code"]),
    ("audit_event", "ix_audit_event_transitions", ["subject_type", "to_state", "subject_id", "seq"]),
)


def _cube() -> ModuleType:
    """0016_report_cube, whose refresh statements these triggers reuse (one home for them)."""
    path = Path(__file__).with_name("0016_report_cube.py")
    spec = importlib.util.spec_from_file_location("report_cube_0016", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _on_new_stay(pid: str, stay: str) -> list[str]:
    """The fact and its cells refreshed (the first four statements of 0016's refresh), the new stay's row added."""
    cube = _cube()
    return [*cube._refresh(pid)[:4], cube._STAYS_FROM_BASE.format(where=f"s.id = {stay}")]


def _sqlite_stay_insert(body: list[str]) -> list[str]:
    return ["DROP TRIGGER report_on_stay_insert",
            f"CREATE TRIGGER report_on_stay_insert AFTER INSERT ON proposal_stay BEGIN {'; '.join(body)}; END"]


def _pg_on_stay(on_insert: list[str]) -> str:
    cube = _cube()
    inserted = ";\n        ".join(on_insert)
    return ("CREATE OR REPLACE FUNCTION report_on_stay() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
            f"    IF TG_OP = 'INSERT' THEN\n        {inserted};\n"
            f"    ELSE {cube._STAY_CLOSED.format(row='NEW')}; END IF;\n    RETURN NULL;\nEND $$")


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute(_pg_on_stay(_on_new_stay("NEW.proposal_id", "NEW.id")))
    else:
        for statement in _sqlite_stay_insert(_on_new_stay("new.proposal_id", "new.id")):
            op.execute(statement)
    for table, name, _columns in DROPPED:
        op.drop_index(name, table_name=table)


def downgrade() -> None:
    for table, name, columns in DROPPED:
        op.create_index(name, table, columns)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_pg_on_stay(["PERFORM report_refresh(NEW.proposal_id)"]))
    else:
        for statement in _sqlite_stay_insert(_cube()._refresh("new.proposal_id")):
            op.execute(statement)
