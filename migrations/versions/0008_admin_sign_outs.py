"""admin sign-outs: sessions ended on the server (one session, or every session)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 04:00:00.000000

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('admin_sign_outs',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('sid', sa.String(length=64), nullable=True),
    sa.Column('at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor', sa.String(length=320), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admin_sign_outs'))
    )
    with op.batch_alter_table('admin_sign_outs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admin_sign_outs_at'), ['at'], unique=False)


def downgrade():
    with op.batch_alter_table('admin_sign_outs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_admin_sign_outs_at'))

    op.drop_table('admin_sign_outs')
