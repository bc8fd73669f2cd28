"""Source records' target ids are read with their records, never searched for: the index
on them only cost every insert.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-01 23:00:00.000000
"""

from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('source_records', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_source_records_target_id'))


def downgrade() -> None:
    with op.batch_alter_table('source_records', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_source_records_target_id'), ['target_id'], unique=False)
