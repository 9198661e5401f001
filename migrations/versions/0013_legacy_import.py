"""legacy import: audit_event.effective_at, written by the engine from the body like every other field

Revision ID: 0013_legacy_import
Revises: 0012_perf_audit

Records imported from old files carry ``effective_at`` (the historical date) beside ``occurred_at`` (when the row
was recorded) in their hashed body, with ``imported: true``. As with every field since 0012, the engine writes the
column from the values it hashes and ``audit verify`` checks it against the body; it is NULL for every other event.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013_legacy_import"
down_revision = "0012_perf_audit"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("audit_event", sa.Column("effective_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    # a plain column with no index: SQLite drops it in place (no rebuild, so the append-only triggers stay)
    op.execute("ALTER TABLE audit_event DROP COLUMN effective_at")
