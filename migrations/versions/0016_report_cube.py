"""reports at 100,000 proposals: a fact row per proposal and a pre-aggregated cube, kept by triggers

Revision ID: 0016_report_cube
Revises: 0015_guided
Create Date: 2026-12-07 14:00:00

The dashboard's counts and money (totals, the breakdowns by state, unit, category, fund and year, the projects
carried out) grouped every scoped proposal joined to its funding on each request: seconds at 100,000 rows.

- ``report_fact``: one narrow row per proposal with the dimensions the dashboard groups and filters by
  (province, former district, commune, state, category, fund, year; a missing unit is '') and its money
  (requested, counterpart, approved = the funding decision's amount, 0 without one);
- ``report_cube``: per cell of those dimensions, the number of proposals and the sums of their money;
- ``report_stay_days``: each stay of ``proposal_stay`` (0014) with its proposal's dimensions, so the median
  stage durations and the period's activity (funnel entries in a period) filter by scope from an index instead
  of joining every stay to its proposal.

Database triggers keep them in the statement that writes ``proposal``, ``funding`` or ``proposal_stay`` (the engine's Core
UPDATE of ``wf_state``, the ORM, bulk loads, imports alike), so they can never lag the base tables. Each
trigger "refreshes" the proposals it touched: take the fact's contribution out of its cell, rebuild the fact
from the base rows, put its contribution into (possibly another) cell, rebuild its stays' rows. Cells that fall to zero stay, with
n = 0; readers skip them. The cost per write is six indexed statements (see benchmarks/results-issue11.md).

``proposal (wf_state, wf_entered_at, wf_workflow, wf_workflow_version)``: the overdue items are one
range seek per (workflow, version, state) with a deadline instead of a scan of every proposal in such a state.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_report_cube"
down_revision = "0015_guided"
branch_labels = None
depends_on = None

DIMENSIONS = ("province_code", "district_code", "commune_code", "state", "category", "fund", "year")
MONEY = ("requested", "counterpart", "approved")
# The lifecycle funnel's stages and their states (app.reports.queries.FUNNEL as of this revision; a test holds
# them equal): the fact says which stages the proposal's trail ever entered (0/1), the cube sums them.
FUNNEL = (("created", ("draft",)), ("submitted", ("district_review", "local_review")),
          ("appraisal", ("provincial_appraisal",)), ("shortlisted", ("shortlisted",)), ("funded", ("funded",)),
          ("implementing", ("implementing",)), ("implemented", ("implemented",)), ("settled", ("settled",)),
          ("evaluated", ("evaluated",)))
REACHED = tuple(f"reached_{stage}" for stage, _ in FUNNEL)
MEASURES = MONEY + REACHED  # what a cell sums, besides its count n
_COLUMNS = ", ".join(DIMENSIONS + MEASURES)
_REACHED_FROM_BASE = "".join(
    ", CASE WHEN EXISTS (SELECT 1 FROM proposal_stay s WHERE s.proposal_id = p.id AND s.state IN ("
    + ", ".join(f"'{state}'" for state in states) + ")) THEN 1 ELSE 0 END" for _, states in FUNNEL)
# The fact of the proposals a statement selects (``{where}`` on proposal p), from the base rows.
_FACT_FROM_BASE = (
    "SELECT p.id, p.province_code, coalesce(p.district_code, ''), coalesce(p.commune_code, ''), p.wf_state, "
    "p.category, p.fund, p.year, coalesce(p.requested_support, 0), coalesce(p.counterpart_funds, 0), "
    "coalesce(f.approved_amount, 0)" + _REACHED_FROM_BASE + " FROM proposal p LEFT JOIN funding f ON f.proposal_id = p.id WHERE {where}"
)
# The stays of the proposals a statement selects, with their proposal's dimensions (the fact's).
_STAY_COLUMNS = "stay_id, proposal_id, stay_state, entered_at, days, " + ", ".join(DIMENSIONS)
_STAYS_FROM_BASE = (
    f"INSERT INTO report_stay_days ({_STAY_COLUMNS}) SELECT s.id, s.proposal_id, s.state, s.entered_at, s.days, "
    + ", ".join(f"f.{d}" for d in DIMENSIONS)
    + " FROM proposal_stay s JOIN report_fact f ON f.proposal_id = s.proposal_id WHERE {where}"
)
# A stay opened or closed by the audit trail's trigger (0014_reports_perf), for proposal_stay row ``{row}``.
_STAY_CLOSED = "UPDATE report_stay_days SET days = {row}.days WHERE stay_id = {row}.id"
_SAME_CELL = " AND ".join(f"report_cube.{d} = f.{d}" for d in DIMENSIONS)


def _refresh(pid: str) -> list[str]:
    """The statements that bring proposal ``pid``'s fact and its cells up to date (same SQL on both)."""
    money_out = ", ".join(f"{m} = report_cube.{m} - f.{m}" for m in MEASURES)
    money_in = ", ".join(f"{m} = report_cube.{m} + excluded.{m}" for m in MEASURES)
    return [
        f"UPDATE report_cube SET n = report_cube.n - 1, {money_out} FROM report_fact f "
        f"WHERE f.proposal_id = {pid} AND {_SAME_CELL}",
        f"DELETE FROM report_fact WHERE proposal_id = {pid}",
        f"INSERT INTO report_fact (proposal_id, {_COLUMNS}) " + _FACT_FROM_BASE.format(where=f"p.id = {pid}"),
        f"INSERT INTO report_cube ({_COLUMNS}, n) SELECT {_COLUMNS}, 1 FROM report_fact "
        f"WHERE proposal_id = {pid} ON CONFLICT ({', '.join(DIMENSIONS)}) DO UPDATE SET "
        f"n = report_cube.n + excluded.n, {money_in}",
        f"DELETE FROM report_stay_days WHERE proposal_id = {pid}",
        _STAYS_FROM_BASE.format(where=f"s.proposal_id = {pid}"),
    ]


