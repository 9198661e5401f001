"""stay median: finished stays counted per (stage, whole day, dimensions), kept by triggers on report_stay_days

Revision ID: 0020_stay_median
Revises: 0019_repin
Create Date: 2026-12-07 16:40:00

The dashboard's median stage durations sorted every finished stay in scope (~780,000 at 100,000 proposals):
``percentile_cont`` on PostgreSQL, an index walk to the middle row on SQLite. ``report_stay_bucket`` holds, per
stage left (``stay_state``), whole day (``bucket`` = floor(days)) and the proposal's dimensions (those of
report_cube, so scope and filters stay WHERE clauses), the number of finished stays. The reader sums it per
(stage, day), finds the day(s) holding the middle row(s) and reads only those from ``report_stay_days``'s
(stay_state, days, …) index: exact, as percentile_cont (app.reports.cube.median_durations).

Triggers on ``report_stay_days`` keep it, so every writer of that table (0016's triggers) moves the counts in
the same statement: row triggers on SQLite; on PostgreSQL statement triggers over the transition tables (one
grouped statement per write of report_stay_days, not one per stay). Buckets that fall to zero stay (n = 0).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0020_stay_median"
down_revision = "0019_repin"
branch_labels = None
depends_on = None

DIMENSIONS = ("province_code", "district_code", "commune_code", "state", "category", "fund", "year")
KEY = ("stay_state", "bucket", *DIMENSIONS)
_KEY_LIST = ", ".join(KEY)


def _bucket(days: str, dialect: str) -> str:
    """floor(days) as an integer (SQLite's floor() is an optional build feature; CAST truncates toward 0)."""
    if dialect == "postgresql":
        return f"CAST(floor({days}) AS INTEGER)"
    return f"(CAST({days} AS INTEGER) - ({days} < CAST({days} AS INTEGER)))"


def _grouped(source: str, dialect: str) -> str:
    """(KEY, n) of the finished stays in ``source`` (a table of report_stay_days rows)."""
    dims = ", ".join(DIMENSIONS)
    bucket = _bucket("days", dialect)
    return (f"SELECT stay_state, {bucket} AS bucket, {dims}, count(*) AS n FROM {source} "
            f"WHERE days IS NOT NULL GROUP BY stay_state, {bucket}, {dims}")


def _added(source: str, dialect: str) -> str:
    return (f"INSERT INTO report_stay_bucket ({_KEY_LIST}, n) {_grouped(source, dialect)} "
            f"ON CONFLICT ({_KEY_LIST}) DO UPDATE SET n = report_stay_bucket.n + excluded.n")


def _sqlite_row(row: str, sign: str) -> str:
    """The statement that counts report_stay_days row ``row`` (new/old) in (+) or out (-) of its bucket."""
    values = [f"{row}.stay_state", _bucket(f"{row}.days", "sqlite"), *(f"{row}.{d}" for d in DIMENSIONS)]
    if sign == "+":
        return (f"INSERT INTO report_stay_bucket ({_KEY_LIST}, n) SELECT {', '.join(values)}, 1 "
                f"WHERE {row}.days IS NOT NULL "
                f"ON CONFLICT ({_KEY_LIST}) DO UPDATE SET n = report_stay_bucket.n + 1")
    same = " AND ".join(f"{k} = {v}" for k, v in zip(KEY, values, strict=True))
    return f"UPDATE report_stay_bucket SET n = n - 1 WHERE {row}.days IS NOT NULL AND {same}"


def sqlite_triggers() -> list[str]:
    return [
        f"CREATE TRIGGER report_stay_bucket_on_insert AFTER INSERT ON report_stay_days BEGIN "
        f"{_sqlite_row('new', '+')}; END",
        f"CREATE TRIGGER report_stay_bucket_on_delete AFTER DELETE ON report_stay_days BEGIN "
        f"{_sqlite_row('old', '-')}; END",
        f"CREATE TRIGGER report_stay_bucket_on_update AFTER UPDATE OF {_KEY_LIST.replace('bucket', 'days')} "
        f"ON report_stay_days BEGIN {_sqlite_row('old', '-')}; {_sqlite_row('new', '+')}; END",
    ]


def postgresql_statements() -> list[str]:
    dims = " AND ".join(f"report_stay_bucket.{k} = g.{k}" for k in KEY)
    out = (f"UPDATE report_stay_bucket SET n = report_stay_bucket.n - g.n FROM ({_grouped('gone', 'postgresql')}) g "
           f"WHERE {dims}")
    function = "CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n    {body};\n    " \
               "RETURN NULL;\nEND $$"
    # Transition tables are named per trigger; an UPDATE takes its old rows out and puts its new rows in.
    return [
        function.format(name="report_stay_bucket_in", body=_added("added", "postgresql")),
        function.format(name="report_stay_bucket_out", body=out),
        "CREATE TRIGGER report_stay_bucket_on_insert AFTER INSERT ON report_stay_days REFERENCING NEW TABLE AS "
        "added FOR EACH STATEMENT EXECUTE FUNCTION report_stay_bucket_in()",
        "CREATE TRIGGER report_stay_bucket_on_delete AFTER DELETE ON report_stay_days REFERENCING OLD TABLE AS "
        "gone FOR EACH STATEMENT EXECUTE FUNCTION report_stay_bucket_out()",
        "CREATE TRIGGER report_stay_bucket_on_update_in AFTER UPDATE ON report_stay_days REFERENCING NEW TABLE "
        "AS added FOR EACH STATEMENT EXECUTE FUNCTION report_stay_bucket_in()",
        "CREATE TRIGGER report_stay_bucket_on_update_out AFTER UPDATE ON report_stay_days REFERENCING OLD TABLE "
        "AS gone FOR EACH STATEMENT EXECUTE FUNCTION report_stay_bucket_out()",
    ]


TRIGGERS = ("report_stay_bucket_on_insert", "report_stay_bucket_on_delete", "report_stay_bucket_on_update",
            "report_stay_bucket_on_update_in", "report_stay_bucket_on_update_out")


def upgrade() -> None:
    dialect = op.get_bind().dialect.name
    op.create_table("report_stay_bucket",
                    sa.Column("stay_state", sa.String(64), nullable=False),
                    sa.Column("bucket", sa.Integer(), nullable=False),
                    sa.Column("province_code", sa.String(16), nullable=False),
                    sa.Column("district_code", sa.String(16), nullable=False),
                    sa.Column("commune_code", sa.String(16), nullable=False),
                    sa.Column("state", sa.String(64), nullable=False),
                    sa.Column("category", sa.String(32), nullable=False),
                    sa.Column("fund", sa.String(16), nullable=False),
                    sa.Column("year", sa.Integer(), nullable=False),
                    sa.Column("n", sa.Integer(), nullable=False),
                    sa.PrimaryKeyConstraint(*KEY, name="pk_report_stay_bucket"))
    op.execute(f"INSERT INTO report_stay_bucket ({_KEY_LIST}, n) {_grouped('report_stay_days', dialect)}")
    for statement in postgresql_statements() if dialect == "postgresql" else sqlite_triggers():
        op.execute(statement)


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    for name in TRIGGERS:
        op.execute(f"DROP TRIGGER IF EXISTS {name}" + (" ON report_stay_days" if postgresql else ""))
    if postgresql:
        op.execute("DROP FUNCTION IF EXISTS report_stay_bucket_in()")
        op.execute("DROP FUNCTION IF EXISTS report_stay_bucket_out()")
    op.drop_table("report_stay_bucket")
