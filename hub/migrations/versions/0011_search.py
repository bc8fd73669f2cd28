"""Full-text search: SQLite FTS5 tables kept by triggers, PostgreSQL generated tsvector
columns with GIN indexes, on clients, contacts, notes, mail and file names; filled from
the data already there (see hub/search/schema.py).

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 19:40:00.000000
"""

from alembic import op

from hub.search import schema

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema.install(op.get_bind())


def downgrade() -> None:
    schema.remove(op.get_bind())