# What a proposal or funding write must change for the cube to move (other columns leave it alone).
PROPOSAL_COLUMNS = ("id", "province_code", "district_code", "commune_code", "wf_state", "category", "fund",
                    "year", "requested_support", "counterpart_funds")
FUNDING_COLUMNS = ("proposal_id", "approved_amount")


def _changed(columns: tuple[str, ...]) -> str:
    return " OR ".join(f"old.{c} IS NOT new.{c}" for c in columns)


def sqlite_triggers() -> list[str]:
    def trigger(name: str, event: str, table: str, pid: str, when: str = "") -> str:
        body = "; ".join(_refresh(pid))
        return f"CREATE TRIGGER {name} AFTER {event} ON {table} {when} BEGIN {body}; END"

    return [
        trigger("report_on_proposal_insert", "INSERT", "proposal", "new.id"),
        trigger("report_on_proposal_update", f"UPDATE OF {', '.join(PROPOSAL_COLUMNS)}", "proposal", "new.id",
                f"WHEN {_changed(PROPOSAL_COLUMNS)}"),
        trigger("report_on_proposal_moved", "UPDATE OF id", "proposal", "old.id", "WHEN old.id <> new.id"),
        trigger("report_on_proposal_delete", "DELETE", "proposal", "old.id"),
        trigger("report_on_funding_insert", "INSERT", "funding", "new.proposal_id"),
        trigger("report_on_funding_update", f"UPDATE OF {', '.join(FUNDING_COLUMNS)}", "funding",
                "new.proposal_id", f"WHEN {_changed(FUNDING_COLUMNS)}"),
        trigger("report_on_funding_moved", "UPDATE OF proposal_id", "funding", "old.proposal_id",
                "WHEN old.proposal_id <> new.proposal_id"),
        trigger("report_on_funding_delete", "DELETE", "funding", "old.proposal_id"),
        trigger("report_on_stay_insert", "INSERT", "proposal_stay", "new.proposal_id"),  # maybe a new stage
        f"CREATE TRIGGER report_on_stay_update AFTER UPDATE OF days ON proposal_stay BEGIN "
        f"{_STAY_CLOSED.format(row='new')}; END",
    ]


KEYS = {"proposal": "id", "funding": "proposal_id"}  # the proposal a row of the table belongs to
# Old and new proposal: an update may move a funding row to another proposal.
_PG_ON_WRITE = """CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP <> 'INSERT' THEN PERFORM report_refresh(OLD.{key}); END IF;
    IF TG_OP = 'INSERT' OR (TG_OP = 'UPDATE' AND NEW.{key} IS DISTINCT FROM OLD.{key}) THEN
        PERFORM report_refresh(NEW.{key});
    END IF;
    RETURN NULL;
END $$"""


def postgresql_statements() -> list[str]:
    body = ";\n    ".join(_refresh("pid"))
    distinct = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in PROPOSAL_COLUMNS)
    return [
        f"CREATE FUNCTION report_refresh(pid integer) RETURNS void LANGUAGE plpgsql AS $$\nBEGIN\n    {body};\n"
        "END $$",
        *(_PG_ON_WRITE.format(name=f"report_on_{table}", key=key) for table, key in KEYS.items()),
        "CREATE TRIGGER report_on_proposal_row AFTER INSERT OR DELETE ON proposal FOR EACH ROW "
        "EXECUTE FUNCTION report_on_proposal()",
        f"CREATE TRIGGER report_on_proposal_update AFTER UPDATE OF {', '.join(PROPOSAL_COLUMNS)} ON proposal "
        f"FOR EACH ROW WHEN ({distinct}) EXECUTE FUNCTION report_on_proposal()",
        "CREATE TRIGGER report_on_funding_row AFTER INSERT OR DELETE ON funding FOR EACH ROW "
        "EXECUTE FUNCTION report_on_funding()",
        "CREATE TRIGGER report_on_funding_update AFTER UPDATE OF proposal_id, approved_amount ON funding "
        "FOR EACH ROW WHEN (OLD.proposal_id IS DISTINCT FROM NEW.proposal_id OR "
        "OLD.approved_amount IS DISTINCT FROM NEW.approved_amount) EXECUTE FUNCTION report_on_funding()",
        "CREATE FUNCTION report_on_stay() RETURNS trigger LANGUAGE plpgsql AS $$\nBEGIN\n"
        "    IF TG_OP = 'INSERT' THEN PERFORM report_refresh(NEW.proposal_id);\n"
        f"    ELSE {_STAY_CLOSED.format(row='NEW')}; END IF;\n    RETURN NULL;\nEND $$",
        "CREATE TRIGGER report_on_stay AFTER INSERT OR UPDATE OF days ON proposal_stay FOR EACH ROW "
        "EXECUTE FUNCTION report_on_stay()",
    ]


