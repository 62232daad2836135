"""flag environments: an ordered list, per-flag per-environment state, tokens of one environment

Every definition made so far becomes production's; development and staging start as copies of it
switched off (same strategies, no schedule); existing client tokens become production tokens and
existing versions production's. Flags get `impression_data` (off).

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06 11:00:00

"""
from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

ENVIRONMENTS = ("development", "staging", "production")
MOVED = ("enabled", "strategies", "enable_at", "disable_at")


def upgrade():
    envs = op.create_table('flag_environments',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_environments')),
    sa.UniqueConstraint('name', name=op.f('uq_flag_environments_name'))
    )
    states = op.create_table('flag_states',
    sa.Column('flag_id', sa.Integer(), nullable=False),
    sa.Column('environment', sa.String(length=100), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('strategies', sa.JSON(), nullable=False),
    sa.Column('enable_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disable_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['flag_id'], ['flags.id'], name=op.f('fk_flag_states_flag_id_flags'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('flag_id', 'environment', name=op.f('pk_flag_states'))
    )
    op.create_index(op.f('ix_flag_states_enable_at'), 'flag_states', ['enable_at'], unique=False)
    op.create_index(op.f('ix_flag_states_disable_at'), 'flag_states', ['disable_at'], unique=False)

    now = datetime.now(UTC)
    op.bulk_insert(envs, [{"name": name, "position": i, "created_at": now} for i, name in enumerate(ENVIRONMENTS)])
    bind = op.get_bind()
    flags = sa.table('flags', sa.column('id', sa.Integer), sa.column('enabled', sa.Boolean),
                     sa.column('strategies', sa.JSON), sa.column('enable_at', sa.DateTime(timezone=True)),
                     sa.column('disable_at', sa.DateTime(timezone=True)))
    rows = []
    for fid, enabled, strategies, enable_at, disable_at in bind.execute(
            sa.select(flags.c.id, flags.c.enabled, flags.c.strategies, flags.c.enable_at, flags.c.disable_at)):
        for name in ENVIRONMENTS:
            production = name == "production"
            rows.append({"flag_id": fid, "environment": name, "enabled": bool(enabled) and production,
                         "strategies": strategies or [], "enable_at": enable_at if production else None,
                         "disable_at": disable_at if production else None})
    if rows:
        op.bulk_insert(states, rows)
    for name in MOVED:
        op.drop_column('flags', name)
    op.add_column('flags', sa.Column('impression_data', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('flag_client_tokens', sa.Column('environment', sa.String(length=100), nullable=False,
                                                  server_default='production'))
    op.add_column('flag_versions', sa.Column('environment', sa.String(length=100), nullable=False,
                                             server_default='production'))


def downgrade():
    """Back to one definition per flag: production's (the other environments' states are lost)."""
    op.drop_column('flag_versions', 'environment')
    op.drop_column('flag_client_tokens', 'environment')
    op.drop_column('flags', 'impression_data')
    op.add_column('flags', sa.Column('enabled', sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column('flags', sa.Column('strategies', sa.JSON(), nullable=False, server_default=sa.text("'[]'")))
    op.add_column('flags', sa.Column('enable_at', sa.DateTime(timezone=True), nullable=True))
    op.add_column('flags', sa.Column('disable_at', sa.DateTime(timezone=True), nullable=True))
    bind = op.get_bind()
    states = sa.table('flag_states', sa.column('flag_id', sa.Integer), sa.column('environment', sa.String),
                      sa.column('enabled', sa.Boolean), sa.column('strategies', sa.JSON),
                      sa.column('enable_at', sa.DateTime(timezone=True)),
                      sa.column('disable_at', sa.DateTime(timezone=True)))
    flags = sa.table('flags', sa.column('id', sa.Integer), sa.column('enabled', sa.Boolean),
                     sa.column('strategies', sa.JSON), sa.column('enable_at', sa.DateTime(timezone=True)),
                     sa.column('disable_at', sa.DateTime(timezone=True)))
    for fid, enabled, strategies, enable_at, disable_at in bind.execute(
            sa.select(states.c.flag_id, states.c.enabled, states.c.strategies, states.c.enable_at,
                      states.c.disable_at).where(states.c.environment == 'production')).all():
        bind.execute(flags.update().where(flags.c.id == fid).values(
            enabled=enabled, strategies=strategies, enable_at=enable_at, disable_at=disable_at))
    op.drop_index(op.f('ix_flag_states_disable_at'), table_name='flag_states')
    op.drop_index(op.f('ix_flag_states_enable_at'), table_name='flag_states')
    op.drop_table('flag_states')
    op.drop_table('flag_environments')
