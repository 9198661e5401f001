"""audit trail: append-only audit_event with per-subject hash chains; columns generated from the hashed body

Revision ID: 0002_audit
Revises: 0001_app_core
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from workflow.audit import JSON_TYPE, body_field  # the one definition of how columns derive from the body

revision = "0002_audit"
down_revision = "0001_app_core"
branch_labels = None
depends_on = None

# Generated columns need IMMUTABLE expressions; ISO 8601 UTC text converts the same whatever the settings.
PG_UTC = """
CREATE FUNCTION audit_utc(text) RETURNS timestamptz LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT ($1::timestamp) AT TIME ZONE 'UTC' $$
"""
PG_FUNCTION = """
CREATE FUNCTION audit_event_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only: % rejected', TG_OP USING ERRCODE = 'insufficient_privilege';
END $$
"""
PG_TRIGGERS = (
    "CREATE TRIGGER audit_event_no_update BEFORE UPDATE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    "CREATE TRIGGER audit_event_no_delete BEFORE DELETE ON audit_event "
    "FOR EACH ROW EXECUTE FUNCTION audit_event_append_only()",
    "CREATE TRIGGER audit_event_no_truncate BEFORE TRUNCATE ON audit_event "
    "FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only()",
)
SQLITE_TRIGGERS = tuple(
    f"CREATE TRIGGER audit_event_no_{op_name.lower()} BEFORE {op_name} ON audit_event "
    f"BEGIN SELECT RAISE(ABORT, 'audit_event is append-only: {op_name} rejected'); END"
    for op_name in ("UPDATE", "DELETE")
)


def _derived(name: str, type_: sa.types.TypeEngine, kind: str = "text") -> sa.Column:
    return sa.Column(name, type_, sa.Computed(body_field(name, kind), persisted=True), nullable=True)


def upgrade() -> None:
    postgres = op.get_bind().dialect.name == "postgresql"
    if postgres:
        op.execute(PG_UTC)
    op.create_table(
        "audit_event",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        _derived("subject_type", sa.String(length=64)),
        _derived("subject_id", sa.String(length=64)),
        _derived("seq", sa.Integer(), "int"),
        _derived("occurred_at", sa.DateTime(timezone=True), "time"),
        _derived("actor_id", sa.String(length=64)),
        _derived("actor_role", sa.String(length=64)),
        _derived("actor_unit", sa.String(length=16)),
        _derived("action", sa.String(length=64)),
        _derived("from_state", sa.String(length=64)),
        _derived("to_state", sa.String(length=64)),
        _derived("workflow", sa.String(length=64)),
        _derived("workflow_version", sa.Integer(), "int"),
        _derived("workflow_sha256", sa.String(length=64)),
        _derived("comment", sa.Text()),
        _derived("inputs", JSON_TYPE, "json"),
        _derived("diff", JSON_TYPE, "json"),
        _derived("outcome", sa.String(length=16)),
        _derived("reasons", JSON_TYPE, "json"),
        _derived("request_id", sa.String(length=64)),
        _derived("prev_hash", sa.String(length=64)),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_event")),
        sa.UniqueConstraint("subject_type", "subject_id", "seq", name=op.f("uq_audit_event_subject_type")),
        sa.UniqueConstraint("hash", name=op.f("uq_audit_event_hash")),
    )
    op.create_index("ix_audit_event_occurred_at", "audit_event", ["occurred_at"])
    op.create_index("ix_audit_event_actor_id", "audit_event", ["actor_id"])
    for statement in (PG_FUNCTION, *PG_TRIGGERS) if postgres else SQLITE_TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    # Dropping the table drops its triggers too; the trail is gone, which is what a downgrade asks for.
    op.drop_index("ix_audit_event_actor_id", table_name="audit_event")
    op.drop_index("ix_audit_event_occurred_at", table_name="audit_event")
    op.drop_table("audit_event")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_event_append_only()")
        op.execute("DROP FUNCTION audit_utc(text)")
