"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('emissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('interval_start', sa.DateTime(), nullable=False),
    sa.Column('asset_id', sa.String(length=64), nullable=False),
    sa.Column('energy_kwh', sa.Float(), nullable=False),
    sa.Column('ci_kg_per_kwh', sa.Float(), nullable=False),
    sa.Column('emissions_kg', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('interval_start', 'asset_id')
    )
    with op.batch_alter_table('emissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_emissions_interval_start'), ['interval_start'], unique=False)

    op.create_table('events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ts', sa.DateTime(), nullable=False),
    sa.Column('severity', sa.String(length=16), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('asset_id', sa.String(length=64), nullable=True),
    sa.Column('message', sa.Text(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_events_ts'), ['ts'], unique=False)

    op.create_table('forecasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('issue_time', sa.DateTime(), nullable=False),
    sa.Column('interval_start', sa.DateTime(), nullable=False),
    sa.Column('series', sa.String(length=64), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('forecasts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_forecasts_interval_start'), ['interval_start'], unique=False)
        batch_op.create_index(batch_op.f('ix_forecasts_issue_time'), ['issue_time'], unique=False)

    op.create_table('measurements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ts', sa.DateTime(), nullable=False),
    sa.Column('asset_id', sa.String(length=64), nullable=False),
    sa.Column('quantity', sa.String(length=32), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('measurements', schema=None) as batch_op:
        batch_op.create_index('ix_measurements_asset_ts', ['asset_id', 'ts'], unique=False)
        batch_op.create_index(batch_op.f('ix_measurements_ts'), ['ts'], unique=False)

    op.create_table('overrides',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('asset_id', sa.String(length=64), nullable=False),
    sa.Column('p_kw', sa.Float(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('until', sa.DateTime(), nullable=False),
    sa.Column('released_at', sa.DateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('overrides', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_overrides_asset_id'), ['asset_id'], unique=False)

    op.create_table('plans',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('issue_time', sa.DateTime(), nullable=False),
    sa.Column('start', sa.DateTime(), nullable=False),
    sa.Column('end', sa.DateTime(), nullable=False),
    sa.Column('excluded', sa.JSON(), nullable=False),
    sa.Column('summary', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('version')
    )
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plans_created_at'), ['created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_plans_status'), ['status'], unique=False)

    op.create_table('setpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ts', sa.DateTime(), nullable=False),
    sa.Column('interval_start', sa.DateTime(), nullable=False),
    sa.Column('asset_id', sa.String(length=64), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('requested_kw', sa.Float(), nullable=False),
    sa.Column('written_kw', sa.Float(), nullable=True),
    sa.Column('readback_kw', sa.Float(), nullable=True),
    sa.Column('ok', sa.Boolean(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('setpoints', schema=None) as batch_op:
        batch_op.create_index('ix_setpoints_asset_ts', ['asset_id', 'ts'], unique=False)
        batch_op.create_index(batch_op.f('ix_setpoints_ts'), ['ts'], unique=False)

    op.create_table('plan_intervals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('plan_id', sa.Integer(), nullable=False),
    sa.Column('interval_start', sa.DateTime(), nullable=False),
    sa.Column('values', sa.JSON(), nullable=False),
    sa.ForeignKeyConstraint(['plan_id'], ['plans.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('plan_id', 'interval_start')
    )
    with op.batch_alter_table('plan_intervals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_plan_intervals_plan_id'), ['plan_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('plan_intervals', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plan_intervals_plan_id'))

    op.drop_table('plan_intervals')
    with op.batch_alter_table('setpoints', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_setpoints_ts'))
        batch_op.drop_index('ix_setpoints_asset_ts')

    op.drop_table('setpoints')
    with op.batch_alter_table('plans', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_plans_status'))
        batch_op.drop_index(batch_op.f('ix_plans_created_at'))

    op.drop_table('plans')
    with op.batch_alter_table('overrides', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_overrides_asset_id'))

    op.drop_table('overrides')
    with op.batch_alter_table('measurements', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_measurements_ts'))
        batch_op.drop_index('ix_measurements_asset_ts')

    op.drop_table('measurements')
    with op.batch_alter_table('forecasts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_forecasts_issue_time'))
        batch_op.drop_index(batch_op.f('ix_forecasts_interval_start'))

    op.drop_table('forecasts')
    with op.batch_alter_table('events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_events_ts'))

    op.drop_table('events')
    with op.batch_alter_table('emissions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_emissions_interval_start'))

    op.drop_table('emissions')
