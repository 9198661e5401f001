"""programme 2026: plan rounds, funds, priority confirmation, acceptance committee, confirmed progress

Revision ID: 0006_programme
Revises: 0005_units
Create Date: 2026-12-01 22:10:48.611443
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006_programme'
down_revision = "0005_units"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('plan_round',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('province_code', sa.String(length=16), nullable=False),
    sa.Column('fund', sa.String(length=16), nullable=False),
    sa.Column('plan_year', sa.Integer(), nullable=False),
    sa.Column('opens_on', sa.Date(), nullable=False),
    sa.Column('closes_on', sa.Date(), nullable=False),
    sa.Column('decision_number', sa.String(length=64), nullable=True),
    sa.Column('decision_date', sa.Date(), nullable=True),
    sa.Column('approved_total', sa.BigInteger(), nullable=True),
    sa.Column('decision_file_name', sa.String(length=255), nullable=True),
    sa.Column('decision_file_sha256', sa.String(length=64), nullable=True),
    sa.Column('decision_file_stored', sa.String(length=64), nullable=True),
    sa.Column('plan_total', sa.BigInteger(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('created_by_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('wf_workflow', sa.String(length=64), nullable=False),
    sa.Column('wf_workflow_version', sa.Integer(), nullable=False),
    sa.Column('wf_sha256', sa.String(length=64), nullable=False),
    sa.Column('wf_state', sa.String(length=64), nullable=False),
    sa.Column('wf_version', sa.Integer(), nullable=False),
    sa.Column('wf_fired_by', sa.JSON(), nullable=False),
    sa.Column('wf_entered_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['created_by_id'], ['user_account.id'], name=op.f('fk_plan_round_created_by_id_user_account')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_plan_round')),
    sa.UniqueConstraint('province_code', 'fund', 'plan_year', name=op.f('uq_plan_round_province_code'))
    )
    with op.batch_alter_table('plan_round', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_round_fund'), ['fund'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_round_plan_year'), ['plan_year'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_round_province_code'), ['province_code'], unique=False)
        batch_op.create_index(batch_op.f('ix_plan_round_wf_state'), ['wf_state'], unique=False)

    with op.batch_alter_table('budget_envelope', schema=None) as batch_op:
        batch_op.add_column(sa.Column('round_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_budget_envelope_round_id'), ['round_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_budget_envelope_round_id_plan_round'), 'plan_round', ['round_id'], ['id'])

    with op.batch_alter_table('funding', schema=None) as batch_op:
        batch_op.add_column(sa.Column('acceptance_members', sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column('acceptance_conclusion', sa.Text(), nullable=True))

    with op.batch_alter_table('progress_report', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirmed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_progress_report_confirmed_by_id_user_account'), 'user_account', ['confirmed_by_id'], ['id'])

    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.add_column(sa.Column('priority_confirmed_at', sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('priority_confirmed_by_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('fund', sa.String(length=16), server_default='local', nullable=False))
        batch_op.add_column(sa.Column('round_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_proposal_fund'), ['fund'], unique=False)
        batch_op.create_index(batch_op.f('ix_proposal_round_id'), ['round_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_proposal_round_id_plan_round'), 'plan_round', ['round_id'], ['id'])
        batch_op.create_foreign_key(batch_op.f('fk_proposal_priority_confirmed_by_id_user_account'), 'user_account', ['priority_confirmed_by_id'], ['id'])



def downgrade() -> None:
    with op.batch_alter_table('proposal', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_proposal_priority_confirmed_by_id_user_account'), type_='foreignkey')
        batch_op.drop_constraint(batch_op.f('fk_proposal_round_id_plan_round'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_proposal_round_id'))
        batch_op.drop_index(batch_op.f('ix_proposal_fund'))
        batch_op.drop_column('round_id')
        batch_op.drop_column('fund')
        batch_op.drop_column('priority_confirmed_by_id')
        batch_op.drop_column('priority_confirmed_at')

    with op.batch_alter_table('progress_report', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_progress_report_confirmed_by_id_user_account'), type_='foreignkey')
        batch_op.drop_column('confirmed_at')
        batch_op.drop_column('confirmed_by_id')

    with op.batch_alter_table('funding', schema=None) as batch_op:
        batch_op.drop_column('acceptance_conclusion')
        batch_op.drop_column('acceptance_members')

    with op.batch_alter_table('budget_envelope', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_budget_envelope_round_id_plan_round'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_budget_envelope_round_id'))
        batch_op.drop_column('round_id')

    with op.batch_alter_table('plan_round', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_round_wf_state'))
        batch_op.drop_index(batch_op.f('ix_plan_round_province_code'))
        batch_op.drop_index(batch_op.f('ix_plan_round_plan_year'))
        batch_op.drop_index(batch_op.f('ix_plan_round_fund'))

    op.drop_table('plan_round')
