"""reports: indexes for the dashboard's overdue and trail aggregates

Revision ID: 0007_reports
Revises: 0006_programme
Create Date: 2026-12-01 22:58:00

- (proposal (wf_state, wf_entered_at, id), for overdue items oldest first, comes with 0011_performance);
- audit_event (subject_type, to_state, subject_id, seq): the lifecycle funnel and the stage durations read
  the state changes from the index instead of the event bodies.
"""

from __future__ import annotations

from alembic import op

revision = '0007_reports'
down_revision = "0006_programme"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_audit_event_transitions', 'audit_event', ['subject_type', 'to_state', 'subject_id', 'seq'])


def downgrade() -> None:
    op.drop_index('ix_audit_event_transitions', table_name='audit_event')
