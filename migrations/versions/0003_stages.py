"""later stages: council, budget envelopes, funding, progress, advances, changes, indicators

Revision ID: 0003_stages
Revises: 0002_audit
Create Date: 2026-11-26 21:31:30.469441
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0003_stages'
down_revision = '0002_audit'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('budget_envelope',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('province_code', sa.String(length=16), nullable=False),
    sa.Column('fund', sa.String(length=200), nullable=False),
    sa.Column('year', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('committed', sa.BigInteger(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('committed >= 0 AND committed <= amount', name=op.f('ck_budget_envelope_within_amount')),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_budget_envelope_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_budget_envelope')),
    sa.UniqueConstraint('province_code', 'fund', 'year', name=op.f('uq_budget_envelope_province_code'))
    )
    with op.batch_alter_table('budget_envelope', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_budget_envelope_province_code'), ['province_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_budget_envelope_year'), ['year'], unique=False)

    op.create_table('advance',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('amount', sa.BigInteger(), nullable=False),
    sa.Column('paid_on', sa.Date(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('amount > 0', name=op.f('ck_advance_positive')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], name=op.f('fk_advance_proposal_id_proposal'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_advance_recorded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_advance'))
    )
    with op.batch_alter_table('advance', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_advance_proposal_id'), ['proposal_id'], unique=False)

    op.create_table('change_request',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('new_value', sa.Text(), nullable=False),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('requested_by_id', sa.Integer(), nullable=True),
    sa.Column('requested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by_id', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('decision_comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['decided_by_id'], ['user_account.id'], name=op.f('fk_change_request_decided_by_id_user_account')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], name=op.f('fk_change_request_proposal_id_proposal'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['requested_by_id'], ['user_account.id'], name=op.f('fk_change_request_requested_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_change_request'))
    )
    with op.batch_alter_table('change_request', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_change_request_proposal_id'), ['proposal_id'], unique=False)

    op.create_table('council_member',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('assigned_by_id', sa.Integer(), nullable=True),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('recused', sa.Boolean(), nullable=False),
    sa.Column('recusal_kind', sa.String(length=16), nullable=True),
    sa.Column('recusal_reason', sa.Text(), nullable=True),
    sa.Column('recused_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['assigned_by_id'], ['user_account.id'], name=op.f('fk_council_member_assigned_by_id_user_account')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], name=op.f('fk_council_member_proposal_id_proposal'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['user_account.id'], name=op.f('fk_council_member_user_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_council_member')),
    sa.UniqueConstraint('proposal_id', 'user_id', name=op.f('uq_council_member_proposal_id'))
    )
    with op.batch_alter_table('council_member', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_council_member_proposal_id'), ['proposal_id'], unique=False)

    op.create_table('funding',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('envelope_id', sa.Integer(), nullable=False),
    sa.Column('approved_amount', sa.BigInteger(), nullable=False),
    sa.Column('decision_number', sa.String(length=255), nullable=False),
    sa.Column('decision_date', sa.Date(), nullable=False),
    sa.Column('terms_version', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('contract_number', sa.String(length=255), nullable=True),
    sa.Column('contract_date', sa.Date(), nullable=True),
    sa.Column('end_date', sa.Date(), nullable=True),
    sa.Column('accepted_on', sa.Date(), nullable=True),
    sa.Column('disbursed_total', sa.BigInteger(), nullable=True),
    sa.Column('refund_amount', sa.BigInteger(), nullable=True),
    sa.Column('released', sa.BigInteger(), nullable=False),
    sa.Column('evaluation_score', sa.Integer(), nullable=True),
    sa.Column('evaluation_comment', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['envelope_id'], ['budget_envelope.id'], name=op.f('fk_funding_envelope_id_budget_envelope')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], name=op.f('fk_funding_proposal_id_proposal'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_funding')),
    sa.UniqueConstraint('proposal_id', name=op.f('uq_funding_proposal_id'))
    )
    with op.batch_alter_table('funding', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_funding_envelope_id'), ['envelope_id'], unique=False)

    op.create_table('indicator_value',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=64), nullable=False),
    sa.Column('target', sa.BigInteger(), nullable=True),
    sa.Column('actual', sa.BigInteger(), nullable=True),
    sa.Column('recorded_by_id', sa.Integer(), nullable=True),
    sa.Column('recorded_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], name=op.f('fk_indicator_value_proposal_id_proposal'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['user_account.id'], name=op.f('fk_indicator_value_recorded_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_indicator_value')),
    sa.UniqueConstraint('proposal_id', 'key', name=op.f('uq_indicator_value_proposal_id'))
    )
    with op.batch_alter_table('indicator_value', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_indicator_value_proposal_id'), ['proposal_id'], unique=False)

    op.create_table('progress_report',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('period', sa.String(length=7), nullable=False),
    sa.Column('percent', sa.Integer(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('reported_by_id', sa.Integer(), nullable=True),
    sa.Column('reported_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('percent >= 0 AND percent <= 100', name=op.f('ck_progress_report_percent_range')),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], name=op.f('fk_progress_report_proposal_id_proposal'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['reported_by_id'], ['user_account.id'], name=op.f('fk_progress_report_reported_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progress_report')),
    sa.UniqueConstraint('proposal_id', 'period', name=op.f('uq_progress_report_proposal_id'))
    )
    with op.batch_alter_table('progress_report', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_progress_report_proposal_id'), ['proposal_id'], unique=False)

    op.create_table('score_sheet',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('proposal_id', sa.Integer(), nullable=False),
    sa.Column('member_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('points', sa.JSON(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('not_eligible', sa.Boolean(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['member_id'], ['council_member.id'], name=op.f('fk_score_sheet_member_id_council_member'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['proposal_id'], ['proposal.id'], name=op.f('fk_score_sheet_proposal_id_proposal'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_score_sheet')),
    sa.UniqueConstraint('member_id', 'version', name=op.f('uq_score_sheet_member_id'))
    )
    with op.batch_alter_table('score_sheet', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_score_sheet_member_id'), ['member_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_score_sheet_proposal_id'), ['proposal_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('score_sheet', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_score_sheet_proposal_id'))
        batch_op.drop_index(batch_op.f('ix_score_sheet_member_id'))

    op.drop_table('score_sheet')
    with op.batch_alter_table('progress_report', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_progress_report_proposal_id'))

    op.drop_table('progress_report')
    with op.batch_alter_table('indicator_value', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_indicator_value_proposal_id'))

    op.drop_table('indicator_value')
    with op.batch_alter_table('funding', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_funding_envelope_id'))

    op.drop_table('funding')
    with op.batch_alter_table('council_member', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_council_member_proposal_id'))

    op.drop_table('council_member')
    with op.batch_alter_table('change_request', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_change_request_proposal_id'))

    op.drop_table('change_request')
    with op.batch_alter_table('advance', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_advance_proposal_id'))

    op.drop_table('advance')
    with op.batch_alter_table('budget_envelope', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_budget_envelope_year'))
        batch_op.drop_index(batch_op.f('ix_budget_envelope_province_code'))

    op.drop_table('budget_envelope')
