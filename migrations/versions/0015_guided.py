"""guided pages: an attachment removed before submission stays on disk and in the table for the record

``attachment.removed_at`` / ``removed_by_id``: set when the applicant removes or replaces a document before
submitting; the live list (``Proposal.attachments``) leaves such rows out, the audit trail records the removal.

Revision ID: 0015_guided
Revises: 0014_reports_perf
Create Date: 2026-12-07 03:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015_guided"
down_revision = "0014_reports_perf"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("attachment") as batch:
        batch.add_column(sa.Column("removed_at", sa.DateTime(timezone=True), nullable=True))
        batch.add_column(sa.Column("removed_by_id", sa.Integer(), nullable=True))
        batch.create_foreign_key("fk_attachment_removed_by", "user_account", ["removed_by_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("attachment") as batch:
        batch.drop_constraint("fk_attachment_removed_by", type_="foreignkey")
        batch.drop_column("removed_by_id")
        batch.drop_column("removed_at")
