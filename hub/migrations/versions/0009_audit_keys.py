"""The audit chain is keyed: each row names the audit key that sealed it (none: written
before, plain SHA-256, kept as it is), and the head names its trail for the anchor file.

Columns are added and dropped in place, never by rebuilding the table: a rebuild would
drop the triggers that keep the trail append-only.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-05 16:00:00.000000
"""

import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('audit_entries', sa.Column('key_id', sa.String(length=32), nullable=True))
    op.add_column('audit_head', sa.Column('trail', sa.String(length=32), nullable=True))


def downgrade() -> None:
    # Keyed rows cannot be told apart from rows with a plain hash once the column is gone;
    # their hashes stay, and the old code will report them changed.
    op.execute('ALTER TABLE audit_head DROP COLUMN trail')
    op.execute('ALTER TABLE audit_entries DROP COLUMN key_id')
