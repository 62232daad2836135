"""testers search: trigram indexes on lower(email) and lower(notes) (PostgreSQL)

The testers list's search (`lower(email) LIKE '%…%' OR lower(notes) LIKE '%…%'`, in the console and the
admin API) otherwise reads every tester; with these the planner knows how many match and pages in email
order or from the matches. Elsewhere nothing changes.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 07:55:00.000000

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade():
    bind = op.get_bind()
    if bind.dialect.name != "postgresql":
        return
    # pg_trgm as in 0004 (a trusted extension); inside a savepoint, so a server that refuses it leaves the
    # migration intact and the search as it was.
    nested = bind.begin_nested()
    try:
        bind.exec_driver_sql("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        bind.exec_driver_sql("CREATE INDEX ix_beta_users_email_trgm ON beta_users USING gin (lower(email) gin_trgm_ops)")
        bind.exec_driver_sql("CREATE INDEX ix_beta_users_notes_trgm ON beta_users USING gin (lower(notes) gin_trgm_ops)")
        nested.commit()
    except sa.exc.DBAPIError:
        nested.rollback()


def downgrade():
    bind = op.get_bind()
    if bind.dialect.name == "postgresql":
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_beta_users_notes_trgm")
        bind.exec_driver_sql("DROP INDEX IF EXISTS ix_beta_users_email_trgm")
