"""security and trail: audit bodies must be canonical JSON on insert; a random salt kept with each score sheet

Revision ID: 0010_security_trail
Revises: 0009_security_sessions

The database verifier hashes the stored body, the offline one re-serializes the parsed event: a body with a key
given twice (or out of order, or with spaces) made them disagree. Such a body is now rejected on insert. On
PostgreSQL the body must be exactly its canonical form (sorted keys, compact, strings escaped as Python's
``json.dumps(..., ensure_ascii=False)`` does) and ``hash`` its SHA-256; SQLite (no SHA-256, no recursive
functions) checks that it is a compact object whose keys are strictly increasing at every depth.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_security_trail"
down_revision = "0009_security_sessions"
branch_labels = None
depends_on = None

PG_CANONICAL = r"""
CREATE FUNCTION audit_canonical_json(j json) RETURNS text LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    result text;
    token text;
BEGIN
    CASE json_typeof(j)
    WHEN 'object' THEN
        IF EXISTS (SELECT 1 FROM (SELECT key COLLATE "C" AS key, lag(key COLLATE "C") OVER (ORDER BY n) AS before
                                  FROM json_each(j) WITH ORDINALITY AS e(key, value, n)) s WHERE before >= key) THEN
            RETURN NULL;  -- keys out of order, or a key given twice
        END IF;
        SELECT '{' || coalesce(string_agg(to_json(key)::text || ':' || audit_canonical_json(value), ','
                                          ORDER BY n), '') || '}'
          INTO result FROM json_each(j) WITH ORDINALITY AS e(key, value, n);
        RETURN result;
    WHEN 'array' THEN
        SELECT '[' || coalesce(string_agg(audit_canonical_json(value), ',' ORDER BY n), '') || ']'
          INTO result FROM json_array_elements(j) WITH ORDINALITY AS e(value, n);
        RETURN result;
    WHEN 'string' THEN
        RETURN to_json(j #>> '{}')::text;
    WHEN 'number' THEN
        token := j::text;
        IF token ~ '^-?(0|[1-9][0-9]*)$' OR token = token::float8::text OR token = token::float8::text || '.0' THEN
            RETURN token;
        END IF;
        RETURN NULL;
    ELSE
        RETURN j::text;  -- true, false, null
    END CASE;
END $$
"""
PG_CHECK = r"""
CREATE FUNCTION audit_event_canonical() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF json_typeof(NEW.body::json) IS DISTINCT FROM 'object'
       OR audit_canonical_json(NEW.body::json) IS DISTINCT FROM NEW.body
       OR NEW.hash IS DISTINCT FROM encode(pg_catalog.sha256(convert_to(NEW.body, 'UTF8')), 'hex') THEN
        RAISE EXCEPTION 'audit_event: the body is not canonical JSON, or the hash is not its SHA-256'
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END $$
"""
PG_TRIGGER = ("CREATE TRIGGER audit_event_canonical BEFORE INSERT ON audit_event "
              "FOR EACH ROW EXECUTE FUNCTION audit_event_canonical()")
SQLITE_TRIGGER = """
CREATE TRIGGER audit_event_canonical BEFORE INSERT ON audit_event
WHEN NOT json_valid(NEW.body) OR json_type(NEW.body) IS NOT 'object' OR json(NEW.body) IS NOT NEW.body
  OR EXISTS (SELECT 1 FROM (SELECT key, lag(key) OVER (PARTITION BY parent ORDER BY id) AS before
                            FROM json_tree(NEW.body) WHERE typeof(key) = 'text') WHERE before >= key)
BEGIN SELECT RAISE(ABORT, 'audit_event: the body is not canonical JSON'); END
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for statement in (PG_CANONICAL, PG_CHECK, PG_TRIGGER):
            op.execute(statement)
    else:
        op.execute(SQLITE_TRIGGER)
    with op.batch_alter_table("score_sheet") as batch:
        batch.add_column(sa.Column("salt", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("score_sheet") as batch:
        batch.drop_column("salt")
    op.execute("DROP TRIGGER audit_event_canonical" + (" ON audit_event" if op.get_bind().dialect.name ==
                                                        "postgresql" else ""))
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION audit_event_canonical()")
        op.execute("DROP FUNCTION audit_canonical_json(json)")
