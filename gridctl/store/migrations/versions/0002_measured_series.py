"""measured and external forecast series

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('measured_series',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.String(length=128), nullable=False),
    sa.Column('quantity', sa.String(length=32), nullable=False),
    sa.Column('interval_start', sa.DateTime(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('series_id', 'quantity', 'interval_start')
    )
    with op.batch_alter_table('measured_series', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_measured_series_interval_start'), ['interval_start'], unique=False)
        batch_op.create_index('ix_measured_series_series_start', ['series_id', 'interval_start'], unique=False)
    op.create_table('external_forecasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('series_id', sa.String(length=128), nullable=False),
    sa.Column('quantity', sa.String(length=32), nullable=False),
    sa.Column('issued_at', sa.DateTime(), nullable=False),
    sa.Column('interval_start', sa.DateTime(), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('source', sa.String(length=32), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('series_id', 'quantity', 'issued_at', 'interval_start')
    )
    with op.batch_alter_table('external_forecasts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_external_forecasts_issued_at'), ['issued_at'], unique=False)
        batch_op.create_index('ix_external_forecasts_series_start', ['series_id', 'interval_start'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('external_forecasts', schema=None) as batch_op:
        batch_op.drop_index('ix_external_forecasts_series_start')
        batch_op.drop_index(batch_op.f('ix_external_forecasts_issued_at'))
    op.drop_table('external_forecasts')
    with op.batch_alter_table('measured_series', schema=None) as batch_op:
        batch_op.drop_index('ix_measured_series_series_start')
        batch_op.drop_index(batch_op.f('ix_measured_series_interval_start'))
    op.drop_table('measured_series')
