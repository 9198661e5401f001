"""units over time: validity of each unit, the periods a code has named, the successor table

Revision ID: 0005_units
Revises: 0004_reliability
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_units'
down_revision = "0004_reliability"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.add_column(sa.Column('valid_from', sa.Date(), nullable=True))
        batch_op.add_column(sa.Column('valid_to', sa.Date(), nullable=True))
    op.create_table('unit_period',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('level', sa.String(length=16), nullable=False),
    sa.Column('district_code', sa.String(length=16), nullable=True),
    sa.Column('valid_from', sa.Date(), nullable=True),
    sa.Column('valid_to', sa.Date(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_unit_period'))
    )
    with op.batch_alter_table('unit_period', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_unit_period_code'), ['code'], unique=False)
    op.create_table('unit_successor',
    sa.Column('old_code', sa.String(length=16), nullable=False),
    sa.Column('new_code', sa.String(length=16), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('source', sa.String(length=200), nullable=False),
    sa.ForeignKeyConstraint(['new_code'], ['unit.code'], name=op.f('fk_unit_successor_new_code_unit')),
    sa.PrimaryKeyConstraint('old_code', name=op.f('pk_unit_successor'))
    )


def downgrade() -> None:
    op.drop_table('unit_successor')
    with op.batch_alter_table('unit_period', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_unit_period_code'))
    op.drop_table('unit_period')
    with op.batch_alter_table('unit', schema=None) as batch_op:
        batch_op.drop_column('valid_to')
        batch_op.drop_column('valid_from')
