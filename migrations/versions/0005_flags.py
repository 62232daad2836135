"""feature flags: flags, versions, segments, client tokens

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 06:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('flags',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('type', sa.String(length=20), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('strategies', sa.JSON(), nullable=False),
    sa.Column('variants', sa.JSON(), nullable=False),
    sa.Column('dependencies', sa.JSON(), nullable=False),
    sa.Column('archived', sa.Boolean(), nullable=False),
    sa.Column('enable_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('disable_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_by', sa.String(length=320), nullable=False),
    sa.CheckConstraint("type IN ('release', 'experiment', 'operational', 'kill-switch', 'permission')",
                       name=op.f('ck_flags_type')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flags')),
    sa.UniqueConstraint('key', name=op.f('uq_flags_key'))
    )
    op.create_index(op.f('ix_flags_archived'), 'flags', ['archived'], unique=False)

    op.create_table('flag_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('flag_id', sa.Integer(), nullable=False),
    sa.Column('flag_key', sa.String(length=200), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('action', sa.String(length=30), nullable=False),
    sa.Column('before', sa.JSON(), nullable=True),
    sa.Column('after', sa.JSON(), nullable=False),
    sa.Column('diff', sa.JSON(), nullable=False),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.Column('ip', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['flag_id'], ['flags.id'], name=op.f('fk_flag_versions_flag_id_flags'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_versions')),
    sa.UniqueConstraint('flag_id', 'version', name='uq_flag_versions_flag_id_version')
    )
    op.create_index(op.f('ix_flag_versions_flag_id'), 'flag_versions', ['flag_id'], unique=False)
    op.create_index(op.f('ix_flag_versions_created_at'), 'flag_versions', ['created_at'], unique=False)
    op.create_index('ix_flag_versions_flag_key', 'flag_versions', ['flag_key'], unique=False)

    op.create_table('flag_segments',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('constraints', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_segments')),
    sa.UniqueConstraint('name', name=op.f('uq_flag_segments_name'))
    )

    op.create_table('flag_client_tokens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('created_by', sa.String(length=320), nullable=False),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_flag_client_tokens')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_flag_client_tokens_token_hash'))
    )


def downgrade():
    op.drop_table('flag_client_tokens')
    op.drop_table('flag_segments')
    op.drop_index('ix_flag_versions_flag_key', table_name='flag_versions')
    op.drop_index(op.f('ix_flag_versions_created_at'), table_name='flag_versions')
    op.drop_index(op.f('ix_flag_versions_flag_id'), table_name='flag_versions')
    op.drop_table('flag_versions')
    op.drop_index(op.f('ix_flags_archived'), table_name='flags')
    op.drop_table('flags')
