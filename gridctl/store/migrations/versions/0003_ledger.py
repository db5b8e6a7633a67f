"""carbon ledger (append-only, hash-chained)

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = '0003'
down_revision = '0002'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('ledger',
    sa.Column('seq', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('interval_start', sa.DateTime(), nullable=False),
    sa.Column('grouping', sa.String(length=32), nullable=False),
    sa.Column('group_id', sa.String(length=64), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('energy_kwh', sa.Float(), nullable=False),
    sa.Column('import_kwh', sa.Float(), nullable=False),
    sa.Column('location_kg', sa.Float(), nullable=False),
    sa.Column('market_kg', sa.Float(), nullable=True),
    sa.Column('ci_kg_per_kwh', sa.Float(), nullable=False),
    sa.Column('signal_type', sa.String(length=32), nullable=False),
    sa.Column('ci_source', sa.Text(), nullable=False),
    sa.Column('ci_issued_at', sa.DateTime(), nullable=True),
    sa.Column('estimated', sa.Boolean(), nullable=False),
    sa.Column('method', sa.Text(), nullable=False),
    sa.Column('inputs', sa.JSON(), nullable=False),
    sa.Column('booked_at', sa.DateTime(), nullable=False),
    sa.Column('prev_hash', sa.String(length=64), nullable=False),
    sa.Column('hash', sa.String(length=64), nullable=False),
    sa.PrimaryKeyConstraint('seq')
    )
    op.create_index('ix_ledger_interval_start', 'ledger', ['interval_start'], unique=False)
    op.create_index('ix_ledger_key', 'ledger', ['grouping', 'group_id', 'interval_start'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_ledger_key', table_name='ledger')
    op.drop_index('ix_ledger_interval_start', table_name='ledger')
    op.drop_table('ledger')
