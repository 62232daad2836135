"""beta testers and feedback (tags, replies)

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 05:10:00

On PostgreSQL a trigram index (pg_trgm) serves the console's text search (`message ILIKE '%…%'`);
where the extension cannot be created (no privilege) the search still works, without that index.
"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table('beta_users',
    sa.Column('id', sa.Uuid(), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=False),
    sa.Column('invite_code', sa.String(length=64), nullable=False),
    sa.Column('role', sa.String(length=10), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('source', sa.String(length=20), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('invited_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('invite_sent_count', sa.Integer(), nullable=False),
    sa.Column('joined_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('notes', sa.Text(), nullable=False),
    sa.Column('flag_set', sa.JSON(), nullable=False),
    sa.CheckConstraint("role IN ('TESTER', 'ADMIN', 'OWNER')", name=op.f('ck_beta_users_role')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beta_users')),
    sa.UniqueConstraint('invite_code', name=op.f('uq_beta_users_invite_code'))
    )
    op.create_index('uq_beta_users_email_lower', 'beta_users', [sa.text('lower(email)')], unique=True)

    op.create_table('feedback',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rating', sa.SmallInteger(), nullable=False),
    sa.Column('message', sa.Text(), nullable=False),
    sa.Column('feature', sa.String(length=100), nullable=True),
    sa.Column('category', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=10), nullable=False),
    sa.Column('email', sa.String(length=320), nullable=True),
    sa.Column('tester_id', sa.Uuid(), nullable=True),
    sa.Column('page_url', sa.String(length=2000), nullable=True),
    sa.Column('user_agent', sa.String(length=500), nullable=True),
    sa.Column('viewport', sa.String(length=20), nullable=True),
    sa.Column('app_version', sa.String(length=50), nullable=True),
    sa.CheckConstraint('rating BETWEEN 1 AND 5', name=op.f('ck_feedback_rating')),
    sa.CheckConstraint("category IN ('bug', 'idea', 'praise', 'other')", name=op.f('ck_feedback_category')),
    sa.CheckConstraint("status IN ('new', 'triaged', 'planned', 'resolved', 'spam')", name=op.f('ck_feedback_status')),
    sa.ForeignKeyConstraint(['tester_id'], ['beta_users.id'], name=op.f('fk_feedback_tester_id_beta_users'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback'))
    )
    with op.batch_alter_table('feedback', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_created_at_id', ['created_at', 'id'], unique=False)
        batch_op.create_index('ix_feedback_status_created_at_id', ['status', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_feedback_rating_created_at_id', ['rating', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_feedback_category_created_at_id', ['category', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_feedback_feature_created_at_id', ['feature', 'created_at', 'id'], unique=False)
        batch_op.create_index('ix_feedback_tester_id_created_at', ['tester_id', 'created_at'], unique=False)
        batch_op.create_index('ix_feedback_email', ['email'], unique=False)

    op.create_table('feedback_tags',
    sa.Column('feedback_id', BigId, nullable=False),
    sa.Column('tag', sa.String(length=50), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id'], name=op.f('fk_feedback_tags_feedback_id_feedback'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('feedback_id', 'tag', name=op.f('pk_feedback_tags'))
    )
    with op.batch_alter_table('feedback_tags', schema=None) as batch_op:
        batch_op.create_index('ix_feedback_tags_tag_created_at', ['tag', 'created_at', 'feedback_id'], unique=False)

    op.create_table('feedback_replies',
    sa.Column('id', BigId, autoincrement=True, nullable=False),
    sa.Column('feedback_id', BigId, nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('sent_by', sa.String(length=320), nullable=False),
    sa.Column('to_email', sa.String(length=320), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('email_id', sa.BigInteger(), nullable=True),
    sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id'], name=op.f('fk_feedback_replies_feedback_id_feedback'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_feedback_replies'))
    )
    with op.batch_alter_table('feedback_replies', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_feedback_replies_feedback_id'), ['feedback_id'], unique=False)

    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        # pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it. Inside a
        # savepoint, so a server that refuses leaves the migration intact.
        nested = bind.begin_nested()
        try:
            bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
            bind.exec_driver_sql("CREATE INDEX ix_feedback_message_trgm ON feedback USING gin (message gin_trgm_ops)")
            nested.commit()
        except sa.exc.DBAPIError:
            nested.rollback()


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_feedback_message_trgm")
    op.drop_table('feedback_replies')
    op.drop_table('feedback_tags')
    op.drop_table('feedback')
    op.drop_index('uq_beta_users_email_lower', table_name='beta_users')
    op.drop_table('beta_users')
