"""reports at national scale: per-proposal stays (stage-entry facts) kept with the audit trail

Revision ID: 0014_reports_perf
Revises: 0013_legacy_import
Create Date: 2026-12-07 03:00:00

The funnel and the median stage durations read every state change of the trail; at a million events that
cost seconds. ``proposal_stay`` holds one narrow row per stay in a state: entered (the event that entered it),
left (the next state change) and its length in days. An AFTER INSERT trigger on ``audit_event`` writes it, so
it is filled in the very transaction (and statement) that appends the event, by every writer of the trail
(operations, workflow migrations, bulk loads) and can never disagree with it. Existing trails are backfilled.

- (state, days, proposal_id): the median per state walks the index in order, never the table;
- (proposal_id, state, entered_at): the funnel reads each scoped proposal's stays from the index alone;
- one open stay per proposal (partial unique index), which the trigger closes on the next state change.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_reports_perf"
down_revision = "0013_legacy_import"
branch_labels = None
depends_on = None

# A state change of a proposal: what starts a stay (the same test in the backfill and the trigger).
_CHANGE = ("{e}.subject_type = 'proposal' AND {e}.to_state IS NOT NULL "
           "AND {e}.outcome IN ('created', 'applied', 'migrated') "
           "AND ({e}.from_state IS NULL OR {e}.from_state <> {e}.to_state)")
# When an event happened: an imported record's historical date (0013_legacy_import), else when it was recorded.
_WHEN = "coalesce({e}.effective_at, {e}.occurred_at)"
_DAYS = {"sqlite": "julianday({end}) - julianday({start})",
         "postgresql": "EXTRACT(EPOCH FROM {end} - {start}) / 86400.0"}

SQLITE_TRIGGER = (
    "CREATE TRIGGER proposal_stay_on_event AFTER INSERT ON audit_event WHEN " + _CHANGE.format(e="new") + " BEGIN "
    "UPDATE proposal_stay SET left_at = " + _WHEN.format(e="new") + ", "
    "days = julianday(" + _WHEN.format(e="new") + ") - julianday(entered_at) "
    "WHERE proposal_id = CAST(new.subject_id AS INTEGER) AND left_at IS NULL; "
    "INSERT INTO proposal_stay (proposal_id, state, entered_at, event_id) "
    "VALUES (CAST(new.subject_id AS INTEGER), new.to_state, " + _WHEN.format(e="new") + ", new.id); END"
)
PG_FUNCTION = """
CREATE FUNCTION proposal_stay_on_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE proposal_stay SET left_at = {when},
           days = EXTRACT(EPOCH FROM {when} - entered_at) / 86400.0
     WHERE proposal_id = CAST(NEW.subject_id AS INTEGER) AND left_at IS NULL;
    INSERT INTO proposal_stay (proposal_id, state, entered_at, event_id)
    VALUES (CAST(NEW.subject_id AS INTEGER), NEW.to_state, {when}, NEW.id);
    RETURN NULL;
END $$
""".format(when=_WHEN.format(e="NEW"))
PG_TRIGGER = ("CREATE TRIGGER proposal_stay_on_event AFTER INSERT ON audit_event FOR EACH ROW WHEN ("
              + _CHANGE.format(e="NEW") + ") EXECUTE FUNCTION proposal_stay_on_event()")


def _backfill(dialect: str) -> str:
    days = _DAYS[dialect].format(end="m.left_at", start="m.entered_at")
    when = _WHEN.format(e="e")
    return (
        "INSERT INTO proposal_stay (proposal_id, state, entered_at, left_at, days, event_id) "
        f"SELECT CAST(m.subject_id AS INTEGER), m.to_state, m.entered_at, m.left_at, {days}, m.id FROM ("
        f"SELECT e.id, e.subject_id, e.to_state, {when} AS entered_at, "
        f"lead({when}) OVER (PARTITION BY e.subject_id ORDER BY e.seq) AS left_at "
        f"FROM audit_event e WHERE {_CHANGE.format(e='e')}) m"
    )


def upgrade() -> None:
    op.create_table(
        "proposal_stay",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True),
        sa.Column("proposal_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.String(length=64), nullable=False),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("days", sa.Float(), nullable=True),
        sa.Column("event_id", sa.BigInteger(), nullable=False),
    )
    dialect = op.get_bind().dialect.name
    op.execute(_backfill(dialect))
    op.create_index("ix_proposal_stay_state_days", "proposal_stay", ["state", "days", "proposal_id"])
    op.create_index("ix_proposal_stay_proposal", "proposal_stay", ["proposal_id", "state", "entered_at"])
    op.create_index("ix_proposal_stay_open", "proposal_stay", ["proposal_id"], unique=True,
                    sqlite_where=sa.text("left_at IS NULL"), postgresql_where=sa.text("left_at IS NULL"))
    if dialect == "postgresql":
        op.execute(PG_FUNCTION)
        op.execute(PG_TRIGGER)
    else:
        op.execute(SQLITE_TRIGGER)


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS proposal_stay_on_event" +
               (" ON audit_event" if op.get_bind().dialect.name == "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS proposal_stay_on_event()")
    op.drop_table("proposal_stay")
