"""audit row check: PostgreSQL proves each audit row's hash and columns as it is written

Revision ID: 0022_audit_row_check
Revises: 0021_fire_writes
Create Date: 2026-12-07 20:10:00

``audit verify`` compared, for every row of the trail, the hash with the body's SHA-256 and the columns with the
body, in SQL: PostgreSQL's share of a verify (about 15 µs a row at 1,000,000 events, results-issue17.md). The
same two comparisons now run once, as each row is inserted, in a CHECK constraint (``workflow.audit.ROW_CHECK``;
about the cost of the canonical-body trigger's own hash check, which it repeats). Unlike a trigger a CHECK
cannot be switched off: it can be dropped, and put back validated only when every row passes it. Verify checks
that the constraint is validated and genuine (its definition, its function's text and settings) and then only
links the chains; otherwise it checks every row itself, as before. SQLite is unchanged (its verify compares each
row in-process, and has no SHA-256 in SQL).

Validating scans every row once (PostgreSQL, 1,000,000 events: see results-issue17.md).
"""

from __future__ import annotations

from alembic import op

from workflow.audit import ROW_CHECK, ROW_CHECK_FUNCTION, row_check_statements

revision = "0022_audit_row_check"
down_revision = "0021_fire_writes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in row_check_statements():
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(f"ALTER TABLE audit_event DROP CONSTRAINT {ROW_CHECK}")
        op.execute(f"DROP FUNCTION {ROW_CHECK_FUNCTION}")
