"""flag client tokens: the start of each token's text as it was made (default:<environment>.<8 hex>)

A token's text names the environment it was made for, and keeps that name when the environment is
renamed (the server finds a token by its hash). The list of tokens showed the start of the text from the
environment's name now, which after a rename was a start no token has. The start is now kept as made;
tokens made before keep the start shown so far (their environment's name now, the best there is).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-07 07:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def upgrade():
    op.add_column("flag_client_tokens", sa.Column("text_start", sa.String(length=120), nullable=True))
    op.execute("UPDATE flag_client_tokens SET text_start = 'default:' || environment || '.' || prefix "
               "WHERE prefix NOT LIKE 'nous\\_%' ESCAPE '\\'")


def downgrade():
    with op.batch_alter_table("flag_client_tokens") as batch:
        batch.drop_column("text_start")
