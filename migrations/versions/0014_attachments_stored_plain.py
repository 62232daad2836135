"""feedback attachments: PostgreSQL stores the files out of line, uncompressed (STORAGE EXTERNAL)

The files are images already compressed (PNG, JPEG, WebP) and a few logs. PostgreSQL's default
(EXTENDED, pglz) tries to compress every value over 2 kB before moving it out of line: on a re-encoded
screenshot of 1.3 MB it spent about 13 ms of CPU for nothing (the value gained too little to be kept
compressed), most of what storing the feedback cost. Uncompressed values also let a download's slices
(`substr`) read only the pieces they need instead of decompressing the value up to the slice. A log is
stored as it came (at most feedback.text_attachment_max_bytes). Values stored before keep their form
until they are written again; SQLite is not concerned.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-07 00:40:00

"""
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None


def _set_storage(storage):
    if op.get_bind().dialect.name == "postgresql":
        for column in ("data", "thumbnail"):
            op.execute(f"ALTER TABLE feedback_attachments ALTER COLUMN {column} SET STORAGE {storage}")


def upgrade():
    _set_storage("EXTERNAL")


def downgrade():
    _set_storage("EXTENDED")
