"""grid operator's OpenADR events and the reports posted

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('openadr_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('program_id', sa.String(length=128), nullable=False),
    sa.Column('version_at', sa.DateTime(), nullable=False),
    sa.Column('received_at', sa.DateTime(), nullable=False),
    sa.Column('event', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('event_id', 'version_at')
    )
    op.create_index('ix_openadr_events_event_id', 'openadr_events', ['event_id'], unique=False)
    op.create_table('openadr_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('reading_type', sa.String(length=32), nullable=False),
    sa.Column('posted_at', sa.DateTime(), nullable=False),
    sa.Column('report_id', sa.String(length=128), nullable=True),
    sa.Column('report', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    op.create_index('ix_openadr_reports_event_id', 'openadr_reports', ['event_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_openadr_reports_event_id', table_name='openadr_reports')
    op.drop_table('openadr_reports')
    op.drop_index('ix_openadr_events_event_id', table_name='openadr_events')
    op.drop_table('openadr_events')
