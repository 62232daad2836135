"""live operations: system_metrics (raw samples), system_metrics_hourly (roll-ups), alerts

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-22 05:10:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None

IdType = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
FIGURES = ("cpu_percent", "memory_percent", "disk_percent", "load_1m", "requests_per_second", "error_rate",
           "latency_p95_ms", "queue_depth", "db_p95_ms")


def upgrade():
    op.create_table('system_metrics',
    sa.Column('id', IdType, autoincrement=True, nullable=False),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('host', sa.String(length=255), nullable=False),
    *[sa.Column(name, sa.Float(), nullable=True) for name in FIGURES],
    sa.Column('failing_checks', sa.JSON(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_system_metrics'))
    )
    with op.batch_alter_table('system_metrics', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_system_metrics_at'), ['at'], unique=False)

    op.create_table('system_metrics_hourly',
    sa.Column('hour', sa.DateTime(timezone=True), nullable=False),
    sa.Column('samples', sa.Integer(), nullable=False),
    *[sa.Column(f"{name}_{agg}", sa.Float(), nullable=True) for name in FIGURES for agg in ("avg", "max")],
    sa.PrimaryKeyConstraint('hour', name=op.f('pk_system_metrics_hourly'))
    )

    op.create_table('alerts',
    sa.Column('id', IdType, autoincrement=True, nullable=False),
    sa.Column('rule', sa.String(length=200), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('title', sa.String(length=300), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('value', sa.Float(), nullable=True),
    sa.Column('threshold', sa.Float(), nullable=True),
    sa.Column('unit', sa.String(length=20), nullable=False),
    sa.Column('last_value', sa.Float(), nullable=True),
    sa.Column('raised_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('cleared_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_alerts'))
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index('ix_alerts_status_raised_at', ['status', 'raised_at'], unique=False)
        batch_op.create_index('uq_alerts_open_rule', ['rule'], unique=True,
                              postgresql_where=sa.text("status = 'open'"), sqlite_where=sa.text("status = 'open'"))


def downgrade():
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index('uq_alerts_open_rule')
        batch_op.drop_index('ix_alerts_status_raised_at')
    op.drop_table('alerts')
    op.drop_table('system_metrics_hourly')
    with op.batch_alter_table('system_metrics', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_system_metrics_at'))
    op.drop_table('system_metrics')
