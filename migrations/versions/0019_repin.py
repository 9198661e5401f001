"""repin: the shipped definitions declare their domain actions (``actions:``), so their files' sha256 changed

The five published files were amended in place: the domain actions the Python table (app/common/rules.py RULES)
and the upload view decided are now declared under ``actions:`` (with the council's ``members_may_not``), and
``action_notify`` moved into them. No transition changed, so live subjects keep their state and version; only
their pin moves from the old sha256 to the new one (workflow.migrate.repin: one UPDATE per subject table, one
audited ``repin`` event per amended version on its ``workflow_definition`` chain). Downgrade re-pins back.

Revision ID: 0019_repin
Revises: 0018_page_indexes
Create Date: 2026-12-07 14:30:00
"""

from __future__ import annotations

from alembic import op

from workflow.migrate import Repin, repin

revision = "0019_repin"
down_revision = "0018_page_indexes"
branch_labels = None
depends_on = None

WHY = "actions declared in the definition (was app/common/rules.py RULES and the upload view); no transition changed"
# (workflow, version, sha256 before, sha256 after)
AMENDED = (
    ("khuyen-cong-local", 1, "9bfd21efe924dbce955ad602006ce31df6997c026a5905504590363a2cb7e6da",
     "c14f2d8d398de69d5fad082cea64b253cacc745488b00b2b0a68a251411bdc43"),
    ("khuyen-cong-local", 2, "356259638f90daa76e67d2f630c108e23d1b5aacc40218579bdf6b5f3440b8f2",
     "b9a6fff27aa8edde8f1ab2ec692e4eb6414b8dfc59b07da9d98ea55ffe8e48bd"),
    ("khuyen-cong-local", 3, "c3731274aee208b54f730d2ee9f6cf2ddc2c69275d5296bb54ed51758c79975c",
     "02abc1d16671224d3e568e2871a045db5de87b953faf3e47a0f5f124928613c3"),
    ("khuyen-cong-national", 1, "406e6c2fc13d44a72ca83329d3812c943d4327ac19b69739191142cca1499b76",
     "613ba0c194cc9600d5b37b2934cfc86ca5e345df3addc4add9843bc7e976a07d"),
    ("plan-round", 1, "9b74785b54991266a3edebe84cccf673dd8a36187d79ceed5c79fb621aa0d2f1",
     "f076350aef464a923258ec7184d87ebac00f23032b0a06f673b9b04a39dcdd76"),
)


def upgrade() -> None:
    for workflow, version, old, new in AMENDED:
        repin(op.get_bind(), Repin(workflow, version, old, new, WHY), request_id=f"alembic-{revision}")


def downgrade() -> None:
    for workflow, version, old, new in AMENDED:
        repin(op.get_bind(), Repin(workflow, version, new, old, "downgrade: " + WHY),
              request_id=f"alembic-{revision}-downgrade")
