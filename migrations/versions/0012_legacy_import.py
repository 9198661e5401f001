"""legacy import: audit_event.effective_at, generated from the body like every other field

Revision ID: 0012_legacy_import
Revises: 0011_performance

Records imported from old files carry ``effective_at`` (the historical date) beside ``occurred_at`` (when the row
was recorded) in their hashed body. The column is generated from the body, so it cannot disagree with what was
hashed; it is NULL for every other event. SQLite can only add a VIRTUAL generated column (nothing stored per
row); PostgreSQL only STORED ones (it rewrites the table once, firing no row trigger).
"""

from __future__ import annotations

from alembic import op

revision = "0012_legacy_import"
down_revision = "0011_performance"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE audit_event ADD COLUMN effective_at timestamp with time zone "
                   "GENERATED ALWAYS AS (audit_utc(body::jsonb ->> 'effective_at')) STORED")
    else:
        op.execute("ALTER TABLE audit_event ADD COLUMN effective_at DATETIME GENERATED ALWAYS AS "
                   "(replace(replace(json_extract(body, '$.effective_at'), 'T', ' '), 'Z', '')) VIRTUAL")


def downgrade() -> None:
    # SQLite drops a VIRTUAL column in place (no table rebuild, so the append-only triggers stay)
    op.execute("ALTER TABLE audit_event DROP COLUMN effective_at")
