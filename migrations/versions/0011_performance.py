"""performance at national scale: indexes for every list filter and sort, and indexed proposal search

Proposal list: (province_code, year, code) and (district_code, year, code) are its sort within the centre's and a
district officer's scope (deep pages skip index entries only),
created_at the API's sort, (wf_entered_at, id) the order of "my work" (by state too: a district's few). Audit log: (action, id),
(actor_id, id) and (outcome, id) serve each filter newest first. Search: PostgreSQL gets a trigram index on the
folded ``search_text`` (so ``LIKE '%word%'`` uses it); SQLite an FTS5 trigram table kept by triggers.
``audit_verification``: whole-trail verification runs started from the web (app/audit/jobs.py).

Revision ID: 0011_performance
Revises: 0010_security_trail
Create Date: 2026-12-01 22:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0011_performance'
down_revision = "0010_security_trail"
branch_labels = None
depends_on = None

INDEXES = (
    ("ix_proposal_province_year_code", "proposal", ["province_code", "year", "code"]),
    ("ix_proposal_district_year_code", "proposal", ["district_code", "year", "code"]),
    ("ix_proposal_created_at", "proposal", ["created_at", "id"]),
    ("ix_proposal_entered_at", "proposal", ["wf_entered_at", "id"]),
    ("ix_proposal_state_entered_at", "proposal", ["wf_state", "wf_entered_at", "id"]),
    ("ix_audit_event_action_id", "audit_event", ["action", "id"]),
    ("ix_audit_event_actor_id_id", "audit_event", ["actor_id", "id"]),
    ("ix_audit_event_outcome_id", "audit_event", ["outcome", "id"]),
)

SQLITE_SEARCH = (
    "CREATE VIRTUAL TABLE proposal_search USING fts5(search_text, content='proposal', content_rowid='id', "
    "tokenize='trigram')",
    "INSERT INTO proposal_search(proposal_search) VALUES ('rebuild')",
    "CREATE TRIGGER proposal_search_insert AFTER INSERT ON proposal BEGIN "
    "INSERT INTO proposal_search(rowid, search_text) VALUES (new.id, new.search_text); END",
    "CREATE TRIGGER proposal_search_delete AFTER DELETE ON proposal BEGIN "
    "INSERT INTO proposal_search(proposal_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); END",
    "CREATE TRIGGER proposal_search_update AFTER UPDATE OF search_text ON proposal BEGIN "
    "INSERT INTO proposal_search(proposal_search, rowid, search_text) VALUES ('delete', old.id, old.search_text); "
    "INSERT INTO proposal_search(rowid, search_text) VALUES (new.id, new.search_text); END",
)


def upgrade() -> None:
    op.create_table(
        "audit_verification",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("started_by_id", sa.Integer(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("checked", sa.Integer(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=True),
        sa.Column("head_digest", sa.String(length=64), nullable=True),
        sa.Column("problems", sa.JSON(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["started_by_id"], ["user_account.id"],
                                name=op.f("fk_audit_verification_started_by_id_user_account")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_verification")),
    )
    for name, table, columns in INDEXES:
        op.create_index(name, table, columns)
    op.drop_index("ix_audit_event_actor_id", table_name="audit_event")  # (actor_id, id) serves it and the order
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE INDEX ix_proposal_search_trgm ON proposal USING gin (search_text gin_trgm_ops)")
    else:
        for statement in SQLITE_SEARCH:
            op.execute(statement)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP INDEX ix_proposal_search_trgm")
    else:
        for trigger in ("insert", "delete", "update"):
            op.execute(f"DROP TRIGGER proposal_search_{trigger}")
        op.execute("DROP TABLE proposal_search")
    op.create_index("ix_audit_event_actor_id", "audit_event", ["actor_id"])
    for name, table, _columns in reversed(INDEXES):
        op.drop_index(name, table_name=table)
    op.drop_table("audit_verification")
