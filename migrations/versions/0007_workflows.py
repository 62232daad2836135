"""workflows, their runs and step runs

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 06:00:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table('workflows',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('source', sa.Text(), nullable=False),
    sa.Column('source_format', sa.String(length=4), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('trigger_type', sa.String(length=10), nullable=False),
    sa.Column('trigger_event', sa.String(length=100), nullable=True),
    sa.Column('trigger_cron', sa.String(length=100), nullable=True),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=320), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflows')),
    sa.UniqueConstraint('name', name=op.f('uq_workflows_name'))
    )
    op.create_index('ix_workflows_trigger_event_enabled', 'workflows', ['trigger_event', 'enabled'], unique=False)

    op.create_table('workflow_runs',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('workflow_id', sa.Integer(), nullable=True),
    sa.Column('workflow_name', sa.String(length=100), nullable=False),
    sa.Column('workflow_version', sa.Integer(), nullable=False),
    sa.Column('definition', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('trigger', sa.String(length=10), nullable=False),
    sa.Column('event', sa.String(length=100), nullable=True),
    sa.Column('input', sa.JSON(), nullable=False),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('step_count', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['workflow_id'], ['workflows.id'], name=op.f('fk_workflow_runs_workflow_id_workflows'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_runs'))
    )
    op.create_index('ix_workflow_runs_workflow_id_id', 'workflow_runs', ['workflow_id', 'id'], unique=False)
    op.create_index('ix_workflow_runs_status_id', 'workflow_runs', ['status', 'id'], unique=False)

    op.create_table('workflow_step_runs',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('run_id', BigId, nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('step_id', sa.String(length=64), nullable=False),
    sa.Column('uses', sa.String(length=100), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('job_id', sa.String(length=64), nullable=True),
    sa.Column('input', sa.JSON(), nullable=True),
    sa.Column('output', sa.JSON(), nullable=True),
    sa.Column('error', sa.Text(), nullable=False),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('attempt_log', sa.JSON(), nullable=True),
    sa.Column('queued_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('not_before', sa.DateTime(timezone=True), nullable=True),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('duration_ms', sa.Float(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['run_id'], ['workflow_runs.id'], name=op.f('fk_workflow_step_runs_run_id_workflow_runs'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_workflow_step_runs')),
    sa.UniqueConstraint('run_id', 'position', name='uq_workflow_step_runs_run_id_position')
    )
    op.create_index('ix_workflow_step_runs_status_updated_at', 'workflow_step_runs', ['status', 'updated_at'],
                    unique=False)


def downgrade():
    op.drop_index('ix_workflow_step_runs_status_updated_at', table_name='workflow_step_runs')
    op.drop_table('workflow_step_runs')
    op.drop_index('ix_workflow_runs_status_id', table_name='workflow_runs')
    op.drop_index('ix_workflow_runs_workflow_id_id', table_name='workflow_runs')
    op.drop_table('workflow_runs')
    op.drop_index('ix_workflows_trigger_event_enabled', table_name='workflows')
    op.drop_table('workflows')
