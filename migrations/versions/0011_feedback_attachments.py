"""feedback attachments: files sent with feedback (re-encoded bytes, thumbnail, recognised text)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06 10:55:00.000000

On PostgreSQL a trigram index on the recognised text serves the console's text search, as the one on
`feedback.message` does (0004); where the extension cannot be created the search works without it.
"""
import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table('feedback_attachments',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('feedback_id', BigId, nullable=False),
    sa.Column('tester_id', sa.Uuid(), nullable=True),
    sa.Column('filename', sa.String(length=200), nullable=False),
    sa.Column('content_type', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.Column('size', sa.Integer(), nullable=False),
    sa.Column('width', sa.Integer(), nullable=True),
    sa.Column('height', sa.Integer(), nullable=True),
    sa.Column('sha256', sa.String(length=64), nullable=False),
    sa.Column('data', sa.LargeBinary(), nullable=False),
    sa.Column('thumbnail', sa.LargeBinary(), nullable=True),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('text_status', sa.String(length=12), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("kind IN ('image', 'text')", name=op.f('ck_feedback_attachments_kind')),
    sa.CheckConstraint("text_status IN ('pending', 'done', 'unavailable', 'failed')",
                       name=op.f('ck_feedback_attachments_text_status')),
    sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id'],
                            name=op.f('fk_feedback_attachments_feedback_id_feedback'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['tester_id'], ['beta_users.id'],
                            name=op.f('fk_feedback_attachments_tester_id_beta_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_attachments'))
    )
    with op.batch_alter_table('feedback_attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_attachments_feedback_id'), ['feedback_id'], unique=False)
        batch_op.create_index('ix_feedback_attachments_created_at', ['created_at'], unique=False)
        batch_op.create_index('ix_feedback_attachments_tester_id', ['tester_id'], unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        nested = bind.begin_nested()
        try:
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            bind.exec_driver_sql("CREATE INDEX ix_feedback_attachments_text_trgm ON feedback_attachments "
                                 "USING gin (text gin_trgm_ops)")
            nested.commit()
        except sa.exc.DBAPIError:
            nested.rollback()


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_feedback_attachments_text_trgm")
    op.drop_table('feedback_attachments')
