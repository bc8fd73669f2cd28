"""My work remembers when each user last looked, and the newest timeline entry then, so
that it can show what changed since.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 19:30:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('my_work_visits',
    sa.Column('user_id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('seen_at', sa.DateTime(), nullable=False),
    sa.Column('seen_entry_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_my_work_visits_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('user_id', name=op.f('pk_my_work_visits'))
    )


def downgrade() -> None:
    op.drop_table('my_work_visits')