def backfill() -> list[str]:
    """Set-based: every fact in one INSERT … SELECT, every cell in one GROUP BY."""
    return [
        f"INSERT INTO report_fact (proposal_id, {_COLUMNS}) " + _FACT_FROM_BASE.format(where="1 = 1"),
        f"INSERT INTO report_cube ({_COLUMNS}, n) SELECT {', '.join(DIMENSIONS)}, "
        f"{', '.join(f'sum({m})' for m in MEASURES)}, count(*) FROM report_fact GROUP BY {', '.join(DIMENSIONS)}",
        _STAYS_FROM_BASE.format(where="1 = 1"),
    ]


def _dimension_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [sa.Column("province_code", sa.String(16), nullable=False),
            sa.Column("district_code", sa.String(16), nullable=False),
            sa.Column("commune_code", sa.String(16), nullable=False),
            sa.Column("state", sa.String(64), nullable=False),
            sa.Column("category", sa.String(32), nullable=False),
            sa.Column("fund", sa.String(16), nullable=False),
            sa.Column("year", sa.Integer(), nullable=False)]


def _money_columns() -> list[sa.Column]:  # type: ignore[type-arg]
    return [*(sa.Column(m, sa.BigInteger(), nullable=False) for m in MONEY),
            *(sa.Column(r, sa.Integer(), nullable=False) for r in REACHED)]


def upgrade() -> None:
    op.create_table("report_fact", sa.Column("proposal_id", sa.Integer(), primary_key=True, autoincrement=False),
                    *_dimension_columns(), *_money_columns())
    op.create_table("report_cube", *_dimension_columns(), sa.Column("n", sa.Integer(), nullable=False),
                    *_money_columns(), sa.PrimaryKeyConstraint(*DIMENSIONS, name="pk_report_cube"))
    op.create_table("report_stay_days",
                    sa.Column("stay_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
                              autoincrement=False),
                    sa.Column("proposal_id", sa.Integer(), nullable=False),
                    sa.Column("stay_state", sa.String(64), nullable=False),
                    sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
                    sa.Column("days", sa.Float(), nullable=True), *_dimension_columns())
    for statement in backfill():
        op.execute(statement)
    dialect = op.get_bind().dialect.name
    for statement in postgresql_statements() if dialect == "postgresql" else sqlite_triggers():
        op.execute(statement)
    # The median per state walks this index in order, reading the scope and filters from it (never the table).
    op.create_index("ix_report_stay_days_median", "report_stay_days", ["stay_state", "days", *DIMENSIONS])
    op.create_index("ix_report_stay_days_proposal", "report_stay_days", ["proposal_id"])
    # The statutory reports' activity in a period: the stays entered in it, with scope and filters, from the index.
    op.create_index("ix_report_stay_days_entered", "report_stay_days",
                    ["entered_at", "stay_state", "proposal_id", *DIMENSIONS])
    op.create_index("ix_proposal_overdue", "proposal",
                    ["wf_state", "wf_entered_at", "wf_workflow", "wf_workflow_version"])


TRIGGERS = {"proposal": ("report_on_proposal_insert", "report_on_proposal_update", "report_on_proposal_moved",
                         "report_on_proposal_delete", "report_on_proposal_row"),
            "proposal_stay": ("report_on_stay_insert", "report_on_stay_update", "report_on_stay"),
            "funding": ("report_on_funding_insert", "report_on_funding_update", "report_on_funding_moved",
                        "report_on_funding_delete", "report_on_funding_row")}


def downgrade() -> None:
    op.drop_index("ix_proposal_overdue", table_name="proposal")
    postgresql = op.get_bind().dialect.name == "postgresql"
    for table, names in TRIGGERS.items():
        for name in names:
            op.execute(f"DROP TRIGGER IF EXISTS {name}" + (f" ON {table}" if postgresql else ""))
    if postgresql:
        for name in ("proposal", "funding", "stay"):
            op.execute(f"DROP FUNCTION IF EXISTS report_on_{name}()")
        op.execute("DROP FUNCTION IF EXISTS report_refresh(integer)")
    op.drop_table("report_stay_days")
    op.drop_table("report_cube")
    op.drop_table("report_fact")
