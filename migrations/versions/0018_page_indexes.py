"""pages at 100,000 proposals: covering indexes for the list's scopes and for "my work"

The list's sort within a scope, (province|district|commune, year, code), now carries ``wf_state``, ``id`` and
the filters' columns (category, district, commune): the scope hides drafts (``wf_state != 'draft'``), which the
old indexes could not check without reading each row, so a deep page's OFFSET, the bounded count and the year
range read the index alone, with the state, year, category and unit filters too.
"My work" walks (wf_state, wf_entered_at, id) over the states where the user can act; the index now carries the
columns of the scope and of the (workflow, version) check, so rows out of scope are skipped in the index and
only the page's rows are read; the (wf_entered_at, id) index goes (see DROPPED).

Revision ID: 0018_page_indexes
Revises: 0017_chain_head
Create Date: 2026-12-07 14:00:00
"""

from __future__ import annotations

from alembic import op

revision = "0018_page_indexes"
down_revision = "0017_chain_head"
branch_labels = None
depends_on = None

_SCOPE = ["province_code", "district_code", "commune_code", "organisation_id"]


def _list(scope: str) -> list[str]:
    """The list's sort within ``scope``, then what the scope and the filters (state, category, unit) check."""
    return [scope, "year", "code", "wf_state", "id", "category",
            *(unit for unit in ("district_code", "commune_code") if unit != scope)]


# (new index, its columns, the index it replaces, that index's columns); the model's own commune_code index stays
INDEXES = (
    ("ix_proposal_province_list", _list("province_code"),
     "ix_proposal_province_year_code", ["province_code", "year", "code"]),
    ("ix_proposal_district_list", _list("district_code"),
     "ix_proposal_district_year_code", ["district_code", "year", "code"]),
    ("ix_proposal_commune_list", _list("commune_code"), None, []),
    ("ix_proposal_state_work", ["wf_state", "wf_entered_at", "id", "wf_workflow", "wf_workflow_version", *_SCOPE],
     "ix_proposal_state_entered_at", ["wf_state", "wf_entered_at", "id"]),
)
# (wf_entered_at, id) alone served "my work" before it walked by state; SQLite's planner (no histogram of the
# states) took it for any query ordered by entry and read the whole table to find the few rows in a handful of
# states. Every such query names its states, which the index above answers; one index less per state change.
DROPPED = ("ix_proposal_entered_at", ["wf_entered_at", "id"])


def upgrade() -> None:
    for name, columns, old, _old_columns in INDEXES:
        op.create_index(name, "proposal", columns)
        if old:
            op.drop_index(old, table_name="proposal")
    op.drop_index(DROPPED[0], table_name="proposal")
    if op.get_bind().dialect.name == "sqlite":
        # SQLite plans from sqlite_stat1: a new index without its row there looks highly selective on its first
        # column, so the API's created_at order took the province list index and sorted every row (110 ms at 100k).
        for name, *_rest in INDEXES:
            op.execute(f"ANALYZE {name}")


def downgrade() -> None:
    op.create_index(DROPPED[0], "proposal", DROPPED[1])
    for name, _columns, old, old_columns in reversed(INDEXES):
        if old:
            op.create_index(old, "proposal", old_columns)
        op.drop_index(name, table_name="proposal")
