"""feedback flags: the flags and variants a tester had when sending a feedback

A row per feedback and flag, in the flag environment it was evaluated in. It repeats the feedback's
created_at, rating and category (none of which ever change), so that comparing the feedback of testers
with a flag on and off reads one index: (flag_key, environment, created_at), which on PostgreSQL also
carries the values compared (INCLUDE) for an index-only scan; so does the primary key, which the
comparison probes with the ids of the period's spam. Feedback sent before this revision has no
rows: it counts in neither group. feedback_flag_days sums them per flag, environment, closed UTC day and
group, filled as comparisons ask for days: a comparison over months reads a few rows per day.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 14:20:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table('feedback_flags',
    sa.Column('feedback_id', BigId, nullable=False),
    sa.Column('environment', sa.String(length=100), nullable=False),
    sa.Column('flag_key', sa.String(length=200), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('variant', sa.String(length=200), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('rating', sa.SmallInteger(), nullable=False),
    sa.Column('category', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['feedback_id'], ['feedback.id'],
                            name=op.f('fk_feedback_flags_feedback_id_feedback'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('feedback_id', 'environment', 'flag_key', name=op.f('pk_feedback_flags'),
                            postgresql_include=['enabled', 'variant', 'rating', 'category'])
    )
    op.create_index('ix_feedback_flags_flag_env_created_at', 'feedback_flags',
                    ['flag_key', 'environment', 'created_at', 'feedback_id'], unique=False,
                    postgresql_include=['enabled', 'variant', 'rating', 'category'])

    op.create_table('feedback_flag_days',
    sa.Column('flag_key', sa.String(length=200), nullable=False),
    sa.Column('environment', sa.String(length=100), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('variant', sa.String(length=200), nullable=False),
    sa.Column('n', sa.Integer(), nullable=False),
    sa.Column('total', sa.Integer(), nullable=False),
    sa.Column('squares', sa.Integer(), nullable=False),
    sa.Column('bugs', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('flag_key', 'environment', 'day', 'enabled', 'variant', name=op.f('pk_feedback_flag_days'))
    )


def downgrade():
    op.drop_table('feedback_flag_days')
    op.drop_index('ix_feedback_flags_flag_env_created_at', table_name='feedback_flags')
    op.drop_table('feedback_flags')
